"""The window's loop as a user lives it — train, solved, Start again, change a setting, train again, quit — with
the run folder as the save: what Start does after a solve, what a change after it does, and when Quit asks."""
from __future__ import annotations

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
