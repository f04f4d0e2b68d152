"""Command-line entry points: `dqn-train` (train headless) and `dqn-eval` (play an agent greedily).

Every bad input ends with one line on stderr and a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from .config import ConfigError, TrainConfig, load_config_file
from .control import Control
from .metrics import format_clock

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def _check_writable(path: str, what: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise ConfigError(what, path, f"its folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ConfigError(what, path, f"its folder {folder} is not writable")


def _write_json(path: str, data: dict[str, Any]) -> None:
    from .fileio import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


class Progress:
    """A one-line progress display on stderr: redrawn in place on a terminal, a line every 10 s otherwise."""

    def __init__(self, total_steps: int | None, total_episodes: int | None, enabled: bool) -> None:
        self.total_steps, self.total_episodes = total_steps, total_episodes
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.eval_text = ""

    def update(self, trainer, run_steps: int, run_episodes: int, rate: float, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < (0.2 if self.tty else 10.0)):
            return
        self.last = now
        if self.total_steps:
            frac = run_steps / self.total_steps
        else:
            frac = run_episodes / self.total_episodes if self.total_episodes else 0.0
        bar = "█" * int(20 * min(frac, 1.0)) + "░" * (20 - int(20 * min(frac, 1.0)))
        mean = trainer.metrics.mean100("duration")
        line = (f"{bar} {100 * frac:5.1f}% | episode {trainer.episode:,} | step {trainer.step:,} | "
                f"mean100 {mean if math.isfinite(mean) else 0:6.1f}{self.eval_text} | {rate:,.0f} steps/s | "
                f"{format_clock(trainer.wall_seconds)}")
        if self.tty:
            sys.stderr.write("\r" + line + "\x1b[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


# ---- dqn-train -----------------------------------------------------------------------------------------------------
def train_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dqn-train", description="Train a DQN agent headless.")
    p.add_argument("--preset", help="named config to start from (default: seed-pixels; see --list-presets)")
    p.add_argument("--config", metavar="FILE", help="a TOML or JSON config file, applied after the preset")
    p.add_argument("--env", metavar="ID", help="gymnasium environment id (discrete actions)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], help="override a setting (repeatable)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, metavar="N", help="train for N more environment steps")
    budget.add_argument("--episodes", type=int, metavar="N", help="train for N more episodes (default: 500)")
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--save", metavar="FILE", help="write the agent here at the end (also after Ctrl+C)")
    p.add_argument("--save-best", metavar="FILE", help="write the agent as it was at its best greedy evaluation "
                   "here, each time an evaluation beats the best so far (a DQN's last agent can be worse)")
    p.add_argument("--save-replay", action="store_true", help="include the replay memory in the agent file")
    p.add_argument("--resume", metavar="FILE", help="continue training an agent file")
    p.add_argument("--metrics", metavar="FILE.csv", help="write per-episode metrics as CSV")
    p.add_argument("--summary-json", metavar="FILE", help="write a JSON summary of the run")
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    return p


def _parse_sets(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", item, "expected KEY=VALUE, e.g. --set lr=0.001")
        out[key.strip()] = value.strip()
    return out


def _build_config(args: argparse.Namespace) -> TrainConfig:
    from .presets import load_preset

    config = load_preset(args.preset or "seed-pixels")
    if args.config:
        config = load_config_file(args.config, base=config)
    changes: dict[str, Any] = _parse_sets(args.set)
    if args.env:
        changes["env_id"] = args.env
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.device:
        changes["device"] = args.device
    return config.replace(**changes) if changes else config


def train_main(argv: Sequence[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    prog = "dqn-train"
    try:
        return _train(args)
    except KeyboardInterrupt:
        return _fail(prog, "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return _fail(prog, str(exc))
    except Exception as exc:  # no traceback for users; the message names the problem
        return _fail(prog, f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def _train(args: argparse.Namespace) -> int:
    from . import events as ev
    from .checkpoint import load_agent, save_agent
    from .presets import list_presets, preset_description
    from .trainer import Trainer

    if args.list_presets:
        for name, path in list_presets().items():
            print(f"{name:16s} {preset_description(path)}")
        return 0
    for value, name in ((args.steps, "--steps"), (args.episodes, "--episodes")):
        if value is not None and value < 1:
            raise ConfigError(name, value, "a positive integer")
    for path, what in ((args.save, "--save"), (args.save_best, "--save-best"), (args.metrics, "--metrics"),
                       (args.summary_json, "--summary-json")):
        if path:
            _check_writable(path, what)
    if args.resume:
        if args.preset or args.config or args.env or args.seed is not None:
            raise ConfigError("--resume", args.resume, "takes its config from the agent file; --preset, --config, "
                              "--env and --seed cannot be combined with it (live settings can be changed with --set)")
        trainer = load_agent(args.resume, device=args.device)
        patch = _parse_sets(args.set)
        if patch:
            applied = trainer.apply_patch(patch)
            if applied.rejected:
                name, reason = next(iter(applied.rejected.items()))
                raise ConfigError(name, patch[name], reason)
    else:
        trainer = Trainer(_build_config(args))
    episodes = args.episodes if (args.episodes or args.steps) else 500
    control = Control()
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    progress = Progress(args.steps, episodes if not args.steps else None, enabled=not args.quiet)
    print(f"dqn-train: {trainer.config.env_id} from {trainer.config.obs} on {trainer.device_name}", file=sys.stderr)
    start_step, start_episode, start_wall, rate = trainer.step, trainer.episode, trainer.wall_seconds, 0.0
    started = time.perf_counter()
    outcome: Any = None

    def keep_best(result) -> None:
        if args.save_best and result is not None and result.new_best:
            try:
                save_agent(trainer, args.save_best, best=True)
            except (OSError, ValueError) as exc:       # training goes on; the previous file stays as it was
                print(f"dqn-train: warning: could not write {args.save_best}: {exc}", file=sys.stderr)

    try:
        for event in trainer.run(control, max_steps=args.steps, max_episodes=None if args.steps else episodes):
            if isinstance(event, ev.StepStats):
                rate = event.steps_per_second
            elif isinstance(event, ev.EvalResult):
                confirmed = "" if event.confirm_mean is None else f" (confirm {event.confirm_mean:.1f})"
                progress.eval_text = f" | eval {event.mean_return:6.1f}{confirmed}"
                keep_best(event)
            elif isinstance(event, (ev.Finished, ev.Failed)):
                outcome = event
            progress.update(trainer, trainer.step - start_step, trainer.episode - start_episode, rate)
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.update(trainer, trainer.step - start_step, trainer.episode - start_episode, rate, force=True)
        progress.close()
    run_seconds = time.perf_counter() - started
    if isinstance(outcome, ev.Finished) and (trainer.last_eval is None or trainer.last_eval.step != trainer.step):
        keep_best(trainer.evaluate(trainer.config.eval_episodes))   # the summary reports the final agent
    if args.save_best:
        if trainer.best_state is None:
            print(f"dqn-train: no evaluation finished, so {args.save_best} was not written", file=sys.stderr)
        else:
            print(f"dqn-train: best agent ({trainer.describe_best()}) in {args.save_best}", file=sys.stderr)
    if args.save:
        size = save_agent(trainer, args.save, include_replay=args.save_replay)
        print(f"dqn-train: saved {args.save} ({size / 1024:.0f} KiB)", file=sys.stderr)
    if args.metrics:
        trainer.metrics.write_csv(args.metrics)
    summary = trainer.summary(start_step, start_wall)          # steps/s of this run, also after --resume
    summary.update(run_steps=trainer.step - start_step, run_seconds=round(run_seconds, 3))
    summary["outcome"] = "failed" if isinstance(outcome, ev.Failed) else getattr(outcome, "reason", "stopped")
    if args.summary_json:
        _write_json(args.summary_json, summary)
    print(json.dumps({k: summary[k] for k in ("steps", "episodes", "wall_seconds", "steps_per_second",
                                              "mean100_duration", "eval_mean_return", "best_eval_score",
                                              "best_eval_step", "solved_at_step")}))
    if isinstance(outcome, ev.Failed):
        return _fail("dqn-train", outcome.message, EXIT_FAILED)
    return 0


# ---- dqn-eval ------------------------------------------------------------------------------------------------------
def eval_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dqn-eval", description="Play an agent file's greedy policy and report its returns.")
    p.add_argument("file", metavar="AGENT_FILE")
    p.add_argument("--episodes", type=int, default=100, metavar="N", help="greedy episodes to play (default 100)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the first episode (default: "
                   "the agent's seed + 5,000,000)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--summary-json", metavar="FILE")
    return p


def eval_main(argv: Sequence[str] | None = None) -> int:
    args = eval_parser().parse_args(argv)
    try:
        return _eval(args)
    except KeyboardInterrupt:
        return _fail("dqn-eval", "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return _fail("dqn-eval", str(exc))
    except Exception as exc:
        return _fail("dqn-eval", f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from .checkpoint import load_agent

    if args.episodes < 1:
        raise ConfigError("--episodes", args.episodes, "a positive integer")
    if args.summary_json:
        _check_writable(args.summary_json, "--summary-json")
    trainer = load_agent(args.file, device=args.device)
    base = trainer.config.seed + 5_000_000 if args.seed is None else args.seed
    started = time.perf_counter()
    returns = trainer.greedy_returns([base + i for i in range(args.episodes)])
    seconds = time.perf_counter() - started
    summary = {"file": args.file, "env_id": trainer.config.env_id, "episodes": args.episodes,
               "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
               "min_return": float(np.min(returns)), "max_return": float(np.max(returns)),
               "wall_seconds": round(seconds, 3), "device": trainer.device_name, "trained_steps": trainer.step,
               "returns": returns}
    if args.summary_json:
        _write_json(args.summary_json, summary)
    print(f"{args.file}: {args.episodes} greedy episodes of {trainer.config.env_id}: mean return "
          f"{summary['mean_return']:.2f} ± {summary['std_return']:.2f} (min {summary['min_return']:g}, "
          f"max {summary['max_return']:g})")
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
