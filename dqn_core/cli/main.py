"""Command-line entry points: `dqn-train` (train headless) and `dqn-eval` (play an agent file).

Arguments are parsed and checked here before the engine is loaded: `--help`, `--list-*`, a bad value or a damaged
file answer at once, without torch (~1.5 s and ~300 MiB). Every bad input ends with one line on stderr and a
non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Sequence

from dqn_core.agentfile.read import precheck
from dqn_core.cli.parser import EXIT_FAILED, Parser, fail
from dqn_core.config import PARAM_SPECS, ConfigError
from dqn_core.fileio import check_distinct, check_output_path
from dqn_core.presets import list_presets, preset_description
from dqn_core.video import check_video_path


# ---- dqn-train -----------------------------------------------------------------------------------------------------
def train_parser() -> argparse.ArgumentParser:
    p = Parser(prog="dqn-train", description="Train a DQN agent headless.")
    p.add_argument("--preset", help="named config to start from (default: zoo-state; see --list-presets)")
    p.add_argument("--config", metavar="FILE", help="a TOML or JSON config file, applied after the preset")
    p.add_argument("--env", metavar="ID", help="gymnasium environment id (discrete actions)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], help="override a setting (repeatable)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, metavar="N", help="train for N more environment steps")
    budget.add_argument("--episodes", type=int, metavar="N", help="train for N more episodes (default: 500)")
    p.add_argument("--minutes", type=float, metavar="M", help="train for at most M minutes of training time (with "
                   "--steps or --episodes: whichever comes first; evaluations count, pauses do not)")
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (default: half the cores, which "
                   "keeps a run fast when another program uses the machine)")
    p.add_argument("--save", metavar="FILE", help="write the agent here at the end (also after Ctrl+C or SIGTERM)")
    p.add_argument("--save-best", metavar="FILE", help="write the agent as it was at its best greedy evaluation "
                   "here, each time an evaluation beats the best so far (a DQN's last agent can be worse)")
    p.add_argument("--save-replay", action="store_true", help="include the replay memory in the agent file")
    p.add_argument("--resume", metavar="FILE", help="continue training an agent file")
    p.add_argument("--metrics", metavar="FILE.csv", help="write the run's metrics as CSV: episodes in FILE.csv, and "
                   "beside it FILE-evaluations.csv, FILE-training.csv and FILE-changes.csv")
    p.add_argument("--summary-json", metavar="FILE", help="write a JSON summary of the run")
    p.add_argument("--runs-dir", metavar="DIR", help="record the run in this runs folder (default: $DQN_STUDIO_RUNS, "
                   "else the user's data folder; see the README's Experiments)")
    p.add_argument("--name", help="the run's display name (default: preset, env, seed and time)")
    p.add_argument("--no-record", action="store_true", help="do not record this run in the runs folder")
    p.add_argument("--no-final-eval", action="store_true",
                   help="skip the greedy evaluation of the final agent (eval_episodes episodes after training; a "
                        "timing run that must do only the training work)")
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument("--list-settings", action="store_true", help="list every setting, its range and meaning, and exit")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    return p


def train_main(argv: Sequence[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    prog = "dqn-train"
    try:
        if args.list_presets:
            for name, path in list_presets().items():
                print(f"{name:18s} {preset_description(path)}")
            return 0
        if args.list_settings:
            _list_settings()
            return 0
        _check_arguments(args)
        if args.resume:
            precheck(args.resume)          # a damaged or hostile file is refused before torch is even loaded
        from dqn_core.cli import train  # the engine, once the arguments passed their checks

        return train.train(args)
    except BrokenPipeError:            # the reader went away (`dqn-train --list-settings | head`): done
        _silence_stdout()
        return 0
    except KeyboardInterrupt:           # before training started: nothing to save
        return fail(prog, "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return fail(prog, str(exc))
    except Exception as exc:  # no traceback for users; the message names the problem
        return fail(prog, f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be refused before the first step: empty options, budgets, output paths."""
    for option in ("preset", "config", "env", "resume", "runs_dir", "name"):
        value = getattr(args, option)
        if value is not None and not value.strip():
            raise ConfigError(f"--{option.replace('_', '-')}", value, "a value is needed (an empty string is not a "
                              "default)")
    for value, name in ((args.steps, "--steps"), (args.episodes, "--episodes")):
        if value is not None and value < 1:
            raise ConfigError(name, value, "a positive integer")
    if args.minutes is not None and not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise ConfigError("--minutes", args.minutes, "a positive number of minutes")
    if args.threads is not None and not 1 <= args.threads <= 64:
        raise ConfigError("--threads", args.threads, "an integer in [1, 64]")
    outputs = {"--save": args.save, "--save-best": args.save_best, "--metrics": args.metrics,
               "--summary-json": args.summary_json}
    for option, path in outputs.items():
        check_output_path(path, option)
    check_distinct(outputs)


def _list_settings() -> None:
    for name, spec in PARAM_SPECS.items():
        live = " (live)" if spec.live else ""
        print(f"{name:22s} {spec.allowed()}{live}\n{'':22s} {spec.help}")



# ---- dqn-eval ------------------------------------------------------------------------------------------------------
def eval_parser() -> argparse.ArgumentParser:
    p = Parser(prog="dqn-eval", description="Play an agent file's greedy policy and report its returns.")
    p.add_argument("file", metavar="AGENT_FILE")
    p.add_argument("--episodes", type=int, default=100, metavar="N", help="greedy episodes to play (default 100)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the first episode (default: "
                   "the agent's seed + 5,000,000)")
    p.add_argument("--epsilon", type=float, default=None, metavar="E", help="exploration while playing (default: "
                   "the agent's eval_epsilon: 0 for most presets, 0.05 for Atari's)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--summary-json", metavar="FILE")
    p.add_argument("--video", metavar="OUT.mp4|OUT.gif", help="also record the episodes played, frame by frame "
                   "(MP4 needs the 'video' extra; a GIF needs nothing more)")
    return p


def eval_main(argv: Sequence[str] | None = None) -> int:
    args = eval_parser().parse_args(argv)
    try:
        _check_eval_arguments(args)
        precheck(args.file)                # a damaged or hostile file is refused before torch is even loaded
        from dqn_core.cli import eval  # the engine, once the arguments passed their checks

        return eval.play(args)
    except BrokenPipeError:            # the reader went away (`dqn-train --list-settings | head`): done
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return fail("dqn-eval", "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return fail("dqn-eval", str(exc))
    except Exception as exc:
        return fail("dqn-eval", f"{type(exc).__name__}: {exc}", EXIT_FAILED)




def _check_eval_arguments(args: argparse.Namespace) -> None:
    if not args.file.strip():
        raise ConfigError("AGENT_FILE", args.file, "a file name is needed")
    if args.episodes < 1:
        raise ConfigError("--episodes", args.episodes, "a positive integer")
    if args.summary_json:
        check_output_path(args.summary_json, "--summary-json")
    if args.video is not None:
        check_output_path(args.video, "--video")
        check_video_path(args.video)
        check_distinct({"--summary-json": args.summary_json, "--video": args.video})


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not meet the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(train_main())
