"""The window's document: the current run — the settings it trains with, its agent, run folder, metrics, milestones,
and whether it holds training that no file has.

There is one current run at a time; `swap` is the only place another one becomes current (a new agent built at
Start, an agent file opened, New / Reset). Panels and menus observe its signals instead of being told one by one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from dqn_core.config import TrainConfig
from dqn_core.training.metrics import Metrics


def copy_metrics(metrics: Metrics) -> Metrics:
    """The window's own copy: the trainer's lists keep changing in the worker thread."""
    return Metrics.from_arrays(metrics.arrays(), [dict(c) for c in metrics.changes])


def best_evaluation(trainer: Any) -> tuple[int, float] | None:
    """(step, mean return) of the best greedy evaluation in an agent's record; the first of equals."""
    means = trainer.metrics.evals["mean_return"]
    if not means:
        return None
    i = max(range(len(means)), key=lambda k: (means[k], -k))
    return int(trainer.metrics.evals["step"][i]), float(means[i])


class CurrentRun(QObject):
    """The run the window shows. `config` is what the settings panel shows: the settings the next Start uses."""

    swapped = Signal()      # another run became current: every readout starts over from it
    changed = Signal()      # its name, unsaved state, end or milestones changed: the title and the menus follow

    def __init__(self, config: TrainConfig, preset_name: str, source_note: str) -> None:
        super().__init__()
        self.config = config
        self.preset_name = preset_name           # the preset the settings came from ("" when they did not)
        self.source_note = source_note           # where they came from otherwise: "from agent a.dqn", ...
        self.trainer: Any = None                 # touched by the GUI thread only while no session runs
        self.recorder: Any = None                # the run folder's recorder (used in the worker thread only)
        self.path: str | None = None             # the agent file it was opened from or last saved to
        self.saved_step = 0                      # the agent's step when a file last held all of it
        self.dirty = False                       # training no file holds
        self.ended: str | None = None            # how its last session ended: solved, budget, stopped, failed
        self.metrics = Metrics()                 # the window's copy, drawn by the plots
        self.solved_step: int | None = None
        self.best_mark: tuple[int, float] | None = None
        self.previous_run_id: str | None = None  # the run folder of the run this one replaced (compared by default)

    # ---- the one swap ------------------------------------------------------------------------------------------------
    def swap(self, trainer: Any = None, path: str | None = None) -> None:
        """Make `trainer` the current run: a new agent (no path), an opened file's (its path: its record comes with
        it), or none (New, Reset, an agent that could not be built)."""
        old = self.recorder
        self.previous_run_id = old.run_id if old is not None and old.trainer is self.trainer else None
        self.trainer, self.path, self.recorder = trainer, path, None
        self.ended, self.dirty = None, False
        opened = trainer is not None and path is not None
        self.saved_step = trainer.step if opened else 0
        self.metrics = copy_metrics(trainer.metrics) if opened else Metrics()
        self.solved_step = trainer.solved_at_step if opened else None
        self.best_mark = best_evaluation(trainer) if opened else None
        if opened:
            self.preset_name, self.source_note = "", f"from agent {Path(path).name}"
        self.swapped.emit()
        self.changed.emit()

    # ---- what happens to it ------------------------------------------------------------------------------------------
    def trained(self, step: int) -> None:
        """The agent reached `step`: unsaved once it is past the last save (a single step too)."""
        if not self.dirty and step > self.saved_step:
            self.dirty = True
            self.changed.emit()

    def changed_by_hand(self) -> None:
        """A live setting applied to an idle agent with training behind it: the files no longer hold this agent."""
        if self.trainer is not None and self.trainer.step > 0 and not self.dirty:
            self.dirty = True
            self.changed.emit()

    def saved(self, path: str, step: int) -> None:
        self.path, self.saved_step, self.dirty = path, step, False
        self.changed.emit()

    def file_overwritten(self) -> None:
        """Its own file now holds another agent (the best one, saved over it)."""
        self.dirty = True
        self.changed.emit()

    def session_ended(self, how: str | None) -> None:
        """A session ended: the run folder holds the agent when it has every step (its own save)."""
        if how is not None:
            self.ended = how
        if self.in_run_folder():
            self.saved_step, self.dirty = self.trainer.step, False
        self.changed.emit()

    def new_best(self, step: int, score: float) -> None:
        self.best_mark = (step, score)
        self.changed.emit()

    def solved(self, step: int) -> bool:
        """Record the first solve; True when this one is it."""
        if self.solved_step is not None:
            return False
        self.solved_step = step
        self.changed.emit()
        return True

    def set_config(self, config: TrainConfig, preset_name: str | None = None, source_note: str | None = None) -> None:
        self.config = config
        if preset_name is not None:
            self.preset_name = preset_name
        if source_note is not None:
            self.source_note = source_note
        self.changed.emit()

    # ---- what it is --------------------------------------------------------------------------------------------------
    def in_run_folder(self) -> bool:
        """Whether the run folder holds the agent with every step trained. An agent opened from a file and trained
        further counts as unsaved: its file does not have those steps."""
        t, rec = self.trainer, self.recorder
        if t is None or rec is None or rec.trainer is not t or self.path:
            return False
        info = rec.info
        return bool(info.get("agents", {}).get("final")) and info.get("counters", {}).get("steps") == t.step

    def kept_by_run_folder(self) -> bool:
        """Whether ending its session will write every step to the run folder (nothing to ask before quitting)."""
        return self.trainer is not None and self.recorder is not None and self.recorder.trainer is self.trainer \
            and not self.path

    @property
    def in_force(self) -> TrainConfig:
        """The settings its curves and evaluations come from: its trainer's (live changes included), or the panel's
        before it has one."""
        return self.trainer.config if self.trainer is not None else self.config

    @property
    def unsaved_steps(self) -> int:
        return self.trainer.step - self.saved_step if self.trainer is not None else 0

    def origin(self) -> str | None:
        """What its run folder is named after: the preset, or the agent file it continues (None: custom)."""
        if self.preset_name:
            return self.preset_name
        note = self.source_note
        if note.startswith("from agent "):
            return Path(note[len("from agent "):]).stem
        return None

    def title(self) -> str:
        name = Path(self.path).name if self.path else ("untitled agent" if self.trainer else "no agent yet")
        return f"{name}{'*' if self.dirty else ''}"
