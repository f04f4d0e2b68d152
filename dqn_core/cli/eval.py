"""`dqn-eval` once its arguments passed their checks: load the agent, play its episodes (at its evaluation ε),
report the returns, and record the episodes played where asked."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from dqn_core.cli.parser import write_json
from dqn_core.training.evaluation import PLAY_SEED_OFFSET, default_fps, greedy_frames
from dqn_core.training.loading import load_agent
from dqn_core.video import write_video


def play(args: argparse.Namespace) -> int:
    trainer = load_agent(args.file, device=args.device)
    if args.epsilon is not None:      # a live change, so the evaluator plays at it too
        rejected = trainer.apply_patch({"eval_epsilon": args.epsilon}).rejected
        if rejected:                  # the reason names the value and the range
            raise ValueError(rejected["eval_epsilon"])
    base = trainer.config.seed + PLAY_SEED_OFFSET if args.seed is None else args.seed
    started = time.perf_counter()
    returns = trainer.greedy_returns([base + i for i in range(args.episodes)])
    seconds = time.perf_counter() - started
    summary = {"file": args.file, "env_id": trainer.config.env_id, "episodes": args.episodes,
               "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
               "min_return": float(np.min(returns)), "max_return": float(np.max(returns)),
               "epsilon": trainer.config.eval_epsilon,
               "wall_seconds": round(seconds, 3), "device": trainer.device_name, "trained_steps": trainer.step,
               "returns": returns}
    if args.video:
        frames = write_video(args.video, greedy_frames(trainer, args.episodes, base), default_fps(trainer))
        summary["video"] = {"path": args.video, "frames": frames}
        print(f"dqn-eval: recorded {args.episodes} episode{'s' if args.episodes != 1 else ''} ({frames:,} frames) "
              f"in {args.video}", file=sys.stderr)
    if args.summary_json:
        write_json(args.summary_json, summary)
    played = "greedy" if not trainer.config.eval_epsilon else f"ε = {trainer.config.eval_epsilon:g}"
    print(f"{args.file}: {args.episodes} {played} episodes of {trainer.config.env_id}: mean return "
          f"{summary['mean_return']:.2f} ± {summary['std_return']:.2f} (min {summary['min_return']:g}, "
          f"max {summary['max_return']:g})")
    return 0
