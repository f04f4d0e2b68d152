"""Make the README's Experiments screenshot from real runs: two learning rates of `zoo-state` on three seeds each,
recorded by dqn-train, compared in the window's Runs panel grouped by config (mean line and a ± std band).

    python docs/make_runs_screenshot.py [--steps 30000] [--runs-dir DIR] [--out docs/runs.png]

With --runs-dir pointing at runs made earlier (e.g. by `dqn-sweep` or the sweep benchmark), no training is done.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--runs-dir", help="compare the runs in this folder instead of training new ones")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "runs.png"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    runs = Path(args.runs_dir) if args.runs_dir else folder / "runs"
    if not args.runs_dir:
        from dqn_core.cli.main import train_main

        for lr in ("0.0023", "0.0005"):
            for seed in ("0", "1", "2"):
                train_main(["--preset", "zoo-state", "--steps", str(args.steps), "--seed", seed, "--set", f"lr={lr}",
                            "--set", "torch_threads=1", "--runs-dir", str(runs), "--quiet",
                            "--name", f"zoo-state lr {lr} seed {seed}"])

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
    app = QApplication(sys.argv)
    from app.main_window import MainWindow

    QSettings().setValue("welcomed", "true")           # the comparison, not the welcome
    window = MainWindow()
    window.resize(1500, 1000)
    window.show()
    window.configs.choose_preset("zoo-state")
    window.runs_panel.set_runs_dir(runs)
    window.docks["Hyperparameters"].hide()
    window.docks["Environment"].hide()
    window.resizeDocks([window.docks["Runs"]], [300], Qt.Orientation.Vertical)
    panel = window.runs_panel
    while panel.reads == 0 or panel.loader.busy:        # the runs folder is read in the panel's loader thread
        app.processEvents()
    panel.group_box.setChecked(True)
    panel.set_checked(list(panel.runs))
    while panel.loader.busy or not all(r.metrics_loaded for r in panel.runs.values() if not r.error):
        app.processEvents()
    window.plots.set_x_unit("step")
    panel.smooth.setValue(30)
    for _ in range(5):
        app.processEvents()
    window.grab().save(args.out)
    print(f"saved {args.out}: {len(panel.runs)} runs from {runs}")
    window.run.dirty = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
