"""Learning in a second thread (`learner_thread`), under real threads: what reaches the replay memory, how far the
actor's network may lag, pause / step / save / resume mid-run, and a learner that crashes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.learner import Learner
from dqn_core.training.loading import load_agent
from dqn_core.training.trainer import Trainer
from test_trainer import Runner, collect, of


@pytest.fixture
def threaded(state_config):
    """Two envs, an update round every 2 decisions of each, the target every 50 steps, a learner thread."""
    return state_config.replace(num_envs=2, train_freq=4, target_update=50, target_update_unit="steps",
                                learner_thread=True)


def test_random_acting_stores_the_same_transitions_in_the_same_order_as_the_synchronous_loop(threaded):
    """With ε = 1 acting does not depend on the network, so the replay memory must come out the same, slot by slot,
    as the one-thread loop's: every env's transitions arrive in order, none lost or doubled."""
    memories = []
    for thread in (False, True):
        trainer = Trainer(threaded.replace(learner_thread=thread, eps_start=1.0, eps_end=1.0))
        collect(trainer.run(Control(), max_steps=600))
        assert trainer.updates > 100
        _, arrays = trainer.replay.state()
        memories.append({k: np.asarray(v) for k, v in arrays.items()})
    for name in memories[0]:
        assert np.array_equal(memories[0][name], memories[1][name]), name


def test_the_actor_network_is_never_more_than_one_round_behind(threaded, monkeypatch):
    lags, behind = [], []
    original = Learner.join

    def watched_join(self):
        out = original(self)
        # Just joined: the actor's copy holds every update made so far.
        behind.append(max(float((a - b).detach().abs().max()) for a, b in zip(self.actor_net.parameters(),
                                                                      self.agent.q_net.parameters())))
        return out

    monkeypatch.setattr(Learner, "join", watched_join)
    trainer = Trainer(threaded)
    acting = trainer.agent.act_envs

    def act_envs(*args, **kwargs):
        learner = trainer.learner
        lags.append(learner.rounds - learner.synced_round)
        return acting(*args, **kwargs)

    monkeypatch.setattr(trainer.agent, "act_envs", act_envs)
    events = collect(trainer.run(Control(), max_steps=800))
    assert isinstance(events[-1], ev.Finished) and trainer.updates > 100
    assert max(lags) <= 1 and 1 in lags                       # acting overlapped updates, one round at most
    assert behind and max(behind) == 0.0
    assert trainer.agent.acting_net is trainer.agent.q_net     # the run's end gives the agent its own net back


def test_pause_step_save_and_resume_mid_run(threaded, tmp_path):
    trainer = Trainer(threaded)
    control = Control()
    runner = Runner(trainer, control)
    runner.wait_for(lambda e: isinstance(e, ev.EpisodeEnd) and trainer.updates > 50)
    control.pause()
    runner.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state == "paused")
    paused_at = trainer.step
    control.step(3)
    runner.wait_for(lambda e: trainer.step >= paused_at + 3 * threaded.num_envs, timeout=10)
    path = tmp_path / "mid.dqn"
    control.save(str(path), include_replay=True)
    saved = runner.wait_for(lambda e: isinstance(e, ev.Saved))
    assert saved.ok and saved.step == trainer.step
    control.resume()
    runner.wait_for(lambda e: isinstance(e, ev.StepStats) and e.step > saved.step + 100)
    control.stop()
    runner.thread.join(10)
    assert not runner.thread.is_alive() and isinstance(runner.drain()[-1], ev.Finished)
    again = load_agent(str(path))
    assert again.step == saved.step and 0 < again.updates <= trainer.updates and len(again.replay) > 0
    events = collect(again.run(Control(), max_steps=200))      # the loaded agent trains on, threaded too
    assert isinstance(events[-1], ev.Finished) and saved.step + 200 <= again.step <= saved.step + 200 + threaded.num_envs


def test_a_crash_in_the_learner_is_a_failed_run_not_a_hang(threaded, monkeypatch):
    trainer = Trainer(threaded)
    calls = {"n": 0}
    update = trainer.agent.queue_update

    def failing(batch):
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("the learner broke")
        return update(batch)

    monkeypatch.setattr(trainer.agent, "queue_update", failing)
    events = collect(trainer.run(Control(), max_steps=5000))
    failed = of(events, ev.Failed)
    assert failed and "the learner broke" in failed[0].message
    assert not of(events, ev.Finished) and trainer.step < 5000
    assert trainer.learner is None and trainer.agent.acting_net is trainer.agent.q_net


def test_the_threaded_loop_learns(state_config):
    """The same CartPole-from-state budget, threaded: it learns (the greedy agent balances for a while)."""
    config = state_config.replace(learner_thread=True, replay_capacity=10_000, eval_every=0)
    torch.manual_seed(0)
    trainer = Trainer(config)
    collect(trainer.run(Control(), max_steps=6000))
    result = trainer.evaluate(5)
    assert result is not None and result.mean_return > 60
