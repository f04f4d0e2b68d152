"""What the trainer reports: small frozen records of Python scalars and copied numpy arrays, never tensors."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dqn_core.config import TrainConfig


@dataclass(frozen=True)
class Started:
    device: str                  # "cpu" or "cuda:0 (NVIDIA H100 …)"
    config: TrainConfig
    step: int
    episode: int
    mode: str                    # "train" or "watch"
    action_names: tuple[str, ...] = ()     # the env's names for its actions, where it has them


@dataclass(frozen=True)
class StepStats:
    """Statistics since the previous StepStats: one row per `stats_interval` env steps."""

    steps: np.ndarray            # env step at the end of each row
    loss: np.ndarray             # mean TD loss of the updates in the row (NaN where none)
    q_mean: np.ndarray           # mean max-Q over the sampled batches
    epsilon: np.ndarray
    grad_norm: np.ndarray
    step: int                    # totals now
    episode: int
    updates: int
    replay_size: int
    replay_capacity: int
    steps_per_second: float
    elapsed_seconds: float
    learning_rate: float         # the optimizer's step size now (it follows the learning-rate schedule)


@dataclass(frozen=True)
class EpisodeEnd:
    episode: int                 # 1-based count of finished episodes
    step: int
    duration: int
    total_return: float
    mean100_duration: float
    mean100_return: float
    greedy: bool = False         # True in "watch" mode
    wall_seconds: float = 0.0    # training time when the episode ended


@dataclass(frozen=True)
class Frame:
    step: int
    episode: int
    episode_step: int
    episode_return: float
    epsilon: float
    screen: np.ndarray | None    # (H, W, 3) uint8 full-size render, when the env can render
    net_input: np.ndarray        # (input_frames, *frame_shape): what the network sees, oldest first
    q_values: np.ndarray | None
    action: int
    lives: int = 0               # lives left (Atari), 0 where the game has none


@dataclass(frozen=True)
class EvalResult:
    step: int
    episode: int
    mean_return: float
    std_return: float
    returns: tuple[float, ...]
    threshold: float | None
    solved: bool                        # passed, and confirmed where the config asks for confirmation
    confirm_mean: float | None = None   # mean return of the confirmation episodes, when they were played
    confirm_episodes: int = 0           # how many confirmation episodes were played
    new_best: bool = False              # the best score so far: the trainer kept a copy of this agent

    @property
    def score(self) -> float:
        """Mean return over every greedy episode of this evaluation, confirmation episodes included."""
        if self.confirm_mean is None or not self.confirm_episodes:
            return self.mean_return
        n = len(self.returns)
        return (self.mean_return * n + self.confirm_mean * self.confirm_episodes) / (n + self.confirm_episodes)


@dataclass(frozen=True)
class ConfigApplied:
    config: TrainConfig
    changes: dict[str, tuple[Any, Any]]           # name -> (old, new), applied
    rejected: dict[str, str] = field(default_factory=dict)   # name -> reason
    step: int = 0
    episode: int = 0


@dataclass(frozen=True)
class StateChanged:
    state: str                   # "running", "paused"
    step: int
    episode: int


@dataclass(frozen=True)
class Finished:
    reason: str                  # "budget", "stopped", "solved"
    summary: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    message: str
    step: int


@dataclass(frozen=True)
class Saved:
    """Answer to a save requested while training: `ok` False leaves the previous file intact."""

    path: str
    ok: bool
    message: str
    best: bool = False           # the agent kept at its best evaluation, not the current one
    step: int = 0                # the agent's step when it was saved
