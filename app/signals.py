"""SIGINT, SIGTERM and SIGHUP to the window: treated like Quit, except that unsaved work goes to a recovery file
instead of a question nobody is there to answer.

Python runs its signal handlers only between bytecodes, and Qt's event loop is C++: a timer gives the interpreter
a moment several times a second, and the handler hands the work to the event loop.
"""
from __future__ import annotations

import signal

from PySide6.QtCore import QObject, QTimer

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def install(window) -> QObject:
    """Route the signals to `window.quit_for_signal(signum)`; keep the returned timer alive as long as the window."""
    for sig in SIGNALS:
        signal.signal(sig, lambda signum, frame: QTimer.singleShot(0, lambda: window.quit_for_signal(signum)))
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer
