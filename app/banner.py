"""A dismissable banner above the plots: the welcome on a first start, and "solved" with Save Best Agent…."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

STYLES = {
    "info": "background: #e8f0fe; border: 1px solid #aecbfa; border-radius: 4px;",
    "success": "background: #e6f4ea; border: 1px solid #81c995; border-radius: 4px;",
}


class Banner(QFrame):
    """One message at a time, with an optional action button; × hides it (and says so with `closed`)."""

    closed = Signal(str)                # the kind of message that was dismissed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setStyleSheet("border: none; background: transparent; color: #202124;")
        self.button = QPushButton()
        self.button.hide()
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setToolTip("Hide this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._action: Callable[[], object] | None = None
        self.button.clicked.connect(lambda: self._action and self._action())
        self.hide()

    def show_message(self, kind: str, html: str, action_text: str = "",
                     action: Callable[[], object] | None = None) -> None:
        self.kind = kind
        self.setStyleSheet(f"Banner {{ {STYLES.get(kind, STYLES['info'])} }}")
        self.label.setText(html)
        self._action = action
        self.button.setText(action_text)
        self.button.setVisible(bool(action_text and action))
        self.show()

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit(self.kind)
