"""`python -m app [AGENT_FILE]` / `dqn-studio [AGENT_FILE]`: open the DQN Studio window."""
from __future__ import annotations

import os
import sys
import threading


def _warm_up_torch() -> None:
    """Build and step one tiny optimizer: the first one in a process imports much of torch (1–2 s), so do it
    in the background before the user presses Start rather than freezing the window then."""
    import torch

    layer = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(layer.parameters())
    layer(torch.zeros(1, 2)).sum().backward()
    optimizer.step()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")     # SIGTERM must reach us, not SDL
    from .display_check import check_display

    problem = check_display()
    if problem:
        print(f"dqn-studio: error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    # After the imports above (torch among them): importing torch in two threads at once can fail in torch's
    # operator registration (seen: "operator _c10d_functional::_wrap_tensor_autograd does not exist").
    warm_up = threading.Thread(target=_warm_up_torch, name="torch-warm-up", daemon=True)
    warm_up.start()

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("DQN Studio")
    app.setOrganizationName("DQN Studio")
    window = MainWindow()
    from .signals import install

    install(window)
    window.show()
    files = [a for a in argv[1:] if not a.startswith("-")]
    if files:
        window.files.open_agent(files[0])
    code = app.exec()
    # A quit in the first second or two can come while the warm-up still imports torch's modules, and exiting then
    # tears down torch's operator registry under that import: the likeliest cause of an abort seen once ("operator
    # _c10d_functional::_wrap_tensor_autograd does not exist", then terminate). Let the warm-up finish first.
    warm_up.join(timeout=30)
    # Delete the window while Qt still runs: left to Python's shutdown, the order in which the window's and the
    # application's wrappers go is arbitrary, and Qt crashed (SIGSEGV) after a clean quit.
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code


if __name__ == "__main__":
    sys.exit(main())
