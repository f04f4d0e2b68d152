"""What the plots draw for compared runs: one curve per run, named by what differs between them, or with Group by
config one mean line and band per config — each in a colour no curve of the current run has."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable

from dqn_core.experiments.compare import ema, group_band, group_runs, series, short_value, thin
from dqn_core.experiments.runs import Run, settings_that_differ

from .plots import Overlay

PLOT_SERIES = ("duration", "eval", "loss", "q", "epsilon")
MAX_NAMED = 3            # settings a legend entry names; more, and the run's own name says it better


def run_label(run: Run, differing: list[str], seeds_differ: bool = False) -> str:
    """A compared run's legend entry: the settings in which the compared runs differ, and its seed; where they differ
    in nothing but the seed, the seed alone; where in nothing at all, its name."""
    config = run.info.get("config") or {}
    parts = [f"{name}={short_value(config.get(name))}" for name in differing]
    if parts or seeds_differ:
        return ", ".join(parts + [f"seed {run.info.get('seed')}"])
    return run.name


def compared_overlays(runs: list[Run], grouped: bool, band_kind: str, smoothing: float, x_unit: str,
                      colour_of: Callable[[str], str], reference: dict | None = None) -> list[Overlay]:
    """Curves (or groups' mean lines and bands) of `runs`, whose series are read, over `x_unit`. Each run is named
    by the settings in which the compared runs differ (by its run name where they differ in more than a few);
    where they differ in none, by those (a few at most) in which they differ from `reference`, the current run's
    config."""
    if grouped:
        out = []
        for group in group_runs(runs):
            curves, bands = {}, {}
            for key in PLOT_SERIES:
                b = group_band(group, key, x_unit, band_kind, smoothing)
                if len(b.x):
                    curves[key] = (b.x, b.mean)
                    bands[key] = (b.x, b.low, b.high)
            out.append(Overlay(f"{group.label()} ({group.count_text()})", colour_of(group.key), curves, bands))
        return out
    differing = [n for n in settings_that_differ(runs) if n != "seed"]
    by_name = len(differing) > MAX_NAMED     # runs of different experiments (another env, another preset)
    seeds = {r.info.get("seed") for r in runs}
    if not differing and reference:          # one run, or runs alike: what sets them apart from the current run
        from_current = [n for n in settings_that_differ([*runs, Run(Path("."), {"config": reference})])
                        if n != "seed"]
        if len(from_current) <= MAX_NAMED:   # more, and it is another experiment: its run name
            differing = from_current
            seeds.add(reference.get("seed"))  # named against the current run, whose seed counts too
    seeds_differ = len(seeds) > 1
    labels = distinct_labels([run.name if by_name else run_label(run, differing, seeds_differ) for run in runs], runs)
    out = []
    for run, label in zip(runs, labels):
        curves = {}
        for key in PLOT_SERIES:
            x, y = thin(*series(run, key, x_unit))
            curves[key] = (x, ema(y, smoothing))
        out.append(Overlay(label, colour_of(run.id), curves))
    return out


def distinct_labels(labels: list[str], runs: list[Run]) -> list[str]:
    """Labels that name two runs alike (the same settings and seed, trained twice) get the time each run started,
    as the table's date column has it (with the day where they started on different days), and where that is the
    same too, the run's name: a legend with two entries of one name leaves the user guessing which curve is which."""
    alike: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        alike[label].append(i)
    out = list(labels)
    for label, indices in alike.items():
        if len(indices) < 2:
            continue
        starts = [runs[i].created() for i in indices]
        with_day = len({s.date() for s in starts if s}) > 1
        times = [s.strftime("%m-%d %H:%M" if with_day else "%H:%M") if s else "" for s in starts]
        for i, time in zip(indices, times):
            out[i] = f"{label} ({time})" if time and times.count(time) == 1 else f"{label} ({runs[i].name})"
    return out


def curve_colours(runs: list[Run], grouped: bool, colour_of: Callable[[str], str]) -> dict[str, str]:
    """Each compared run's colour in the table: its own curve's, or its group's."""
    if not grouped:
        return {r.id: colour_of(r.id) for r in runs}
    return {r.id: colour_of(group.key) for group in group_runs(runs) for r in group.runs}
