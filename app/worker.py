"""The only bridge between Qt and the engine: a QThread running one trainer generator through a worker object.

The worker thread has no running event loop, so requests (pause, step, stop, patches, saves) go through the engine's
thread-safe `Control`, never through queued slots. Events come back to the GUI thread as a queued signal.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from dqn_core.device import default_threads
from dqn_core.training.control import Control


def worker_threads() -> int:
    """Torch threads for training under a window: the engine's default (half the cores), which leaves the GUI a core
    (two busy threads on two cores stall torch)."""
    return default_threads()


class TrainingWorker(QObject):
    """Runs `job(control)` — a generator of engine events — and forwards each event."""

    event = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, job: Callable[[Control], Any], control: Control) -> None:
        super().__init__()
        self._job = job
        self._control = control

    @Slot()
    def run(self) -> None:
        try:
            for item in self._job(self._control):
                self.event.emit(item)
        except Exception as exc:  # the engine reports its own failures as events; this is the last resort
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.finished.emit()


class TrainingSession(QObject):
    """One background run (training or watching). `stop()` asks it to end; `join()` waits for its thread."""

    event = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, job: Callable[[Control], Any], control: Control, parent: QObject | None = None,
                 wind_down: Control | None = None) -> None:
        super().__init__(parent)
        self.control = control
        # A Stop ends training, then the run's end (final evaluation, agent files) runs on under `wind_down`; New,
        # Open and Quit stop it too, so that they never wait for a long evaluation.
        self.wind_down = wind_down or Control()
        self.thread = QThread()
        self.thread.setObjectName("dqn-training")
        self.worker = TrainingWorker(job, control)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.event.connect(self.event)
        self.worker.failed.connect(self.failed)
        # Direct: quit() from the worker thread itself. Queued, it would wait for the GUI thread's event loop, which
        # is blocked in join()'s wait() when the window closes: a deadlock until the timeout.
        self.worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self._on_thread_finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        self.thread.start()

    @property
    def running(self) -> bool:
        return self._running

    def stop(self) -> None:
        self.control.stop()

    def join(self, timeout_ms: int = 30_000) -> bool:
        """Stop and wait for the thread, cutting short the run's final evaluation (`wind_down`); True when it
        ended. Never terminates a thread."""
        self.control.stop()
        self.wind_down.stop()
        if self.thread.isRunning():
            return self.thread.wait(timeout_ms)
        return True

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self.finished.emit()


class AgentReady:
    """First item of a job that built a new agent in the worker thread: hands the GUI its reference."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer


class RecorderReady:
    """Item of a job that started recording the agent's run: hands the GUI its reference (used by later jobs)."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder


def open_run_folder(trainer: Any, runs_dir: Path, preset: str | None, origin: str | None = None):
    """A recorder for a run trained in the window (called in the worker thread), or None when the runs folder
    cannot be written (training goes on unrecorded). Its folder is named after `origin` (the preset, or the agent
    file it continues), else after the preset."""
    from dqn_core.experiments.runs import FolderSink, RunRecorder, new_run_id, tensorboard_available

    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id(runs_dir, trainer.config, origin or preset)
        sink = FolderSink(runs_dir)
        return RunRecorder(trainer, sink, run_id, preset=preset, source="window",
                           tensorboard_dir=sink.folder(run_id) if tensorboard_available() else None)
    except (OSError, ValueError):
        return None
