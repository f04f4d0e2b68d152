"""Reading the runs folder off the GUI thread: run.json of every run for the table, the metric series of the
compared runs only, and the table's rows built there too. The GUI gets snapshots (runs the loader never changes
again), so it can draw them while the next read goes on; a read asked for while one runs is merged into the next."""
from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from dqn_core.experiments.runs import Run, list_runs, settings_that_differ

from .gui_collections import BulkRead, bulk_read
from .runs_table import FIXED_COLUMNS, TAIL_COLUMNS, Row, build_row


@dataclass
class Listing:
    """One read of a runs folder, for the GUI."""
    runs_dir: Path
    seq: int                        # the number of the newest request it answers
    runs: dict[str, Run]            # snapshots by id
    columns: list[str]
    rows: list[Row]                 # newest first
    widths: list[int]               # the longest text of each column, in characters (header included)


class _Reader(QObject):
    """Lives in the loader's thread; keeps the runs it read last, to read only what changed since."""

    done = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.runs_dir: Path | None = None
        self.known: dict[str, Run] = {}
        self.snapshots: dict[str, tuple[tuple, Run, Row | None]] = {}
        self.columns: list[str] = []

    @Slot(object, object, int)
    def read(self, runs_dir: Path, compared: frozenset, seq: int) -> None:
        # Reading 10,000 run.json files allocates a million objects: no collection runs while it does, and a large
        # read's objects are frozen out of later ones (gui_collections says why).
        with bulk_read() as read:
            self._read(runs_dir, compared, seq, read)

    def _read(self, runs_dir: Path, compared: frozenset, seq: int, read: BulkRead) -> None:
        if runs_dir != self.runs_dir:
            self.runs_dir, self.known, self.snapshots = runs_dir, {}, {}
        before = self.known
        self.known = list_runs(runs_dir, before, metrics=lambda run_id: run_id in compared)
        read.runs_read = sum(1 for run_id in self.known if run_id not in before)
        differing = [n for n in settings_that_differ(self.known.values()) if n not in ("seed", "env_id")]
        columns = [*FIXED_COLUMNS, *differing, "seed", *TAIL_COLUMNS]
        rebuild = columns != self.columns
        self.columns = columns
        snapshots, rows = {}, []
        for run_id, run in self.known.items():
            state = (run._stamp, run.metrics_loaded, run._offset, run.error, run.status)
            old = self.snapshots.get(run_id)
            if old is not None and old[0] == state:
                snap, row = old[1], (None if rebuild else old[2])
            else:
                snap, row = run.snapshot(), None
            row = row or build_row(snap, differing)
            snapshots[run_id] = (state, snap, row)
            rows.append(row)
        self.snapshots = snapshots
        rows.sort(key=lambda r: str(r.run.info.get("created", "")), reverse=True)
        widths = [max([len(c)] + [len(r.cells[i]) for r in rows]) for i, c in enumerate(columns)]
        self.done.emit(Listing(runs_dir, seq, {i: s[1] for i, s in snapshots.items()}, columns, rows, widths))


# The loaders' threads still running. A QThread destroyed while it runs aborts the process, so they are kept until
# stopped, and any left are stopped at interpreter exit.
_RUNNING: set[QThread] = set()


def _stop(thread: QThread) -> None:
    if thread.isRunning():
        thread.quit()
        thread.wait(10_000)
    _RUNNING.discard(thread)


@atexit.register
def _stop_all() -> None:
    for thread in list(_RUNNING):
        _stop(thread)


class RunsLoader(QObject):
    """`request(runs_dir, compared)` reads in the background; `loaded(Listing)` brings the result."""

    loaded = Signal(object)
    _read = Signal(object, object, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("dqn-runs-loader")
        self.reader = _Reader()
        self.reader.moveToThread(self.thread)
        self._read.connect(self.reader.read)
        self.reader.done.connect(self._done)
        self.thread.start()
        # A QThread still running when Python tears Qt down aborts the process: stop it when the app quits (an exit
        # code from a signal handler included) and, failing that, at interpreter exit.
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)
        _RUNNING.add(self.thread)
        self.busy = False
        self.pending: tuple[Path, frozenset, int] | None = None
        self.seq = 0

    def request(self, runs_dir: Path, compared: set[str]) -> int:
        """Ask for a read; returns its number (a Listing with `seq` at least that answers it)."""
        self.seq += 1
        args = (Path(runs_dir), frozenset(compared), self.seq)
        if self.busy:
            self.pending = args                 # the newest request wins; the one running finishes first
        else:
            self.busy = True
            self._read.emit(*args)
        return self.seq

    @Slot(object)
    def _done(self, listing: Listing) -> None:
        self.busy = False
        if self.pending is not None:
            args, self.pending = self.pending, None
            self.busy = True
            self._read.emit(*args)
        self.loaded.emit(listing)

    def stop(self) -> None:
        """End the thread after the read in progress (called when the window closes and when the app quits)."""
        _stop(self.thread)
