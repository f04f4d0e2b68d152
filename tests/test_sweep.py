"""dqn-sweep on a real local Ray, run the way a user runs it. Ray listens on every interface and advertises the
machine's address, so each sweep runs inside a network namespace that has only loopback (`unshare -n`)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import WAIT
from dqn_core.experiments.runs import list_runs, read_run


def _can_isolate() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True).returncode == 0


_ISOLATED = _can_isolate()


def ray_sweep(test):
    """Tests that start Ray need the extra and a loopback-only namespace; the others run everywhere."""
    isolated = pytest.mark.skipif(not _ISOLATED, reason="needs `unshare -n` (root) to keep Ray on loopback")
    return pytest.mark.slow(pytest.mark.needs("sweep")(isolated(test)))

SWEEP = f"{sys.executable} -c 'import sys; from dqn_core.experiments.sweep import main; sys.exit(main(sys.argv[1:]))'"


def sweep_command(*args: str) -> list[str]:
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    return ["unshare", "-n", "sh", "-c", f"ip link set lo up; exec {SWEEP} {quoted}"]


def run_sweep(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(sweep_command(*args), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, RAY_ENABLE_UV_RUN_RUNTIME_ENV="0"))


@ray_sweep
def test_two_settings_on_two_seeds_record_four_runs_and_a_summary(tmp_path):
    runs, summary = tmp_path / "runs", tmp_path / "s.json"
    proc = run_sweep("--preset", "zoo-state", "--grid", "lr=1e-3,2.3e-3", "--seeds", "0", "1", "--steps", "3000",
                     "--runs-dir", str(runs), "--name", "lr", "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(summary.read_text())
    assert data["name"] == "lr" and data["wall_seconds"] > 0
    assert sorted((t["params"]["lr"], t["seed"]) for t in data["trials"]) == [(0.001, 0), (0.001, 1), (0.0023, 0),
                                                                              (0.0023, 1)]
    for trial in data["trials"]:
        assert trial["status"] == "finished" and trial["steps"] == 3000 and trial["node"]["id"]
        assert set(trial) >= {"name", "params", "seed", "status", "node", "steps", "final_eval_mean",
                              "best_eval_score", "solved_at_step", "run_dir"}
        run = read_run(trial["run_dir"])
        assert run.info["sweep"]["name"] == "lr" and run.agent_path() is not None
        assert run.final_eval() == trial["final_eval_mean"]
    assert [g["params"] for g in data["groups"]] == [{"lr": 0.001}, {"lr": 0.0023}]
    assert all(g["seeds"] == [0, 1] for g in data["groups"])
    assert "lr=0.001 | 0 1 |" in proc.stdout and "4 of 4 trials finished" in proc.stderr
    # the same seed and settings trained by dqn-train score the same: runs are deterministic on the CPU
    single = subprocess.run([sys.executable, "-c", "import sys; from dqn_core.cli.main import train_main; "
                             "sys.exit(train_main(sys.argv[1:]))", "--preset", "zoo-state", "--set", "lr=1e-3",
                             "--seed", "1", "--steps", "3000", "--quiet", "--no-record"],
                            capture_output=True, text=True, timeout=120)
    ours = next(t for t in data["trials"] if t["params"]["lr"] == 0.001 and t["seed"] == 1)
    assert json.loads(single.stdout)["eval_mean_return"] == ours["final_eval_mean"]


@ray_sweep
def test_a_failing_trial_is_reported_and_the_others_finish(tmp_path):
    runs, summary = tmp_path / "runs", tmp_path / "s.json"
    # A valid setting that no agent can be built with (one slot cannot hold a transition): found in the trial.
    proc = run_sweep("--preset", "zoo-state", "--set", "batch_size=1", "--grid", "replay_capacity=1,100000",
                     "--seeds", "0", "--steps", "2000", "--runs-dir", str(runs), "--name", "bad", "--summary-json",
                     str(summary))
    assert proc.returncode == 1, proc.stderr[-3000:]
    trials = {t["params"]["replay_capacity"]: t for t in json.loads(summary.read_text())["trials"]}
    assert trials[100000]["status"] == "finished"
    assert trials[1]["status"] == "failed" and "must hold at least two frames per env" in trials[1]["reason"]
    assert "failed: bad-000-replay_capacity1-s0" in proc.stderr


def test_bad_sweep_input_is_refused_before_ray_starts(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import sys; from dqn_core.experiments.sweep import main; sys.exit(main())",
                           "--grid", "lr=1e-3,7", "--runs-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "lr = 7.0 is invalid" in proc.stderr and "Traceback" not in proc.stderr


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


@ray_sweep
def test_a_killed_trial_restarts_from_its_last_agent_and_ctrl_c_keeps_finished_runs(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(sweep_command("--preset", "zoo-state", "--set", "eval_every=2000", "--set",
                                          "stop_when_solved=false", "--grid",
                                          "lr=1e-3", "--seeds", "0", "1", "--steps", "20000", "--max-concurrent",
                                          "1", "--runs-dir", str(runs), "--name", "crash"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = runs / "crash-000-lr0.001-s0"
    # Generous limits: on a loaded 2-core machine Ray alone can take a minute to start; unloaded this test takes ~40 s.
    _wait_for(lambda: (first / "checkpoint.dqn").exists() and read_run(first).info.get("counters", {})
              .get("steps", 0) >= 6000, 400)
    os.kill(read_run(first).info["pid"], signal.SIGKILL)          # the trial's worker process dies
    _wait_for(lambda: read_run(first).status == "finished", 400)
    restarted = read_run(first)
    assert restarted.info["sweep"]["restarted_from_step"] >= 4000 and restarted.info["counters"]["steps"] == 20000
    second = runs / "crash-001-lr0.001-s1"
    _wait_for(lambda: second.exists() and read_run(second).status == "running", 200)
    proc.send_signal(signal.SIGINT)                               # Ctrl+C: the sweep stops, finished runs stay
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "--resume crash" in err
    assert read_run(first).status == "finished"
    assert read_run(second).status == "stopped" and read_run(second).info["reason"] == "the sweep was interrupted"
    proc = run_sweep("--resume", "crash", "--runs-dir", str(runs))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {r.id: r.status for r in list_runs(runs).values()} == {first.name: "finished", second.name: "finished"}


@ray_sweep
def test_training_sweep_runs_from_the_window_and_its_trials_are_grouped_in_the_runs_panel(
        make_window, qtbot, monkeypatch, tmp_path, isolated_settings):
    from app.sweep_dialog import SweepDialog

    monkeypatch.setenv("DQN_STUDIO_SWEEP_PREFIX", "unshare -n sh -c 'ip link set lo up; exec \"$@\"' sh")
    w = make_window("zoo-state")
    w.runs_panel.set_runs_dir(tmp_path / "runs")

    def fill_and_accept(dialog):
        box, values = dialog.settings[0]
        assert box.currentText() == "Learning rate (lr)" and values.text() == "0.0023, 0.00115"
        values.setText("0.001, 0.0023")
        dialog.seeds.setText("0 1")
        dialog.steps.setValue(2000)
        dialog.name.setText("from-window")
        assert dialog.count.text() == "4 trials: 2 setting combinations × 2 seeds"
        return SweepDialog.DialogCode.Accepted

    monkeypatch.setattr(SweepDialog, "exec", fill_and_accept)
    w.actions_by_name["sweep"].trigger()
    assert w.sweeps.monitor.running and w.sweeps.monitor.isVisible()
    with qtbot.waitSignal(w.sweeps.monitor.finished, timeout=240_000) as finished:
        pass
    assert finished.args[0] == 0, finished.args[1]
    panel = w.runs_panel
    qtbot.waitUntil(lambda: panel.auto_check_prefix is None and not panel.loader.busy and len(panel.runs) == 4
                    and all(r.metrics_loaded for r in panel.runs.values()), timeout=WAIT)
    assert all(r.status == "finished" for r in panel.runs.values())
    assert panel.checked == set(panel.runs) and panel.group_box.isChecked()
    assert w.plots.overlay_labels == ["lr=0.001 (2 runs, 2 seeds)", "lr=0.0023 (2 runs, 2 seeds)"]
    assert "finished" in w.statusBar().currentMessage()


@ray_sweep
def test_asha_stops_weak_trials_early_and_says_so(tmp_path):
    runs, summary = tmp_path / "runs", tmp_path / "s.json"
    proc = run_sweep("--preset", "zoo-state", "--set", "eval_every=1000", "--set", "stop_when_solved=false", "--grid",
                     "lr=2.3e-3,1e-6", "--seeds", "0", "1", "--steps", "6000", "--asha", "--runs-dir", str(runs),
                     "--name", "asha", "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = json.loads(summary.read_text())["trials"]
    assert {t["status"] for t in trials} <= {"finished", "stopped"}
    stopped = [t for t in trials if t["status"] == "stopped"]
    finished = [t for t in trials if t["status"] == "finished"]
    assert stopped and all(t["reason"].startswith("stopped early by ASHA") and t["steps"] < 6000 for t in stopped)
    assert finished and all(t["steps"] == 6000 and read_run(t["run_dir"]).agent_path() for t in finished)
    assert any(t["params"]["lr"] == 1e-6 for t in stopped)           # the learning rate that learns nothing


def test_sampled_settings_are_drawn_once_per_trial_for_every_seed_and_reproducibly(tmp_path):
    from dqn_core.experiments.sweep import build_spec, parser

    args = parser().parse_args(["--preset", "zoo-state", "--sample", "lr=loguniform:1e-4:1e-2", "--sample",
                                "batch_size=choice:32|64|128", "--trials", "5", "--seeds", "0", "1", "--grid",
                                "double_dqn=true,false", "--name", "s"])
    spec = build_spec(args)
    assert len(spec["trials"]) == 5 * 2 * 2                     # 5 draws × 2 grid values × 2 seeds
    combos = {json.dumps(t["params"], sort_keys=True) for t in spec["trials"]}
    assert len(combos) == 10 and all(1e-4 <= t["params"]["lr"] <= 1e-2 for t in spec["trials"])
    assert {t["params"]["batch_size"] for t in spec["trials"]} <= {32, 64, 128}
    assert all(sum(u["params"] == t["params"] for u in spec["trials"]) == 2 for t in spec["trials"])   # both seeds
    assert build_spec(args)["trials"] == spec["trials"]        # the same draws again: resumable
    with pytest.raises(ValueError, match="loguniform"):
        build_spec(parser().parse_args(["--sample", "lr=loguniform:0:1"]))
