"""The File menu's agent commands: New, Open, Save, Save As, Save Best Agent As, and the question before work would
be lost. Every failure shows a dialog naming the file and the problem, and changes nothing else.

A run trained in the window is kept in its run folder (written when it stops): nothing to ask. The question is for
training no file will hold — an agent opened from a file and trained further, or a run folder that could not be
written — and it says how many steps.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from dqn_core.agentfile.read import AgentFileError, LoadCancelled
from dqn_core.training import events as ev
from dqn_core.training.loading import load_agent

from .background import run_with_progress
from .worker import worker_threads

AGENT_FILTER = "DQN Studio agents (*.dqn);;All files (*)"


class AgentFiles(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.run = window.run

    # ---- before work could be lost -----------------------------------------------------------------------------------
    def settle_unsaved(self, doing: str) -> bool:
        """Before New, Open and Quit: end what runs (its run folder then holds the agent), after asking Save /
        Discard / Cancel when training would be lost. While the question is open training holds still; Cancel lets
        it go on. When the best evaluated agent scored higher than the agent now, saving it is offered too. True
        means go on."""
        run, training = self.run, self.w.training
        if run.trainer is None or not run.dirty or run.kept_by_run_folder():
            training.join()                    # a run folder's run writes its agent as it ends
            if run.trainer is None or not run.dirty:
                return True                    # else the folder could not be written: ask, nothing runs now
        held = training.hold()
        answer = self._ask_save_discard_cancel(doing)
        if answer == "cancel":
            if held:
                training.session.control.resume()
            return False
        training.join()
        if answer == "save":
            return self.save_agent()
        if answer == "save_best":
            return self.save_best_agent_as()
        return True

    def _ask_save_discard_cancel(self, doing: str) -> str:
        trainer = self.run.trainer
        unsaved = self.run.unsaved_steps
        where = f"{Path(self.run.path).name} does not have" if self.run.path else "no file holds"
        text = (f"The agent has {unsaved:,} training step{'s' if unsaved != 1 else ''} (of {trainer.step:,}) that "
                f"{where}. Save it before {doing}?")
        best, last = trainer.best.result, trainer.last_eval
        better = best is not None and last is not None and best.score > last.score and best.step != trainer.step
        if not better:
            answer = QMessageBox.question(
                self.w, "Unsaved agent", text,
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save)
            return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
                answer, "cancel")
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved agent",
                          f"{text}\n\nIts best evaluation ({trainer.best.describe()}) scored higher than its latest "
                          f"({last.score:.1f} at step {last.step:,}): you can save that agent instead.", parent=self.w)
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

    # ---- new and open ------------------------------------------------------------------------------------------------
    def new_agent(self) -> bool:
        """Forget the current agent (after asking, where work would be lost); the next Start builds one from the
        current settings."""
        if not self.settle_unsaved("starting a new agent"):
            return False
        self.run.swap(None)
        self.w.statusBar().showMessage("New agent: press Start (F5) to train it", 5000)
        return True

    def open_agent_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open Agent", self.w.last_dir(), AGENT_FILTER)
        if path:
            self.open_agent(path)

    def open_agent(self, path: str) -> bool:
        """Load an agent file; on any problem show it and keep the current agent, config and plots."""
        if not self.settle_unsaved("opening another agent"):
            return False
        try:
            trainer = run_with_progress(self.w, "Opening agent", f"Opening {Path(path).name}…",
                                        lambda progress: load_agent(path, auto_threads=worker_threads(),
                                                                    progress=progress))
        except LoadCancelled:
            self.w.statusBar().showMessage(f"Opening {path} was cancelled; nothing changed", 5000)
            return False
        except Exception as exc:     # AgentFileError names the file; anything else must not take the window down
            text = str(exc) if isinstance(exc, AgentFileError) else f"{path}: {type(exc).__name__}: {exc}"
            self.w.error("Cannot open agent", text)
            if not Path(path).exists():
                self.w.forget_recent(path)
            return False
        self.run.config = trainer.config             # its own settings; earlier edits were to other settings
        self.w.edits.clear()
        self.run.swap(trainer, path)
        self.w.configs.show_config()
        self.w.remember(path)
        self.w.statusBar().showMessage(f"Opened {path}: {trainer.step:,} steps, {trainer.episode:,} episodes", 5000)
        return True

    # ---- saves -------------------------------------------------------------------------------------------------------
    def save_agent(self) -> bool:
        if self.run.trainer is None:
            return False
        if not self.run.path:
            return self.save_agent_as()
        return self._save_to(self.run.path)

    def save_agent_as(self) -> bool:
        run = self.run
        if run.trainer is None:
            return False
        start = run.path or str(Path(self.w.last_dir()) / f"{run.config.env_id.replace('/', '-')}-"
                                                          f"{run.trainer.step}.dqn")
        path = self._ask_agent_path("Save Agent As", start)
        return self._save_to(path) if path else False

    def _ask_agent_path(self, title: str, start: str) -> str | None:
        """The file chosen in a save dialog, with `.dqn` added when it has no suffix; None if cancelled."""
        path, _ = QFileDialog.getSaveFileName(self.w, title, start, AGENT_FILTER)
        if not path:
            return None
        return path if Path(path).suffix else path + ".dqn"

    def _save_to(self, path: str) -> bool:
        include_replay = self.w.actions_by_name["include_replay"].isChecked()
        training = self.w.training
        if training.running:
            # The trainer belongs to the worker thread now: it saves at the next step boundary and answers Saved.
            training.session.control.save(path, include_replay)
            self.w.statusBar().showMessage(f"Saving {path}…")
            return True
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            saved = self.run.trainer.save(path, include_replay)
        finally:
            QApplication.restoreOverrideCursor()
        return self.show_saved(saved)

    def save_best_agent_as(self) -> bool:
        """Write the agent as it was at its best greedy evaluation (kept by the trainer at each new best)."""
        trainer = self.run.trainer
        if trainer is None or trainer.best.result is None:
            return False
        start = Path(self.w.last_dir()) / f"{self.run.config.env_id.replace('/', '-')}-best-" \
                                          f"{trainer.best.result.step}.dqn"
        path = self._ask_agent_path("Save Best Agent As", str(start))
        if not path:
            return False
        if self.w.training.running:
            self.w.training.session.control.save(path, best=True)     # answered by Saved(best=True)
            self.w.statusBar().showMessage(f"Saving the best agent to {path}…")
            return True
        return self.show_saved(trainer.save(path, best=True))

    def show_saved(self, saved: ev.Saved) -> bool:
        """What the window does after a save, done now (idle) or answered by the trainer (while training)."""
        if not saved.ok:
            self.w.error("Cannot save agent", saved.message + "\nThe previous file, if any, is unchanged.")
            return False
        if saved.best:
            if self.run.path and Path(saved.path).resolve() == Path(self.run.path).resolve():
                self.run.file_overwritten()     # the agent's own file now holds the best agent, not this one
        else:
            self.run.saved(saved.path, saved.step)
        self.w.remember(saved.path)
        self.w.statusBar().showMessage(saved.message, 8000 if saved.best else 5000)
        return True
