from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import TEST_DEVICE
from dqn_core.config import TrainConfig
from dqn_core.learning.agent import DQNAgent, NonFiniteLossError, epsilon
from dqn_core.learning.networks import build_q_network
from dqn_core.learning.replay import ReplayMemory


def make_agent(**changes) -> DQNAgent:
    cfg = TrainConfig(obs="state", network="mlp", hidden_sizes=(16,), device=TEST_DEVICE, **changes)
    torch.manual_seed(0)
    return DQNAgent(cfg, (4,), 1, 2, torch.device(TEST_DEVICE))


def make_batch(n: int = 32, n_step: int = 1):
    rng = np.random.default_rng(0)
    mem = ReplayMemory(200, (4,), np.float32, 1, torch.device(TEST_DEVICE))
    mem.add_first(rng.normal(size=4).astype(np.float32))
    for i in range(100):
        mem.add_step(int(rng.integers(2)), 1.0, terminated=i % 17 == 16, truncated=False,
                     next_frame=rng.normal(size=4).astype(np.float32))
        if i % 17 == 16:
            mem.add_first(rng.normal(size=4).astype(np.float32))
    return mem.sample(n, rng, gamma=0.9, n_step=n_step)


def expected_loss(agent: DQNAgent, batch, double: bool) -> float:
    with torch.no_grad():
        q = agent.q_net(batch.obs).gather(1, batch.actions[:, None]).squeeze(1)
        if double:
            best = agent.q_net(batch.next_obs).argmax(1, keepdim=True)
            nxt = agent.target_net(batch.next_obs).gather(1, best).squeeze(1)
        else:
            nxt = agent.target_net(batch.next_obs).max(1).values
        return float(F.huber_loss(q, batch.returns + batch.discounts * nxt))


@pytest.mark.parametrize("double", [False, True])
def test_td_target_plain_and_double(double):
    agent = make_agent(double_dqn=double)
    with torch.no_grad():                      # make the online and target networks disagree
        for p in agent.target_net.parameters():
            p.add_(torch.randn_like(p))
    batch = make_batch()
    want, other = expected_loss(agent, batch, double), expected_loss(agent, batch, not double)
    assert want != pytest.approx(other)
    loss, _, _ = agent.update(batch)
    assert loss == pytest.approx(want, rel=1e-5)


def test_hard_and_soft_target_sync():
    agent = make_agent()
    with torch.no_grad():
        for p in agent.q_net.parameters():
            p.add_(1.0)
    before = [p.clone() for p in agent.target_net.parameters()]
    agent.sync_target(0.1)
    for old, new, online in zip(before, agent.target_net.parameters(), agent.q_net.parameters()):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * online)
    agent.sync_target(1.0)
    for t, o in zip(agent.target_net.parameters(), agent.q_net.parameters()):
        assert torch.equal(t, o)


def test_sync_copies_batchnorm_statistics():
    """The lecture's net: a sync also copies BatchNorm's running statistics, so both nets compute the same Q."""
    cfg = TrainConfig(obs="pixels", network="lecture-cnn", device=TEST_DEVICE, frame_width=90)
    agent = DQNAgent(cfg, (3, 40, 90), 2, 2, torch.device(TEST_DEVICE))
    x = torch.randint(0, 255, (8, 6, 40, 90), dtype=torch.uint8, device=agent.device)
    agent.q_net(x)                                          # training mode: moves the running statistics
    with torch.no_grad():
        for p in agent.q_net.parameters():
            p.add_(0.01)
    for tau in (0.5, 1.0):
        agent.sync_target(tau)
        for t, o in zip(agent.target_net.buffers(), agent.q_net.buffers()):
            assert torch.equal(t, o)
    agent.q_net.eval()
    torch.testing.assert_close(agent.target_net(x), agent.q_net(x))


def test_batchnorm_target_values_match_the_target_network():
    """The lecture's net: target values come from the target network in eval mode (BatchNorm's running statistics)."""
    from dqn_core.learning.replay import Batch

    cfg = TrainConfig(obs="pixels", network="lecture-cnn", device=TEST_DEVICE, frame_width=90, optimizer="adam")
    torch.manual_seed(0)
    agent = DQNAgent(cfg, (3, 40, 90), 2, 2, torch.device(TEST_DEVICE))
    gen = torch.Generator().manual_seed(1)
    frames = lambda: torch.randint(0, 255, (16, 6, 40, 90), dtype=torch.uint8, generator=gen).to(agent.device)
    for _ in range(3):
        agent.q_net(frames())                                  # training mode: moves the running statistics
    agent.sync_target(1.0)
    obs, next_obs = frames(), frames()
    batch = Batch(obs, torch.zeros(16, dtype=torch.long, device=agent.device), torch.ones(16, device=agent.device),
                  torch.full((16,), 0.99, device=agent.device), next_obs, np.arange(16))
    with torch.no_grad():
        q = agent.q_net(obs)[:, 0]
        want = float(F.huber_loss(q, 1.0 + 0.99 * agent.target_net(next_obs).max(1).values))
    assert agent.update(batch)[0] == pytest.approx(want, rel=1e-4)


def test_gradients_clamped_by_value_and_by_norm():
    batch = make_batch()
    agent = make_agent(grad_clip_mode="value", grad_clip=0.01, optimizer="adam", lr=1e-6)
    agent.update(batch)
    assert max(p.grad.abs().max().item() for p in agent.q_net.parameters()) <= 0.01 + 1e-9
    agent = make_agent(grad_clip_mode="norm", grad_clip=0.05)
    _, _, norm_before = agent.update(batch)
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in agent.q_net.parameters()))
    assert norm_before > 0.05 and total == pytest.approx(0.05, rel=1e-4)


def test_epsilon_schedules():
    exp = TrainConfig(eps_start=0.9, eps_end=0.05, eps_decay=200)
    assert epsilon(exp, 0) == pytest.approx(0.9)
    assert epsilon(exp, 200) == pytest.approx(0.05 + 0.85 / math.e)
    lin = TrainConfig(eps_schedule="linear", eps_start=1.0, eps_end=0.04, eps_decay=8000)
    assert epsilon(lin, 4000) == pytest.approx(0.52) and epsilon(lin, 10**6) == pytest.approx(0.04)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop"])
def test_non_finite_loss_keeps_the_weights(optimizer):
    """A non-finite update is skipped on the device: weights and optimizer state stay as they were, and the
    next finite update proceeds normally."""
    agent = make_agent(optimizer=optimizer)
    agent.update(make_batch())                                 # the optimizer has state now
    state = lambda: [v.clone() for s in agent.optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    weights_before, state_before = [p.clone() for p in agent.q_net.parameters()], state()
    batch = make_batch()
    batch.returns[0] = float("nan")
    with pytest.raises(NonFiniteLossError):
        agent.update(batch)
    assert all(torch.equal(a, b) for a, b in zip(weights_before, agent.q_net.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(state_before, state()))
    assert agent.queue_update(make_batch())[3].item() == 0.0
    assert not all(torch.equal(a, b) for a, b in zip(weights_before, agent.q_net.parameters()))


def test_network_shapes():
    lecture = TrainConfig()                                   # the lecture: 3×40×90 difference frames
    net = build_q_network(lecture, (3, 40, 90), 2, 2)
    assert net.head.advantage.in_features == 2 * 8 * 32          # linear size computed from the input
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 3
    x = torch.randint(0, 255, (5, 6, 40, 90), dtype=torch.uint8)
    assert net(x).shape == (5, 2)
    for kind in ("nature-cnn", "fast-cnn"):
        cfg = TrainConfig(network=kind, frame_op="stack", frame_stack=4, grayscale=True, dueling=True)
        net = build_q_network(cfg, (1, 40, 80), 4, 3)
        assert net(torch.zeros(2, 4, 40, 80, dtype=torch.uint8)).shape == (2, 3)
        assert net.head.value is not None
    mlp = build_q_network(TrainConfig(obs="state", network="mlp", hidden_sizes=(32, 16)), (4,), 1, 2)
    assert [m.out_features for m in mlp.modules() if isinstance(m, torch.nn.Linear)] == [32, 16, 2]


def test_dueling_head_is_value_plus_centred_advantage():
    agent = make_agent(dueling=True)
    x = torch.randn(3, 4, device=agent.device)
    h = agent.q_net.body(agent.q_net.adapter(x))
    adv = agent.q_net.head.advantage(h)
    expected = agent.q_net.head.value(h) + adv - adv.mean(1, keepdim=True)
    torch.testing.assert_close(agent.q_net(x), expected)


def test_random_shift_moves_each_image_whole_and_repeats_the_edges():
    from dqn_core.learning.agent import random_shift

    torch.manual_seed(3)
    frames = torch.randint(0, 255, (64, 2, 12, 16), dtype=torch.uint8)
    shifted = random_shift(frames, 2)
    assert shifted.shape == frames.shape and shifted.dtype == torch.uint8
    padded = torch.nn.functional.pad(frames.float(), (2, 2, 2, 2), mode="replicate").to(torch.uint8)
    offsets = set()
    for i in range(64):                       # each image is a window of its padded self, the same for its channels
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if torch.equal(padded[i, :, dy:dy + 12, dx:dx + 16], shifted[i])]
        assert found
        offsets.add(found[0])
    assert len(offsets) > 10                  # shifts differ across the batch
    torch.manual_seed(3)                      # frames in channels-last memory order move the same way
    torch.randint(0, 255, (64, 2, 12, 16), dtype=torch.uint8)
    assert torch.equal(random_shift(frames.contiguous(memory_format=torch.channels_last), 2), shifted)


@pytest.mark.parametrize("gap", [1, 3])
def test_training_with_random_shifts_resumes_exactly(tmp_path, pixel_config, gap):
    """Also with frames 3 steps apart: the env's whole window of recent frames is saved and put back."""
    from dqn_core.training.loading import load_agent
    from dqn_core.training.saving import save_agent
    from dqn_core.training.trainer import Trainer

    config = pixel_config.replace(augment_shift=3, frame_gap=gap)
    straight = Trainer(config)
    for _ in straight.run(max_steps=240):
        pass
    first = Trainer(config)
    for _ in first.run(max_steps=120):
        pass
    save_agent(first, tmp_path / "a.dqn", include_replay=True)
    resumed = load_agent(tmp_path / "a.dqn")
    for _ in resumed.run(max_steps=120):
        pass
    a, b = straight.agent.q_net.state_dict(), resumed.agent.q_net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = Trainer(pixel_config)
    for _ in plain.run(max_steps=240):
        pass
    c = plain.agent.q_net.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)          # the shifts changed what was learned
