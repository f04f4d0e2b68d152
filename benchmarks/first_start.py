"""The first start as a newcomer meets it: a fresh window (no settings), its first-start preset, Start pressed once.
Reports when the 100-episode mean duration first passes 50, 100 and 200 steps, and when the run is solved, in
seconds after the press (the window drawing every step at up to 30 fps, as it opens).

    python -m benchmarks.first_start [--rounds 3] [--timeout 180]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from benchmarks.common import table, write_results

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def one_round(timeout: float) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    folder = tempfile.mkdtemp()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(folder, "settings"))
    os.environ["DQN_STUDIO_HOME"] = os.path.join(folder, "home")
    app = QApplication.instance() or QApplication(sys.argv)
    from app.main_window import MainWindow

    window = MainWindow()
    window.show()
    preset = window.run.preset_name
    window.actions_by_name["start"].trigger()
    started = time.perf_counter()
    marks: dict[str, float | None] = {"mean100 > 50": None, "mean100 > 100": None, "mean100 > 200": None,
                                      "solved": None}
    while time.perf_counter() - started < timeout:
        app.processEvents()
        now = time.perf_counter() - started
        durations = window.run.metrics.episodes["duration"][-100:]
        mean = sum(durations) / len(durations) if durations else 0.0
        for bar in (50, 100, 200):
            if marks[f"mean100 > {bar}"] is None and mean > bar:
                marks[f"mean100 > {bar}"] = now
        if marks["solved"] is None and window.run.solved_step is not None:
            marks["solved"] = now
        if window.training.session is None and window.run.trainer is not None:
            break
        time.sleep(0.01)
    steps = window.run.trainer.step if window.run.trainer else 0
    window.training.stop()
    while window.training.session is not None:
        app.processEvents()
    window.run.dirty = False
    window.close()
    return {"preset": preset, "steps": steps, **marks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    rounds = [one_round(args.timeout) for _ in range(args.rounds)]
    keys = ["mean100 > 50", "mean100 > 100", "mean100 > 200", "solved"]
    rows = [[i + 1, r["preset"], *("—" if r[k] is None else f"{r[k]:.1f}" for k in keys), r["steps"]]
            for i, r in enumerate(rounds)]
    print(table(rows, ["round", "preset", *[f"{k} (s)" for k in keys], "steps"]))
    print(f"results: {write_results('first-start', {'rounds': rounds})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
