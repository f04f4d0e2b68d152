from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import TEST_DEVICE
from dqn_core.learning.replay import ReplayMemory
from dqn_core.learning.sumtree import SumTree
from dqn_core.training.loading import load_agent
from dqn_core.training.saving import save_agent
from dqn_core.training.trainer import Trainer


def test_sum_tree_sums_and_samples_in_proportion():
    tree = SumTree(5)
    tree.set(np.arange(5), np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert tree.total == 10.0
    assert tree.find(np.array([0.0, 0.99, 1.0, 2.99, 3.0, 9.99])).tolist() == [0, 0, 1, 1, 2, 3]
    counts = np.bincount(tree.sample(40_000, np.random.default_rng(0)), minlength=5) / 40_000
    assert counts == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.0], abs=0.01)
    tree.set(np.array([3]), np.array([0.0]))
    assert tree.total == 6.0 and 3 not in set(tree.sample(1000, np.random.default_rng(1)).tolist())


def filled(n: int = 20, capacity: int = 100) -> ReplayMemory:
    mem = ReplayMemory(capacity, (2,), np.float32, 1, torch.device(TEST_DEVICE), prioritized=True)
    mem.add_first(np.zeros(2, np.float32))
    for i in range(n):
        mem.add_step(i % 2, 1.0, False, False, np.full(2, i + 1, np.float32))
    return mem


def test_new_transitions_get_the_highest_priority_and_updates_steer_sampling():
    mem = filled()
    assert mem.priorities.total == pytest.approx(20.0)                 # 20 transitions at max priority 1
    rng = np.random.default_rng(0)
    mem.update_priorities(np.arange(20), np.full(20, 0.01), alpha=1.0)
    mem.update_priorities(np.array([7]), np.array([1.0]), alpha=1.0)   # P(7) = 1 / 1.19 ≈ 0.84
    batch = mem.sample(256, rng, gamma=0.9, beta=1.0)
    assert 0.75 < (batch.indices == 7).mean() < 0.93
    # importance weights (N·P)^-β, normalised by the largest: the over-sampled slot is weighted down by P ratio
    w = batch.weights.cpu().numpy()
    others = batch.indices != 7
    assert w.max() == pytest.approx(1.0) and np.allclose(w[others], 1.0)
    assert w[~others] == pytest.approx((0.01 + 1e-6) / (1.0 + 1e-6), rel=1e-3)
    mem.add_step(0, 1.0, False, False, np.zeros(2, np.float32))       # a new transition: the max priority seen
    assert mem.priorities.get(np.array([20]))[0] == pytest.approx(1.0 + 1e-6)


def test_beta_zero_gives_unit_weights_and_overwritten_slots_are_never_drawn():
    mem = filled(n=12, capacity=8)                                     # the ring wrapped
    batch = mem.sample(256, np.random.default_rng(0), gamma=0.9, beta=0.0)
    assert np.all(batch.weights.cpu().numpy() == 1.0)
    assert mem.valid[batch.indices].all()
    assert mem.priorities.total == pytest.approx(float(mem.valid.sum()))


def test_weighted_loss(state_config):
    trainer = Trainer(state_config.replace(prioritized=True, batch_size=16, learning_starts=16, double_dqn=False))
    for _ in trainer.run(max_steps=40):
        pass
    batch = trainer.replay.sample(16, np.random.default_rng(0), 0.99, beta=0.5)
    agent = trainer.agent
    with torch.no_grad():
        q = agent.q_net(batch.obs).gather(1, batch.actions[:, None]).squeeze(1)
        nxt = agent.target_net(batch.next_obs).max(1).values
        losses = F.huber_loss(q, batch.returns + batch.discounts * nxt, reduction="none")
        want = float((batch.weights * losses).mean())
    assert agent.update(batch)[0] == pytest.approx(want, rel=1e-5)


def test_training_with_prioritized_replay_updates_priorities_and_resumes_exactly(tmp_path, state_config):
    cfg = state_config.replace(prioritized=True)
    straight = Trainer(cfg)
    for _ in straight.run(max_steps=600):
        pass
    leaves = straight.replay.priorities.get(np.flatnonzero(straight.replay.valid))
    assert len(set(np.round(leaves, 6))) > 10                         # priorities now follow TD errors
    first = Trainer(cfg)
    for _ in first.run(max_steps=300):
        pass
    save_agent(first, tmp_path / "per.dqn", include_replay=True)
    resumed = load_agent(tmp_path / "per.dqn")
    for _ in resumed.run(max_steps=300):
        pass
    a, b = resumed.agent.q_net.state_dict(), straight.agent.q_net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
