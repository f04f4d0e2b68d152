"""Run folders written and read back for real (CLI runs, a killed run), and the comparison math against hand-computed
values."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import TRAIN
from dqn_core.experiments.compare import (band, common_grid, ema, group_band, group_runs, group_table, group_table_csv,
                                          resample, thin)
from dqn_core.experiments.runs import Run, delete_run, list_runs, read_run, rename_run, settings_that_differ


def train(runs: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TRAIN, "--runs-dir", str(runs), "--quiet", *args], capture_output=True, text=True,
                          timeout=180)


@pytest.mark.slow
def test_a_cli_run_is_recorded_with_everything_a_comparison_needs(tmp_path):
    runs = tmp_path / "runs"
    proc = train(runs, "--preset", "zoo-state", "--steps", "6000", "--seed", "3", "--set", "lr=0.001",
                 "--set", "eval_every=2000")
    assert proc.returncode == 0, proc.stderr
    [run] = list_runs(runs).values()
    info = run.info
    assert run.status == "finished" and info["reason"] == "step or episode budget reached"
    assert info["preset"] == "zoo-state" and info["seed"] == 3 and info["source"] == "cli"
    assert info["differs_from_preset"] == {"lr": [0.0023, 0.001], "eval_every": [5000, 2000], "seed": [0, 3]}
    assert info["config"]["lr"] == 0.001 and info["software"]["torch"] and info["device"].startswith("cpu")
    assert info["counters"]["steps"] == 6000 and info["counters"]["episodes"] == len(run.episodes["step"])
    assert list(run.evals["step"]) == [2000, 4000, 6000]
    assert info["last_eval"]["step"] == 6000 and info["best_eval"]["score"] == run.best_eval()
    assert len(run.stats["step"]) == 600 and np.isfinite(run.stats["loss"]).sum() == 20   # 5,000 updates: one row in 25 has them
    assert run.agent_path() == run.folder / "agent.dqn" and (run.folder / "best.dqn").exists()
    assert f"recording the run in {run.folder}" in proc.stderr
    assert run.name.startswith("zoo-state-CartPole-v1-s3-")


@pytest.mark.slow
def test_a_killed_run_leaves_a_readable_partial_run_marked_crashed(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([*TRAIN, "--runs-dir", str(runs), "--quiet", "--preset", "tutorial-state", "--steps",
                             "1000000", "--set", "eval_every=5", "--set", "eval_episodes=1"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list_runs(runs)
        if found and len(next(iter(found.values())).episodes.get("step", ())) >= 30:
            break
        time.sleep(0.3)
    run = next(iter(list_runs(runs).values()))
    assert run.status == "running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with open(run.folder / "metrics.jsonl", "a") as f:
        f.write('{"t": "episode", "step": 99')           # a torn last line, as a kill mid-write leaves
    again = read_run(run.folder)
    assert again.status == "crashed" and again.error is None
    assert len(again.episodes["step"]) >= 30 and len(again.evals["step"]) >= 5


@pytest.mark.slow
def test_rename_delete_and_unreadable_runs(tmp_path):
    runs = tmp_path / "runs"
    assert train(runs, "--preset", "tutorial-state", "--steps", "300", "--name", "first").returncode == 0
    [run] = list_runs(runs).values()
    assert run.name == "first"
    rename_run(run.folder, "lr test")
    assert read_run(run.folder).name == "lr test"
    with pytest.raises(ValueError):
        rename_run(run.folder, "  ")
    newer = runs / "from-the-future"
    newer.mkdir()
    (newer / "run.json").write_text(json.dumps({"format": "dqn-studio-run", "version": 99}))
    broken = runs / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    found = list_runs(runs)
    assert found["from-the-future"].status == "unreadable" and "newer DQN Studio" in found["from-the-future"].error
    assert found["broken"].status == "unreadable"
    with pytest.raises(ValueError):
        delete_run(tmp_path)                              # not a run folder: never removed
    delete_run(run.folder)
    assert not run.folder.exists() and set(list_runs(runs)) == {"from-the-future", "broken"}


def test_the_binary_series_hold_the_json_lines_numbers_and_a_torn_row_waits(tmp_path, state_config):
    from dqn_core.experiments.runs import FolderSink, RunRecorder, recorded
    from dqn_core.experiments.series import FILES
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    trainer = Trainer(state_config.replace(eval_every=300, eval_unit="steps", eval_episodes=2))
    recorder = RunRecorder(trainer, FolderSink(tmp_path), "r1")
    control = Control()
    control.patch({"lr": 0.0005})                                   # a live change: in the JSON lines only
    for _ in recorded(trainer.run(control, max_steps=900), recorder):
        pass
    recorder.close("finished")
    folder = tmp_path / "r1"
    binary = read_run(folder)
    for name in FILES:                                              # a run from before the binary series
        (folder / name).rename(tmp_path / name)
    parsed = read_run(folder)
    assert len(binary.stats["step"]) == 90 and len(binary.evals["step"]) == 3 and len(binary.episodes["step"]) > 5
    for kind in ("episodes", "stats", "evals"):
        a, b = getattr(binary, kind), getattr(parsed, kind)
        assert a.keys() == b.keys()
        for column in a:                                            # the JSON rounds wall-clock seconds to 1 ms
            np.testing.assert_allclose(a[column], b[column], atol=1e-3, equal_nan=True, err_msg=f"{kind}.{column}")
    assert binary.changes == parsed.changes and binary.changes[0]["field"] == "lr"
    for name in FILES:
        (tmp_path / name).rename(folder / name)
    with open(folder / "series-stats.f64", "ab") as f:
        f.write(b"\x00" * 13)                                       # a killed writer's torn row
    again = read_run(folder)
    assert len(again.stats["step"]) == 90


def test_ema_is_tensorboards_debiased_smoothing():
    # w = 0.5: s1 = 0.5·1 = 0.5 → /(1−0.5) = 1; s2 = 0.25 + 0.5·3 = 1.75 → /(1−0.25) = 2.333…;
    # NaN passes through and does not count; s3 = 0.875 + 0.5·5 = 3.375 → /(1−0.125) = 3.857…
    out = ema([1.0, 3.0, np.nan, 5.0], 0.5)
    assert out[0] == pytest.approx(1.0) and out[1] == pytest.approx(1.75 / 0.75)
    assert np.isnan(out[2]) and out[3] == pytest.approx(3.375 / 0.875)
    assert list(ema([1.0, 2.0], 0.0)) == [1.0, 2.0]


def test_a_long_curve_is_thinned_to_bin_means_before_it_is_smoothed_and_drawn():
    x = np.arange(10_000, dtype=float)
    y = x.copy()
    y[5000:5010] = np.nan                                       # one bin with no finite value at all
    tx, ty = thin(x, y, points=1000)
    assert len(tx) == len(ty) == 1000
    assert tx[0] == 4.5 and ty[0] == 4.5                        # the mean of 0…9
    assert np.isnan(ty[500]) and ty[501] == pytest.approx(5014.5)
    same_x, same_y = thin(x[:50], y[:50], points=1000)          # short curves are kept as they are
    assert np.array_equal(same_x, x[:50])


def test_resample_interpolates_inside_and_is_nan_outside():
    out = resample(np.array([10.0, 20.0, 40.0]), np.array([1.0, 3.0, 7.0]), np.array([0.0, 10.0, 15.0, 30.0, 40.0, 50.0]))
    assert np.isnan(out[0]) and np.isnan(out[5])
    assert list(out[1:5]) == [1.0, 2.0, 5.0, 7.0]
    assert list(common_grid([np.array([0.0, 5.0]), np.array([3.0, 10.0])], points=3)) == [0.0, 5.0, 10.0]


def test_band_std_stderr_minmax_by_hand():
    curves = np.array([[1.0, 2.0, np.nan], [3.0, 6.0, 4.0], [5.0, 10.0, np.nan]])
    mean, low, high, count = band(curves, "std")
    assert list(count) == [3, 3, 1] and list(mean) == [3.0, 6.0, 4.0]
    # population std of (1, 3, 5) = √(8/3); of (2, 6, 10) = √(32/3)
    assert low[0] == pytest.approx(3 - np.sqrt(8 / 3)) and high[1] == pytest.approx(6 + np.sqrt(32 / 3))
    assert np.isnan(low[2]) and np.isnan(high[2])            # one run there: a mean, but no band to draw
    mean, low, high, _ = band(curves, "stderr")
    # sample std of (1, 3, 5) = 2; stderr = 2/√3
    assert high[0] == pytest.approx(3 + 2 / np.sqrt(3)) and np.isnan(low[2])
    _, low, high, _ = band(curves, "min-max")
    assert list(low[:2]) == [1.0, 2.0] and list(high[:2]) == [5.0, 10.0] and np.isnan(high[2])


def _fake_run(tmp_path: Path, name: str, lr: float, seed: int, evals: list[tuple[int, float]], solved=None) -> Run:
    run = Run(tmp_path / name, info={"name": name, "seed": seed, "solved_at_step": solved,
                                     "config": {"lr": lr, "seed": seed, "gamma": 0.99, "device": "cpu"}})
    steps = np.array([s for s, _ in evals], dtype=float)
    run.evals = {"step": steps, "episode": steps / 10, "mean": np.array([m for _, m in evals]), "std": 0 * steps,
                 "wall": steps / 100}
    run.episodes = {"step": steps, "duration": np.array([m for _, m in evals]), "return": steps,
                    "wall": steps / 100}
    return run


def test_groups_bands_and_the_table_of_groups(tmp_path):
    runs = [_fake_run(tmp_path, "a0", 1e-3, 0, [(0, 10.0), (100, 30.0)], solved=100),
            _fake_run(tmp_path, "a1", 1e-3, 1, [(0, 20.0), (100, 50.0)]),
            _fake_run(tmp_path, "b0", 3e-4, 0, [(0, 0.0), (50, 10.0)])]
    groups = group_runs(runs)
    assert [g.label() for g in groups] == ["lr=0.001", "lr=0.0003"] and groups[0].seeds == [0, 1]
    assert settings_that_differ(runs) == ["seed", "lr"]
    b = group_band(groups[0], "eval", grid=np.array([0.0, 50.0, 100.0]))
    assert list(b.mean) == [15.0, 27.5, 40.0] and list(b.high) == [20.0, 35.0, 50.0]
    b = group_band(groups[1], "eval", grid=np.array([0.0, 50.0, 100.0]))
    assert list(b.count) == [1, 1, 0] and np.isnan(b.mean[2])
    smoothed = group_band(groups[0], "eval", smoothing=0.5, grid=np.array([100.0]))
    # a0: ema(10, 30) = (0.25·10·2 … ) → s = (0.5·0.5·10 + 0.5·30)/(0.75) = 23.33; a1: (5 + 25)/0.75 = 40
    assert smoothed.mean[0] == pytest.approx((23.0 + 1 / 3 + 40.0) / 2)
    rows = group_table(groups)
    assert rows[0]["final_eval_mean"] == 40.0 and rows[0]["final_eval_std"] == 10.0 and rows[0]["solved"] == 1
    assert rows[0]["steps_to_solved_mean"] == 100 and rows[1]["best_eval_mean"] == 10.0
    text = group_table_csv(groups)
    assert text.splitlines()[1] == "lr=0.001,2,0 1,40,10,40,10,1,100"


@pytest.mark.slow
@pytest.mark.needs("tensorboard")
def test_tensorboard_event_files_hold_cleanrls_tags_and_the_hyperparameters(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    assert train(runs, "--preset", "tutorial-state", "--steps", "600", "--set", "eval_every=200", "--set",
                 "eval_unit=steps", "--set", "eval_episodes=2").returncode == 0
    [run] = list_runs(runs).values()
    events = EventAccumulator(str(run.folder))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"charts/episodic_return", "charts/episodic_length", "losses/td_loss", "losses/q_values", "charts/epsilon",
            "eval/mean_return"} <= scalars
    assert [e.step for e in events.Scalars("eval/mean_return")] == [200, 400, 600]
    assert "hyperparameters/text_summary" in events.Tags()["tensors"]


def test_the_progress_line_gives_an_eta(capsys, monkeypatch):
    from dqn_core.cli import terminal

    progress = terminal.Progress(total_steps=1000, total_episodes=None, enabled=True)
    progress.started -= 30.0                                # 30 s in
    trainer = type("T", (), {"episode": 12, "step": 250, "wall_seconds": 30.0,
                             "metrics": type("M", (), {"mean100": lambda self, c: 20.0})()})()
    progress.update(trainer, run_steps=250, run_episodes=12, start_wall=5.0, force=True)
    line = capsys.readouterr().err
    assert "25.0%" in line and "ETA 01:30" in line            # a quarter done in 30 s: 90 s to go
    assert "| 10 steps/s avg |" in line                       # 250 steps in this run's 25 s of training


def test_a_group_of_runs_of_different_lengths_says_how_many_runs_and_seeds_each_point_averages(tmp_path):
    """A long window run grouped with two short sweep trials (seeds 0, 0 and 1): '3 runs, 2 seeds', and past the short
    runs' end the mean is the one long run, with no band."""
    long = _fake_run(tmp_path, "window", 5e-4, 0, [(1000, 10.0), (2000, 20.0), (3000, 30.0), (35000, 350.0)])
    short = [_fake_run(tmp_path, f"trial{s}", 5e-4, s, [(1000, 12.0), (2000, 22.0), (3000, 32.0)]) for s in (0, 1)]
    (group,) = group_runs([long, *short])
    assert group.count_text() == "3 runs, 2 seeds"
    drawn = group_band(group, "eval", grid=np.array([2000.0, 20000.0]))
    assert list(drawn.count) == [3, 1]
    assert np.isfinite(drawn.low[0]) and np.isnan(drawn.low[1]) and np.isnan(drawn.high[1])
    assert drawn.mean[1] == pytest.approx(np.interp(20000, [3000, 35000], [30.0, 350.0]))
