"""Long work off the GUI thread, with the window responsive: a worker thread, a progress dialog with Cancel that
appears when the work takes a while, and the result (or the exception) handed back to the caller."""
from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget


def run_with_progress(parent: QWidget, title: str, label: str, work: Callable[[Callable[[float], bool]], Any],
                      describe: Callable[[float], str] | None = None, show_after_ms: int = 1000) -> Any:
    """Run `work(progress)` in a thread and return what it returns, or raise what it raised.

    `progress(value)` is what the work calls as it goes: a fraction in [0, 1] moves the bar (without `describe`),
    or, with `describe`, any number that `describe` turns into the dialog's text. It returns False once the user
    pressed Cancel; the work then stops in its own way (by raising)."""
    state: dict[str, Any] = {"value": 0.0, "cancel": False}
    result: dict[str, Any] = {}

    def progress(value: float) -> bool:
        state["value"] = value
        return not state["cancel"]

    def run() -> None:
        try:
            result["value"] = work(progress)
        except BaseException as exc:  # handed to the GUI thread, which raises it
            result["error"] = exc

    dialog = QProgressDialog(label, "Cancel", 0, 0 if describe else 1000, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(show_after_ms)
    dialog.setAutoReset(False)
    dialog.canceled.connect(lambda: state.__setitem__("cancel", True))
    thread = threading.Thread(target=run, name=f"dqn-{title.lower().replace(' ', '-')}", daemon=True)
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.03)
            if describe:
                dialog.setLabelText(describe(state["value"]))
            else:
                dialog.setValue(int(999 * state["value"]))      # also shows the dialog once it is due
            QApplication.processEvents()
    finally:
        QApplication.restoreOverrideCursor()
        dialog.close()
        dialog.deleteLater()
    if "error" in result:
        raise result["error"]
    return result["value"]
