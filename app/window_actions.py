"""The File and Help menus' work: new/open/save agents, presets, exports, About, and the unsaved-work prompt.

A mixin of MainWindow. Every failure shows a dialog naming the file and the problem, and changes nothing else.
"""
from __future__ import annotations

import os
import platform
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from dqn_core import __version__
from dqn_core.agentfile.read import AgentFileError, LoadCancelled
from dqn_core.config import PARAM_SPECS, ConfigError, TrainConfig, load_config_file, save_config_file
from dqn_core.presets import load_preset
from dqn_core.training import events as ev
from dqn_core.training.loading import load_agent
from dqn_core.training.metrics import Metrics
from dqn_core.training.saving import save_recovery

from .background import run_with_progress
from .undo import ConfigSwap
from .worker import worker_threads

AGENT_FILTER = "DQN Studio agents (*.dqn);;All files (*)"
CONFIG_FILTER = "Configs (*.toml *.json);;All files (*)"


def user_preset_dir() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "presets"


def copy_metrics(metrics: Metrics) -> Metrics:
    """The window's own copy: the trainer's lists keep changing in the worker thread."""
    return Metrics.from_arrays(metrics.arrays(), [dict(c) for c in metrics.changes])


class AgentFileActions:
    """File-menu behaviour for MainWindow."""

    # ---- messages --------------------------------------------------------------------------------------------------
    def _error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def _settle_unsaved(self, doing: str) -> bool:
        """Before New, Open and Quit: stop what runs, after asking Save / Discard / Cancel when the agent has unsaved
        training. While the question is open, training holds still (paused); Cancel lets it go on as before. When
        the best evaluated agent scored higher than the agent now, saving it is offered too. True means go on."""
        training = self.session is not None and self.session.running and self.mode == "train"
        hold = training and not self.paused
        if not self.dirty or self.trainer is None:
            self._join_session()
            return True
        if hold:
            self.session.control.pause()
        answer = self._ask_save_discard_cancel(doing)
        if answer == "cancel":
            if hold and self.session is not None:
                self.session.control.resume()
            return False
        self._join_session()
        if answer == "save":
            return self.save_agent()
        if answer == "save_best":
            return self.save_best_agent_as()
        return True

    def _ask_save_discard_cancel(self, doing: str) -> str:
        trainer = self.trainer
        unsaved = trainer.step - self.saved_step
        text = (f"The agent has {unsaved:,} training step{'s' if unsaved != 1 else ''} that "
                f"{'are' if unsaved != 1 else 'is'} not saved. Save it before {doing}?")
        best, last = trainer.best.result, trainer.last_eval
        better = best is not None and last is not None and best.score > last.score and best.step != trainer.step
        if not better:
            answer = QMessageBox.question(
                self, "Unsaved agent", text,
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save)
            return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
                answer, "cancel")
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved agent",
                          f"{text}\n\nIts best evaluation ({trainer.best.describe()}) scored higher than its latest "
                          f"({last.score:.1f} at step {last.step:,}): you can save that agent instead.", parent=self)
        save_best = box.addButton("Save Best Agent…", QMessageBox.ButtonRole.AcceptRole)
        save = box.addButton(QMessageBox.StandardButton.Save)
        box.addButton(QMessageBox.StandardButton.Discard)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save_best)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is save_best:
            return "save_best"
        if clicked is save:
            return "save"
        return "discard" if clicked is not None and clicked is not cancel else "cancel"

    # ---- agents ------------------------------------------------------------------------------------------------------
    def new_agent(self) -> bool:
        """Forget the current agent (after asking); the next Start builds one from the current settings."""
        if not self._settle_unsaved("starting a new agent"):
            return False
        self.trainer = None
        self.saved_step = 0
        self.path = None
        self.dirty = False
        self.run_ended = None
        self.run_metrics = Metrics()
        self.plots.set_metrics(self.run_metrics)
        self.reset_milestones()
        self.statusBar().showMessage("New agent: press Start (F5) to train it", 5000)
        self._update_state()
        return True

    def open_agent_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Agent", self._last_dir(), AGENT_FILTER)
        if path:
            self.open_agent(path)

    def open_agent(self, path: str) -> bool:
        """Load an agent file; on any problem show it and keep the current agent, config and plots."""
        if not self._settle_unsaved("opening another agent"):
            return False
        try:
            trainer = self._load_in_background(path)
        except LoadCancelled:
            self.statusBar().showMessage(f"Opening {path} was cancelled; nothing changed", 5000)
            return False
        except Exception as exc:     # AgentFileError names the file; anything else must not take the window down
            text = str(exc) if isinstance(exc, AgentFileError) else f"{path}: {type(exc).__name__}: {exc}"
            self._error("Cannot open agent", text)
            if not Path(path).exists():
                self.settings.setValue("recent_files", [p for p in self.recent_files() if p != str(Path(path).resolve())])
            return False
        self.trainer = trainer
        self.config = trainer.config
        self.path = path
        self.dirty = False
        self.run_ended = None
        self.saved_step = trainer.step
        self.panel.set_config(self.config)
        self.preset_name, self.source_note = "", f"from agent {Path(path).name}"   # its own settings
        self.edits.clear()                      # earlier changes were to other settings than this agent's
        self.update_preset_label()
        self.panel.show_error(None)
        self.run_metrics = copy_metrics(trainer.metrics)
        self.plots.set_metrics(self.run_metrics)
        self.reset_milestones(trainer)
        self.device_text = trainer.device_name
        self._remember(path)
        self.statusBar().showMessage(f"Opened {path}: {trainer.step:,} steps, {trainer.episode:,} episodes", 5000)
        self._update_state()
        return True

    def _load_in_background(self, path: str):
        """load_agent off the GUI thread; a progress dialog with Cancel appears when it takes longer than a second
        (a large replay memory). Raises what load_agent raises."""
        return run_with_progress(self, "Opening agent", f"Opening {Path(path).name}…",
                                 lambda progress: load_agent(path, auto_threads=worker_threads(), progress=progress))

    def save_agent(self) -> bool:
        if self.trainer is None:
            return False
        if not self.path:
            return self.save_agent_as()
        return self._save_to(self.path)

    def save_agent_as(self) -> bool:
        if self.trainer is None:
            return False
        start = self.path or str(Path(self._last_dir()) / f"{self.config.env_id}-{self.trainer.step}.dqn")
        path = self._ask_agent_path("Save Agent As", start)
        return self._save_to(path) if path else False

    def _ask_agent_path(self, title: str, start: str) -> str | None:
        """The file chosen in a save dialog, with `.dqn` added when it has no suffix; None if cancelled."""
        path, _ = QFileDialog.getSaveFileName(self, title, start, AGENT_FILTER)
        if not path:
            return None
        return path if Path(path).suffix else path + ".dqn"

    def _save_to(self, path: str) -> bool:
        include_replay = self.actions_by_name["include_replay"].isChecked()
        if self.session is not None and self.session.running:
            # The trainer belongs to the worker thread now: it saves at the next step boundary and answers Saved.
            self.session.control.save(path, include_replay)
            self.statusBar().showMessage(f"Saving {path}…")
            return True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            saved = self.trainer.save(path, include_replay)
        finally:
            QApplication.restoreOverrideCursor()
        return self._show_saved(saved)

    def save_best_agent_as(self) -> bool:
        """Write the agent as it was at its best greedy evaluation (kept by the trainer at each new best)."""
        trainer = self.trainer
        if trainer is None or trainer.best.result is None:
            return False
        start = Path(self._last_dir()) / f"{self.config.env_id}-best-{trainer.best.result.step}.dqn"
        path = self._ask_agent_path("Save Best Agent As", str(start))
        if not path:
            return False
        if self.session is not None and self.session.running:
            self.session.control.save(path, best=True)           # answered by Saved(best=True)
            self.statusBar().showMessage(f"Saving the best agent to {path}…")
            return True
        return self._show_saved(trainer.save(path, best=True))

    def _show_saved(self, saved: ev.Saved) -> bool:
        """What the window does after a save, done now (idle) or answered by the trainer (while training)."""
        if not saved.ok:
            self._error("Cannot save agent", saved.message + "\nThe previous file, if any, is unchanged.")
            return False
        if saved.best:
            if self.path and Path(saved.path).resolve() == Path(self.path).resolve():
                self.dirty = True         # the agent's own file now holds the best agent, not the current one
        else:
            self.path, self.dirty = saved.path, False
            self.saved_step = saved.step
        self._remember(saved.path)
        self.statusBar().showMessage(saved.message, 8000 if saved.best else 5000)
        self._update_state()
        return True

    # ---- presets -----------------------------------------------------------------------------------------------------
    def choose_preset(self, name: str) -> None:
        try:
            config = load_preset(name, [user_preset_dir()])
        except ConfigError as exc:
            self._error("Cannot load preset", str(exc))
            return
        self._swap_to(config, name, "", f"Preset {name}")

    def load_preset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load Preset", self._last_dir(), CONFIG_FILTER)
        if not path:
            return
        try:
            config = load_config_file(path)
        except ConfigError as exc:
            self._error("Cannot load preset", str(exc))
            return
        self._swap_to(config, "", f"from {Path(path).name}", f"Loaded {path}")

    def _swap_to(self, config: TrainConfig, preset: str, source: str, message: str) -> None:
        """All settings at once, undoably (Edit ▸ Undo brings the previous ones back)."""
        old = (self.config, self.preset_name, self.source_note)
        self.edits.push(ConfigSwap(self, message, old, (config, preset, source)))

    def swap_config(self, config: TrainConfig, preset: str, source: str, message: str) -> None:
        self.preset_name, self.source_note = preset, source
        self._set_config(config, message)

    def _set_config(self, config: TrainConfig, message: str) -> None:
        self.config = config
        self.panel.set_config(config)
        self.panel.show_error(None)
        pending = self._pending_new_agent()
        note = f"; {', '.join(pending)} take effect with a new agent" if pending else ""
        self.statusBar().showMessage(message + note, 6000)
        self.update_preset_label()
        self._update_state()

    def save_preset_dialog(self) -> None:
        folder = user_preset_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save Config as Preset", str(folder / "my-preset.toml"),
                                              CONFIG_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".toml"
        try:
            save_config_file(self.config, path, name=Path(path).stem, description="Saved from DQN Studio")
        except OSError as exc:
            self._error("Cannot save preset", f"Could not write {path}: {exc}")
            return
        self.panel.set_presets(self._preset_names())
        self.statusBar().showMessage(f"Saved preset {path}", 5000)

    # ---- exports -----------------------------------------------------------------------------------------------------
    def export_plots(self, kind: str) -> None:
        filters = {"png": "PNG images (*.png)", "svg": "SVG drawings (*.svg)"}
        path, _ = QFileDialog.getSaveFileName(self, f"Export Plots as {kind.upper()}",
                                              str(Path(self._last_dir()) / f"dqn-plots.{kind}"), filters[kind])
        if not path:
            return
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        try:
            self.plots.export_image(path)
        except Exception as exc:  # pyqtgraph's exporters raise a variety of errors; the old file stays
            self._error("Cannot export plots", f"Could not write {path}: {exc}")
            return
        self.statusBar().showMessage(f"Exported {path}", 5000)

    def export_metrics(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export Metrics as CSV",
                                              str(Path(self._last_dir()) / "dqn-metrics.csv"), "CSV files (*.csv)")
        if not path:
            return
        try:
            written = self.run_metrics.write_csv(path)
        except OSError as exc:
            self._error("Cannot export metrics", f"Could not write {path}: {exc}")
            return
        h = self.run_metrics
        self.statusBar().showMessage(
            f"Exported {len(h.episodes['step'])} episodes, {len(h.evals['step'])} evaluations, "
            f"{len(h.stats['step'])} training rows and {len(h.changes)} changes to {len(written)} files: "
            f"{', '.join(Path(p).name for p in written)}", 8000)

    # ---- signals -------------------------------------------------------------------------------------------------
    def quit_for_signal(self, signum: int) -> None:
        """Quit as Ctrl+Q would, after stopping training at a step boundary; unsaved training goes to a recovery
        file (its path printed) instead of the Save/Discard/Cancel question. Exit code 128 + signal."""
        name = signal.Signals(signum).name
        if getattr(self, "_quitting_for_signal", False):
            print(f"dqn-studio: {name} again: still saving", file=sys.stderr, flush=True)
            return
        self._quitting_for_signal = True
        self._join_session()
        if self.dirty and self.trainer is not None:
            include_replay = self.actions_by_name["include_replay"].isChecked()
            path, why = save_recovery(self.trainer, include_replay)
            if path is not None:
                print(f"dqn-studio: {name}: the unsaved agent was saved to {path}", file=sys.stderr, flush=True)
            else:
                print(f"dqn-studio: {name}: the unsaved agent could not be saved ({why})", file=sys.stderr, flush=True)
        elif self.trainer is not None and self.recorder is not None and self.recorder.trainer is self.trainer:
            folder = self.recorder.sink.folder(self.recorder.run_id)
            print(f"dqn-studio: {name}: the agent is kept in its run folder {folder}; quitting", file=sys.stderr,
                  flush=True)
        else:
            print(f"dqn-studio: {name}: nothing unsaved; quitting", file=sys.stderr, flush=True)
        self._save_settings()
        self.dirty = False
        QApplication.instance().exit(128 + signum)

    # ---- help --------------------------------------------------------------------------------------------------------
    def show_about(self) -> None:
        import gymnasium
        import numpy
        import pyqtgraph
        import PySide6
        import torch

        if torch.cuda.is_available():
            device = f"CUDA: {torch.cuda.get_device_name(0)}"
        else:
            device = f"CPU ({os.cpu_count()} cores; training uses {worker_threads()} torch thread(s) under the window)"
        QMessageBox.about(self, "About DQN Studio", (
            f"<h3>DQN Studio {__version__}</h3><p>Train a Deep Q-Network and watch it learn.</p>"
            f"<p>Device: {device}</p><p>Python {platform.python_version()} · torch {torch.__version__} · "
            f"gymnasium {gymnasium.__version__} · PySide6 {PySide6.__version__} · pyqtgraph {pyqtgraph.__version__} · "
            f"numpy {numpy.__version__}</p>"))

    def _pending_new_agent(self) -> list[str]:
        """Non-live settings that differ from the current agent's (their labels, as the panel shows them): they
        take effect with a new agent."""
        if self.trainer is None:
            return []
        return [PARAM_SPECS[n].label for n in self.trainer.config.diff(self.config) if not PARAM_SPECS[n].live]
