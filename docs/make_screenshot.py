"""Make the README screenshot from a real run: train headless for a while, open the agent in the window, keep
training with the display on, and grab the window mid-training.

    python docs/make_screenshot.py [--preset pixels] [--headless-steps 40000] [--seconds 20] [--out docs/screenshot.png]
    python docs/make_screenshot.py --agent AGENT.dqn [--seconds 20]     # an agent trained earlier, e.g. by
                                                                        # benchmarks.learning --save-dir
    python docs/make_screenshot.py --first-start [--seconds 12] [--out docs/first-start.png]
                                # what a newcomer sees: a fresh window, its first preset, Start pressed once
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="pixels")
    parser.add_argument("--headless-steps", type=int, default=40_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "screenshot.png"))
    parser.add_argument("--agent", help="open this agent file instead of training one headless first")
    parser.add_argument("--first-start", action="store_true", help="a fresh window's first run, as a newcomer sees it")
    args = parser.parse_args()
    if args.first_start:
        return first_start(args.seconds, args.out if "--out" in sys.argv else
                           str(Path(__file__).resolve().parent / "first-start.png"))

    from dqn_core.presets import load_preset
    from dqn_core.training.control import Control
    from dqn_core.training.saving import save_agent
    from dqn_core.training.trainer import Trainer

    folder = Path(tempfile.mkdtemp())
    if args.agent:
        agent_path = Path(args.agent)
    else:
        agent_path = folder / f"{args.preset}.dqn"
        trainer = Trainer(load_preset(args.preset).replace(device="cpu"))
        started = time.perf_counter()
        for _ in trainer.run(Control(), max_steps=args.headless_steps):
            pass
        save_agent(trainer, agent_path, include_replay=True)
        print(f"trained {trainer.step} steps headless in {time.perf_counter() - started:.0f} s; "
              f"100-episode mean {trainer.metrics.mean100():.1f}")

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
    app = QApplication(sys.argv)
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 900)
    window.show()
    window.files.open_agent(str(agent_path))
    if window.run.config.stop_when_solved:                 # an agent saved at its passing evaluation: keep training
        window.panel.controls["stop_when_solved"].setChecked(False)
    window.panel.controls["lr"].spin.setValue(window.run.config.lr * 0.5)   # a live change, to show its marker
    window.training.start()
    deadline = time.perf_counter() + args.seconds

    def grab() -> None:
        if time.perf_counter() < deadline:
            return
        window.plots.redraw()
        window.grab().save(args.out)
        print(f"saved {args.out} at step {window.run.trainer.step}")
        window.run.dirty = False
        window.close()
        app.quit()

    timer = QTimer()
    timer.timeout.connect(grab)
    timer.start(200)
    app.exec()
    return 0


def first_start(seconds: float, out: str) -> int:
    """No settings, no runs: the welcome, the first-start preset, Start pressed, a grab `seconds` later."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    folder = Path(tempfile.mkdtemp())
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
    os.environ["DQN_STUDIO_HOME"] = str(folder / "home")
    app = QApplication(sys.argv)
    from app.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 940)
    window.show()
    window.actions_by_name["start"].trigger()
    deadline = time.perf_counter() + seconds

    def grab() -> None:
        if time.perf_counter() < deadline and window.training.session is not None:
            return
        window.plots.redraw()
        window.runs_panel.refresh()
        window.plots.set_milestones(window.run.solved_step, window.run.best_mark)   # labels placed for the final range
        app.processEvents()
        window.grab().save(out)
        print(f"saved {out} at step {window.run.trainer.step if window.run.trainer else 0}")
        window.training.stop()
        window.run.dirty = False
        window.close()
        app.quit()

    timer = QTimer()
    timer.timeout.connect(grab)
    timer.start(200)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
