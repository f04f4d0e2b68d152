"""The DQN Studio main window: docks, menus, toolbar, status bar, and the agent's lifecycle (new, open, save, train)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QStyle, QToolBar

from dqn_core.config import ConfigError, TrainConfig
from dqn_core.extras import EXTRAS
from dqn_core.paths import runs_dir as default_runs_dir
from dqn_core.presets import list_presets, load_preset, preset_info
from dqn_core.training.control import EPISODE
from dqn_core.training.metrics import Metrics

from . import help_menu
from .env_view import EnvView
from .hyperparams import HyperparamPanel
from .plots import PlotsPanel
from .runs_panel import RunsPanel
from .sweep_dialog import SweepDialog, SweepMonitor
from .undo import EditHistory
from .video_export import VideoExportActions
from .window_actions import AgentFileActions, user_preset_dir
from .window_training import TrainingActions
from .worker import TrainingSession

FIRST_PRESET = "zoo-state"          # learns visibly within a minute on 2 cores (README, first start)
MAX_RECENT = 8


class MainWindow(AgentFileActions, TrainingActions, VideoExportActions, QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("DQN Studio")
        self.settings = QSettings()
        self.trainer = None                      # the agent; touched by the GUI thread only while no session runs
        self.recorder = None                     # its run's recorder (used in the worker thread only)
        self.saved_step = 0                      # the agent's step when it was last saved or opened
        self.greedy_returns: list[float] = []    # of the episodes played while watching
        self.solved_step: int | None = None      # where the agent was first solved, and its best evaluation
        self.best_mark: tuple[int, float] | None = None
        self.session: TrainingSession | None = None
        self.mode = "idle"                       # idle | train | watch
        self.paused = False
        self.path: str | None = None
        self.dirty = False
        self.run_ended: str | None = None      # how the current run's last session ended: solved, budget, stopped
        self.run_metrics = Metrics()
        self.device_text = ""
        self.preset_name = FIRST_PRESET          # the preset the settings came from ("" when they did not)
        self.source_note = ""                    # where they came from otherwise: "from agent a.dqn", …
        self.config = self._initial_config()
        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._restore_settings()
        self.panel.set_config(self.config)
        self._update_state()
        self.update_preset_label()
        self.plots.banner.closed.connect(self._banner_closed)
        if self.settings.value("welcomed", "false") != "true":
            self._welcome()

    # ---- construction ---------------------------------------------------------------------------------------------
    def _initial_config(self) -> TrainConfig:
        self.preset_name = str(self.settings.value("last_preset", FIRST_PRESET))
        self.source_note = str(self.settings.value("last_source", ""))
        saved = self.settings.value("last_config", "")
        if saved:
            try:
                return TrainConfig.from_dict(json.loads(saved))
            except (ConfigError, ValueError, TypeError):
                pass                             # a config from another version: fall back to the preset
        try:
            return load_preset(self.preset_name, [user_preset_dir()])
        except ConfigError:
            self.preset_name = FIRST_PRESET
            return load_preset(FIRST_PRESET)

    def _build_widgets(self) -> None:
        self.plots = PlotsPanel()
        self.setCentralWidget(self.plots)
        self.panel = HyperparamPanel(self._preset_names())
        self.panel.edited.connect(self._on_edit)
        self.panel.presetChosen.connect(self.choose_preset)
        self.panel.resetToPreset.connect(lambda: self.choose_preset(self.preset_name or FIRST_PRESET))
        self.env_view = EnvView()
        self.env_view.displayRateChanged.connect(self._on_display_rate)
        self.runs_panel = RunsPanel(self.plots, self.runs_dir())
        self.runs_panel.openAgent.connect(self.open_agent)
        self.runs_panel.exportPlots.connect(self.export_plots)
        self.docks: dict[str, QDockWidget] = {}
        for name, widget, area in (("Hyperparameters", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                                   ("Environment", self.env_view, Qt.DockWidgetArea.RightDockWidgetArea),
                                   ("Runs", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock-{name.lower()}")
            dock.setWidget(widget)
            if name != "Runs":
                widget.setMinimumWidth(400 if name == "Hyperparameters" else 360)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.resizeDocks([self.docks["Runs"]], [150], Qt.Orientation.Vertical)
        self.status_labels: dict[str, QLabel] = {}
        for key in ("device", "rate", "steps", "episodes", "replay", "lr", "elapsed"):
            label = QLabel()
            label.setMinimumWidth(150 if key == "replay" else 110)   # stable widths: no relayout per update
            self.statusBar().addPermanentWidget(label)
            self.status_labels[key] = label
        self.sweep_monitor = SweepMonitor(self)
        self.sweep_monitor.finished.connect(self._sweep_finished)
        self.statusBar().addWidget(self.sweep_monitor)
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        self.resize(min(1500, int(room.width() * 0.94)) if room else 1400,
                    min(980, int(room.height() * 0.94)) if room else 860)

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
        a["record"] = self._action("Record &Video…", self.record_video,
                                   tip="Greedy episodes of the current agent as an MP4 or an animated GIF")
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
        a["sweep"] = self._action("S&weep…", self.sweep_dialog, tip="Train the current settings with other values "
                                  "of one or two settings on several seeds (Ray Tune), compared in the Runs panel")
        a["about"] = self._action("&About DQN Studio", self.show_about)
        a["docs"] = self._action("&Documentation", lambda: help_menu.open_documentation(self), "F1",
                                 tip="The README: the window, the command line, presets and results")
        a["extras"] = self._action("Optional &Extras…", lambda: help_menu.show_extras(self),
                                   tip="Which optional extras are installed, and how to install the others")
        a["runs_folder"] = self._action("Open &Runs Folder", lambda: help_menu.open_folder(
            self, self.runs_panel.runs_dir, "runs folder"))
        a["recovery_folder"] = self._action("Open Re&covery Folder", lambda: help_menu.open_folder(
            self, help_menu.recovery_folder(), "recovery folder"),
            tip="Where an agent is saved when its own file could not be written or a signal ended the app")
        self.edits = EditHistory(self)
        a["undo"], a["redo"] = self.edits.undo_action, self.edits.redo_action
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
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addAction(self.toolbar.toggleViewAction())
        menu = bar.addMenu("&Help")
        for key in ("docs", "extras", None, "runs_folder", "recovery_folder", None, "about"):
            menu.addSeparator() if key is None else menu.addAction(a[key])

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
        self.settings.setValue("last_source", self.source_note)
        self.settings.setValue("display_every", self.env_view.display_every())
        self.settings.setValue("x_unit", self.plots.x_unit)
        self.settings.setValue("include_replay", "true" if self.actions_by_name["include_replay"].isChecked() else "false")
        if self.runs_panel.runs_dir != default_runs_dir():
            self.settings.setValue("runs_dir", str(self.runs_panel.runs_dir))
        self.settings.sync()

    def runs_dir(self) -> Path:
        """Where runs are recorded: the window's setting, else $DQN_STUDIO_RUNS or the user's data folder."""
        saved = str(self.settings.value("runs_dir", "") or "")
        return Path(saved) if saved else default_runs_dir()

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

    def _welcome(self) -> None:
        preset = self.preset_name or "these settings"
        self.plots.banner.show_message(
            "welcome", f"<b>Welcome to DQN Studio.</b> The settings on the left are <b>{preset}</b>: a DQN that "
                       "learns to balance CartPole from the cart's state in about 20 seconds. Press <b>Start (F5)</b> "
                       "and watch the episode duration climb towards 500; move a slider while it trains and see the "
                       "change marked on the plots. Other presets are in the picker (<b>pixels</b> learns from the "
                       "screen); every run is kept in the <b>Runs</b> panel below, to compare.")

    def _banner_closed(self, kind: str) -> None:
        if kind == "welcome":
            self.settings.setValue("welcomed", "true")

    def _preset_names(self) -> dict[str, dict[str, str]]:
        return {name: preset_info(path) for name, path in list_presets([user_preset_dir()]).items()}

    def update_preset_label(self) -> None:
        """The picker names where the settings came from: the preset, 'preset (modified)', or the agent file."""
        if not self.preset_name:
            self.panel.show_preset(None, self.source_note or "(custom settings)")
            return
        try:
            preset = load_preset(self.preset_name, [user_preset_dir()])
        except ConfigError:
            self.panel.show_preset(None, "(custom settings)")
            return
        differences = [n for n in preset.diff(self.config) if n not in ("device", "torch_threads")]
        self.panel.show_preset(self.preset_name, f"{self.preset_name} (modified)" if differences else "")

    # ---- sweeps ----------------------------------------------------------------------------------------------------
    def sweep_dialog(self) -> None:
        if self.sweep_monitor.running:
            self._error("A sweep is running", f"Sweep {self.sweep_monitor.name} is still running; cancel it or wait "
                        "for it to finish before starting another.")
            return
        if not EXTRAS["sweep"].installed:                # said here; the sweep runs in its own process
            QMessageBox.information(self, "Sweeps need Ray Tune", "Sweeps need the optional 'sweep' extra, which is "
                                    f"not installed:\n{EXTRAS['sweep'].install}")
            return
        dialog = SweepDialog(self.config, self.preset_name, self)
        if dialog.exec() != SweepDialog.DialogCode.Accepted:
            return
        runs_dir = self.runs_panel.runs_dir
        try:
            args = dialog.arguments(runs_dir)
        except (OSError, ConfigError) as exc:
            self._error("Cannot start the sweep", str(exc))
            return
        name = dialog.name.text().strip()
        panel = self.runs_panel
        panel.auto_check_prefix = f"{name}-"
        panel.group_box.setChecked(True)
        panel.filter.setText(name)
        self.docks["Runs"].show()
        self.sweep_monitor.start(name, args)

    def _sweep_finished(self, code: int, tail: str) -> None:
        self.runs_panel.refresh()
        self.runs_panel.auto_check_prefix = None
        name = self.sweep_monitor.name
        if code == 0:
            self.statusBar().showMessage(f"Sweep {name} finished; its runs are compared in the Runs panel", 10000)
        elif code == 130:
            self.statusBar().showMessage(f"Sweep {name} cancelled; its finished runs are kept", 10000)
        elif code == 1:
            self._error("Sweep finished with failed trials", f"Some trials of {name} failed (the Runs panel shows "
                        f"why); the others finished.\n\n{tail}")
        else:
            self._error("Sweep failed", f"dqn-sweep ended with exit code {code}:\n\n{tail}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self._settle_unsaved("quitting"):
            event.ignore()                 # Cancel: whatever was running goes on
            return
        self.sweep_monitor.wait()          # a running sweep stops as Cancel stops it: finished runs are kept
        self._save_settings()
        event.accept()
