"""Help: the documentation, the optional extras installed (with versions) and the ones that are not (with the line
that installs each), and the folders where runs and recovery files are kept."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from dqn_core.extras import EXTRAS
from dqn_core.paths import recovery_candidates

README = Path(__file__).resolve().parent.parent / "README.md"


def extras_text() -> str:
    """One line per extra: installed with its version, or what it adds and how to install it."""
    lines = []
    for extra in EXTRAS.values():
        version = extra.version()
        if version:
            lines.append(f"<li><b>{extra.name}</b> {version}: {extra.purpose}</li>")
        else:
            lines.append(f"<li><b>{extra.name}</b>: not installed ({extra.purpose}): <code>{extra.install}</code></li>")
    return "<ul>" + "".join(lines) + "</ul>"


def show_extras(parent: QWidget) -> None:
    QMessageBox.information(parent, "Optional extras", "<p>Optional parts of DQN Studio:</p>" + extras_text())


def open_folder(parent: QWidget, folder: Path, what: str) -> bool:
    """Show `folder` in the desktop's file manager (made first: an empty folder is still the right place)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        QMessageBox.warning(parent, f"Cannot open the {what}", f"{folder}: {exc.strerror or exc}")
        return False
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        QMessageBox.information(parent, f"The {what}", f"The {what} is {folder}")
    return True


def open_documentation(parent: QWidget) -> bool:
    if README.exists() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(README))):
        return True
    QMessageBox.information(parent, "Documentation", f"The documentation is the project's README.md ({README}).")
    return False


def recovery_folder() -> Path:
    return recovery_candidates()[0]


def show_about(parent: QWidget, threads: int) -> None:
    import os
    import platform

    import gymnasium
    import numpy
    import pyqtgraph
    import PySide6
    import torch

    from dqn_core import __version__

    if torch.cuda.is_available():
        device = f"CUDA: {torch.cuda.get_device_name(0)}"
    else:
        device = f"CPU ({os.cpu_count()} cores; training uses {threads} torch thread(s) under the window)"
    QMessageBox.about(parent, "About DQN Studio", (
        f"<h3>DQN Studio {__version__}</h3><p>Train a Deep Q-Network and watch it learn.</p>"
        f"<p>Device: {device}</p><p>Python {platform.python_version()} · torch {torch.__version__} · "
        f"gymnasium {gymnasium.__version__} · PySide6 {PySide6.__version__} · pyqtgraph {pyqtgraph.__version__} · "
        f"numpy {numpy.__version__}</p>"))
