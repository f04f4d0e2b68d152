"""What a newcomer meets first: the window on a real X server, the start-up check, the first preset, the picker,
solved as an event, undo, fine sliders, labels that never overlap, and a status bar that tells the truth."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from conftest import WAIT
from dqn_core.presets import load_preset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    yield


# ---- the window on a real display ----------------------------------------------------------------------------------
@pytest.fixture
def x_server():
    """A real X server (Xvfb) on a free display number, for the xcb platform plugin a desktop uses."""
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is not installed (.ci/run installs it)")
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait()


SHOW_AND_GRAB = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import app.__main__ as entry

    def grab():
        window = next((w for w in app.topLevelWidgets() if w.windowTitle().startswith("DQN")), None)
        if window is None or not window.windowHandle().isExposed():
            return                                     # the X server has not shown it yet
        timer.stop()
        print(app.platformName(), window.isVisible(), window.windowHandle().isExposed(), flush=True)
        window.grab().save(sys.argv[1])
        window.run.dirty = False
        window.close()                                 # as the user quits: Ctrl+Q

    app = QApplication(sys.argv)          # main() uses this one; the timer needs it to exist
    timer = QTimer()
    timer.timeout.connect(grab)
    timer.start(200)
    sys.exit(entry.main(["dqn-studio"]))
""")


@pytest.mark.slow
def test_the_window_opens_on_a_real_x_server_with_the_xcb_plugin(x_server, tmp_path):
    env = dict(os.environ, DISPLAY=x_server, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               DQN_STUDIO_HOME=str(tmp_path / "home"))
    env.pop("WAYLAND_DISPLAY", None)
    shot = tmp_path / "window.png"
    proc = subprocess.run([sys.executable, "-c", SHOW_AND_GRAB, str(shot)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["xcb", "True", "True"]
    assert shot.stat().st_size > 20_000                      # a drawn window, text and plots, not an empty frame


def test_without_a_display_the_app_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, env=env,
                          cwd=str(ROOT))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["dqn-studio: error: there is no display to open the window on: "
                                                "DISPLAY is not set (start DQN Studio from a desktop session, or "
                                                "over ssh with -X; dqn-train trains without a window)"]


def test_a_missing_x_library_is_named_with_its_package():
    from app.display_check import missing_library_message

    message = missing_library_message("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")
    assert message.startswith("the X11 window needs libxcb-icccm.so.4, which is not installed: sudo apt install "
                              "libxcb-icccm4 (all of them at once: sudo apt install libxcb-cursor0 ")
    assert missing_library_message("undefined symbol: foo") is None


# ---- first start, presets, solved ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_first_start_welcomes_with_a_preset_that_learns_and_the_picker_says_where_settings_came_from(
        make_window, qtbot, tmp_path, dialogs):
    w = make_window(preset=None)
    assert w.run.preset_name == "zoo-state" and w.run.config == load_preset("zoo-state")
    assert w.plots.banner.isVisible() and "Press <b>Start (F5)</b>" in w.plots.banner.label.text()
    assert w.panel.shown_preset() == "zoo-state — solves in ~20 s"
    tip = w.panel.preset_box.itemData(w.panel.preset_box.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert "RL Baselines3 Zoo" in tip and "Typically solves in ~20 s on 2 CPU cores" in tip
    w.panel.controls["seed"].spin.setValue(7)                        # the same recipe on another seed
    assert w.panel.shown_preset() == "zoo-state — solves in ~20 s"
    w.panel.controls["gamma"].spin.setValue(0.95)
    assert w.panel.shown_preset() == "zoo-state (modified)"
    w.edits.undo()
    w.edits.undo()
    assert w.panel.shown_preset() == "zoo-state — solves in ~20 s"
    w.training.start()
    assert not w.plots.banner.isVisible() and w.settings.value("welcomed") == "true"
    qtbot.waitUntil(lambda: w.training.session is None, timeout=120_000)        # zoo-state stops when solved
    assert w.run.solved_step is not None and w.plots.banner.isVisible() and w.plots.banner.kind == "success"
    assert w.plots.banner.button.text() == "Save Best Agent…"
    assert any(text.startswith("solved (step ") for text in w.plots.milestone_labels)
    assert any(text.startswith("best evaluation ") for text in w.plots.milestone_labels)
    agent = tmp_path / "a.dqn"
    w.run.trainer.save(str(agent))
    w.run.dirty = False
    w.close()
    again = make_window(preset=None)                                   # the second start says what it shows
    assert again.panel.shown_preset() == "zoo-state — solves in ~20 s" and not again.plots.banner.isVisible()
    again.files.open_agent(str(agent))
    assert again.panel.shown_preset() == "from agent a.dqn"


@pytest.mark.slow
def test_the_unsaved_prompt_counts_steps_since_the_save_and_offers_a_better_best_agent(make_window, qtbot,
                                                                                        tmp_path, dialogs,
                                                                                        monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = make_window(eval_every=300, eval_unit="steps", eval_episodes=2)
    w.training.step(400)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step == 400 and w.training.paused, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    path = tmp_path / "a.dqn"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert w.files.save_agent_as() and w.run.saved_step == 400
    w.training.step(250)
    qtbot.waitUntil(lambda: w.run.trainer.step == 650 and w.training.paused, timeout=WAIT)
    # make the best evaluation (step 300) look better than the latest (step 600)
    w.run.trainer.last_eval = type(w.run.trainer.last_eval)(600, 0, 1.0, 0.0, (1.0, 1.0), None, False)
    dialogs["answer"] = QMessageBox.StandardButton.Cancel
    assert not w.files.new_agent()
    title, text = dialogs["question"][-1]
    assert "250 training steps (of 650) that a.dqn does not have" in text and "best evaluation" in text
    assert w.training.session is not None and w.training.paused                          # it was paused before: still paused
    best = tmp_path / "best.dqn"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(best), ""))
    dialogs["answer"] = "Save Best Agent…"
    assert w.files.new_agent() and best.exists() and w.run.trainer is None


def open_a_saved_agent(w, qtbot, folder: Path) -> None:
    """Train five steps, save them to a file and open it: an agent whose further training no file holds."""
    w.training.step(5)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step >= 5 and w.training.paused,
                    timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    w.run.trainer.save(str(folder / "mine.dqn"))
    assert w.files.open_agent(str(folder / "mine.dqn"))


def test_quit_then_cancel_leaves_training_running(make_window, qtbot, dialogs, tmp_path):
    w = make_window()
    open_a_saved_agent(w, qtbot, tmp_path)
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer.step > 200, timeout=WAIT)
    dialogs["answer"] = QMessageBox.StandardButton.Cancel
    assert not w.close()
    # The question and the status bar name the same step count (the trainer rests while asked).
    asked = int(re.search(r"\(of ([\d,]+)\)", dialogs["question"][-1][1]).group(1).replace(",", ""))
    steps = w.run.trainer.step
    qtbot.waitUntil(lambda: w.run.trainer.step > steps + 200, timeout=WAIT)
    assert w.training.session is not None and not w.training.paused and "steps/s" in w.status.labels["rate"].text()
    assert asked >= 200 and asked <= steps


@pytest.mark.slow
def test_paused_and_watching_say_so(make_window, qtbot):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step > 100, timeout=WAIT)
    w.training.pause()
    qtbot.waitUntil(lambda: w.training.paused, timeout=WAIT)
    assert w.status.labels["rate"].text() == "paused"
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    w.training.watch()
    qtbot.waitUntil(lambda: w.status.labels["rate"].text().startswith("watching · last "), timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)


# ---- edits -------------------------------------------------------------------------------------------------------
def test_undo_and_redo_take_back_live_changes_and_each_is_marked(make_window, qtbot):
    w = make_window()
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step > 50, timeout=WAIT)
    w.panel.controls["lr"].spin.setValue(5e-4)
    qtbot.waitUntil(lambda: w.run.config.lr == pytest.approx(5e-4), timeout=WAIT)
    assert w.actions_by_name["undo"].text() == "&Undo Learning rate 0.0001 → 0.0005"
    assert not w.actions_by_name["redo"].isEnabled()
    w.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: w.run.trainer.agent.lr == pytest.approx(1e-4), timeout=WAIT)
    qtbot.waitUntil(lambda: len(w.run.metrics.changes) == 2, timeout=WAIT)
    assert w.panel.value("lr") == pytest.approx(1e-4)
    w.actions_by_name["redo"].trigger()
    qtbot.waitUntil(lambda: w.run.trainer.agent.lr == pytest.approx(5e-4) and len(w.run.metrics.changes) == 3,
                    timeout=WAIT)
    w.plots.redraw()
    assert [f"{c['field']} {c['old']:g}→{c['new']:g}" for c in w.run.metrics.changes] == \
        ["lr 0.0001→0.0005", "lr 0.0005→0.0001", "lr 0.0001→0.0005"]


def test_undo_brings_back_the_settings_before_a_preset(make_window):
    w = make_window("zoo-state")
    w.configs.choose_preset("pixels")
    assert w.run.config.obs == "pixels"
    w.edits.undo()
    assert w.run.config == load_preset("zoo-state") and w.panel.value("obs") == "state"
    w.edits.redo()
    assert w.run.config == load_preset("pixels")


def test_a_short_drag_of_a_log_slider_moves_it_a_few_percent(make_window):
    w = make_window()
    control = w.panel.controls["lr"]
    control.slider.resize(200, 20)
    per_pixel = 1000 / 200                                 # slider positions per pixel of a 200-pixel slider
    control.slider.setSliderDown(True)
    control.slider.setValue(control.slider.value() + int(3 * per_pixel))     # a 3-pixel drag
    moved = control.value() / 1e-4
    control.slider.setSliderDown(False)
    assert 1.03 < moved < 1.10, moved                      # a few percent (full range: 1.5× per 3 pixels before)
    control.slider.setSliderDown(True)
    control.slider.setValue(1000)                          # the end of the slider: ten times the value
    control.slider.setSliderDown(False)
    assert control.value() == pytest.approx(1e-3 * moved, rel=0.02)


def test_small_rates_read_in_significant_digits_and_take_what_is_typed(make_window, qtbot):
    w = make_window("atari-cpu")
    eps, lr = w.panel.controls["adam_eps"].spin, w.panel.controls["lr"].spin
    assert (eps.text(), lr.text()) == ("1e-08", "0.0001")                # not "0.000000010000", "0.00010000"
    eps.lineEdit().selectAll()
    qtbot.keyClicks(eps.lineEdit(), "1.5e-4x")                             # the stray x is not taken
    qtbot.keyClick(eps.lineEdit(), Qt.Key.Key_Return)
    assert eps.text() == "0.00015" and w.run.config.adam_eps == 1.5e-4
    eps.lineEdit().selectAll()
    qtbot.keyClicks(eps.lineEdit(), "7")                                   # above the range's 1: not taken
    qtbot.keyClick(eps.lineEdit(), Qt.Key.Key_Return)
    eps.clearFocus()
    assert w.run.config.adam_eps == 1.5e-4


def test_change_labels_never_overlap_in_the_window_or_an_export(qtbot, tmp_path):
    from app.plots import PlotsPanel
    from dqn_core.training.metrics import Metrics

    metrics = Metrics()
    for episode in range(1, 200):
        metrics.add_episode(episode * 10, 10, 10.0, episode)
    for step in (500, 505, 510, 515, 1200):
        metrics.add_change(step, step // 10, "learning_rate_schedule", "constant", "linear")
        metrics.add_change(step, step // 10, "gamma", 0.99, 0.98)
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.set_x_unit("step")
    panel.set_metrics(metrics)
    qtbot.waitExposed(panel)
    qtbot.wait(100)                                         # the view takes its range

    def overlaps() -> int:
        rects = panel.marker_rects
        return sum(rects[i].intersects(rects[j]) for i in range(len(rects)) for j in range(i + 1, len(rects)))

    assert len(panel.marker_rects) >= 3 and overlaps() == 0
    legend = panel.plots["duration"].legend.sceneBoundingRect()
    assert not any(r.intersects(legend) for r in panel.marker_rects)
    panel.resize(500, 500)                                  # a narrower window: stacked again
    qtbot.wait(50)
    assert overlaps() == 0
    panel.export_image(str(tmp_path / "plots.png"))
    assert overlaps() == 0 and (tmp_path / "plots.png").stat().st_size > 1000


def test_an_export_names_compared_runs_in_full_though_the_window_elides_them(qtbot, tmp_path):
    import numpy as np
    from PySide6.QtGui import QImage

    from app.plots import Overlay, PlotsPanel
    from dqn_core.fileio import current_umask

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(330, 600)                                  # a narrow plots panel beside a wide Runs panel
    panel.show()
    qtbot.waitExposed(panel)
    names = [f"atari-cpu Pong lr=0.0001 batch_size={b} target_update=4000, seed {s}" for b in (32, 64) for s in (0, 1)]
    x = np.arange(50.0)
    panel.set_overlays([Overlay(name, colour, {"duration": (x, x * i)})
                        for i, (name, colour) in enumerate(zip(names, ("#d93025", "#188038", "#1a73e8", "#e37400")))])
    shown = [label.text for _, label in panel.plots["duration"].legend.items][2:]
    assert all("…" in text for text in shown)               # elided to fit the window
    panel.export_image(str(tmp_path / "plots.svg"))
    svg = (tmp_path / "plots.svg").read_text()
    assert all(name in svg for name in names)               # the drawing has the room: full names
    assert 'viewBox="0 0 1200 ' in svg                      # laid out 1200 wide, the plots filling the drawing
    panel.export_image(str(tmp_path / "plots.png"))
    assert QImage(str(tmp_path / "plots.png")).width() == 1200
    assert (tmp_path / "plots.png").stat().st_mode & 0o777 == 0o666 & ~current_umask()   # as any saved file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots.png", "plots.svg"]        # nothing left beside
    assert [label.text for _, label in panel.plots["duration"].legend.items][2:] == shown   # the window as it was
    assert panel.layout_widget.width() < 400


def test_value_labels_of_short_plots_never_overlap(qtbot):
    from PySide6.QtGui import QPainter, QPixmap

    from app.plots import PlotsPanel
    from dqn_core.training.metrics import Metrics

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)                                  # five stacked plots in a small window: ~55 px each
    panel.show()
    qtbot.waitExposed(panel)

    def labels() -> dict[str, list[str]]:
        """Each plot's value labels, and 'OVERLAP' for each pair of them drawn over each other."""
        found = {}
        painter = QPainter(QPixmap(10, 10))
        for key, plot in panel.plots.items():
            texts = plot.getAxis("left").generateDrawSpecs(painter)[2]
            rects = [rect for rect, _, _ in texts]
            found[key] = [text for _, _, text in texts] + ["OVERLAP" for i in range(len(rects))
                                                          for j in range(i + 1, len(rects)) if rects[i].intersects(rects[j])]
        painter.end()
        return found

    qtbot.wait(50)
    assert not any("OVERLAP" in texts for texts in labels().values())   # empty: the first thing a newcomer sees
    metrics = Metrics()
    for episode in range(1, 300):
        duration = 10 + (episode * 37) % 190                 # CartPole: the return is the duration
        metrics.add_episode(episode * 50, duration, float(duration), episode)
        metrics.add_stats(episode * 50, 0.004 * (1 + episode % 3), 60.0 * episode / 300, 1.0 - episode / 300, 1.0)
        if episode % 20 == 0:
            metrics.add_eval(episode * 50, episode, 500.0 * episode / 300, 0.0)   # 0 to 500: round ticks at the ends
    panel.set_metrics(metrics)
    qtbot.wait(100)
    shown = labels()
    assert not any("OVERLAP" in texts for texts in shown.values())
    assert all(shown[key] for key in panel.plots)          # every plot with values has a value labelled
    # Linked x axes line up: each plot's drawing area starts at the same x whatever its labels' widths (0.012
    # beside 500).
    lefts = {round(plot.getViewBox().sceneBoundingRect().left()) for plot in panel.plots.values()}
    assert len(lefts) == 1, lefts


def test_solved_and_best_are_named_in_the_legend_not_over_the_curves(qtbot):
    import pyqtgraph as pg

    from app.plots import PlotsPanel
    from dqn_core.training.metrics import Metrics

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(560, 460)
    panel.show()
    qtbot.waitExposed(panel)
    metrics = Metrics()
    for episode in range(1, 367):
        metrics.add_episode(episode * 95, 100, 100.0, episode)
    for episode, score in ((136, 78.5), (199, 162.9), (283, 118.3), (317, 135.4), (337, 443.6), (366, 500.0)):
        metrics.add_eval(episode * 95, episode, score, 0.0)   # CartPole solved: the climb is the last evaluations
    panel.set_metrics(metrics)
    panel.set_milestones(366 * 95, (366 * 95, 500.0))
    qtbot.wait(100)
    legend = [label.text for _, label in panel.plots["duration"].legend.items]
    assert legend == ["each episode", "100-episode mean", "solved (step 34,770)", "best evaluation 500.0"]
    lines = [item for item in panel.plots["eval"].items if isinstance(item, pg.InfiniteLine)]
    assert len(lines) == 2 and {line.toolTip() for line in lines} == {"solved (step 34,770)", "best evaluation 500.0"}
    climb = panel.curves["eval"].sceneBoundingRect()
    texts = [item for item in panel.layout_widget.scene().items(climb)
             if isinstance(item, (pg.TextItem, pg.InfLineLabel)) and item.isVisible()]
    assert texts == []                                      # nothing written over the curve
    assert panel.layout_widget.ci.minimumWidth() <= panel.layout_widget.width()   # nothing pushed out of sight
    panel.set_milestones(None, None)                        # a new run: no markers
    assert [label.text for _, label in panel.plots["duration"].legend.items] == ["each episode", "100-episode mean"]
    assert not [item for item in panel.plots["eval"].items if isinstance(item, pg.InfiniteLine)]


def test_a_new_agent_dialog_names_settings_by_their_labels(make_window, qtbot, dialogs, tmp_path):
    w = make_window()
    open_a_saved_agent(w, qtbot, tmp_path)                              # an opened agent goes on with its run
    w.panel.controls["frame_op"].setCurrentText("stack")                 # zoo-state's is "difference"
    w.panel.controls["frame_op"].activated.emit(1)
    dialogs["answer"] = QMessageBox.StandardButton.Cancel
    w.training.start()
    assert "These settings only apply to a new agent: Frame combination." in dialogs["question"][-1][1]


def test_a_setting_changed_after_a_run_ended_is_for_a_new_run(make_window, qtbot, dialogs):
    w = make_window()
    w.training.step(5)
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.training.paused, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    ended, first_run = w.run.trainer, w.run.recorder.run_id
    w.panel.controls["lr"].spin.setValue(w.run.config.lr / 2)            # live, but the run has ended
    assert ended.agent.lr != w.run.config.lr and not ended.metrics.changes
    assert "is for a new run" in w.statusBar().currentMessage()
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer not in (None, ended) and w.run.trainer.step > 20, timeout=WAIT)
    assert not dialogs["question"] and w.run.trainer.agent.lr == pytest.approx(w.run.config.lr)
    assert w.run.metrics.episodes["step"] == [] or w.run.metrics.episodes["step"][0] <= w.run.trainer.step
    qtbot.waitUntil(lambda: w.run.recorder is not None, timeout=WAIT)
    assert w.run.recorder.run_id != first_run
    assert first_run in w.runs_panel.checked                              # the previous run is compared
    # ... named by what differs from the current run: its learning rate.
    qtbot.waitUntil(lambda: bool(w.plots.overlay_labels), timeout=WAIT)
    assert w.plots.overlay_labels == [f"lr={ended.config.lr:.4g}, seed 0"]


LOOP_ON_X = textwrap.dedent("""
    import json, sys, time
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox
    import app.__main__ as entry

    log = {"asked": []}
    state = {"phase": "start", "since": time.monotonic()}

    def window():
        return next((w for w in app.topLevelWidgets() if w.windowTitle().startswith("DQN")), None)

    def press(w, key, modifier=Qt.KeyboardModifier.NoModifier):
        # After this tick returns: a key may open a modal dialog, whose event loop this timer must go on serving.
        QTimer.singleShot(0, lambda: QTest.keyClick(w, key, modifier))

    def answer_dialogs():
        box = app.activeModalWidget()
        if isinstance(box, QMessageBox):
            log["asked"].append(box.text())
            target = next((b for b in box.buttons() if b.text() == "Start a New Run"), None)
            (target or box.buttons()[0]).click()

    def tick():
        answer_dialogs()
        w = window()
        if w is None or not w.windowHandle().isExposed():
            return
        if not w.isActiveWindow() and app.activeModalWidget() is None:   # a bare X server has no window manager
            w.activateWindow()                                            # to give it the focus
            return
        phase = state["phase"]
        if phase == "start":
            press(w, Qt.Key.Key_F5)                               # the first start
            state.update(phase="solving")
        elif phase == "solving" and w.run.ended == "solved" and w.training.session is None:
            log["first"] = {"run": w.run.recorder.run_id, "step": w.run.trainer.step}
            press(w, Qt.Key.Key_F5)                               # F5 again: the dialog says what it will do
            state.update(phase="again", since=time.monotonic())
        elif phase == "again" and w.run.trainer is not None and w.run.recorder is not None \\
                and w.run.recorder.run_id != log["first"]["run"] and w.run.trainer.step >= 1000:
            log["again_seconds"] = time.monotonic() - state["since"]
            press(w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)             # Stop
            state.update(phase="stopping")
        elif phase == "stopping" and w.training.session is None:
            log["second"] = {"run": w.run.recorder.run_id, "step": w.run.trainer.step, "dirty": w.run.dirty,
                             "folder": str(w.run.recorder.sink.folder(w.run.recorder.run_id))}
            press(w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)             # Ctrl+Q
            state["phase"] = "quitting"
        if time.monotonic() - state["since"] > 90:
            log["timeout"] = phase
            log["state"] = {"step": w.run.trainer.step if w.run.trainer else None, "ended": w.run.ended,
                            "session": w.training.session is not None, "active": w.isActiveWindow(), "mode": w.training.mode}
            app.exit(3)

    app = QApplication(sys.argv)
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    code = entry.main(["dqn-studio"])
    print(json.dumps(log), flush=True)
    sys.exit(code)
""")


@pytest.mark.slow
def test_the_whole_loop_on_a_real_x_server_start_solved_start_again_stop_quit(x_server, tmp_path):
    env = dict(os.environ, DISPLAY=x_server, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"),
               DQN_STUDIO_HOME=str(tmp_path / "home"))
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-c", LOOP_ON_X], capture_output=True, text=True, timeout=240, env=env,
                          cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "timeout" not in log, log
    assert len(log["asked"]) == 1 and "Continue this run" in log["asked"][0]      # only after the solve; not on quit
    assert log["again_seconds"] < 20                                              # ≥ 1,000 steps of a new run in 20 s
    second = log["second"]
    assert second["run"] != log["first"]["run"] and not second["dirty"]
    from dqn_core.training.loading import load_agent

    assert load_agent(Path(second["folder"]) / "agent.dqn").step == second["step"]  # every step is in the run folder
