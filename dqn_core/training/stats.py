"""Training statistics: the open row of per-update sums (loss, mean max-Q, gradient norm, skipped updates), closed
into the metrics every STATS_INTERVAL steps, and the StepStats events that carry new rows to the window, throttled at
the source so that the GUI queue never floods."""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from dqn_core.learning.agent import NonFiniteLossError
from dqn_core.training import events as ev
from dqn_core.training.metrics import Metrics

STATS_INTERVAL = 10          # decisions per row of training statistics
STATS_EVENT_SECONDS = 0.2    # StepStats events at most this often


class OpenRow:
    """The sums of the row being filled, kept on the training device so that an update never waits for the GPU;
    read once per row. Saved with the agent (the file calls it `stats_acc`) for an exact resume."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums = torch.zeros(4, dtype=torch.float64, device=device)
        self.updates = 0

    def add(self, update_sums: torch.Tensor) -> None:
        self.sums += update_sums
        self.updates += 1

    def close(self, metrics: Metrics, step: int, eps: float) -> None:
        """Append the row's means to `metrics` and start a new row; a row with skipped (non-finite) updates is
        dropped and raises, so that training can go on once the cause is fixed."""
        loss, q, grad_norm, skipped = self.sums.tolist()
        n = self.updates
        self.sums.zero_()
        self.updates = 0
        if skipped:
            raise NonFiniteLossError(f"{int(skipped)} of the last {n} updates had a non-finite loss or gradient and "
                                     "were skipped")
        nan = float("nan")
        metrics.add_stats(step, loss / n if n else nan, q / n if n else nan, eps, grad_norm / n if n else nan)

    def state(self) -> list[float]:
        loss, q, grad_norm, _ = self.sums.tolist()
        return [loss, q, grad_norm, self.updates]

    def restore(self, values: list[float]) -> None:
        loss, q, grad_norm, n = values
        self.sums = torch.tensor([loss, q, grad_norm, 0.0], dtype=torch.float64, device=self.device)
        self.updates = int(n)


class StatsStream:
    """Sends the rows added since the last StepStats event, at most every STATS_EVENT_SECONDS, with the training rate
    over that interval."""

    def __init__(self) -> None:
        self.sent = 0
        self.time = 0.0
        self.step = 0

    def start(self, metrics: Metrics, step: int) -> None:
        self.sent = len(metrics.stats["step"])
        self.time = time.perf_counter()
        self.step = step

    def due(self, force: bool = False) -> bool:
        return force or time.perf_counter() - self.time >= STATS_EVENT_SECONDS

    def event(self, trainer) -> ev.StepStats:
        """The StepStats event of `trainer`'s new rows (`trainer`: counters, metrics, replay and learning rate)."""
        now = time.perf_counter()
        stats = trainer.metrics.stats
        rows = {c: np.asarray(stats[c][self.sent:], dtype=np.float64) for c in stats}
        self.sent = len(stats["step"])
        elapsed = now - self.time
        rate = (trainer.step - self.step) / elapsed if elapsed > 0 else 0.0
        self.time, self.step = now, trainer.step
        return ev.StepStats(rows["step"], rows["loss"], rows["q_mean"], rows["epsilon"], rows["grad_norm"],
                            trainer.step, trainer.episode, trainer.updates, len(trainer.replay),
                            trainer.replay.capacity, rate, trainer.wall_seconds, trainer.learning_rate)


def run_summary(trainer, since_step: int = 0, since_seconds: float = 0.0) -> dict[str, Any]:
    """What a finished run reports (dqn-train's summary, the Finished event): totals, and the training rate since
    (`since_step`, `since_seconds`): a run's own rate after a resume."""
    last, best = trainer.last_eval, trainer.best.result
    steps, seconds = trainer.step - since_step, trainer.wall_seconds - since_seconds
    return {
        "env_id": trainer.config.env_id, "obs": trainer.config.obs, "device": trainer.device_name,
        "steps": trainer.step, "env_steps": trainer.env_steps, "episodes": trainer.episode, "updates": trainer.updates,
        "wall_seconds": round(trainer.wall_seconds, 3),
        "steps_per_second": round(steps / seconds, 2) if seconds > 0 else None,
        "mean100_duration": _finite_or_none(trainer.metrics.mean100("duration")),
        "mean100_return": _finite_or_none(trainer.metrics.mean100("total_return")),
        "eval_mean_return": None if last is None else last.mean_return,
        "eval_std_return": None if last is None else last.std_return,
        "eval_step": None if last is None else last.step,
        "best_eval_score": None if best is None else best.score,
        "best_eval_step": None if best is None else best.step,
        "solved_threshold": trainer.solved_threshold(),
        "solved_at_step": trainer.solved_at_step,
        "solved_at_seconds": None if trainer.solved_at_seconds is None else round(trainer.solved_at_seconds, 3),
    }


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
