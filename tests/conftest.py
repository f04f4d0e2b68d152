"""Test setup: Qt renders offscreen and pygame needs no display, before either is imported."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
# Runs and recovery files the tests make go to a folder of their own, never the user's runs folder; it is removed
# when the test session ends, so repeated sessions leave nothing behind.
if "DQN_STUDIO_HOME" not in os.environ:
    os.environ["DQN_STUDIO_HOME"] = tempfile.mkdtemp(prefix="dqn-studio-tests-")
    atexit.register(shutil.rmtree, os.environ["DQN_STUDIO_HOME"], ignore_errors=True)

import pytest  # noqa: E402
import torch  # noqa: E402

from dqn_core.config import TrainConfig  # noqa: E402
from dqn_core.extras import extra  # noqa: E402
from dqn_core.presets import load_preset  # noqa: E402

torch.set_num_threads(1)

# The engine's tests run on the CPU; DQN_TEST_DEVICE=cuda runs the same tests on a GPU (the CUDA path).
TEST_DEVICE = os.environ.get("DQN_TEST_DEVICE", "cpu")


@pytest.fixture
def state_config() -> TrainConfig:
    """A small, fast state-vector CartPole config."""
    return load_preset("tutorial-state").replace(device=TEST_DEVICE, batch_size=32, learning_starts=64,
                                                 replay_capacity=2000, eval_every=0, torch_threads=1)


@pytest.fixture
def pixel_config() -> TrainConfig:
    """The fast pixel pipeline, small enough for tests."""
    return load_preset("pixels").replace(device=TEST_DEVICE, batch_size=16, learning_starts=32, replay_capacity=500,
                                         eval_every=0, torch_threads=1)


WAIT = 30_000                 # ms: the longest a window test waits for what it expects

# dqn-train and dqn-eval as a user runs them, in a fresh interpreter (the installed scripts' own entry points).
TRAIN = [sys.executable, "-c", "import sys; from dqn_core.cli.main import train_main; sys.exit(train_main(sys.argv[1:]))"]
EVAL = [sys.executable, "-c", "import sys; from dqn_core.cli.main import eval_main; sys.exit(eval_main(sys.argv[1:]))"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.needs("atari", ...)`: where an optional extra is missing, the test skips with the line that
    installs it (so the minimal install's run lists what it left out, and why)."""
    for mark in item.iter_markers("needs"):
        for name in mark.args:
            wanted = extra(name)
            missing = wanted.missing_module()
            if missing:
                pytest.skip(f"needs the '{name}' extra ({missing} is not installed): {wanted.install}")


@pytest.fixture
def isolated_settings(tmp_path, monkeypatch):
    """Each test gets empty QSettings and its own user data folder (so its own runs folder)."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DQN_STUDIO_HOME", raising=False)
    monkeypatch.delenv("DQN_STUDIO_RUNS", raising=False)
    yield


@pytest.fixture
def dialogs(monkeypatch):
    """Records error dialogs and answers questions without showing anything."""
    from PySide6.QtWidgets import QMessageBox

    record = {"critical": [], "question": [], "answer": QMessageBox.StandardButton.Discard}

    def critical(parent, title, text, *args, **kwargs):
        record["critical"].append((title, text))
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args, **kwargs):
        record["question"].append((title, text))
        return record["answer"]

    def exec_(box):
        """A message box built by hand (e.g. with a "Save Best Agent…" button): the answer is a standard button or
        a button's text."""
        record["question"].append((box.windowTitle(), box.text()))
        answer = record["answer"]
        target = (box.button(answer) if isinstance(answer, QMessageBox.StandardButton)
                  else next((b for b in box.buttons() if b.text() == answer), None))
        if target is not None:
            target.click()
        return 0

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return record


@pytest.fixture
def make_window(qtbot, dialogs):
    from app.main_window import MainWindow

    windows = []

    def make(preset: str | None = "tutorial-state", **changes):
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        if preset:
            window.configs.choose_preset(preset)
        if changes:
            window.configs.set_config(window.run.config.replace(**changes), "test")
            window.panel.set_config(window.run.config)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.run.dirty = False
        window.close()
        assert window.training.session is None


