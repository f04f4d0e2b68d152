"""Garbage collections while the window is open run in the GUI thread only: with real training and loader
threads, every collection is recorded with the thread that ran it."""
from __future__ import annotations

import gc
import json
import shutil
import threading

import pytest

from app import gui_collections
from conftest import WAIT
from dqn_core.cli.main import train_main


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    yield


@pytest.fixture
def collections_seen():
    """For each garbage collection that started while the test ran: the name of its thread, and whether a bulk read
    was in flight."""
    seen: list[tuple[str, bool]] = []

    def record(phase, info):
        if phase == "start":
            seen.append((threading.current_thread().name, gui_collections.reading()))

    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)


class Cycle:
    """Garbage only a collection frees; says in which thread it was freed."""
    freed_in: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_in.append(threading.current_thread().name)


def test_while_a_window_trains_only_the_gui_thread_collects_and_python_again_once_it_closes(
        make_window, qtbot, collections_seen):
    w = make_window(device="cpu", eval_every=0)
    assert not gc.isenabled()
    Cycle.freed_in.clear()
    w.training.start()

    def make_garbage():                  # well past every threshold, in a thread of its own
        for _ in range(300):
            Cycle()
            [[] for _ in range(100)]

    worker = threading.Thread(target=make_garbage, name="garbage-maker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: w.run.trainer is not None and w.run.trainer.step >= 500, timeout=WAIT)
    qtbot.waitUntil(lambda: len(Cycle.freed_in) == 300, timeout=WAIT)     # the GUI timer collected them
    assert set(Cycle.freed_in) == {"MainThread"}
    assert collections_seen and {thread for thread, _ in collections_seen} == {"MainThread"}
    w.actions_by_name["stop"].trigger()
    w.run.dirty = False
    w.close()
    assert gc.isenabled()                                                   # its threads ended: Python's own again


def recorded_copies(tmp_path, count: int):
    """A runs folder with `count` copies of one real recorded run, and a function that adds one more."""
    template = tmp_path / "template"
    assert train_main(["--preset", "tutorial-state", "--steps", "200", "--quiet", "--runs-dir", str(template),
                       "--set", "eval_every=0"]) == 0
    source = next(p for p in template.iterdir() if (p / "run.json").exists())
    runs = tmp_path / "runs"
    made = []

    def add() -> None:
        folder = runs / f"copy-{len(made):03d}"
        shutil.copytree(source, folder)
        info = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(json.dumps(dict(info, id=folder.name, name=folder.name)))
        made.append(folder)

    for _ in range(count):
        add()
    return runs, add


def test_a_read_of_the_runs_folder_never_collects_in_its_thread_and_a_large_one_is_frozen(
        qtbot, tmp_path, monkeypatch, collections_seen):
    from app.runs_loader import RunsLoader

    monkeypatch.setattr(gui_collections, "LARGE_READ", 5)
    runs, add = recorded_copies(tmp_path, 5)
    loader = RunsLoader()
    listings = []
    loader.loaded.connect(listings.append)
    frozen = gc.get_freeze_count()
    try:
        gc.set_threshold(50, 2, 2)                  # a collection would be due many times over in each read
        loader.request(runs, set())
        qtbot.waitUntil(lambda: len(listings) == 1, timeout=WAIT)
        assert len(listings[0].rows) == 5
        after_large = gc.get_freeze_count()
        assert after_large > frozen                 # 5 runs read anew: a large read here, its objects frozen
        add()
        loader.request(runs, set())
        qtbot.waitUntil(lambda: len(listings) == 2, timeout=WAIT)
        assert len(listings[1].rows) == 6
        assert gc.get_freeze_count() <= after_large  # one new run: nothing frozen (frozen objects that died left)
        assert collections_seen and not any(during_read for _, during_read in collections_seen)
        assert gc.isenabled()                       # no window holds the collections: Python's own again
    finally:
        gc.set_threshold(700, 10, 10)
        loader.stop()
        gc.unfreeze()
