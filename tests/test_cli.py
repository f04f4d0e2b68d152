from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from conftest import TRAIN
from dqn_core.cli.main import eval_main, train_main


def run_cli(module_fn: str, *args: str) -> subprocess.CompletedProcess:
    code = f"import sys; from dqn_core.cli.main import {module_fn}; sys.exit({module_fn}(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_train_save_metrics_summary_then_eval(tmp_path):
    agent, csv_path, summary = tmp_path / "a.dqn", tmp_path / "m.csv", tmp_path / "s.json"
    code = train_main(["--preset", "tutorial-state", "--steps", "400", "--seed", "3", "--save", str(agent),
                       "--metrics", str(csv_path), "--summary-json", str(summary), "--quiet", "--set", "eval_episodes=2"])
    assert code == 0
    data = json.loads(summary.read_text())
    for key in ("steps", "episodes", "wall_seconds", "steps_per_second", "device", "eval_mean_return",
                "solved_at_step", "solved_at_seconds"):
        assert key in data
    assert data["steps"] == 400 and data["device"].startswith("cpu") and data["eval_mean_return"] > 0
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == data["episodes"] and rows[0]["mean100_duration"]
    eval_json = tmp_path / "e.json"
    assert eval_main([str(agent), "--episodes", "3", "--summary-json", str(eval_json)]) == 0
    result = json.loads(eval_json.read_text())
    assert result["episodes"] == 3 and len(result["returns"]) == 3 and result["std_return"] >= 0
    # resume continues the same agent
    assert train_main(["--resume", str(agent), "--steps", "100", "--save", str(agent), "--quiet",
                       "--summary-json", str(summary)]) == 0
    resumed = json.loads(summary.read_text())
    assert resumed["steps"] == 500 and resumed["run_steps"] == 100
    # the rate is this run's (100 steps), not 100 steps over the agent's whole training time (500 steps)
    assert resumed["steps_per_second"] > 2 * 100 / resumed["wall_seconds"]


def test_eval_epsilon_is_the_exploration_the_episodes_are_played_at(tmp_path):
    agent, out = tmp_path / "a.dqn", tmp_path / "e.json"
    assert train_main(["--preset", "tutorial-state", "--steps", "300", "--save", str(agent), "--quiet",
                       "--no-record", "--set", "eval_every=0", "--no-final-eval"]) == 0
    scores = {}
    for epsilon in ("0", "1"):
        assert eval_main([str(agent), "--episodes", "10", "--seed", "7", "--epsilon", epsilon,
                          "--summary-json", str(out)]) == 0
        result = json.loads(out.read_text())
        assert result["epsilon"] == float(epsilon)
        scores[epsilon] = result["returns"]
    # The same seeds: a greedy policy and a random one cannot play the same ten CartPole episodes.
    assert scores["0"] != scores["1"]


def test_no_final_eval_leaves_out_the_greedy_evaluation_after_training(tmp_path):
    summary = tmp_path / "s.json"
    assert train_main(["--preset", "tutorial-state", "--steps", "300", "--quiet", "--no-record", "--set",
                       "eval_every=0", "--summary-json", str(summary), "--no-final-eval"]) == 0
    assert json.loads(summary.read_text())["eval_mean_return"] is None
    assert train_main(["--preset", "tutorial-state", "--steps", "300", "--quiet", "--no-record", "--set",
                       "eval_every=0", "--set", "eval_episodes=2", "--summary-json", str(summary)]) == 0
    assert json.loads(summary.read_text())["eval_mean_return"] is not None       # the default scores the final agent


def test_minutes_is_a_budget_of_training_time_and_whichever_budget_ends_first_ends_the_run(tmp_path):
    summary = tmp_path / "s.json"
    assert train_main(["--preset", "tutorial-state", "--minutes", "0.02", "--quiet", "--no-record", "--set",
                       "eval_every=0", "--summary-json", str(summary), "--no-final-eval"]) == 0
    timed = json.loads(summary.read_text())
    assert timed["outcome"] == "budget" and 1.2 <= timed["wall_seconds"] < 3.0 and timed["steps"] > 100
    assert train_main(["--preset", "tutorial-state", "--minutes", "10", "--steps", "200", "--quiet", "--no-record",
                       "--set", "eval_every=0", "--summary-json", str(summary), "--no-final-eval"]) == 0
    assert json.loads(summary.read_text())["steps"] == 200                       # the step budget came first
    assert train_main(["--minutes", "0", "--quiet", "--no-record"]) == 2


def test_list_presets(capsys):
    assert train_main(["--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in ("seed-pixels", "tutorial-state", "zoo-state", "pixels", "acrobot-state", "mountaincar-state"):
        assert name in out


@pytest.mark.parametrize("fn, args, fragment", [
    ("train_main", ["--preset", "nope"], "preset = 'nope' is invalid"),
    ("train_main", ["--preset", "tutorial-state", "--set", "lr=7"], "lr = 7.0 is invalid"),
    ("train_main", ["--preset", "tutorial-state", "--set", "lr"], "expected KEY=VALUE"),
    ("train_main", ["--preset", "tutorial-state", "--env", "Pendulum-v1", "--steps", "5"], "discrete action space"),
    ("train_main", ["--preset", "tutorial-state", "--env", "Nope-v0", "--steps", "5"], "not a known gymnasium"),
    ("train_main", ["--steps", "-3"], "--steps = -3 is invalid"),
    ("train_main", ["--steps", "ten"], "invalid int value"),
    ("train_main", ["--save", "/no/such/folder/a.dqn", "--steps", "5"], "does not exist"),
    ("train_main", ["--save-best", "/no/such/folder/b.dqn", "--steps", "5"], "--save-best = '/no/such/folder/b.dqn'"),
    ("train_main", ["--resume", "/no/such/file.dqn"], "cannot be read"),
    ("eval_main", ["/no/such/file.dqn"], "cannot be read"),
])
def test_bad_input_gives_one_line_and_no_traceback(fn, args, fragment):
    proc = run_cli(fn, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and fragment in lines[0], proc.stderr


@pytest.mark.slow
def test_save_best_writes_the_agent_of_the_best_evaluation(tmp_path):
    from dqn_core.training.loading import load_agent

    best, final, summary = tmp_path / "best.dqn", tmp_path / "final.dqn", tmp_path / "s.json"
    proc = run_cli("train_main", "--preset", "tutorial-state", "--steps", "1500", "--seed", "1", "--quiet",
                   "--set", "eval_every=300", "--set", "eval_unit=steps", "--set", "eval_episodes=3",
                   "--save-best", str(best), "--save", str(final), "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    kept = load_agent(best)
    assert kept.step == data["best_eval_step"] and kept.last_eval.score == data["best_eval_score"]
    assert kept.last_eval.new_best and load_agent(final).step == 1500
    assert kept.metrics.evals["step"][-1] == kept.step      # its curves end at its own evaluation
    assert f"best agent (evaluation {data['best_eval_score']:.1f} at step {kept.step:,}) in {best}" in proc.stderr


def test_corrupt_agent_file_for_eval(tmp_path):
    bad = tmp_path / "bad.dqn"
    bad.write_bytes(b"PK\x03\x04 definitely not an agent")
    proc = run_cli("eval_main", str(bad))
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_engine_never_imports_qt():
    code = ("import sys, dqn_core.training.trainer, dqn_core.training.loading, dqn_core.cli.main, dqn_core.experiments.runs; "
            "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("option", ["--list-settings", "--list-presets"])
def test_a_listing_piped_into_a_reader_that_stops_early_ends_quietly(option):
    """`dqn-train --list-settings | head`: head closes the pipe; dqn-train ends with 0 and says nothing."""
    proc = subprocess.Popen([*TRAIN, option], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                                   # the reader is gone before the first line
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b""


def test_the_preset_list_names_where_each_time_was_measured():
    proc = subprocess.run([*TRAIN, "--list-presets"], capture_output=True, text=True, timeout=60)
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert lines["mnih2013"].endswith("(days on 2 CPU cores; hours on a GPU)")
    assert lines["zoo-state"].endswith("(solves in ~20 s on 2 CPU cores)")
