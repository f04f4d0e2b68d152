"""Learning curves on several seeds: greedy evaluation every K steps, steps and time to the threshold, final score.

    python -m benchmarks.learning --preset zoo-state --seeds 0 1 2 3 4 --steps 50000 [--eval-every 5000]
        [--eval-episodes 20] [--stop-when-solved] [--set key=value ...] [--tag NAME] [--save-dir DIR]

Budgets and evaluation periods count decisions (agent steps); with action_repeat > 1 the env steps, which the
tables and curves report, are that many times more.
"Solved" is issue #5's definition: the agent as saved at the end of the run (stopping early at the first passing
evaluation is allowed with --stop-when-solved), played greedily for 100 episodes, scores a mean ≥ the threshold.
Writes benchmarks/results/<tag>.{json,csv,png} (default tag: learning-<preset>); with --save-dir, also each final
agent, so `dqn-eval` can check the score.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

from benchmarks.common import RESULTS, table, write_results


def run_seed(config, steps: int, eval_every: int, eval_episodes: int, stop_when_solved: bool,
             save_to: str | None = None) -> dict:
    from dqn_core.training import events as ev
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    trainer = Trainer(config.replace(eval_every=eval_every, eval_unit="steps", eval_episodes=eval_episodes,
                                     stop_when_solved=stop_when_solved))
    curve = []
    solved_env_steps = None
    started = time.perf_counter()
    for event in trainer.run(Control(), max_steps=steps):
        if isinstance(event, ev.EvalResult):
            curve.append((trainer.env_steps, trainer.wall_seconds, event.mean_return))
            if event.solved and solved_env_steps is None:
                solved_env_steps = trainer.env_steps
            confirmed = "" if event.confirm_mean is None else f", {len(event.returns)} + more: {event.confirm_mean:.1f}"
            print(f"  seed {config.seed}: step {event.step:,} ({trainer.env_steps:,} env steps), "
                  f"{trainer.wall_seconds:,.0f} s, evaluation {event.mean_return:.1f}{confirmed}", flush=True)
        elif isinstance(event, ev.Failed):
            raise RuntimeError(event.message)
    wall = time.perf_counter() - started
    if save_to:
        from dqn_core.training.saving import save_agent

        save_agent(trainer, save_to)
    final = trainer.greedy_returns([config.seed + 9_000_000 + i for i in range(100)])
    # Judged by the environment's own threshold (CartPole-v1: 475), whatever stricter bar the preset stops at.
    env_threshold = trainer.env.reward_threshold()
    threshold = env_threshold if env_threshold is not None else trainer.solved_threshold()
    return {"seed": config.seed, "steps": trainer.step, "env_steps": trainer.env_steps,
            "solved_at_env_steps": solved_env_steps, "train_seconds": trainer.wall_seconds, "wall_seconds": wall,
            "solved_at_step": trainer.solved_at_step, "solved_at_seconds": trainer.solved_at_seconds,
            "final_mean_return": float(np.mean(final)), "final_std_return": float(np.std(final)),
            "solved": threshold is not None and float(np.mean(final)) >= threshold, "threshold": threshold,
            "curve": curve}


def plot(runs: list[dict], title: str, path: str, x: str = "env steps",
         marks: list[tuple[float, str]] = (), y_range: tuple[float, float] | None = None,
         y_label: str = "greedy evaluation return") -> None:
    """Evaluation return against env steps (or, with x="minutes", training time), one line per run, as a PNG
    (pyqtgraph, offscreen). A run may carry its own "label" (default: its seed) and "colour" index; `marks` are
    labelled dashed vertical lines (x, text); `y_range` fixes the return axis (Pong: −21 to 21)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from pyqtgraph import exporters
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    widget = pg.PlotWidget(title=title)
    # The widget is never shown, so resizing it would not reach its plot, which stays at Qt's default 640×480 and is
    # exported stretched to 900×675.
    widget.plotItem.resize(900, 500)
    widget.addLegend()
    widget.setLabel("bottom", x)
    widget.setLabel("left", y_label)
    colours = ["#1a73e8", "#d93025", "#188038", "#f29900", "#a142f4", "#12b5cb", "#5f6368"]
    for i, run in enumerate(runs):
        if run["curve"]:
            steps, seconds, returns = zip(*run["curve"])
            xs = [t / 60 for t in seconds] if x.startswith("minutes") else steps
            colour = colours[run.get("colour", i) % len(colours)]
            widget.plot(xs, returns, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour,
                        name=run.get("label", f"seed {run['seed']}"))
    if runs and runs[0]["threshold"] is not None:
        widget.addItem(pg.InfiniteLine(pos=runs[0]["threshold"], angle=0, pen=pg.mkPen("#5f6368", style=Qt.PenStyle.DashLine)))
    if y_range is not None:
        widget.setYRange(*y_range, padding=0.02)
    for position, text in marks:
        widget.addItem(pg.InfiniteLine(pos=position, angle=90, label=text, labelOpts={"position": 0.3, "color": "k"},
                                       pen=pg.mkPen("#5f6368", width=2, style=Qt.PenStyle.DashLine)))
    app.processEvents()          # lay the axes out (their label heights) before the picture is taken
    exporter = exporters.ImageExporter(widget.plotItem)
    exporter.parameters()["width"] = 900
    exporter.export(path)
    app.processEvents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="zoo-state")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--stop-when-solved", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--save-dir", help="save each seed's final agent here as <tag>-seed<N>.dqn (for dqn-eval)")
    parser.add_argument("--tag", help="name of the result files (default: learning-<preset>)")
    args = parser.parse_args(argv)
    from dqn_core.presets import load_preset

    base = load_preset(args.preset).replace(**dict(item.split("=", 1) for item in args.set))
    tag = args.tag or f"learning-{args.preset}"
    if args.save_dir:
        os.makedirs(args.save_dir, exist_ok=True)
    runs = []
    for seed in args.seeds:
        save_to = os.path.join(args.save_dir, f"{tag}-seed{seed}.dqn") if args.save_dir else None
        run = run_seed(base.replace(seed=seed), args.steps, args.eval_every, args.eval_episodes, args.stop_when_solved,
                       save_to)
        runs.append(run)
        print(f"seed {seed}: final {run['final_mean_return']:.1f} ± {run['final_std_return']:.1f}, "
              f"first passing evaluation at step {run['solved_at_step']}, {run['train_seconds']:.0f} s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{tag}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["seed", "env_steps", "train_seconds", "eval_mean_return"])
        for run in runs:
            for step, seconds, ret in run["curve"]:
                writer.writerow([run["seed"], step, round(seconds, 2), ret])
    plot(runs, f"{args.preset}: greedy evaluation ({args.eval_episodes} episodes)", str(RESULTS / f"{tag}.png"))
    rows = [[r["seed"], r["env_steps"], r["solved_at_env_steps"] or "—",
             f"{r['solved_at_seconds']:.0f}" if r["solved_at_seconds"] is not None else "—",
             r["train_seconds"], r["final_mean_return"], "yes" if r["solved"] else "no"] for r in runs]
    print(table(rows, ["seed", "env steps", "first pass (env step)", "first pass (s)", "train s", "final 100-ep mean",
                       "solved"]))
    print(f"solved {sum(r['solved'] for r in runs)} of {len(runs)}; "
          f"results: {write_results(tag, {'preset': args.preset, 'settings': args.set, 'runs': runs})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
