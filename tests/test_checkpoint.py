from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from dqn_core.agentfile import write as agentfile_write
from dqn_core.agentfile.read import AgentFileError
from dqn_core.training.loading import load_agent
from dqn_core.training.saving import save_agent
from dqn_core.training.trainer import Trainer


def train(trainer: Trainer, steps: int) -> None:
    for _ in trainer.run(max_steps=steps):
        pass


def state_of(trainer: Trainer) -> dict:
    return {k: v.clone() for k, v in trainer.agent.q_net.state_dict().items()}


def same_weights(a: Trainer, b: Trainer) -> bool:
    sa, sb = a.agent.q_net.state_dict(), b.agent.q_net.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def comparable_metrics(t: Trainer) -> str:
    """Everything but wall-clock times, serialised so that NaN (no update yet) compares equal to NaN."""
    m = t.metrics
    return json.dumps({"episodes": {k: v for k, v in m.episodes.items() if k != "wall_seconds"}, "stats": m.stats,
                       "evals": m.evals, "changes": m.changes})


def test_round_trip_restores_everything(tmp_path, state_config):
    trainer = Trainer(state_config.replace(eval_every=3, eval_episodes=2))
    train(trainer, 700)
    path = tmp_path / "agent.dqn"
    save_agent(trainer, path)
    loaded = load_agent(path)
    assert loaded.config == trainer.config
    assert (loaded.step, loaded.episode, loaded.updates) == (trainer.step, trainer.episode, trainer.updates)
    assert same_weights(loaded, trainer)
    assert comparable_metrics(loaded) == comparable_metrics(trainer)
    assert loaded.last_eval == trainer.last_eval
    opt_a, opt_b = trainer.agent.optimizer.state_dict(), loaded.agent.optimizer.state_dict()
    assert all(torch.equal(opt_a["state"][0][k], opt_b["state"][0][k]) for k in opt_a["state"][0])
    with zipfile.ZipFile(path) as zf:
        assert all(n == "meta.json" or n.endswith(".npy") for n in zf.namelist())
        meta = json.loads(zf.read("meta.json"))
    assert meta["format"] == "dqn-studio-agent" and meta["version"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("config_name, repeat", [("state_config", 1), ("pixel_config", 1), ("state_config", 3)])
def test_resume_is_exact(tmp_path, request, config_name, repeat):
    """N steps → save → load → N steps equals 2N steps straight (CPU, fixed seed)."""
    cfg = request.getfixturevalue(config_name).replace(eval_every=2, eval_episodes=1, action_repeat=repeat)
    n = 450 if config_name == "state_config" else 150
    straight = Trainer(cfg)
    train(straight, 2 * n)
    first = Trainer(cfg)
    train(first, n)
    path = tmp_path / "half.dqn"
    save_agent(first, path, include_replay=True)
    resumed = load_agent(path)
    assert resumed.episodes_open[0]                                # the episode in progress continues
    train(resumed, n)
    assert resumed.step == straight.step == 2 * n
    assert resumed.env_steps == straight.env_steps >= 2 * n
    assert same_weights(resumed, straight)
    assert comparable_metrics(resumed) == comparable_metrics(straight)
    n_slots = straight.replay.size
    assert np.array_equal(resumed.replay.frames[:n_slots].cpu().numpy(), straight.replay.frames[:n_slots].cpu().numpy())


def _hostile_zip(path, good: bytes) -> None:
    """Copy of a good agent file whose network array is replaced by a pickle that would create a file if run."""
    marker = path.parent / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    payload = io.BytesIO()
    np.save(payload, np.array([Exploit()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(path, "w") as dst:
        meta = json.loads(src.read("meta.json"))
        first = next(n for n in meta["arrays"] if n.startswith("q_net."))
        meta["arrays"][first] = {"shape": [1], "dtype": "|O"}
        for name in src.namelist():
            data = src.read(name)
            if name == "meta.json":
                data = json.dumps(meta).encode()
            elif name == f"arrays/{first}.npy":
                data = payload.getvalue()
            dst.writestr(name, data)
    return marker


def test_pickle_payload_is_not_executed(tmp_path, state_config):
    good = tmp_path / "good.dqn"
    save_agent(Trainer(state_config), good)
    bad = tmp_path / "bad.dqn"
    marker = _hostile_zip(bad, good.read_bytes())
    with pytest.raises(AgentFileError, match="pickled Python objects; refused"):
        load_agent(bad)
    assert not marker.exists()
    raw = tmp_path / "raw.dqn"                                  # a plain pickle file, not a zip at all
    import pickle
    raw.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(AgentFileError, match="not a DQN Studio agent file"):
        load_agent(raw)


@pytest.mark.parametrize("damage, fragment", [
    (lambda b: b"", "the file is empty"),
    (lambda b: b[: len(b) // 2], "not a zip archive, or truncated"),
    (lambda b: b"junk" * 100, "not a zip archive"),
])
def test_damaged_files_are_refused_with_a_clear_message(tmp_path, state_config, damage, fragment):
    path = tmp_path / "agent.dqn"
    save_agent(Trainer(state_config), path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(AgentFileError) as info:
        load_agent(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def _rewrite_meta(path, change) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["meta.json"])
    change(meta)
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m.update(version=99), "newer DQN Studio (format version 99"),
    (lambda m: m.update(format="other"), "not a DQN Studio agent file"),
    (lambda m: m["config"].update(hidden_sizes=[64, 64]), "has shape"),
    (lambda m: m["config"].update(lr=50.0), "lr = 50.0 is invalid"),
    (lambda m: m["config"].update(env_id="Acrobot-v1"), "this environment gives"),
])
def test_incompatible_files_are_refused(tmp_path, state_config, change, fragment):
    path = tmp_path / "agent.dqn"
    save_agent(Trainer(state_config), path)
    _rewrite_meta(path, change)
    with pytest.raises(AgentFileError) as info:
        load_agent(path)
    assert fragment in str(info.value)


def test_interrupted_save_keeps_the_previous_file(tmp_path, state_config, monkeypatch):
    trainer = Trainer(state_config)
    path = tmp_path / "agent.dqn"
    save_agent(trainer, path)
    before = path.read_bytes()
    train(trainer, 200)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(agentfile_write, "write_npy", broken)
    with pytest.raises(OSError):
        save_agent(trainer, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["agent.dqn"]   # no temporary file left behind
    assert load_agent(path).step == 0


def test_a_loaded_agent_continues_its_learning_rate_schedule(tmp_path, state_config):
    trainer = Trainer(state_config.replace(lr=1e-3, lr_schedule="linear", lr_end=1e-4, lr_decay=400.0, train_freq=1))
    train(trainer, 200)
    path = tmp_path / "a.dqn"
    save_agent(trainer, path)
    assert load_agent(path).agent.lr == pytest.approx(5.5e-4) == trainer.agent.lr


def test_the_best_evaluated_agent_is_kept_as_it_was_and_saved_on_request(tmp_path, state_config):
    trainer = Trainer(state_config.replace(eval_episodes=3))
    with pytest.raises(ValueError, match="no best agent yet"):
        save_agent(trainer, tmp_path / "none.dqn", best=True)
    assert not (tmp_path / "none.dqn").exists()
    train(trainer, 300)
    first = trainer.evaluate(3)
    assert first.new_best and trainer.best.result == first
    weights_then = state_of(trainer)
    train(trainer, 600)                                   # training goes on, with no evaluation in between
    save_agent(trainer, tmp_path / "best.dqn", best=True)
    save_agent(trainer, tmp_path / "now.dqn")
    best, now = load_agent(tmp_path / "best.dqn"), load_agent(tmp_path / "now.dqn")
    assert (best.step, now.step) == (300, 900)
    assert all(torch.equal(v, weights_then[k]) for k, v in best.agent.q_net.state_dict().items())
    assert not all(torch.equal(v, weights_then[k]) for k, v in now.agent.q_net.state_dict().items())
    assert best.last_eval == first and best.replay.size == 0
    assert best.metrics.episodes["step"][-1] <= 300 < now.metrics.episodes["step"][-1]
    train(best, 50)                                       # a best agent file resumes like any other


def test_a_later_evaluation_replaces_the_best_only_when_it_scores_higher(state_config, monkeypatch):
    trainer = Trainer(state_config.replace(eval_episodes=2, confirm_episodes=2, solved_threshold=15.0))
    scores = iter([[10.0, 10.0], [5.0, 5.0], [10.0, 10.0], [20.0, 20.0], [6.0, 6.0], [17.0, 17.0], [12.0, 12.0]])
    monkeypatch.setattr(trainer.evaluator, "returns", lambda seeds, control=None: next(scores))
    results = [trainer.evaluate(2) for _ in range(5)]
    # 10; 5 (worse); 10 (a tie keeps the earlier agent); 20 passes and is confirmed at 6: score (20+20+6+6)/4 = 13;
    # 17 passes and is confirmed at 12: score 14.5, the best.
    assert [r.new_best for r in results] == [True, False, False, True, True]
    assert results[3].score == 13.0 and results[3].confirm_episodes == 2 and not results[3].solved
    assert trainer.best.result == results[4] and trainer.best.result.score == 14.5


def test_an_agent_file_from_before_the_engine_moved_into_folders_loads_and_trains_on_the_same():
    """tests/data/zoo-state-before-the-move.dqn was written by the flat engine (commit 939c66c) with its replay
    memory; the JSON beside it holds that engine's counters and Q-values, loaded and after 100 more steps."""
    data_dir = Path(__file__).parent / "data"
    expected = json.loads((data_dir / "zoo-state-before-the-move.json").read_text())
    trainer = load_agent(data_dir / "zoo-state-before-the-move.dqn")
    assert (trainer.step, trainer.episode, trainer.updates, trainer.episode_steps[0]) == \
        (expected["step"], expected["episode"], expected["updates"], expected["episode_step"])
    assert trainer.episodes_open[0] and trainer.last_eval.mean_return == expected["eval_mean"]
    observation = np.array(expected["observation"], dtype=np.float32)
    assert trainer.agent.q_values(observation).tolist() == pytest.approx(expected["q_loaded"], rel=1e-6)
    for _ in trainer.run(max_steps=100):
        pass
    assert (trainer.step, trainer.episode, trainer.updates) == \
        (expected["step_after"], expected["episode_after"], expected["updates_after"])
    assert trainer.agent.q_values(observation).tolist() == pytest.approx(expected["q_after_100_more_steps"], rel=1e-5)
