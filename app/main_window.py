"""The DQN Studio main window: docks, menus, toolbar and status bar around the current run (the document).

The window builds the panels and the controllers — the current run (`CurrentRun`), its settings (`ConfigEdits`),
training (`Training`), agent files (`AgentFiles`), exports and sweeps — and wires them: the controllers change the
run, the panels follow its signals.
"""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMessageBox

from dqn_core.config import ConfigError, TrainConfig
from dqn_core.paths import runs_dir as default_runs_dir
from dqn_core.presets import load_preset
from dqn_core.training.saving import save_recovery

from . import gui_collections
from .agent_files import AgentFiles
from .config_edits import FIRST_PRESET, ConfigEdits, preset_names, user_preset_dir
from .current_run import CurrentRun
from .env_view import EnvView
from .exports import Exports
from .hyperparams import HyperparamPanel
from .menus import build_actions, build_menus, build_toolbar
from .plots import PlotsPanel
from .runs_panel import RunsPanel
from .status_fields import StatusFields
from .sweep_dialog import Sweeps
from .training import Training

MAX_RECENT = 8


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        gui_collections.hold()             # its threads never run a garbage collection (gui_collections says why)
        self._holds_collections = True
        self.setWindowTitle("DQN Studio")
        self.settings = QSettings()
        self.run = CurrentRun(*self._initial_config())
        self._build_widgets()
        self.configs = ConfigEdits(self)
        self.edits = self.configs.history
        self.training = Training(self)
        self.files = AgentFiles(self)
        self.exports = Exports(self)
        self.sweeps = Sweeps(self)
        self.statusBar().addWidget(self.sweeps.monitor)
        self.actions_by_name = build_actions(self)
        self.toolbar = build_toolbar(self, self.actions_by_name)
        self.recent_menu = build_menus(self, self.actions_by_name, self.toolbar)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._connect()
        self._restore_settings()
        self.configs.show_config()
        self._run_swapped()
        if self.settings.value("welcomed", "false") != "true":
            self._welcome()

    # ---- construction ---------------------------------------------------------------------------------------------
    def _initial_config(self) -> tuple[TrainConfig, str, str]:
        """The settings of the last session (or its preset's), with where they came from."""
        preset = str(self.settings.value("last_preset", FIRST_PRESET))
        source = str(self.settings.value("last_source", ""))
        saved = self.settings.value("last_config", "")
        if saved:
            try:
                return TrainConfig.from_dict(json.loads(saved)), preset, source
            except (ConfigError, ValueError, TypeError):
                pass                             # a config from another version: fall back to the preset
        try:
            return load_preset(preset, [user_preset_dir()]), preset, source
        except ConfigError:
            return load_preset(FIRST_PRESET), FIRST_PRESET, ""

    def _build_widgets(self) -> None:
        self.plots = PlotsPanel()
        self.setCentralWidget(self.plots)
        self.panel = HyperparamPanel(preset_names())
        self.env_view = EnvView()
        self.runs_panel = RunsPanel(self.plots, self.runs_dir())
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
        self.status = StatusFields(self.statusBar())
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        self.resize(min(1500, int(room.width() * 0.94)) if room else 1400,
                    min(980, int(room.height() * 0.94)) if room else 860)

    def _connect(self) -> None:
        self.panel.edited.connect(self.configs.on_edit)
        self.panel.presetChosen.connect(self.configs.choose_preset)
        self.panel.resetToPreset.connect(self.configs.reset_to_preset)
        self.env_view.displayRateChanged.connect(self.training.set_display)
        self.runs_panel.openAgent.connect(self.files.open_agent)
        self.runs_panel.exportPlots.connect(self.exports.export_plots)
        self.run.swapped.connect(self._run_swapped)
        self.run.changed.connect(self.update_actions)
        self.run.changed.connect(self._follow_settings)
        self.training.state_changed.connect(self.update_actions)
        self.plots.banner.closed.connect(self._banner_closed)

    # ---- what the user sees --------------------------------------------------------------------------------------
    def _run_swapped(self) -> None:
        """Another run became current: every readout starts over from it (plots, milestones, the environment view,
        the status bar, the preset label, the banner)."""
        run = self.run
        self.plots.set_metrics(run.metrics)
        self.plots.set_milestones(run.solved_step, run.best_mark)
        if self.plots.banner.kind == "success":
            self.plots.banner.hide()
        self.env_view.clear()
        self.configs.update_preset_label()
        self._follow_settings()                               # before comparing: labels name what differs
        if run.previous_run_id:
            self.runs_panel.compare(run.previous_run_id)      # the run it replaced stays in view, to compare
        self.update_actions()

    def _follow_settings(self) -> None:
        """Readouts named after the current run's settings in force follow them (a swap, a live change): compared
        runs are named by what differs from them, and evaluations by the ε they are played at."""
        config = self.run.in_force
        self.runs_panel.set_reference(config.to_dict())
        self.plots.set_eval_epsilon(config.eval_epsilon)

    def update_actions(self) -> None:
        """The menus, the title and the idle status bar follow the run and its session."""
        t, run = self.training, self.run
        running, training = t.running, t.training
        a = self.actions_by_name
        a["start"].setEnabled(not running or (training and t.paused))
        a["start"].setText("Resume" if training and t.paused else ("Start" if run.trainer is None else "Start / Resume"))
        a["pause"].setEnabled(training and not t.paused)
        for key in ("step", "step_episode"):
            a[key].setEnabled(not running or (training and t.paused))
        a["stop"].setEnabled(running)
        for key in ("watch", "record"):
            a[key].setEnabled(not running and run.trainer is not None)
        for key in ("save", "save_as"):
            a[key].setEnabled(run.trainer is not None and t.mode != "watch")
        best = run.trainer.best.result if run.trainer is not None else None
        a["save_best"].setEnabled(best is not None and t.mode != "watch")
        a["save_best"].setStatusTip("The agent as it was at its best greedy evaluation so far"
                                    if best is None else f"The agent at its best evaluation: {best.score:.1f} at "
                                    f"step {best.step:,} (mean of {len(best.returns) + best.confirm_episodes} "
                                    "greedy episodes)")
        self.panel.set_training(training)
        self.edits.set_training(training)
        self.panel.setEnabled(t.mode != "watch")
        self.plots.set_busy(running)
        state = {"train": " — paused" if t.paused else " — training", "watch": " — watching"}.get(t.mode, "")
        self.setWindowTitle(f"DQN Studio — {run.title()}{state}")
        if run.trainer is None:
            self.status.show_new(run.config)            # what the next Start begins from, as its settings change
        elif not running:
            self.status.show_agent(run.trainer)
        if training and t.paused:
            self.status.show_rate("paused")
        elif running and t.mode == "watch":
            returns = t.greedy_returns
            self.status.show_rate("watching" if not returns else f"watching · last {returns[-1]:g} · mean "
                                  f"{sum(returns) / len(returns):.1f} over {len(returns)}")
        self.status.show_device(t.device_text)

    def error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def _welcome(self) -> None:
        preset = self.run.preset_name or "these settings"
        self.plots.banner.show_message(
            "welcome", f"<b>Welcome to DQN Studio.</b> The settings on the left are <b>{preset}</b>: a DQN that "
                       "learns to balance CartPole from the cart's state in about 20 seconds. Press <b>Start (F5)</b> "
                       "and watch the episode duration climb towards 500; move a slider while it trains and see the "
                       "change marked on the plots. Other presets are in the picker (<b>pixels</b> learns from the "
                       "screen); every run is kept in the <b>Runs</b> panel below, to compare.")

    def _banner_closed(self, kind: str) -> None:
        if kind == "welcome":
            self.settings.setValue("welcomed", "true")

    # ---- remembered between sessions ---------------------------------------------------------------------------------
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
        s, run = self.settings, self.run
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        s.setValue("last_config", json.dumps(run.config.to_dict()))
        s.setValue("last_preset", run.preset_name)
        s.setValue("last_source", run.source_note)
        s.setValue("display_every", self.env_view.display_every())
        s.setValue("x_unit", self.plots.x_unit)
        s.setValue("include_replay", "true" if self.actions_by_name["include_replay"].isChecked() else "false")
        if self.runs_panel.runs_dir != default_runs_dir():
            s.setValue("runs_dir", str(self.runs_panel.runs_dir))
        s.sync()

    def runs_dir(self) -> Path:
        """Where runs are recorded: the window's setting, else $DQN_STUDIO_RUNS or the user's data folder."""
        saved = str(self.settings.value("runs_dir", "") or "")
        return Path(saved) if saved else default_runs_dir()

    def last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def remember(self, path: str) -> None:
        self.settings.setValue("last_dir", str(Path(path).resolve().parent))
        recent = [p for p in self.recent_files() if p != str(Path(path).resolve())]
        self.settings.setValue("recent_files", [str(Path(path).resolve())] + recent[: MAX_RECENT - 1])

    def forget_recent(self, path: str) -> None:
        self.settings.setValue("recent_files", [p for p in self.recent_files() if p != str(Path(path).resolve())])

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.files.open_agent(p))
        if not files:
            self.recent_menu.addAction("(no recent agents)").setEnabled(False)

    # ---- leaving ---------------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self.files.settle_unsaved("quitting"):
            event.ignore()                 # Cancel: whatever was running goes on
            return
        self.sweeps.monitor.wait()         # a running sweep stops as Cancel stops it: finished runs are kept
        self._save_settings()
        self.runs_panel.timer.stop()
        self.runs_panel.loader.stop()
        if self._holds_collections:         # its threads have ended
            self._holds_collections = False
            gui_collections.release()
        event.accept()

    def quit_for_signal(self, signum: int) -> None:
        """Quit as Ctrl+Q would, after stopping training at a step boundary; training no file holds goes to a
        recovery file (its path printed) instead of the Save/Discard/Cancel question. Exit code 128 + signal."""
        name = signal.Signals(signum).name
        if getattr(self, "_quitting_for_signal", False):
            print(f"dqn-studio: {name} again: still saving", file=sys.stderr, flush=True)
            return
        self._quitting_for_signal = True
        self.training.join()
        run = self.run
        if run.dirty and run.trainer is not None:
            path, why = save_recovery(run.trainer, self.actions_by_name["include_replay"].isChecked())
            told = f"the unsaved agent was saved to {path}" if path else f"the unsaved agent could not be saved ({why})"
        elif run.in_run_folder():
            told = f"the agent is kept in its run folder {run.recorder.sink.folder(run.recorder.run_id)}; quitting"
        else:
            told = "nothing unsaved; quitting"
        print(f"dqn-studio: {name}: {told}", file=sys.stderr, flush=True)
        self._save_settings()
        run.dirty = False
        QApplication.instance().exit(128 + signum)
