"""The status bar's fixed fields: device, speed, steps, episodes, replay fill, learning rate, training time.

Messages go to the bar's left part; these fields sit at its right with fixed widths, so a long message is cut
(its whole text in the tooltip) instead of running into them, and updates never re-lay out the bar.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QStatusBar

from dqn_core.config import TrainConfig
from dqn_core.training import events as ev
from dqn_core.training.metrics import format_clock

# Each field is as wide as its longest likely text, measured in the bar's font (a fixed width in pixels cut
# "replay 30,000/100,000 (30%" short).
WIDEST = {"device": "device: chosen at start", "rate": "watching · last 21 · mean 20.5", "steps": "steps 10,000,000",
          "episodes": "episodes 100,000", "replay": "replay 1,000,000/1,000,000 (100%)", "lr": "lr 0.000123",
          "elapsed": "trained 100:00:00"}
TIPS = {"rate": "Training speed now: environment steps per second since these fields were last updated "
                "(dqn-train's 'steps/s avg' is the run's average)",
        "steps": "Environment steps trained (every env's, with parallel envs)",
        "replay": "Transitions in the replay memory / its capacity",
        "elapsed": "Training time of this agent, over all its sessions"}


class StatusFields:
    def __init__(self, bar: QStatusBar) -> None:
        self.labels: dict[str, QLabel] = {}
        for key, text in WIDEST.items():
            label = QLabel()
            label.setIndent(8)                     # a gap between a message and the first field
            label.setFixedWidth(label.fontMetrics().horizontalAdvance(text) + 18)
            label.setToolTip(TIPS.get(key, ""))
            bar.addPermanentWidget(label)
            self.labels[key] = label
        bar.messageChanged.connect(lambda text: bar.setToolTip(text))

    def show_stats(self, stats: ev.StepStats, paused: bool) -> None:
        """A training update (the engine's figures, a step or so behind the trainer)."""
        if not paused:                               # paused: the rate field says so, not a stale rate
            self.labels["rate"].setText(f"{stats.steps_per_second:,.0f} steps/s")
        self._show(stats.step, stats.episode, stats.replay_size, stats.replay_capacity, stats.learning_rate,
                   stats.elapsed_seconds)

    def show_agent(self, trainer: Any) -> None:
        """An agent at rest (read from it: nothing trains it now)."""
        self.labels["rate"].setText("idle")
        self._show(trainer.step, trainer.episode, len(trainer.replay), trainer.replay.capacity, trainer.learning_rate,
                   trainer.wall_seconds)

    def show_new(self, config: TrainConfig) -> None:
        """No agent yet: what the next Start begins from."""
        self.labels["rate"].setText("idle")
        self._show(0, 0, 0, config.replay_capacity, config.lr, 0.0)

    def show_rate(self, text: str) -> None:
        self.labels["rate"].setText(text)

    def show_device(self, text: str) -> None:
        self.labels["device"].setText(text or "device: chosen at start")

    def _show(self, step: int, episodes: int, fill: int, capacity: int, lr: float, seconds: float) -> None:
        self.labels["steps"].setText(f"steps {step:,}")
        self.labels["episodes"].setText(f"episodes {episodes:,}")
        self.labels["replay"].setText(f"replay {fill:,}/{capacity:,} ({100 * fill / max(capacity, 1):.0f}%)")
        self.labels["lr"].setText(f"lr {lr:.3g}")
        self.labels["elapsed"].setText(f"trained {format_clock(seconds)}")
