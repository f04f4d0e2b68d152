"""What dqn-train shows and catches on a terminal: the progress line, and the signals that end a run."""
from __future__ import annotations

import math
import signal
import sys
import time
from typing import Any

from dqn_core.training.control import Control
from dqn_core.training.metrics import format_clock


class Interrupts:
    """SIGINT, SIGTERM and SIGHUP while a run trains and saves: the first stops training at the next step boundary;
    any later one is noted and not obeyed, so the agent is saved exactly once. `exit_code` is 128 + the first
    signal's number (130 for Ctrl+C, 143 for a plain `kill`), as a shell reports a process those signals ended."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self, control: Control, prog: str) -> None:
        self.control = control
        self.prog = prog
        self.first: int | None = None
        self.later = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        # After a signal the process is about to exit with its code: one more must not kill it on the way out
        # (Python puts the default handlers back while it shuts down; ignored signals stay ignored).
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if self.first is None else signal.SIG_IGN)

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.first is None:
            self.first = signum
            self.control.stop()
            print(f"\n{self.prog}: {name}: stopping at the next step, then saving", file=sys.stderr, flush=True)
        else:
            self.later += 1
            print(f"\n{self.prog}: {name} again: still saving, the files are written first", file=sys.stderr,
                  flush=True)

    @property
    def interrupted(self) -> bool:
        return self.first is not None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.first) if self.first is not None else 0


class Progress:
    """A one-line progress display on stderr: redrawn in place on a terminal, a line every 10 s otherwise."""

    def __init__(self, total_steps: int | None, total_episodes: int | None, enabled: bool,
                 total_seconds: float | None = None) -> None:
        self.total_steps, self.total_episodes, self.total_seconds = total_steps, total_episodes, total_seconds
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.started = time.perf_counter()
        self.eval_text = ""

    def update(self, trainer, run_steps: int, run_episodes: int, start_wall: float, force: bool = False) -> None:
        """The line for `run_steps` and `run_episodes` of this run, which began at `trainer.wall_seconds` =
        `start_wall`. Its steps/s is the run's average over its training time, evaluations included: the same
        figure as the summary's `steps_per_second` at the end."""
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < (0.2 if self.tty else 10.0)):
            return
        self.last = now
        seconds = trainer.wall_seconds - start_wall
        # Whichever budget is nearer its end: a step or episode budget, or a time budget (--minutes).
        frac = max(run_steps / self.total_steps if self.total_steps else 0.0,
                   run_episodes / self.total_episodes if self.total_episodes and not self.total_steps else 0.0,
                   seconds / self.total_seconds if self.total_seconds else 0.0)
        bar = "█" * int(20 * min(frac, 1.0)) + "░" * (20 - int(20 * min(frac, 1.0)))
        mean = trainer.metrics.mean100("total_return")
        rate = run_steps / seconds if seconds > 0 else 0.0
        line = (f"{bar} {100 * frac:5.1f}% | episode {trainer.episode:,} | step {trainer.step:,} | "
                f"return100 {mean if math.isfinite(mean) else 0:6.1f}{self.eval_text} | {rate:,.0f} steps/s avg | "
                f"{format_clock(trainer.wall_seconds)}{self._eta(frac, now)}")
        if self.tty:
            sys.stderr.write("\r" + line + "\x1b[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _eta(self, frac: float, now: float) -> str:
        """Time left at the run's pace so far (evaluations included), once there is a pace to go by."""
        if not 0.01 <= frac < 1.0:
            return ""
        return f" | ETA {format_clock((now - self.started) * (1.0 - frac) / frac)}"

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
