"""The run's history: episodes, per-interval training statistics, evaluations and live config changes."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from dqn_core.fileio import atomic_write_bytes

EPISODE_COLUMNS = ("step", "duration", "total_return", "wall_seconds")
STATS_COLUMNS = ("step", "loss", "q_mean", "epsilon", "grad_norm")
EVAL_COLUMNS = ("step", "episode", "mean_return", "std_return")


def format_clock(seconds: float) -> str:
    """Training time as M:SS or H:MM:SS."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def running_mean(values: np.ndarray, window: int = 100) -> np.ndarray:
    """Mean of the last `window` values at each index (of the values so far before the window fills)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    sums = np.cumsum(values)
    out = np.empty_like(sums)
    out[:window] = sums[:window] / np.arange(1, min(window, len(values)) + 1)
    out[window:] = (sums[window:] - sums[:-window]) / window
    return out


def headline(durations: np.ndarray, returns: np.ndarray) -> str:
    """Which episode measure a run is judged by: its length where every step paid 1 (CartPole's return is its
    length), else its return (a game's score, Acrobot's negative time)."""
    durations, returns = np.asarray(durations, dtype=float), np.asarray(returns, dtype=float)
    if len(returns) == len(durations) and np.array_equal(durations, returns):
        return "duration"
    return "return"


class Metrics:
    """Append-only columns kept as Python lists while training (cheap appends) and saved as arrays."""

    def __init__(self) -> None:
        self.episodes: dict[str, list[float]] = {c: [] for c in EPISODE_COLUMNS}
        self.stats: dict[str, list[float]] = {c: [] for c in STATS_COLUMNS}
        self.evals: dict[str, list[float]] = {c: [] for c in EVAL_COLUMNS}
        self.changes: list[dict[str, Any]] = []

    def add_episode(self, step: int, duration: int, total_return: float, wall: float) -> None:
        for c, v in zip(EPISODE_COLUMNS, (step, duration, total_return, wall)):
            self.episodes[c].append(v)

    def add_stats(self, step: int, loss: float, q_mean: float, eps: float, grad_norm: float) -> None:
        for c, v in zip(STATS_COLUMNS, (step, loss, q_mean, eps, grad_norm)):
            self.stats[c].append(v)

    def add_eval(self, step: int, episode: int, mean: float, std: float) -> None:
        for c, v in zip(EVAL_COLUMNS, (step, episode, mean, std)):
            self.evals[c].append(v)

    def add_change(self, step: int, episode: int, name: str, old: Any, new: Any) -> None:
        self.changes.append({"step": step, "episode": episode, "field": name,
                             "old": list(old) if isinstance(old, tuple) else old,
                             "new": list(new) if isinstance(new, tuple) else new})

    def mean100(self, column: str = "duration") -> float:
        values = self.episodes[column][-100:]
        return float(np.mean(values)) if values else float("nan")

    # ---- persistence -------------------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for prefix, table in (("episodes", self.episodes), ("stats", self.stats), ("evals", self.evals)):
            for c, values in table.items():
                dtype = np.int64 if c in ("step", "duration", "episode") else np.float64
                out[f"{prefix}.{c}"] = np.asarray(values, dtype=dtype)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], changes: list[dict[str, Any]]) -> Metrics:
        m = cls()
        for prefix, table in (("episodes", m.episodes), ("stats", m.stats), ("evals", m.evals)):
            lengths = set()
            for c in table:
                arr = arrays.get(f"{prefix}.{c}")
                if arr is None or arr.ndim != 1 or arr.dtype.kind not in "if":
                    raise ValueError(f"metrics column {prefix}.{c} is missing or malformed")
                table[c] = arr.tolist()
                lengths.add(len(arr))
            if len(lengths) > 1:
                raise ValueError(f"metrics columns of {prefix} have different lengths {sorted(lengths)}")
        if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
            raise ValueError("metrics change log is malformed")
        m.changes = list(changes)
        return m

    def write_csv(self, path: str) -> list[str]:
        """The run's tables as CSV files, each written atomically: episodes (with the 100-episode means, as the plots
        show them) at `path`, and beside it `<stem>-evaluations.csv`, `<stem>-training.csv` (loss, mean max-Q, ε and
        gradient norm every 10 steps) and `<stem>-changes.csv` (live setting changes). Returns the paths written."""
        base = Path(path)
        stem = base.with_suffix("") if base.suffix.lower() == ".csv" else base
        written = [str(path)]
        self._write_episodes(path)
        for suffix, header, rows in (
                ("evaluations", ["step", "episode", "mean_return", "std_return"],
                 zip(*(self.evals[c] for c in EVAL_COLUMNS))),
                ("training", ["step", "loss", "mean_max_q", "epsilon", "grad_norm"],
                 zip(*(self.stats[c] for c in STATS_COLUMNS))),
                ("changes", ["step", "episode", "setting", "old", "new"],
                 ((c["step"], c["episode"], c["field"], c["old"], c["new"]) for c in self.changes))):
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(header)
            writer.writerows(rows)
            target = f"{stem}-{suffix}.csv"
            atomic_write_bytes(target, buf.getvalue().encode("utf-8"))
            written.append(target)
        return written

    def _write_episodes(self, path: str) -> None:
        durations = np.asarray(self.episodes["duration"], dtype=float)
        returns = np.asarray(self.episodes["total_return"], dtype=float)
        mean_d, mean_r = running_mean(durations), running_mean(returns)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["episode", "step", "duration", "return", "mean100_duration", "mean100_return", "wall_seconds"])
        for i in range(len(durations)):
            writer.writerow([i + 1, self.episodes["step"][i], int(durations[i]), returns[i], round(mean_d[i], 4),
                             round(mean_r[i], 4), round(self.episodes["wall_seconds"][i], 3)])
        atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
