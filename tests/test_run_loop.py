"""The window's loop as a user lives it — train, solved, Start again, change a setting, train again, quit — with
the run folder as the save: what Start does after a solve, what a change after it does, and when Quit asks."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import WAIT
from dqn_core.experiments.runs import list_runs

SOLVES_FAST = dict(device="cpu", eval_every=1, eval_unit="episodes", eval_episodes=2, solved_threshold=9.0,
                   stop_when_solved=True)


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    yield


def solve(w, qtbot) -> int:
    """Start and wait until the run stops solved; the step it stopped at."""
    w.training.start()
    qtbot.waitUntil(lambda: w.run.ended == "solved" and w.training.session is None, timeout=WAIT)
    return w.run.trainer.step


def test_start_after_a_solved_run_says_what_it_will_do_and_continue_trains_on(make_window, qtbot, dialogs):
    w = make_window(**SOLVES_FAST)
    solved_at = solve(w, qtbot)
    assert not w.run.dirty and "*" not in w.windowTitle()          # the run folder holds the agent: nothing unsaved
    w.panel.controls["stop_when_solved"].click()                 # "turn it off to keep training"
    assert not w.run.trainer.config.stop_when_solved                 # the run's own to change: it goes on with it
    dialogs["answer"] = "Continue This Run"
    w.training.start()
    title, text = dialogs["question"][-1]
    assert title == "The run is solved" and f"solved at step {w.run.trainer.solved_at_step:,}" in text
    assert "Continue this run: It trains until you stop it." in text
    qtbot.waitUntil(lambda: w.run.trainer.step >= solved_at + 1000, timeout=WAIT)   # not one step and idle
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


def test_with_stop_when_solved_on_continuing_trains_to_the_next_solved_evaluation(make_window, qtbot, dialogs):
    w = make_window(**SOLVES_FAST)
    solved_at = solve(w, qtbot)
    dialogs["answer"] = "Continue This Run"
    w.training.start()
    assert "stop at its next evaluation that is solved" in dialogs["question"][-1][1]
    qtbot.waitUntil(lambda: w.training.session is None and w.run.trainer.last_eval.step > solved_at, timeout=WAIT)
    assert w.run.ended == "solved" and w.run.trainer.last_eval.solved and w.run.trainer.step > solved_at + 1


def test_cancel_keeps_the_solved_run_as_it_is(make_window, qtbot, dialogs):
    w = make_window(**SOLVES_FAST)
    solved_at = solve(w, qtbot)
    dialogs["answer"] = "Cancel"
    w.training.start()
    assert w.training.session is None and w.run.trainer.step == solved_at


def test_a_setting_changed_after_the_solve_is_for_a_new_run_and_nothing_is_asked(make_window, qtbot, dialogs):
    w = make_window(**SOLVES_FAST)
    solve(w, qtbot)
    first, first_run = w.run.trainer, w.run.recorder.run_id
    assert first.config.lr != 5e-4
    w.configs.apply_setting("lr", 5e-4)
    assert first.config.lr != 5e-4 and not first.metrics.changes            # not a live change to a finished agent
    assert "is for a new run" in w.statusBar().currentMessage()
    asked = len(dialogs["question"])
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer not in (None, first) and w.run.trainer.step > 0 and w.run.recorder is not None,
                    timeout=WAIT)
    assert len(dialogs["question"]) == asked                                 # no "save?": the run folder has it
    assert w.run.trainer.config.lr == 5e-4 and w.run.recorder.run_id != first_run
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    runs = list_runs(w.runs_panel.runs_dir)
    assert runs[first_run].status == "finished" and runs[first_run].agent_path().name == "agent.dqn"


def test_one_step_on_an_opened_agent_then_quit_asks_to_save(make_window, qtbot, dialogs, tmp_path):
    w = make_window(device="cpu", eval_every=0)
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step > 50, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    path = tmp_path / "a.dqn"
    assert w.run.trainer.save(str(path)).ok
    assert w.files.open_agent(str(path)) and not w.run.dirty
    w.training.step(1)
    qtbot.waitUntil(lambda: w.run.trainer.step == w.run.saved_step + 1 and w.run.dirty, timeout=WAIT)
    dialogs["answer"] = "Cancel"
    w.close()
    assert dialogs["question"] and "1 training step" in dialogs["question"][-1][1]
    assert w.isVisible()                                                     # Cancel keeps the window


def test_reset_clears_every_readout_of_the_old_run(make_window, qtbot):
    w = make_window(device="cpu", eval_every=0)
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step > 300 and w.env_view.frames_shown > 5,
                    timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    labels = w.status.labels
    assert labels["steps"].text() != "steps 0" and w.env_view.screen.image is not None
    w.actions_by_name["reset"].trigger()
    assert w.run.trainer is None and "no agent yet" in w.windowTitle()
    assert labels["steps"].text() == "steps 0" and labels["episodes"].text() == "episodes 0"
    assert labels["replay"].text() == f"replay 0/{w.run.config.replay_capacity:,} (0%)"
    assert labels["elapsed"].text() == "trained 00:00" and labels["rate"].text() == "idle"
    assert w.env_view.screen.image is None and w.env_view.bars.values is None and not w.env_view.input_views
    assert not w.run.metrics.episodes["step"] and w.plots.banner.kind != "success"
    assert w.actions_by_name["start"].text() == "Start"


def test_before_the_first_start_the_status_bar_shows_the_settings_the_start_will_use(make_window, qtbot):
    w = make_window("zoo-state")
    labels = w.status.labels
    assert labels["lr"].text() == "lr 0.0023" and labels["replay"].text() == "replay 0/100,000 (0%)"
    w.panel.controls["lr"].spin.setValue(0.001)                      # an edit in the panel …
    assert labels["lr"].text() == "lr 0.001"
    w.configs.choose_preset("acrobot-state")                         # … or another preset: the bar follows
    assert labels["lr"].text() == f"lr {w.run.config.lr:.3g}"
    assert labels["replay"].text() == f"replay 0/{w.run.config.replay_capacity:,} (0%)"


def test_an_opened_agent_trains_on_in_a_run_named_after_its_file(make_window, qtbot, tmp_path):
    w = make_window(device="cpu", eval_every=0)
    w.training.step(5)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step >= 5 and w.training.paused, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    assert w.run.trainer.save(str(tmp_path / "my-cartpole.dqn")).ok
    assert w.files.open_agent(str(tmp_path / "my-cartpole.dqn"))
    assert w.panel.shown_preset() == "from agent my-cartpole.dqn" and w.status.labels["steps"].text() == "steps 5"
    assert w.env_view.screen.image is None                      # nothing of the run before stays on screen
    w.training.step(3)
    qtbot.waitUntil(lambda: w.run.recorder is not None and w.training.paused, timeout=WAIT)
    assert w.run.recorder.run_id.startswith("my-cartpole-CartPole-v1-s")
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


def test_grouping_runs_of_different_budgets_says_how_many_runs_each_point_averages(make_window, qtbot, tmp_path):
    """A long run and a short one of the same settings: one group of '2 runs, 2 seeds', whose band stops where the
    short run's data ends (past it, the mean is one run's)."""
    from dqn_core.cli.main import train_main

    runs = tmp_path / "runs"
    for seed, steps in (("0", "3000"), ("1", "1000")):
        assert train_main(["--preset", "tutorial-state", "--steps", steps, "--seed", seed, "--set", "eval_every=500",
                           "--set", "eval_unit=steps", "--set", "eval_episodes=2", "--runs-dir", str(runs), "--quiet",
                           "--set", "stop_when_solved=false"]) == 0
    w = make_window()
    panel = w.runs_panel
    panel.set_runs_dir(runs)
    qtbot.waitUntil(lambda: len(panel.runs) == 2 and not panel.loader.busy, timeout=WAIT)
    panel.group_box.setChecked(True)
    panel.set_checked(list(panel.runs))
    qtbot.waitUntil(lambda: all(r.metrics_loaded for r in panel.runs.values()) and not panel.loader.busy,
                    timeout=WAIT)
    assert w.plots.overlay_labels == ["tutorial-state (2 runs, 2 seeds)"]
    w.plots.set_x_unit("step")
    x, low, high = panel.overlays()[0].bands["duration"]
    short_end = max(r.episodes["step"][-1] for r in panel.runs.values() if r.info["counters"]["steps"] == 1000)
    assert np.isnan(low[x > short_end + 200]).all() and not np.isnan(low[x < short_end - 200]).all()
