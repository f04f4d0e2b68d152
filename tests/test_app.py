"""The real window, driven as a user would: menus, toolbar actions, sliders, dialogs (patched), real threads."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QScrollArea

from conftest import WAIT
from dqn_core.presets import list_presets, load_preset


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    """Every window test gets empty QSettings and its own data folder (conftest's isolated_settings)."""
    yield


def trained_steps(window) -> int:
    return window.run.trainer.step if window.run.trainer is not None else 0


def test_start_training_updates_curve_env_view_and_status(make_window, qtbot):
    w = make_window(device="cpu")
    w.actions_by_name["start"].trigger()
    qtbot.waitUntil(lambda: len(w.run.metrics.episodes["step"]) >= 5 and w.env_view.frames_shown >= 5
                    and "steps/s" in w.status.labels["rate"].text(), timeout=WAIT)
    w.plots.redraw()
    x, y = w.plots.curves["duration"].getData()
    assert len(x) >= 5 and y[0] == w.run.metrics.episodes["duration"][0]
    assert len(w.plots.curves["mean100"].getData()[0]) == len(x)
    assert w.env_view.screen.image is not None and w.env_view.screen.image.width() == 600
    assert "episode" in w.env_view.screen.overlay and "ε" in w.env_view.screen.overlay
    assert w.env_view.bars.values is not None and len(w.env_view.bars.values) == 2
    assert w.status.labels["device"].text().startswith("cpu")
    assert "steps/s" in w.status.labels["rate"].text()
    assert w.status.labels["lr"].text() == "lr 0.0001"                   # tutorial-state's constant rate
    assert "training" in w.windowTitle()


def test_a_window_run_ends_as_a_cli_run_does_with_a_final_evaluation_and_its_agents(make_window, qtbot):
    from dqn_core.experiments.runs import read_run

    w = make_window(device="cpu", eval_every=0, eval_episodes=3)      # no evaluation while training
    w.training.start()
    qtbot.waitUntil(lambda: trained_steps(w) >= 300, timeout=WAIT)
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None or not w.training.session.running, timeout=WAIT)
    run = read_run(w.run.recorder.sink.folder(w.run.recorder.run_id))
    assert run.status == "stopped" and run.info["last_eval"]["step"] == w.run.trainer.step    # the final agent scored
    assert run.final_eval() == w.run.trainer.last_eval.mean_return and len(w.run.trainer.last_eval.returns) == 3
    assert run.agent_path() is not None and run.agent_path().name == "agent.dqn"
    assert w.run.metrics.evals["step"] == [w.run.trainer.step]                 # and the plot shows it
    assert "Greedy evaluation at step" in w.statusBar().currentMessage()


def test_status_bar_shows_an_evaluation_and_its_confirmation(make_window, qtbot):
    w = make_window(device="cpu", eval_every=1, eval_unit="episodes", eval_episodes=2, confirm_episodes=5,
                    solved_threshold=0.0)
    w.training.start()
    qtbot.waitUntil(lambda: "more episodes" in w.statusBar().currentMessage(), timeout=WAIT)
    message = w.statusBar().currentMessage()
    assert message.startswith("Greedy evaluation at step") and "; 5 more episodes: " in message
    assert message.endswith("— solved!")


def test_pixel_view_shows_every_stacked_frame(make_window, qtbot):
    w = make_window("pixels", device="cpu", learning_starts=200, replay_capacity=2000, frame_stack=3)
    w.training.start()
    qtbot.waitUntil(lambda: w.env_view.frames_shown >= 3, timeout=WAIT)
    assert len(w.env_view.input_views) == 3
    assert all(v.image is not None and v.image.height() == 40 for v in w.env_view.input_views)
    # pixels' frames are 4 steps apart, and the caption says so
    assert w.env_view.input_caption.text() == "What the network sees: t−8 | t−4 | t"


def test_lr_slider_during_training_changes_optimizer_and_marks_the_plot(make_window, qtbot):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: trained_steps(w) > 50, timeout=WAIT)
    control = w.panel.controls["lr"]
    assert control.isEnabled() and not w.panel.controls["replay_capacity"].isEnabled()
    assert "Locked while training" in w.panel.controls["replay_capacity"].toolTip()
    control.slider.setValue(control.slider.value() + 100)          # a click on the slider's track
    wanted = control.value()
    assert wanted != pytest.approx(1e-4)
    qtbot.waitUntil(lambda: w.run.trainer.agent.optimizer.param_groups[0]["lr"] == pytest.approx(wanted), timeout=WAIT)
    qtbot.waitUntil(lambda: w.run.config.lr == pytest.approx(wanted), timeout=WAIT)
    w.plots.redraw()
    assert any(label.startswith("lr 0.0001→") for label in w.plots.marker_labels())


def test_changes_made_together_share_one_marker(qtbot):
    import pyqtgraph as pg

    from app.plots import PlotsPanel
    from dqn_core.training.metrics import Metrics

    metrics = Metrics()
    for step in (10, 20, 30):
        metrics.add_episode(step, 10, 10.0, step / 100)
    metrics.add_change(20, 2, "lr", 0.001, 0.0005)
    metrics.add_change(20, 2, "gamma", 0.99, 0.98)
    metrics.add_change(30, 3, "batch_size", 64, 128)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.set_metrics(metrics)
    assert panel.marker_labels() == ["lr 0.001→0.0005\ngamma 0.99→0.98", "batch_size 64→128"]
    metrics.add_change(30, 3, "tau", 1.0, 0.5)                # a later change redraws the markers
    panel.redraw()
    panel.set_x_unit("step")                                # and so does another x unit
    assert panel.marker_labels() == ["lr 0.001→0.0005\ngamma 0.99→0.98", "batch_size 64→128\ntau 1→0.5"]
    for plot in panel.plots.values():                      # each plot holds two markers, none left from before
        assert sum(isinstance(item, pg.InfiniteLine) for item in plot.items) == 2


def test_pause_step_resume(make_window, qtbot):
    w = make_window()
    w.actions_by_name["start"].trigger()
    qtbot.waitUntil(lambda: trained_steps(w) > 20, timeout=WAIT)
    w.actions_by_name["pause"].trigger()
    qtbot.waitUntil(lambda: w.training.paused, timeout=WAIT)
    assert "paused" in w.windowTitle() and w.actions_by_name["start"].text() == "Resume"
    before = trained_steps(w)
    qtbot.wait(300)
    assert trained_steps(w) == before
    w.actions_by_name["step"].trigger()
    qtbot.waitUntil(lambda: trained_steps(w) == before + 1, timeout=WAIT)
    episodes = w.run.trainer.episode
    w.actions_by_name["step_episode"].trigger()
    qtbot.waitUntil(lambda: w.run.trainer.episode == episodes + 1, timeout=WAIT)
    qtbot.wait(200)
    assert w.run.trainer.episode == episodes + 1 and w.training.paused
    w.actions_by_name["start"].trigger()
    qtbot.waitUntil(lambda: not w.training.paused and trained_steps(w) > before + 100, timeout=WAIT)
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


def test_save_through_menu_while_training_and_load_in_fresh_window(make_window, qtbot, tmp_path, monkeypatch):
    w = make_window(eval_every=3, eval_episodes=2)
    path = str(tmp_path / "mine.dqn")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (path, ""))
    w.training.start()
    qtbot.waitUntil(lambda: len(w.run.metrics.episodes["step"]) >= 4, timeout=WAIT)
    w.actions_by_name["save"].trigger()                               # while training: saved at a step boundary
    # Saved: the path is the agent's (training goes on, so the next episode may mark it unsaved again at once).
    qtbot.waitUntil(lambda: w.run.path == path and Path(path).is_file(), timeout=WAIT)
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    w.actions_by_name["save"].trigger()                               # idle: saved directly
    assert not w.run.dirty
    fresh = make_window(preset="seed-pixels")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (path, ""))
    fresh.actions_by_name["open"].trigger()
    assert fresh.run.config == w.run.config
    assert (fresh.run.trainer.step, fresh.run.trainer.episode) == (w.run.trainer.step, w.run.trainer.episode)
    assert fresh.run.metrics.episodes == w.run.metrics.episodes
    assert fresh.run.metrics.evals == w.run.metrics.evals
    fresh.plots.redraw()
    assert len(fresh.plots.curves["duration"].getData()[0]) == len(w.run.metrics.episodes["step"])
    assert fresh.panel.value("lr") == pytest.approx(w.run.config.lr)
    assert str(tmp_path / "mine.dqn") in fresh.recent_files()
    fresh.actions_by_name["start"].trigger()                          # ready to continue training
    qtbot.waitUntil(lambda: fresh.run.trainer.step > w.run.trainer.step + 10, timeout=WAIT)


def test_save_best_agent_through_the_file_menu_while_training_and_idle(make_window, qtbot, tmp_path, monkeypatch):
    from dqn_core.training.loading import load_agent

    w = make_window(eval_every=2, eval_unit="episodes", eval_episodes=2)
    action = w.actions_by_name["save_best"]
    assert action in w.menuBar().actions()[0].menu().actions() and not action.isEnabled()   # nothing evaluated yet
    path = str(tmp_path / "best")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (path, ""))
    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    w.training.start()
    qtbot.waitUntil(lambda: any(m.startswith("Greedy evaluation at step ") and " (best so far): " in m
                                for m in messages), timeout=WAIT)    # the first evaluation is the best so far
    assert action.isEnabled()
    action.trigger()                                                       # while training: at a step boundary
    qtbot.waitUntil(lambda: any(m.startswith("Saved the best agent (evaluation ") for m in messages), timeout=WAIT)
    saved = next(m for m in messages if m.startswith("Saved the best agent"))
    size_kib = Path(path + ".dqn").stat().st_size / 1024
    assert saved.endswith(f"to {path}.dqn ({size_kib:,.0f} KiB)")
    assert w.run.path is None                                  # the current agent itself is still unsaved
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    best = w.run.trainer.best.result
    assert best.step <= w.run.trainer.step and str(best.step) in action.statusTip().replace(",", "")
    path = str(tmp_path / "best-idle.dqn")
    action.trigger()                                                       # idle: written directly
    kept = load_agent(path)
    assert (kept.step, kept.last_eval.score) == (best.step, best.score)
    assert w.actions_by_name["open"].isEnabled() and not w.run.dirty      # the run folder holds the agent itself


def test_close_while_training_exits_cleanly_without_asking(make_window, qtbot, dialogs):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: trained_steps(w) > 100 and w.run.dirty, timeout=WAIT)
    session, trainer, recorder = w.training.session, w.run.trainer, w.run.recorder
    assert w.close()
    assert not session.thread.isRunning() and w.training.session is None
    assert not dialogs["question"]                     # nothing is lost: the run folder holds every step
    info = json.loads((recorder.sink.folder(recorder.run_id) / "run.json").read_text())
    assert info["counters"]["steps"] == trainer.step and info["agents"]["final"]


def test_unsaved_prompt_cancel_keeps_an_opened_agent(make_window, qtbot, dialogs, tmp_path):
    w = make_window()
    w.training.step(5)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step >= 5, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    w.run.trainer.save(str(tmp_path / "mine.dqn"))
    assert w.files.open_agent(str(tmp_path / "mine.dqn"))
    w.training.start()
    qtbot.waitUntil(lambda: trained_steps(w) > 100 and w.run.dirty, timeout=WAIT)
    trainer = w.run.trainer
    dialogs["answer"] = QMessageBox.StandardButton.Cancel
    w.actions_by_name["new"].trigger()
    assert w.run.trainer is trainer and w.run.dirty
    assert "mine.dqn does not have" in dialogs["question"][0][1]
    dialogs["answer"] = QMessageBox.StandardButton.Discard
    w.actions_by_name["new"].trigger()
    assert w.run.trainer is None and not w.run.dirty


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"not an agent at all"])
def test_corrupt_file_shows_error_and_changes_nothing(make_window, qtbot, tmp_path, monkeypatch, dialogs, content):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: len(w.run.metrics.episodes["step"]) >= 3, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    trainer, config, episodes = w.run.trainer, w.run.config, list(w.run.metrics.episodes["step"])
    bad = tmp_path / "broken.dqn"
    bad.write_bytes(content)
    w.run.dirty = False
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    w.actions_by_name["open"].trigger()
    assert dialogs["critical"] and str(bad) in dialogs["critical"][-1][1]
    assert w.run.trainer is trainer and w.run.config == config and w.run.metrics.episodes["step"] == episodes


def test_hidden_layers_are_greyed_out_with_the_reason_where_the_network_has_its_own(make_window):
    w = make_window(preset="pixels")                                  # the 2013 DQN net: 256 hidden units of its own
    control, label = w.panel.controls["hidden_sizes"], w.panel.labels["hidden_sizes"]
    assert not control.isEnabled() and not label.isEnabled()
    assert "Not used:</b> mnih2013-cnn has its own hidden layer of 256 units" in control.toolTip()
    box = w.panel.controls["network"]
    box.setCurrentText("fast-cnn")
    box.activated.emit(box.currentIndex())                           # the user picks a net that reads them
    assert w.run.config.network == "fast-cnn"
    assert control.isEnabled() and label.isEnabled() and "Not used" not in control.toolTip()
    w.edits.undo()                                                   # Edit ▸ Undo: back to the 2013 net
    assert w.run.config.network == "mnih2013-cnn" and not control.isEnabled()


def test_an_unfinished_list_of_hidden_layers_is_taken_or_refused_never_left_showing(make_window, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QFocusEvent

    w = make_window(preset="zoo-state")                               # hidden layers 256, 256
    control = w.panel.controls["hidden_sizes"]
    control.selectAll()
    qtbot.keyClicks(control, "64,")                                   # a comma too many: Qt's validator waits
    # The user clicks elsewhere (the event Qt sends then; an offscreen window never holds the keyboard focus).
    QApplication.sendEvent(control, QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.MouseFocusReason))
    assert w.run.config.hidden_sizes == (64,) and control.text() == "64"
    control.selectAll()
    qtbot.keyClick(control, Qt.Key.Key_Delete)                        # nothing at all, then Return
    qtbot.keyClick(control, Qt.Key.Key_Return)
    assert w.run.config.hidden_sizes == (64,) and control.text() == "64"     # the value in force, shown again
    assert "hidden_sizes" in w.panel.message.text() and "1 to 8 integers in [1, 4096]" in w.panel.message.text()


def test_the_evaluation_plot_says_at_which_epsilon_its_games_are_played(make_window, qtbot):
    w = make_window(preset="zoo-state")                               # greedy evaluations
    title = w.plots.plots["eval"].titleLabel
    assert title.text == "Greedy evaluation return"
    w.panel.controls["eval_epsilon"].spin.setValue(0.05)             # as the Atari papers play them
    assert w.run.config.eval_epsilon == 0.05 and title.text == "Evaluation return (ε 0.05)"
    w.training.step(300)                                             # a trainer now: its evaluations say so too
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.training.paused, timeout=WAIT)
    assert title.text == "Evaluation return (ε 0.05)"
    w.panel.controls["eval_epsilon"].spin.setValue(0.0)              # a live setting: the paused trainer takes it
    qtbot.waitUntil(lambda: title.text == "Greedy evaluation return", timeout=WAIT)   # when it says it has
    assert w.run.trainer.config.eval_epsilon == 0.0


def test_settings_that_do_nothing_for_the_config_are_greyed_out_with_the_reason(make_window):
    w = make_window(preset="zoo-state")                               # CartPole from its state vector
    for name, reason in (("noop_max", "only for Atari games (obs = atari)"),
                         ("pixel_view", "only for rendered screens (obs = pixels)"),
                         ("frame_gap", "a state vector is seen one at a time (obs = state)")):
        control = w.panel.controls[name]
        assert not control.isEnabled() and not w.panel.labels[name].isEnabled(), name
        assert f"Not used:</b> {reason}." in control.toolTip()
    assert w.panel.controls["lr"].isEnabled() and "Not used" not in w.panel.controls["lr"].toolTip()
    box = w.panel.controls["obs"]
    box.setCurrentText("pixels")
    box.activated.emit(box.currentIndex())                           # the user asks for the screen instead
    assert w.run.config.obs == "pixels"
    assert w.panel.controls["pixel_view"].isEnabled() and w.panel.controls["frame_gap"].isEnabled()
    assert not w.panel.controls["noop_max"].isEnabled()              # still not an Atari game
    w.edits.undo()
    assert not w.panel.controls["pixel_view"].isEnabled()


def wheel(widget, notches: int = -1) -> None:
    """One turn of the mouse wheel over `widget`'s centre, delivered as Qt delivers it (parents may take it)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_settings_past_controls_not_clicked(make_window, qtbot):
    w = make_window(preset="zoo-state")
    w.resize(1200, 700)                                              # the settings need scrolling
    bar = w.panel.findChild(QScrollArea).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT)
    config = w.run.config
    for control in (w.panel.controls["network"], w.panel.controls["lr"].spin, w.panel.controls["lr"].slider):
        bar.setValue(0)
        wheel(control)
        assert w.run.config == config, control                      # the pointer passing over it changes nothing
        assert w.panel.value("network") == config.network and not w.panel.message.isVisibleTo(w.panel)
        assert bar.value() > 0, control                              # the panel scrolled instead
    wheel(w.panel.preset_box)
    assert w.run.config == config and w.panel.shown_preset().startswith("zoo-state")
    spin = w.panel.controls["lr"].spin
    w.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=WAIT)
    wheel(spin, notches=+1)                                          # clicked into, the wheel edits it
    assert w.run.config.lr > config.lr


def test_presets_load_into_the_panel(make_window):
    w = make_window(preset=None)
    assert w.run.config == load_preset("zoo-state")                      # the first time: one that learns in a minute
    for name in list_presets():
        box = w.panel.preset_box
        box.setCurrentIndex(box.findData(name))
        box.activated.emit(box.currentIndex())                       # the user picks it
        want = load_preset(name)
        assert w.run.config == want
        assert w.panel.value("batch_size") == want.batch_size and w.panel.value("obs") == want.obs
        assert w.panel.value("lr") == pytest.approx(want.lr)
        assert w.panel.shown_preset().startswith(f"{name} — ")       # with its typical time to solve


def test_bad_preset_file_is_refused_with_the_range(make_window, tmp_path, monkeypatch, dialogs):
    w = make_window()
    before = w.run.config
    bad = tmp_path / "bad.toml"
    bad.write_text("[config]\nlr = 7.0\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    w.actions_by_name["load_preset"].trigger()
    title, text = dialogs["critical"][-1]
    assert "lr = 7.0 is invalid: a number in [1e-06, 1]" in text and "bad.toml" in text
    assert w.run.config == before


def test_invalid_combination_typed_in_a_spin_box_is_refused(make_window):
    w = make_window()
    spin = w.panel.controls["batch_size"].spin
    assert spin.maximum() == 4096                                    # the spin box itself holds the range
    capacity = w.run.config.replay_capacity
    assert capacity >= 4096
    spin.setValue(4096)                                              # not above the replay capacity: allowed
    assert w.run.config.batch_size == 4096
    w.panel.controls["replay_capacity"].spin.setValue(1000)          # now smaller than a batch: refused
    assert w.run.config.replay_capacity == capacity and w.panel.value("replay_capacity") == capacity
    assert "must not exceed" in w.panel.message.text() and w.panel.message.isVisibleTo(w.panel)


def test_engine_failure_shows_dialog_and_app_stays_usable(make_window, qtbot, dialogs):
    import torch

    w = make_window(grad_clip_mode="none", loss="mse", learning_starts=32, batch_size=32)
    w.training.step(1)                                               # builds the agent, takes one step, pauses
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.training.paused, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    with torch.no_grad():                                            # weights so large the loss overflows
        for p in w.run.trainer.agent.q_net.parameters():
            p.mul_(1e30)
    w.training.start()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    assert dialogs["critical"] and "non-finite" in dialogs["critical"][-1][1] and w.run.ended == "failed"
    assert all(np.isfinite(p.detach().numpy()).all() for p in w.run.trainer.agent.q_net.parameters())
    failed = w.run.trainer
    w.panel.controls["lr"].spin.setValue(0.001)                      # still usable: fix the setting, train again
    assert failed.agent.lr != pytest.approx(0.001)                   # an ended run is not changed after the fact
    w.training.start()                                               # a new run with the new setting
    qtbot.waitUntil(lambda: w.run.trainer is not failed and trained_steps(w) > 100, timeout=WAIT)
    assert w.run.trainer.agent.lr == pytest.approx(0.001)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


def test_watch_greedy_agent_plays_without_training(make_window, qtbot):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: trained_steps(w) > 200, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    steps, shown = w.run.trainer.step, w.env_view.frames_shown
    w.actions_by_name["watch"].trigger()
    qtbot.waitUntil(lambda: w.env_view.frames_shown > shown + 10, timeout=WAIT)
    assert w.run.trainer.step == steps and "watching" in w.windowTitle() and not w.panel.isEnabled()
    assert "greedy" in w.env_view.screen.overlay
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


def test_settings_restored_next_time(make_window, qtbot):
    w = make_window()
    w.panel.controls["gamma"].spin.setValue(0.95)
    w.docks["Environment"].hide()
    w.close()
    again = make_window(preset=None)
    assert again.run.config.gamma == pytest.approx(0.95) and again.run.config.obs == "state"
    assert not again.docks["Environment"].isVisible()


def test_pyside_keeps_reference_counts_of_none_and_bools(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call and to True/False per Signal(object)
    emit, which crashes a live app within seconds; this fails on such a release."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Emitter(QObject):
        fired = Signal(object)

    label, emitter, got = QLabel(), Emitter(), []
    emitter.fired.connect(got.append)
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for i in range(2000):
        label.setText("x")
        emitter.fired.emit(i % 2 == 0)
    got.clear()
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    assert all(a >= b - 50 for a, b in zip(after, before)), (before, after)


def test_exports_through_the_menu(make_window, qtbot, tmp_path, monkeypatch, dialogs):
    w = make_window(eval_every=2, eval_episodes=1)
    w.training.start()
    qtbot.waitUntil(lambda: len(w.run.metrics.episodes["step"]) >= 5, timeout=WAIT)
    w.panel.controls["gamma"].spin.setValue(0.95)                      # a live change, for the changes table
    qtbot.waitUntil(lambda: len(w.run.metrics.changes) > 0, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    for key, name in (("export_png", "plots.png"), ("export_svg", "plots.svg"), ("export_csv", "metrics.csv")):
        target = tmp_path / name
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, t=target, **k: (str(t), ""))
        w.actions_by_name[key].trigger()
        assert target.stat().st_size > 100, key
    assert (tmp_path / "plots.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "plots.svg").read_bytes()[:2000]
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("episode,step,duration") and len(lines) == len(w.run.metrics.episodes["step"]) + 1
    evaluations = (tmp_path / "metrics-evaluations.csv").read_text().splitlines()
    assert evaluations[0] == "step,episode,mean_return,std_return" and len(evaluations) == len(w.run.metrics.evals["step"]) + 1
    training = (tmp_path / "metrics-training.csv").read_text().splitlines()
    assert training[0] == "step,loss,mean_max_q,epsilon,grad_norm" and len(training) == len(w.run.metrics.stats["step"]) + 1
    changes = (tmp_path / "metrics-changes.csv").read_text().splitlines()
    assert changes[0] == "step,episode,setting,old,new" and changes[1].endswith(",gamma,0.99,0.95")
    assert "4 files" in w.statusBar().currentMessage()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".png", ".svg", ".csv", ".tmp")) == \
        ["metrics-changes.csv", "metrics-evaluations.csv", "metrics-training.csv", "metrics.csv", "plots.png",
         "plots.svg"]                                                     # no temporary files left behind
    before = (tmp_path / "plots.png").read_bytes()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "gone" / "plots.png"), ""))
    w.actions_by_name["export_png"].trigger()                           # a folder that is not there
    title, text = dialogs["critical"][-1]
    assert title == "Cannot export plots" and str(tmp_path / "gone" / "plots.png") in text
    assert (tmp_path / "plots.png").read_bytes() == before and w.plots.layout_widget.width() < 1200


def test_open_recent_and_about(make_window, qtbot, tmp_path, monkeypatch):
    w = make_window()
    w.training.step(1)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.training.paused, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    path = str(tmp_path / "recent.dqn")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (path, ""))
    w.actions_by_name["save_as"].trigger()
    fresh = make_window(preset=None)
    fresh.recent_menu.aboutToShow.emit()
    entries = [a for a in fresh.recent_menu.actions() if a.toolTip() == path]
    assert entries and entries[0].text() == "recent.dqn"
    entries[0].trigger()
    assert fresh.run.path == path and fresh.run.trainer.step == 1
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    fresh.actions_by_name["about"].trigger()
    assert "torch" in shown[0] and "Device" in shown[0]
