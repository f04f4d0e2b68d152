"""The Runs panel with many runs: real run folders (one recorded by dqn-train, copied with new ids), then the window
opened on them in a fresh process, offscreen.

    python -m benchmarks.runs_scale [--runs 1000 10000] [--compare 20] [--rows 100000]

For each count: seconds from the window's creation until its table shows every run, the window's resident memory
above the same window on an empty runs folder, and how long the GUI thread was blocked while the table loads, from
the moment the window is up (the GUI event latency a user feels: how long an input arriving at a random moment of
the load waits, from a 10 ms probe timer's gaps). Then `--compare` runs of `--rows` metric rows each are
checked and drawn: seconds until drawn. Targets (issue 23): table ≤ 2 s, memory ≤ 200 MiB, latency p99 < 50 ms,
drawing ≤ 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import table, write_results

CHILD = r"""
import json, sys, time
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

runs_dir, compare = sys.argv[1], int(sys.argv[2])
app = QApplication(sys.argv)
from app.main_window import MainWindow

ticks, clock = [], QElapsedTimer()
clock.start()
def tick():
    ticks.append(clock.elapsed())
probe = QTimer()
probe.timeout.connect(tick)
probe.start(10)
started = time.perf_counter()
window = MainWindow()
window.show()
app.processEvents()
# Counted before the measurement: 10,000 stat calls here block this (the GUI) thread, not the app's.
want = sum(1 for p in __import__("pathlib").Path(runs_dir).iterdir() if (p / "run.json").exists())
load_start = clock.elapsed()              # the window is up: from here a user's input waits on the load
window.runs_panel.set_runs_dir(runs_dir)
while window.runs_panel.model.rowCount() < want:
    app.processEvents()
table_seconds = time.perf_counter() - started
load_end = clock.elapsed()
for _ in range(20):
    app.processEvents()
    time.sleep(0.01)
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
draw_seconds = None
if compare:
    ids = sorted(window.runs_panel.runs)[:compare]
    started = time.perf_counter()
    panel = window.runs_panel
    panel.set_checked(ids)
    while not all(panel.runs[i].metrics_loaded for i in ids) or panel.loader.busy:
        app.processEvents()
    window.plots.redraw()
    app.processEvents()
    draw_seconds = time.perf_counter() - started
# An input event arriving at a random moment while the table loads waits until the GUI thread is free again:
# within a gap of g ms between the probe's ticks it waits up to g. The p99 is the wait exceeded 1 % of that time.
edges = [load_start] + [t for t in ticks if load_start < t < load_end] + [load_end]
gaps = [b - a for a, b in zip(edges, edges[1:]) if b > a]
total = sum(gaps) or 1
p99 = next((w for w in range(0, int(max(gaps, default=0)) + 2)
            if sum(max(0, g - w) for g in gaps) / total <= 0.01), 0)
window.run.dirty = False
print(json.dumps({"table_seconds": table_seconds, "rss_mib": rss, "latency_p99_ms": p99,
                  "latency_max_ms": max(gaps, default=0), "draw_seconds": draw_seconds}), flush=True)
# Measured: leave at once. Tearing down the interpreter with the window's plots still alive crashed now and then
# (SIGSEGV after this point, in Qt's teardown, with no Python frame); the app itself quits through its event loop.
import os
os._exit(0)
"""


def record_template(folder: Path) -> Path:
    """One real run recorded by dqn-train (zoo-state, 30k steps: ~600 metric rows)."""
    runs = folder / "template"
    subprocess.run([sys.executable, "-m", "dqn_core.cli.main", "--preset", "zoo-state", "--steps", "30000", "--quiet",
                    "--runs-dir", str(runs), "--set", "stop_when_solved=false"], check=True, capture_output=True)
    return next(p for p in runs.iterdir() if (p / "run.json").exists())


def series_files(metrics: bytes, scratch: Path) -> dict[str, bytes]:
    """The binary series a recorder writes beside these metrics lines (read from the lines themselves)."""
    from dqn_core.experiments.runs import read_run
    from dqn_core.experiments.series import SERIES, encode

    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "run.json").write_text(json.dumps({"format": "dqn-studio-run", "version": 1}))
    (scratch / "metrics.jsonl").write_bytes(metrics)
    run = read_run(scratch)
    out = {}
    for kind, series in (("episode", run.episodes), ("stats", run.stats), ("eval", run.evals)):
        name, columns = SERIES[kind]
        out[name] = encode(kind, np.column_stack([series[c] for c in columns]))
    shutil.rmtree(scratch)
    return out


def copies(template: Path, target: Path, count: int, rows: int = 0) -> None:
    """`count` copies of the template run with new ids (and with `rows`, a metrics file of that many rows), with
    the binary series a recorder writes beside them."""
    target.mkdir(parents=True, exist_ok=True)
    info = json.loads((template / "run.json").read_text())
    metrics = (template / "metrics.jsonl").read_bytes()
    if rows:
        lines = metrics.splitlines(keepends=True)
        metrics = b"".join(lines[i % len(lines)] for i in range(rows))
    series = series_files(metrics, target.parent / "series-scratch")
    for i in range(count):
        folder = target / f"{template.name}-{i:05d}"
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps(dict(info, id=folder.name, name=f"copy {i}", status="finished")))
        (folder / "metrics.jsonl").write_bytes(metrics)
        for name, data in series.items():
            (folder / name).write_bytes(data)


def measure(runs_dir: Path, compare: int) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(runs_dir.parent / "config"),
               DQN_STUDIO_HOME=str(runs_dir.parent / "home"))
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", CHILD, str(runs_dir), str(compare)], capture_output=True, text=True,
                          env=env, cwd=root, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"the window process for {runs_dir} failed (exit {proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--compare", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="dqn-runs-scale-") as scratch:
        scratch = Path(scratch)
        template = record_template(scratch)
        empty = scratch / "empty" / "runs"
        empty.mkdir(parents=True)
        base = measure(empty, 0)
        for count in args.runs:
            runs = scratch / f"n{count}" / "runs"
            copies(template, runs, count)
            shown = measure(runs, 0)
            shutil.rmtree(runs.parent)
            results[count] = dict(shown, rss_above_empty_mib=shown["rss_mib"] - base["rss_mib"])
            rows.append([count, f"{shown['table_seconds']:.2f}", f"{shown['rss_mib'] - base['rss_mib']:.0f}",
                         f"{shown['latency_p99_ms']:.0f}", f"{shown['latency_max_ms']:.0f}"])
        big = scratch / "compare" / "runs"
        copies(template, big, args.compare, args.rows)
        drawn = measure(big, args.compare)
        results["compare"] = dict(drawn, runs=args.compare, rows=args.rows)
    print(table(rows, ["runs", "table shown (s)", "memory above empty (MiB)", "latency p99 (ms)", "worst (ms)"]))
    print(f"checking {args.compare} runs of {args.rows:,} metric rows: drawn in {drawn['draw_seconds']:.2f} s")
    print(f"results: {write_results('runs_scale', {'empty_rss_mib': base['rss_mib'], 'results': results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
