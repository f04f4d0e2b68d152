"""Comparing runs: groups of runs that differ only in their seed, curves resampled on a common grid, mean and band
(standard deviation, standard error or min–max), TensorBoard's debiased smoothing, and a table of groups.

Pure numpy: the window draws what these functions return, and the tests check them against hand-computed values.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from dqn_core.experiments.runs import Run
from dqn_core.training.metrics import headline, running_mean

BANDS = ("std", "stderr", "min-max")


def ema(values: Sequence[float], weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.

    s_t = w·s_{t−1} + (1−w)·y_t, shown as s_t / (1 − w^n) after n finite values; non-finite values pass through and
    do not count. weight 0 returns the values unchanged."""
    y = np.asarray(values, dtype=float)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight {weight} must be in [0, 1)")
    if weight == 0.0 or len(y) == 0:
        return y.copy()
    out = np.empty_like(y)
    last, n = 0.0, 0
    for i, v in enumerate(y):
        if not math.isfinite(v):
            out[i] = v
            continue
        last = last * weight + (1.0 - weight) * v
        n += 1
        out[i] = last / (1.0 - weight ** n)
    return out


DRAWN_POINTS = 2000      # a compared curve is drawn from this many points at most (a plot is ~1,000 pixels wide)


def thin(x: np.ndarray, y: np.ndarray, points: int = DRAWN_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `points` points of a long series: consecutive points averaged in equal bins (non-finite values left
    out; a bin with none is NaN). Smoothing is applied after thinning, as TensorBoard smooths its sampled points:
    hundreds of thousands of points per curve cost seconds to smooth and draw and show nothing more."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n <= points:
        return x, y
    starts = np.arange(0, n, -(-n // points))
    counts = np.diff(np.append(starts, n))
    finite = np.isfinite(y)
    sums = np.add.reduceat(np.where(finite, y, 0.0), starts)
    kept = np.add.reduceat(finite.astype(np.int64), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(kept > 0, sums / np.maximum(kept, 1), np.nan)
    return np.add.reduceat(x, starts) / counts, means


def resample(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y(x) linearly interpolated at the grid points inside [x₀, x_last]; NaN outside (a run says nothing about steps
    it never reached)."""
    x, y, grid = np.asarray(x, float), np.asarray(y, float), np.asarray(grid, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = np.full(len(grid), np.nan)
    if len(x) == 0:
        return out
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    inside = (grid >= x[0]) & (grid <= x[-1])
    out[inside] = np.interp(grid[inside], x, y)
    return out


def common_grid(xs: Iterable[np.ndarray], points: int = 200) -> np.ndarray:
    """`points` evenly spaced x values from 0 to the furthest x any run reached."""
    ends = [float(np.nanmax(x)) for x in xs if len(x) and np.isfinite(np.nanmax(x))]
    if not ends:
        return np.zeros(0)
    return np.linspace(0.0, max(ends), points)


@dataclass
class Band:
    """Mean curve and band of a group on a grid; `count[i]` runs contributed to point i."""

    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray


def band(curves: np.ndarray, kind: str = "std") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, low, high and count over the rows of `curves` (runs × grid), ignoring NaN (runs that had ended).
    std: mean ± population standard deviation; stderr: mean ± std/√n (sample std); min-max: the extremes."""
    if kind not in BANDS:
        raise ValueError(f"band {kind!r} must be one of {', '.join(BANDS)}")
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    count = np.sum(np.isfinite(curves), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        filled = np.where(np.isfinite(curves), curves, 0.0)
        mean = np.where(count > 0, filled.sum(axis=0) / np.maximum(count, 1), np.nan)
        dev = np.where(np.isfinite(curves), (curves - mean) ** 2, 0.0).sum(axis=0)
        if kind == "std":
            spread = np.sqrt(dev / np.maximum(count, 1))
            low, high = mean - spread, mean + spread
        elif kind == "stderr":
            sample_std = np.sqrt(dev / np.maximum(count - 1, 1))
            spread = np.where(count > 1, sample_std / np.sqrt(np.maximum(count, 1)), 0.0)
            low, high = mean - spread, mean + spread
        else:
            low = np.where(count > 0, np.nanmin(np.where(np.isfinite(curves), curves, np.inf), axis=0), np.nan)
            high = np.where(count > 0, np.nanmax(np.where(np.isfinite(curves), curves, -np.inf), axis=0), np.nan)
    # A band says how runs spread: where fewer than two runs have data there is none to show (the mean is one run).
    low, high = np.where(count >= 2, low, np.nan), np.where(count >= 2, high, np.nan)
    return mean, low, high, count


# ---- series of a run ---------------------------------------------------------------------------------------------
SERIES = ("duration", "eval", "loss", "q", "epsilon")
X_UNITS = ("step", "episode", "wall")


def series(run: Run, key: str, x_unit: str = "step") -> tuple[np.ndarray, np.ndarray]:
    """One curve of a run: `key` is duration (the 100-episode mean of the episode's length, or of its return where
    steps do not all pay 1: the window's headline), eval, loss, q or epsilon; x in env steps (agent steps),
    episodes or training seconds."""
    e = run.episodes
    if key == "duration":
        durations, returns = e.get("duration", np.zeros(0)), e.get("return", np.zeros(0))
        y = running_mean(durations if headline(durations, returns) == "duration" else returns)
        return _x_for(run, e.get("step", np.zeros(0)), x_unit, e.get("wall")), y
    if key == "eval":
        v = run.evals
        return _x_for(run, v.get("step", np.zeros(0)), x_unit, v.get("wall"), v.get("episode")), v.get("mean", np.zeros(0))
    column = {"loss": "loss", "q": "q", "epsilon": "epsilon"}[key]
    s = run.stats
    return _x_for(run, s.get("step", np.zeros(0)), x_unit), s.get(column, np.zeros(0))


def _x_for(run: Run, steps: np.ndarray, unit: str, wall: np.ndarray | None = None,
           episodes: np.ndarray | None = None) -> np.ndarray:
    steps = np.asarray(steps, dtype=float)
    if unit == "step":
        return steps
    ends = run.episodes.get("step", np.zeros(0))
    if unit == "episode":
        if episodes is not None and len(episodes) == len(steps) and np.isfinite(episodes).all():
            return np.asarray(episodes, dtype=float)
        return np.searchsorted(ends, steps, side="left").astype(float) + 1.0
    # wall time: the recorded one where there is one, else interpolated from the episodes' times
    if wall is not None and len(wall) == len(steps) and np.isfinite(wall).all():
        return np.asarray(wall, dtype=float)
    walls = run.episodes.get("wall", np.zeros(0))
    ok = np.isfinite(walls)
    if ok.sum() < 2:
        return np.full(len(steps), np.nan)
    return np.interp(steps, ends[ok], walls[ok])


# ---- groups ------------------------------------------------------------------------------------------------------
@dataclass
class Group:
    """Runs whose settings are equal except the seed (and device/threads)."""

    key: str
    params: dict[str, Any]                 # the settings that set this group apart from the others listed
    runs: list[Run] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return [int(r.info.get("seed", -1)) for r in self.runs]

    def count_text(self) -> str:
        """'3 runs, 2 seeds': how many runs its mean averages, and how many distinct seeds they have."""
        runs, seeds = len(self.runs), len(set(self.seeds))
        return f"{runs} run{'s' if runs != 1 else ''}, {seeds} seed{'s' if seeds != 1 else ''}"

    def label(self) -> str:
        """The settings in which it differs from the other groups; with none, its preset (or its first run's name)."""
        if not self.params:
            return str(self.runs[0].info.get("preset") or self.runs[0].name)
        return ", ".join(f"{k}={short_value(v)}" for k, v in self.params.items())


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group readable runs by their behaviour; each group's params are the settings that differ across groups."""
    groups: dict[str, Group] = {}
    for run in runs:
        if run.error:
            continue
        key = json.dumps(run.behaviour(), sort_keys=True, default=str)
        groups.setdefault(key, Group(key, {})).runs.append(run)
    behaviours = [json.loads(k) for k in groups]
    differ = sorted({name for b in behaviours for name in b if len({json.dumps(x.get(name)) for x in behaviours}) > 1})
    for group, behaviour in zip(groups.values(), behaviours):
        group.params = {name: behaviour.get(name) for name in differ}
    return list(groups.values())


def group_band(group: Group, key: str, x_unit: str = "step", kind: str = "std", smoothing: float = 0.0,
               grid: np.ndarray | None = None, points: int = 200) -> Band:
    """The group's mean and band for one series, each run smoothed first, then resampled on a common grid."""
    curves = [thin(*series(run, key, x_unit)) for run in group.runs]
    if grid is None:
        grid = common_grid([x for x, _ in curves], points)
    rows = np.array([resample(x, ema(y, smoothing), grid) for x, y in curves]) if curves else np.zeros((0, len(grid)))
    if rows.size == 0:
        empty = np.zeros(0)
        return Band(grid, empty, empty, empty, empty)
    mean, low, high, count = band(rows, kind)
    return Band(grid, mean, low, high, count)


def group_table(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Per group: settings, seeds, final and best evaluation (mean ± std over runs), runs solved, steps to solved."""
    rows = []
    for g in groups:
        finals = [r.final_eval() for r in g.runs if r.final_eval() is not None]
        bests = [r.best_eval() for r in g.runs if r.best_eval() is not None]
        solved = [r.solved_at() for r in g.runs if r.solved_at() is not None]
        rows.append({
            "params": g.params, "label": g.label(), "runs": len(g.runs), "seeds": g.seeds,
            "final_eval_mean": _mean(finals), "final_eval_std": _std(finals),
            "best_eval_mean": _mean(bests), "best_eval_std": _std(bests),
            "solved": len(solved), "steps_to_solved_mean": _mean(solved),
        })
    return rows


def group_table_csv(groups: Sequence[Group]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["group", "runs", "seeds", "final_eval_mean", "final_eval_std", "best_eval_mean",
                     "best_eval_std", "solved", "steps_to_solved_mean"])
    for row in group_table(groups):
        writer.writerow([row["label"], row["runs"], " ".join(str(s) for s in row["seeds"]),
                         _fmt(row["final_eval_mean"]), _fmt(row["final_eval_std"]), _fmt(row["best_eval_mean"]),
                         _fmt(row["best_eval_std"]), row["solved"], _fmt(row["steps_to_solved_mean"])])
    return buf.getvalue()


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _std(values: list[float]) -> float | None:
    return float(np.std(values)) if values else None


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def short_value(value: Any, brackets: bool = True) -> str:
    """A setting's value, short: floats to 4 significant digits, lists comma-separated (in brackets, unless a
    table column says already that it is a list)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        items = ",".join(str(v) for v in value)
        return f"[{items}]" if brackets else items
    return str(value)
