"""Training speed with the window open and rendering vs headless, and the GUI's event-loop latency meanwhile.

    python -m benchmarks.gui [--preset pixels] [--steps 6000]

Both runs use the same config and the window's thread setting (torch threads = cores − 1). Latency is measured by a
10 ms QTimer in the GUI thread: how late each tick fires while training runs at full speed with frames drawn at up
to 30 fps and the plots redrawn once a second (their rate while training, `app/plots.py`).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from benchmarks.common import table, write_results

# The window's settings and recorded runs go here, not among the user's; removed when the benchmark ends.
SCRATCH = tempfile.mkdtemp(prefix="dqn-bench-gui-")
os.environ["DQN_STUDIO_HOME"] = SCRATCH


def headless(config, steps: int, display_every: int = 0) -> float:
    """Training without a window; with display_every, the trainer also makes its ≤ 30 fps frames (screen, network
    input, Q-values) and nobody draws them: the training thread's own share of the cost of watching."""
    from app.worker import worker_threads
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    trainer = Trainer(config, auto_threads=worker_threads())
    for _ in trainer.run(Control(display_every=0), max_steps=500):      # warm-up: lazy imports, first updates
        pass
    start, first = time.perf_counter(), trainer.step
    for _ in trainer.run(Control(display_every=display_every), max_steps=steps):
        pass
    return (trainer.step - first) / (time.perf_counter() - start)


def windowed(config, steps: int, display_every: int) -> tuple[float, list[float], int]:
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, SCRATCH)   # not the user's settings
    app = QApplication.instance() or QApplication(sys.argv)
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(1400, 860)
    window.show()
    window.env_view.set_display_every(display_every)
    window.configs.set_config(config, "benchmark")
    window.panel.set_config(config)
    window.training.start()
    lateness: list[float] = []
    clock = QElapsedTimer()
    marks: dict[str, float] = {}
    timer = QTimer()
    timer.setInterval(10)

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        trainer = window.run.trainer
        step = trainer.step if trainer is not None else 0
        if "t0" not in marks and step >= 500:
            marks.update(t0=time.perf_counter(), s0=step, last=now)
            return
        if "t0" in marks:
            lateness.append(max(0.0, now - marks["last"] - 10.0))
            marks["last"] = now
            if step - marks["s0"] >= steps:
                marks.update(t1=time.perf_counter(), s1=step)
                window.run.dirty = False
                window.close()
                app.quit()

    clock.start()
    timer.timeout.connect(tick)
    timer.start()
    app.exec()
    rate = (marks["s1"] - marks["s0"]) / (marks["t1"] - marks["t0"])
    return rate, lateness, window.env_view.frames_shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="pixels")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median ratio is reported")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, as dqn-train's --set (e.g. replay_capacity=100000 for Atari)")
    args = parser.parse_args(argv)
    from dqn_core.cli.parser import parse_sets
    from dqn_core.config import parse_values
    from dqn_core.presets import load_preset

    config = load_preset(args.preset).replace(**{"device": "cpu", "eval_every": 0, "learning_starts": 500,
                                                 **parse_values(parse_sets(args.set))})    # --set wins
    modes = (("window, every step ≤30 fps", 1), ("window, fast mode (no frames)", 0))
    frames_only = "headless, frames made but not drawn"
    samples: dict[str, list] = {"headless": [], frames_only: []} | {label: [] for label, _ in modes}
    try:
        for _ in range(args.rounds):     # interleaved, so drifts of this noisy machine hit every mode alike
            base = headless(config, args.steps)
            samples["headless"].append((base, 1.0, [], 0))
            rate = headless(config, args.steps, display_every=1)
            samples[frames_only].append((rate, rate / base, [], 0))
            for label, every in modes:
                rate, late, frames = windowed(config, args.steps, every)
                samples[label].append((rate, rate / base, late, frames))
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    rows, results = [], {}
    for label, runs in samples.items():
        ratios = sorted(r[1] for r in runs)
        median = float(np.median(ratios))
        late = [x for r in runs for x in r[2]]
        p50, p99 = ((float(np.percentile(late, q)) for q in (50, 99)) if late else (float("nan"),) * 2)
        rate = float(np.median([r[0] for r in runs]))
        rows.append([label, rate, median, "/".join(f"{r:.2f}" for r in ratios), p50, p99, runs[-1][3]])
        results[label] = {"steps_per_second_median": rate, "ratio_median": median, "ratios": ratios,
                          "latency_p50_ms": p50, "latency_p99_ms": p99}
    print(f"preset {args.preset}, {args.steps} steps per run, {args.rounds} interleaved rounds")
    print(table(rows, ["run", "steps/s (median)", "× headless (median)", "all ratios", "latency p50 ms",
                       "latency p99 ms", "frames drawn (last)"]))
    print(f"results: {write_results(f'gui-{args.preset}', {'preset': args.preset, 'steps': args.steps, **results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
