"""The DQN Studio main window: docks, menus, toolbar, status bar, and the agent's lifecycle (new, open, save, train)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QStyle, QToolBar

from dqn_core.config import ConfigError, TrainConfig
from dqn_core.control import EPISODE
from dqn_core.metrics import Metrics
from dqn_core.presets import list_presets, load_preset

from .env_view import EnvView
from .hyperparams import HyperparamPanel
from .plots import PlotsPanel
from .window_actions import AgentFileActions, user_preset_dir
from .window_training import TrainingActions
from .worker import TrainingSession

FIRST_PRESET = "seed-pixels"
MAX_RECENT = 8


class MainWindow(AgentFileActions, TrainingActions, QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("DQN Studio")
        self.settings = QSettings()
        self.trainer = None                      # the agent; touched by the GUI thread only while no session runs
        self.session: TrainingSession | None = None
        self.mode = "idle"                       # idle | train | watch
        self.paused = False
        self.path: str | None = None
        self.dirty = False
        self.history = Metrics()
        self.device_text = ""
        self.preset_name = FIRST_PRESET
        self.config = self._initial_config()
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._restore_settings()
        self.panel.set_config(self.config)
        self._update_state()

    # ---- construction ---------------------------------------------------------------------------------------------
    def _initial_config(self) -> TrainConfig:
        saved = self.settings.value("last_config", "")
        if saved:
            try:
                return TrainConfig.from_dict(json.loads(saved))
            except (ConfigError, ValueError, TypeError):
                pass                             # a config from another version: fall back to the preset
        self.preset_name = str(self.settings.value("last_preset", FIRST_PRESET))
        try:
            return load_preset(self.preset_name, [user_preset_dir()])
        except ConfigError:
            self.preset_name = FIRST_PRESET
            return load_preset(FIRST_PRESET)

    def _build_widgets(self) -> None:
        self.plots = PlotsPanel()
        self.setCentralWidget(self.plots)
        self.panel = HyperparamPanel(self._preset_names())
        self.panel.preset_box.setCurrentText(self.preset_name)
        self.panel.edited.connect(self._on_edit)
        self.panel.presetChosen.connect(self.choose_preset)
        self.panel.resetToPreset.connect(lambda: self.choose_preset(self.panel.preset_box.currentText()))
        self.env_view = EnvView()
        self.env_view.displayRateChanged.connect(self._on_display_rate)
        self.docks: dict[str, QDockWidget] = {}
        for name, widget, area in (("Hyperparameters", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                                   ("Environment", self.env_view, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock-{name.lower()}")
            dock.setWidget(widget)
            widget.setMinimumWidth(400 if name == "Hyperparameters" else 360)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.status_labels: dict[str, QLabel] = {}
        for key in ("device", "rate", "steps", "episodes", "replay", "lr", "elapsed"):
            label = QLabel()
            label.setMinimumWidth(150 if key == "replay" else 110)   # stable widths: no relayout per update
            self.statusBar().addPermanentWidget(label)
            self.status_labels[key] = label
        self.resize(1400, 860)

    def _action(self, text: str, slot, shortcut: Any = None, icon: QStyle.StandardPixmap | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setToolTip(f"{tip or text.replace('…', '').replace('&', '')}"
                          f"{f' ({action.shortcut().toString()})' if shortcut is not None else ''}")
        action.setStatusTip(tip or text.replace("&", ""))
        action.triggered.connect(lambda checked=False: slot())
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self.actions_by_name = {}
        a["new"] = self._action("&New Agent", self.new_agent, QKeySequence.StandardKey.New, sp.SP_FileIcon)
        a["open"] = self._action("&Open Agent…", self.open_agent_dialog, QKeySequence.StandardKey.Open,
                                 sp.SP_DialogOpenButton)
        a["save"] = self._action("&Save Agent", self.save_agent, QKeySequence.StandardKey.Save, sp.SP_DialogSaveButton)
        a["save_as"] = self._action("Save Agent &As…", self.save_agent_as, "Ctrl+Shift+S")
        a["save_best"] = self._action("Save &Best Agent As…", self.save_best_agent_as,
                                      tip="The agent as it was at its best greedy evaluation so far")
        a["include_replay"] = self._action("Include Replay Memory in Saves", lambda: None,
                                           tip="Larger files, but resuming continues exactly")
        a["include_replay"].setCheckable(True)
        a["load_preset"] = self._action("Load Preset…", self.load_preset_dialog)
        a["save_preset"] = self._action("Save Config as Preset…", self.save_preset_dialog)
        a["export_png"] = self._action("Plots as PNG…", lambda: self.export_plots("png"))
        a["export_svg"] = self._action("Plots as SVG…", lambda: self.export_plots("svg"))
        a["export_csv"] = self._action("Metrics as CSV…", self.export_metrics)
        a["quit"] = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        a["start"] = self._action("Start / Resume", self.start_training, "F5", sp.SP_MediaPlay)
        a["pause"] = self._action("Pause", self.pause_training, "F6", sp.SP_MediaPause)
        a["step"] = self._action("Step", lambda: self.step_training(1), "F10", sp.SP_MediaSeekForward,
                                 tip="Take one environment step, then pause")
        a["step_episode"] = self._action("Step Episode", lambda: self.step_training(EPISODE), "Shift+F10",
                                         sp.SP_MediaSkipForward, tip="Finish the current episode, then pause")
        a["stop"] = self._action("Stop", self.stop_training, "Shift+F5", sp.SP_MediaStop)
        a["reset"] = self._action("Reset", self.new_agent, None, sp.SP_BrowserReload,
                                  tip="A new agent from the current settings")
        a["watch"] = self._action("Watch Greedy Agent", self.watch_agent, "F7", sp.SP_ComputerIcon,
                                  tip="Play the current policy without exploring or training")
        a["about"] = self._action("&About DQN Studio", self.show_about)
        toolbar = QToolBar("Training")
        toolbar.setObjectName("toolbar-training")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for key in ("start", "pause", "step", "step_episode", "stop", "reset", "watch"):
            toolbar.addAction(a[key])
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(a["new"])
        file_menu.addAction(a["open"])
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        for key in ("save", "save_as", "save_best", "include_replay"):
            file_menu.addAction(a[key])
        file_menu.addSeparator()
        file_menu.addAction(a["load_preset"])
        file_menu.addAction(a["save_preset"])
        export = file_menu.addMenu("&Export")
        for key in ("export_png", "export_svg", "export_csv"):
            export.addAction(a[key])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])
        training = bar.addMenu("&Training")
        for key in ("start", "pause", "step", "step_episode", "stop"):
            training.addAction(a[key])
        training.addSeparator()
        training.addAction(a["reset"])
        training.addAction(a["watch"])
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addAction(self.toolbar.toggleViewAction())
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["about"])

    # ---- settings ----------------------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.env_view.set_display_every(int(self.settings.value("display_every", 1)))
        self.plots.set_x_unit(str(self.settings.value("x_unit", "episode")))
        self.actions_by_name["include_replay"].setChecked(self.settings.value("include_replay", "false") == "true")

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("last_config", json.dumps(self.config.to_dict()))
        self.settings.setValue("last_preset", self.preset_name)
        self.settings.setValue("display_every", self.env_view.display_every())
        self.settings.setValue("x_unit", self.plots.x_unit)
        self.settings.setValue("include_replay", "true" if self.actions_by_name["include_replay"].isChecked() else "false")
        self.settings.sync()

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _remember(self, path: str) -> None:
        self.settings.setValue("last_dir", str(Path(path).resolve().parent))
        recent = [p for p in self.recent_files() if p != str(Path(path).resolve())]
        self.settings.setValue("recent_files", [str(Path(path).resolve())] + recent[: MAX_RECENT - 1])

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_agent(p))
        if not files:
            self.recent_menu.addAction("(no recent agents)").setEnabled(False)

    def _preset_names(self) -> list[str]:
        return list(list_presets([user_preset_dir()]))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._join_session()
        if not self._ask_unsaved("quitting"):
            event.ignore()
            return
        self._save_settings()
        event.accept()
