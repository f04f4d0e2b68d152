"""Thread-safe requests to a running trainer: pause, resume, single steps, stop, live config patches, saves.

The trainer runs in a thread without an event loop, so requests travel through a lock, a condition variable and a
queue; the trainer looks at them between environment steps.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

EPISODE = -1   # step budget meaning "until the current episode ends"


@dataclass(frozen=True)
class SaveRequest:
    path: str
    include_replay: bool
    best: bool = False          # the agent kept at its best evaluation instead of the current one


class Control:
    """Requests from another thread (the window) to a trainer's `run` loop."""

    def __init__(self, display_every: int = 0, display_fps: float = 30.0) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._step_budget = 0
        self._requests: queue.SimpleQueue[dict[str, Any] | SaveRequest] = queue.SimpleQueue()
        self.display_every = display_every      # 0: no frames (fast mode); N: every Nth step, at most display_fps
        self.display_fps = display_fps

    # ---- called from any thread ------------------------------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._step_budget = 0
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._step_budget = 0
            self._cond.notify_all()

    def step(self, count: int = 1) -> None:
        """While paused: take `count` steps (or EPISODE: finish the current episode), then stay paused."""
        with self._cond:
            self._paused = True
            self._step_budget = count
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def patch(self, changes: dict[str, Any]) -> None:
        """Queue live config changes; the trainer answers with ConfigApplied."""
        self._requests.put(dict(changes))
        self._notify()

    def save(self, path: str, include_replay: bool = False, best: bool = False) -> None:
        """Queue a save at the next step boundary (with `best`, of the agent kept at its best evaluation); the
        trainer answers with Saved."""
        self._requests.put(SaveRequest(str(path), include_replay, best))
        self._notify()

    def set_display(self, every: int, fps: float | None = None) -> None:
        self.display_every = max(0, int(every))
        if fps is not None:
            self.display_fps = float(fps)

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ---- called by the trainer -------------------------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return self._paused

    def frame_due(self, step: int, last_frame_time: float) -> bool:
        """Whether the trainer should send a frame at `step`: every `display_every` steps at most `display_fps` a
        second; while paused (single-stepping) every step taken."""
        every = self.display_every
        if self._paused:
            return every > 0 or self.display_fps > 0
        if every <= 0 or step % every:
            return False
        return time.perf_counter() - last_frame_time >= 1.0 / max(self.display_fps, 1e-3)

    def pending(self) -> list[dict[str, Any] | SaveRequest]:
        out = []
        while True:
            try:
                out.append(self._requests.get_nowait())
            except queue.Empty:
                return out

    def may_step(self, timeout: float) -> bool:
        """True if the trainer may take a step now; otherwise wait up to `timeout` for a change and return False."""
        with self._cond:
            if self._stop:
                return False
            if not self._paused:
                return True
            if self._step_budget != 0:
                return True
            if self._requests.empty():
                self._cond.wait(timeout)
            return False

    def wait_for_step(self) -> bool:
        """Wait until a step may be taken (while paused: until Step is pressed) and count it; False on a stop."""
        while not self.may_step(timeout=0.05):
            if self.stop_requested:
                return False
        self.took_step(False)
        return not self.stop_requested

    def took_step(self, episode_ended: bool) -> None:
        with self._cond:
            if not self._paused:
                return
            if self._step_budget > 0:
                self._step_budget -= 1
            elif self._step_budget == EPISODE and episode_ended:
                self._step_budget = 0
