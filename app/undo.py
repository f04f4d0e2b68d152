"""Edit ▸ Undo / Redo for settings: every change made in the panel (live ones too, while training) and every preset
or config file loaded. An undone live change reaches the trainer like any other change, so it is marked on the
plots too."""
from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack

from dqn_core.config import PARAM_SPECS, TrainConfig


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


class SettingChange(QUndoCommand):
    """One setting from `old` to `new`, applied through the window (to the trainer when it is live)."""

    def __init__(self, window, name: str, old: Any, new: Any) -> None:
        super().__init__(f"{PARAM_SPECS[name].label} {_show(old)} → {_show(new)}")
        self.window, self.name, self.old, self.new = window, name, old, new

    @property
    def live(self) -> bool:
        return PARAM_SPECS[self.name].live

    def redo(self) -> None:
        self.window.apply_setting(self.name, self.new)

    def undo(self) -> None:
        self.window.apply_setting(self.name, self.old)


class ConfigSwap(QUndoCommand):
    """All settings at once: a preset chosen, a config file loaded."""

    live = False

    def __init__(self, window, text: str, old: tuple[TrainConfig, str, str], new: tuple[TrainConfig, str, str]) -> None:
        super().__init__(text)
        self.window, self.old, self.new = window, old, new

    def redo(self) -> None:
        self.window.swap_config(*self.new, message=self.text())

    def undo(self) -> None:
        self.window.swap_config(*self.old, message=f"Undone: {self.text()}")


class EditHistory(QUndoStack):
    """The window's undo stack and its two menu actions. While training only live changes can be taken back or
    redone (the others need a stop, like the controls that make them)."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.training = False
        self.undo_action = QAction("&Undo", parent)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self._undo_triggered)
        self.redo_action = QAction("&Redo", parent)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self._redo_triggered)
        self.indexChanged.connect(self.update_actions)
        self.update_actions()

    def set_training(self, training: bool) -> None:
        self.training = training
        self.update_actions()

    def _allowed(self, command: QUndoCommand | None) -> bool:
        return command is not None and (not self.training or getattr(command, "live", False))

    def update_actions(self, *_: object) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(self.undo_action):
            return                           # the window is going away
        undo = self.command(self.index() - 1) if self.index() > 0 else None
        redo = self.command(self.index()) if self.index() < self.count() else None
        self.undo_action.setEnabled(self._allowed(undo))
        self.redo_action.setEnabled(self._allowed(redo))
        self.undo_action.setText(f"&Undo {undo.text()}" if undo else "&Undo")
        self.redo_action.setText(f"&Redo {redo.text()}" if redo else "&Redo")
        tip = "" if not self.training else " (while training, live settings only)"
        self.undo_action.setStatusTip(f"Take back the last settings change{tip}")
        self.redo_action.setStatusTip(f"Make the last undone settings change again{tip}")

    def _undo_triggered(self, *_: object) -> None:
        if self.undo_action.isEnabled():
            self.undo()

    def _redo_triggered(self, *_: object) -> None:
        if self.redo_action.isEnabled():
            self.redo()
