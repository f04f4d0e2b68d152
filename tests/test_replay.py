from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TEST_DEVICE
from dqn_core.learning import replay
from dqn_core.learning.replay import ReplayMemory, ReplayMemoryError


def frame(v: int) -> np.ndarray:
    return np.full((1, 2, 2), v, dtype=np.uint8)


def fill(mem: ReplayMemory, episodes: list[int], start: int = 0) -> int:
    """Episodes of the given lengths; frame values count up from `start`; the last step terminates."""
    v = start
    for length in episodes:
        mem.add_first(frame(v))
        for t in range(length):
            v += 1
            mem.add_step(action=v % 2, reward=float(v), terminated=t == length - 1, truncated=False,
                         next_frame=frame(v))
        v += 1
    return v


def values(t: torch.Tensor) -> np.ndarray:
    return t[:, :, 0, 0].cpu().numpy()     # (B, input_frames)


def test_frames_are_stored_once_as_uint8():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=4, device=torch.device(TEST_DEVICE))
    assert mem.frames.dtype == torch.uint8 and mem.frames.shape == (100, 1, 2, 2)   # no next-state copy
    fill(mem, [3, 2])
    assert len(mem) == 5 and mem.size == 7                     # 5 transitions in 7 frames


def test_stacks_never_straddle_an_episode_start():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=3, device=torch.device(TEST_DEVICE))
    fill(mem, [3, 3])                                          # frames 0..3 (episode 1), 4..7 (episode 2)
    batch = mem.gather(np.array([4, 5, 6]), gamma=0.9)
    assert values(batch.obs).tolist() == [[4, 4, 4], [4, 4, 5], [4, 5, 6]]
    assert values(batch.next_obs).tolist() == [[4, 4, 5], [4, 5, 6], [5, 6, 7]]


def test_stacks_with_a_gap_take_every_gap_th_frame_and_stop_at_the_episode_start():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=3, device=torch.device(TEST_DEVICE), gap=2)
    fill(mem, [5, 4])                                          # frames 0..5 (episode 1), 6..10 (episode 2)
    batch = mem.gather(np.array([1, 3, 7, 9]), gamma=0.9)
    assert values(batch.obs).tolist() == [[0, 0, 1], [0, 1, 3], [6, 6, 7], [6, 7, 9]]
    assert values(batch.next_obs).tolist() == [[0, 0, 2], [0, 2, 4], [6, 6, 8], [6, 8, 10]]


def test_terminal_transition_has_zero_discount_and_next_frame():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=1, device=torch.device(TEST_DEVICE))
    fill(mem, [3])
    batch = mem.gather(np.array([0, 2]), gamma=0.9)
    assert batch.discounts.tolist() == pytest.approx([0.9, 0.0])
    assert values(batch.next_obs).ravel().tolist() == [1, 3]


def test_truncation_bootstraps():
    mem = ReplayMemory(10, (1, 2, 2), np.uint8, input_frames=1, device=torch.device(TEST_DEVICE))
    mem.add_first(frame(0))
    mem.add_step(0, 1.0, terminated=False, truncated=True, next_frame=frame(1))
    batch = mem.gather(np.array([0]), gamma=0.5)
    assert batch.discounts.tolist() == [0.5]


def test_wraparound_overwrites_oldest_and_keeps_stacks_consistent():
    mem = ReplayMemory(8, (1, 2, 2), np.uint8, input_frames=3, device=torch.device(TEST_DEVICE))
    fill(mem, [5, 5])                                          # 12 frames into 8 slots
    assert mem.size == 8 and mem.cursor == 4
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = mem.sample(16, rng, gamma=0.9)
        obs, nxt = values(batch.obs), values(batch.next_obs)
        # frame values increase by one per step inside an episode; a repeat only at an episode's (or memory's) start
        assert (np.diff(obs, axis=1) >= 0).all() and (np.diff(obs, axis=1) <= 1).all()
        assert (nxt[:, -1] == obs[:, -1] + 1).all()
        assert (obs >= 4).all()                                # frames 0..3 were overwritten
        # the oldest frame still held (4) is never preceded by newer ones
        assert not ((obs[:, 0] > obs[:, -1])).any()
    valid_slots = set(np.flatnonzero(mem.valid))
    assert len(valid_slots) == len(mem) == 6


def test_n_step_returns_stop_at_episode_end():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=1, device=torch.device(TEST_DEVICE))
    fill(mem, [3])                                             # rewards 1, 2, 3; the third terminates
    batch = mem.gather(np.array([0, 1]), gamma=0.5, n_step=3)
    assert batch.returns.tolist() == pytest.approx([1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3])
    assert batch.discounts.tolist() == [0.0, 0.0]
    assert values(batch.next_obs).ravel().tolist() == [3, 3]
    batch = mem.gather(np.array([0]), gamma=0.5, n_step=2)
    assert batch.returns.tolist() == pytest.approx([2.0]) and batch.discounts.tolist() == pytest.approx([0.25])
    assert values(batch.next_obs).ravel().tolist() == [2]


def test_sampling_returns_tensors_on_the_device_in_network_layout():
    mem = ReplayMemory(50, (3, 4, 5), np.uint8, input_frames=2, device=torch.device(TEST_DEVICE))
    mem.add_first(np.zeros((3, 4, 5), np.uint8))
    for i in range(10):
        mem.add_step(1, 1.0, False, False, np.full((3, 4, 5), i, np.uint8))
    b = mem.sample(8, np.random.default_rng(0), gamma=0.99)
    assert b.obs.shape == (8, 6, 4, 5) and b.obs.dtype == torch.uint8 and b.actions.dtype == torch.int64
    assert b.obs.device.type == TEST_DEVICE and b.returns.shape == (8,)


@pytest.mark.parametrize("chunk_bytes", [1, 200, 1 << 20])     # one batch per draw, a few, all at once
def test_batches_for_a_run_of_updates_are_uniform_complete_transitions(monkeypatch, chunk_bytes):
    monkeypatch.setattr(replay, "SAMPLE_CHUNK_BYTES", chunk_bytes)
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=2, device=torch.device(TEST_DEVICE))
    fill(mem, [5, 3, 4])                                       # 12 transitions
    batches = list(mem.sample_batches(600, 8, np.random.default_rng(0), gamma=0.5))
    assert len(batches) == 600 and all(len(b.indices) == 8 for b in batches)
    for b in batches[:20] + batches[-20:]:                     # each row is the transition its index names
        expected = mem.gather(b.indices, gamma=0.5)
        assert torch.equal(b.obs, expected.obs) and torch.equal(b.next_obs, expected.next_obs)
        assert torch.equal(b.returns, expected.returns) and torch.equal(b.actions, expected.actions)
    counts = np.bincount(np.concatenate([b.indices for b in batches]), minlength=mem.size)
    assert counts[~mem.valid[:mem.size]].sum() == 0            # never an episode's last frame
    assert counts[mem.valid[:mem.size]].min() > 300 and counts.max() < 500      # 4,800 draws over 12: ~400 each


def test_prioritized_batches_are_drawn_one_at_a_time_from_the_current_priorities():
    mem = ReplayMemory(100, (1, 2, 2), np.uint8, input_frames=1, device=torch.device(TEST_DEVICE), prioritized=True)
    fill(mem, [5, 5])
    batches = mem.sample_batches(2, 16, np.random.default_rng(0), gamma=0.5)
    first = next(batches)
    assert len(set(first.indices.tolist())) > 1 and first.weights is not None
    valid = np.flatnonzero(mem.valid)
    errors = np.where(valid == valid[3], 1.0, 0.0)             # only one transition keeps a priority above ε
    mem.update_priorities(valid, errors, alpha=1.0, eps=1e-9)
    assert set(next(batches).indices.tolist()) == {valid[3]}


def test_too_large_memory_is_refused_before_allocating():
    with pytest.raises(ReplayMemoryError) as info:
        ReplayMemory(10**9, (3, 84, 84), np.uint8, input_frames=4, device=torch.device(TEST_DEVICE))
    message = str(info.value)
    assert "replay_capacity = 1000000000" in message and "GiB" in message and "available" in message
