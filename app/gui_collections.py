"""Python's cyclic garbage collections, confined to the GUI thread while a window is open.

An automatic collection runs in whichever thread allocates when a threshold is crossed. With a window open that can
be the training thread or the runs loader's, and a collection there that frees a Qt wrapper can deadlock: the worker,
in `QObject::~QObject`, waits for the GIL while the GUI thread, deleting a menu, waits for a Qt mutex the worker holds
(seen under gdb). So while a window is open (`hold` … `release`) automatic collections are off and a GUI-thread timer
collects, generation by generation, when Python itself would have. pyqtgraph's `GarbageCollector` does the same; this
one also hands collection back to Python when the last window closes (after its threads ended), and waits while a
bulk read is in flight.

A bulk read (`bulk_read`: the runs loader reading thousands of run.json files) allocates a million objects, and full
collections during it held the GIL, and so the GUI, for 120–170 ms each. No collection runs while one is in flight,
and a large read's objects (the runs kept; what it drops goes by reference counting, since a read makes no cycles)
are frozen out of later collections, which so stay cheap. Freezing also keeps whatever cyclic garbage was pending at
that moment, so it is done only after a large read, not after every poll.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QTimer

INTERVAL_MS = 1000          # how often the GUI thread checks whether a collection is due
LARGE_READ = 1000           # runs read anew that make a read large enough to freeze

_lock = threading.Lock()
_windows = 0                # windows open (holding the collections in the GUI thread)
_reads = 0                  # bulk reads in flight
_timer: QTimer | None = None


def _apply() -> None:
    """Automatic collections on only when nothing holds them (called under the lock)."""
    if _windows or _reads:
        gc.disable()
    else:
        gc.enable()


def hold() -> None:
    """A window opened: from now on only the GUI thread collects. Call from the GUI thread."""
    global _windows, _timer
    with _lock:
        _windows += 1
        _apply()
    if _timer is None:
        _timer = QTimer()
        _timer.timeout.connect(collect_if_due)
    _timer.start(INTERVAL_MS)


def release() -> None:
    """A window closed, its threads ended: when it was the last, Python collects on its own again."""
    global _windows
    with _lock:
        _windows = max(0, _windows - 1)
        _apply()
        last = _windows == 0
    if last and _timer is not None:
        _timer.stop()


def holding() -> bool:
    """Whether automatic collections are confined to the GUI thread now."""
    return _windows > 0


def reading() -> bool:
    """Whether a bulk read is in flight (no collection runs then)."""
    return _reads > 0


def collect_if_due() -> list[int]:
    """Collect the generations whose counts passed Python's thresholds, youngest first, as Python's own trigger
    would; nothing while a bulk read is in flight. Returns the generations collected."""
    with _lock:
        if _reads:
            return []
    collected = []
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in range(3):
        if counts[generation] <= thresholds[generation]:
            break
        gc.collect(generation)
        collected.append(generation)
    return collected


@dataclass
class BulkRead:
    runs_read: int = 0      # set by the reader: how many runs it read anew


@contextmanager
def bulk_read() -> Iterator[BulkRead]:
    """No collection while the body reads (any thread); a large read's objects are frozen when it ends."""
    global _reads
    with _lock:
        _reads += 1
        gc.disable()
    read = BulkRead()
    try:
        yield read
    finally:
        with _lock:
            if read.runs_read >= LARGE_READ:
                gc.freeze()
            _reads -= 1
            _apply()
