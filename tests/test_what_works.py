"""The window offers what works and says what else exists: env families and envs whose extra is missing stay in the
picker, greyed, with their install line; choosing one is refused before anything is discarded; Help lists the
extras and opens the documentation and folders; a missing optional extra is information, not an error."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from conftest import WAIT


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    yield


@pytest.fixture
def without_extras(monkeypatch):
    """As if Box2D, ale-py, MinAtar and Ray were not installed."""
    for module in ("Box2D", "ale_py", "minatar", "ray"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.fixture
def informations(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text, *a, **k: shown.append((title, text)))
    return shown


def _items(box):
    return [(box.itemText(i), box.model().item(i).isEnabled()) for i in range(box.count()) if box.itemText(i)]


def test_the_env_picker_lists_missing_families_greyed_with_their_install_line(make_window, without_extras):
    w = make_window("zoo-state")
    items = _items(w.panel.controls["env_id"])
    assert ("CartPole-v1", True) in items
    assert ("LunarLander-v3 — needs pip install 'dqn-studio[box2d]'", False) in items
    assert ("Atari (ALE) games — need pip install 'dqn-studio[atari]'", False) in items
    assert ("MinAtar games — need pip install --no-deps minatar", False) in items


def test_an_env_whose_extra_is_missing_is_refused_before_anything_is_asked_or_lost(make_window, qtbot, dialogs,
                                                                                   without_extras):
    w = make_window("zoo-state", device="cpu")
    w.training.start()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step > 100, timeout=WAIT)
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    trainer, asked = w.run.trainer, len(dialogs["question"])
    box = w.panel.controls["env_id"]
    box.setEditText("LunarLander-v3")
    box.lineEdit().editingFinished.emit()                       # the user types it in
    assert "needs the 'box2d' extra, which is not installed: pip install 'dqn-studio[box2d]'" in \
        w.panel.message.text()
    assert w.run.config.env_id == "CartPole-v1" and w.run.trainer is trainer and len(dialogs["question"]) == asked
    assert dialogs["critical"] == []
    box.setEditText("CartPol-v1")
    box.lineEdit().editingFinished.emit()
    assert "did you mean 'CartPole-v1'?" in w.panel.message.text() and w.run.config.env_id == "CartPole-v1"


def test_a_missing_sweep_extra_is_information_not_an_error(make_window, dialogs, informations, without_extras):
    w = make_window()
    w.actions_by_name["sweep"].trigger()
    assert dialogs["critical"] == []
    assert informations == [("Sweeps need Ray Tune", "Sweeps need the optional 'sweep' extra, which is not "
                                                     "installed:\npip install 'dqn-studio[sweep]'")]


def test_help_lists_the_extras_and_opens_the_documentation_and_the_folders(make_window, informations, monkeypatch,
                                                                           tmp_path):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    monkeypatch.setitem(sys.modules, "Box2D", None)
    w = make_window()
    w.runs_panel.set_runs_dir(tmp_path / "runs")
    titles = [a.text() for a in w.menuBar().actions()[-1].menu().actions() if a.text()]
    assert titles == ["&Documentation", "Optional &Extras…", "Open &Runs Folder", "Open Re&covery Folder",
                      "&About DQN Studio"]
    w.actions_by_name["extras"].trigger()
    title, text = informations[-1]
    assert title == "Optional extras"
    assert "<b>box2d</b>: not installed" in text and "pip install 'dqn-studio[box2d]'" in text
    w.actions_by_name["docs"].trigger()
    w.actions_by_name["runs_folder"].trigger()
    w.actions_by_name["recovery_folder"].trigger()
    assert opened[0].endswith("README.md") and opened[1] == str(tmp_path / "runs")
    assert opened[2].endswith("recovery") and (tmp_path / "runs").is_dir()
    assert QUrl.fromLocalFile(opened[0]).isLocalFile()
