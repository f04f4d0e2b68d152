"""The window's commands: every menu entry and toolbar button as a named QAction, and the menus that hold them."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QStyle, QToolBar

from dqn_core.training.control import EPISODE

from . import help_menu
from .worker import worker_threads


def action(w, text: str, slot, shortcut: Any = None, icon: QStyle.StandardPixmap | None = None,
            tip: str = "") -> QAction:
    action = QAction(text, w)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if icon is not None:
        action.setIcon(w.style().standardIcon(icon))
    action.setToolTip(f"{tip or text.replace('…', '').replace('&', '')}"
                      f"{f' ({action.shortcut().toString()})' if shortcut is not None else ''}")
    action.setStatusTip(tip or text.replace("&", ""))
    action.triggered.connect(lambda checked=False: slot())
    return action



def build_actions(w) -> dict[str, QAction]:
    """Every command of the menus and the toolbar, by name (tests and the screenshot scripts use the names)."""
    sp = QStyle.StandardPixmap
    a: dict[str, QAction] = {}
    files, training = w.files, w.training
    a["new"] = action(w, "&New Agent", files.new_agent, QKeySequence.StandardKey.New, sp.SP_FileIcon)
    a["open"] = action(w, "&Open Agent…", files.open_agent_dialog, QKeySequence.StandardKey.Open,
        sp.SP_DialogOpenButton)
    a["save"] = action(w, "&Save Agent", files.save_agent, QKeySequence.StandardKey.Save, sp.SP_DialogSaveButton)
    a["save_as"] = action(w, "Save Agent &As…", files.save_agent_as, "Ctrl+Shift+S")
    a["save_best"] = action(w, "Save &Best Agent As…", files.save_best_agent_as,
        tip="The agent as it was at its best greedy evaluation so far")
    a["include_replay"] = action(w, "Include Replay Memory in Saves", lambda: None,
        tip="Larger files, but resuming continues exactly")
    a["include_replay"].setCheckable(True)
    a["load_preset"] = action(w, "Load Preset…", w.configs.load_preset_dialog)
    a["save_preset"] = action(w, "Save Config as Preset…", w.configs.save_preset_dialog)
    a["export_png"] = action(w, "Plots as PNG…", lambda: w.exports.export_plots("png"))
    a["export_svg"] = action(w, "Plots as SVG…", lambda: w.exports.export_plots("svg"))
    a["export_csv"] = action(w, "Metrics as CSV…", w.exports.export_metrics)
    a["record"] = action(w, "Record &Video…", w.exports.record_video,
        tip="Greedy episodes of the current agent as an MP4 or an animated GIF")
    a["quit"] = action(w, "&Quit", w.close, QKeySequence.StandardKey.Quit)
    a["start"] = action(w, "Start / Resume", training.start, "F5", sp.SP_MediaPlay)
    a["pause"] = action(w, "Pause", training.pause, "F6", sp.SP_MediaPause)
    a["step"] = action(w, "Step", lambda: training.step(1), "F10", sp.SP_MediaSeekForward,
        tip="Take one environment step, then pause")
    a["step_episode"] = action(w, "Step Episode", lambda: training.step(EPISODE), "Shift+F10",
        sp.SP_MediaSkipForward, tip="Finish the current episode, then pause")
    a["stop"] = action(w, "Stop", training.stop, "Shift+F5", sp.SP_MediaStop)
    a["reset"] = action(w, "Reset", files.new_agent, None, sp.SP_BrowserReload,
        tip="A new agent from the current settings")
    a["watch"] = action(w, "Watch Greedy Agent", training.watch, "F7", sp.SP_ComputerIcon,
        tip="Play the current policy as evaluations do (greedily, or at the Evaluation ε), without training")
    a["sweep"] = action(w, "S&weep…", w.sweeps.open_dialog, tip="Train the current settings with other values "
        "of one or two settings on several seeds (Ray Tune), compared in the Runs panel")
    a["about"] = action(w, "&About DQN Studio", lambda: help_menu.show_about(w, worker_threads()))
    a["docs"] = action(w, "&Documentation", lambda: help_menu.open_documentation(w), "F1",
        tip="The README: the window, the command line, presets and results")
    a["extras"] = action(w, "Optional &Extras…", lambda: help_menu.show_extras(w),
        tip="Which optional extras are installed, and how to install the others")
    a["runs_folder"] = action(w, "Open &Runs Folder", lambda: help_menu.open_folder(
        w, w.runs_panel.runs_dir, "runs folder"))
    a["recovery_folder"] = action(w, "Open Re&covery Folder", lambda: help_menu.open_folder(
        w, help_menu.recovery_folder(), "recovery folder"),
        tip="Where an agent is saved when its own file could not be written or a signal ended the app")
    a["undo"], a["redo"] = w.edits.undo_action, w.edits.redo_action
    return a


def build_toolbar(w, a: dict[str, QAction]) -> QToolBar:
    toolbar = QToolBar("Training")
    toolbar.setObjectName("toolbar-training")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for key in ("start", "pause", "step", "step_episode", "stop", "reset", "watch"):
        toolbar.addAction(a[key])
    w.addToolBar(toolbar)
    return toolbar


def build_menus(w, a: dict[str, QAction], toolbar: QToolBar) -> QMenu:
    """The menu bar; returns File ▸ Open Recent, which the window fills each time it opens."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a["new"])
    file_menu.addAction(a["open"])
    recent_menu = QMenu("Open &Recent", w)
    file_menu.addMenu(recent_menu)
    file_menu.addSeparator()
    for key in ("save", "save_as", "save_best", "include_replay"):
        file_menu.addAction(a[key])
    file_menu.addSeparator()
    file_menu.addAction(a["load_preset"])
    file_menu.addAction(a["save_preset"])
    export = file_menu.addMenu("&Export")
    for key in ("export_png", "export_svg", "export_csv"):
        export.addAction(a[key])
    file_menu.addAction(a["record"])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit = bar.addMenu("&Edit")
    edit.addAction(a["undo"])
    edit.addAction(a["redo"])
    training = bar.addMenu("&Training")
    for key in ("start", "pause", "step", "step_episode", "stop"):
        training.addAction(a[key])
    training.addSeparator()
    training.addAction(a["reset"])
    training.addAction(a["watch"])
    training.addSeparator()
    training.addAction(a["sweep"])
    view = bar.addMenu("&View")
    for dock in w.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addAction(toolbar.toggleViewAction())
    menu = bar.addMenu("&Help")
    for key in ("docs", "extras", None, "runs_folder", "recovery_folder", None, "about"):
        menu.addSeparator() if key is None else menu.addAction(a[key])
    return recent_menu
