"""Command-line entry points: `dqn-train` (train headless) and `dqn-eval` (play an agent greedily).

Every bad input ends with one line on stderr and a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from dqn_core.config import ConfigError, TrainConfig, load_config_file
from dqn_core.training.control import Control
from dqn_core.cli.terminal import Interrupts, Progress

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
DEFAULT_PRESET = "zoo-state"        # learns CartPole in about 20 s on 2 cores


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def _write_json(path: str, data: dict[str, Any]) -> None:
    from dqn_core.fileio import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


# ---- dqn-train -----------------------------------------------------------------------------------------------------
def train_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dqn-train", description="Train a DQN agent headless.")
    p.add_argument("--preset", help="named config to start from (default: zoo-state; see --list-presets)")
    p.add_argument("--config", metavar="FILE", help="a TOML or JSON config file, applied after the preset")
    p.add_argument("--env", metavar="ID", help="gymnasium environment id (discrete actions)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], help="override a setting (repeatable)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, metavar="N", help="train for N more environment steps")
    budget.add_argument("--episodes", type=int, metavar="N", help="train for N more episodes (default: 500)")
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
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    p.add_argument("--list-settings", action="store_true", help="list every setting, its range and meaning, and exit")
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
    from dqn_core.presets import load_preset

    config = load_preset(args.preset or DEFAULT_PRESET)
    if args.config:
        config = load_config_file(args.config, base=config)
    changes: dict[str, Any] = _parse_sets(args.set)
    if args.env:
        changes["env_id"] = args.env
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.device:
        changes["device"] = args.device
    if args.threads is not None:
        changes["torch_threads"] = args.threads
    return config.replace(**changes) if changes else config


def train_main(argv: Sequence[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    prog = "dqn-train"
    try:
        return _train(args)
    except KeyboardInterrupt:           # before training started: nothing to save
        return _fail(prog, "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return _fail(prog, str(exc))
    except Exception as exc:  # no traceback for users; the message names the problem
        return _fail(prog, f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be refused before the first step: empty options, budgets, output paths."""
    from dqn_core.fileio import check_distinct, check_output_path

    for option in ("preset", "config", "env", "resume", "runs_dir", "name"):
        value = getattr(args, option)
        if value is not None and not value.strip():
            raise ConfigError(f"--{option.replace('_', '-')}", value, "a value is needed (an empty string is not a "
                              "default)")
    for value, name in ((args.steps, "--steps"), (args.episodes, "--episodes")):
        if value is not None and value < 1:
            raise ConfigError(name, value, "a positive integer")
    if args.threads is not None and not 1 <= args.threads <= 64:
        raise ConfigError("--threads", args.threads, "an integer in [1, 64]")
    outputs = {"--save": args.save, "--save-best": args.save_best, "--metrics": args.metrics,
               "--summary-json": args.summary_json}
    for option, path in outputs.items():
        check_output_path(path, option)
    check_distinct(outputs)


def _list_settings() -> None:
    from dqn_core.config import PARAM_SPECS

    for name, spec in PARAM_SPECS.items():
        live = " (live)" if spec.live else ""
        print(f"{name:22s} {spec.allowed()}{live}\n{'':22s} {spec.help}")


def _train(args: argparse.Namespace) -> int:
    from dqn_core.presets import list_presets, preset_description

    if args.list_presets:
        for name, path in list_presets().items():
            print(f"{name:18s} {preset_description(path)}")
        return 0
    if args.list_settings:
        _list_settings()
        return 0
    _check_arguments(args)
    control = Control()
    # Signals are caught from here on: once training has started, the agent is saved whatever arrives.
    with Interrupts(control, "dqn-train") as interrupts:
        trainer = _make_trainer(args)
        if interrupts.interrupted:
            return interrupts.exit_code
        return _run_and_save(args, trainer, control, interrupts)


def _make_trainer(args: argparse.Namespace):
    if not args.resume:
        from dqn_core.training.trainer import Trainer

        return Trainer(_build_config(args))
    if args.preset or args.config or args.env or args.seed is not None:
        raise ConfigError("--resume", args.resume, "takes its config from the agent file; --preset, --config, "
                          "--env and --seed cannot be combined with it (live settings can be changed with --set)")
    from dqn_core.agentfile.read import precheck

    precheck(args.resume)                # refused before torch is even loaded
    from dqn_core.training.checkpoint import load_agent

    trainer = load_agent(args.resume, device=args.device)
    patch = _parse_sets(args.set)
    if args.threads is not None:
        patch["torch_threads"] = str(args.threads)
    if patch:
        applied = trainer.apply_patch(patch)
        if applied.rejected:
            name, reason = next(iter(applied.rejected.items()))
            raise ConfigError(name, patch[name], reason)
    return trainer


def _run_and_save(args: argparse.Namespace, trainer, control: Control, interrupts: Interrupts) -> int:
    from dqn_core.training import events as ev
    from dqn_core.training.checkpoint import save_agent

    from dqn_core.experiments.runs import recorded

    episodes = args.episodes if (args.episodes or args.steps) else 500
    progress = Progress(args.steps, episodes if not args.steps else None, enabled=not args.quiet)
    print(f"dqn-train: {trainer.config.env_id} from {trainer.config.obs} on {trainer.device_name}", file=sys.stderr)
    recorder = _start_recording(args, trainer)
    if args.save is None:
        where = (f"in the run folder, {recorder.sink.folder(recorder.run_id) / 'agent.dqn'}" if recorder
                 else "nowhere: the trained agent is not kept")
        print(f"dqn-train: no --save given: the final agent will be kept {where}", file=sys.stderr)
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
        for event in recorded(trainer.run(control, max_steps=args.steps,
                                          max_episodes=None if args.steps else episodes), recorder):
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
        progress.update(trainer, trainer.step - start_step, trainer.episode - start_episode, rate, force=True)
        progress.close()
    run_seconds = time.perf_counter() - started
    if (isinstance(outcome, ev.Finished) and not interrupts.interrupted
            and (trainer.last_eval is None or trainer.last_eval.step != trainer.step)):
        final = trainer.evaluate(trainer.config.eval_episodes)     # the summary reports the final agent
        keep_best(final)
        if recorder is not None and final is not None:
            recorder.record(final)
    summary = trainer.summary(start_step, start_wall)          # steps/s of this run, also after --resume
    summary.update(run_steps=trainer.step - start_step, run_seconds=round(run_seconds, 3))
    summary["outcome"] = ("failed" if isinstance(outcome, ev.Failed) else
                          "interrupted" if interrupts.interrupted else getattr(outcome, "reason", "stopped"))
    failures = _write_outputs(args, trainer, summary)
    if recorder is not None:
        _finish_recording(args, trainer, recorder, outcome, interrupts)
    print(json.dumps({k: summary[k] for k in ("steps", "episodes", "wall_seconds", "steps_per_second",
                                              "mean100_duration", "eval_mean_return", "best_eval_score",
                                              "best_eval_step", "solved_at_step")}))
    if failures:
        for message in failures:
            print(f"dqn-train: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(outcome, ev.Failed):
        return _fail("dqn-train", outcome.message, EXIT_FAILED)
    if interrupts.interrupted:
        what = f"; saved to {args.save}" if args.save else ""
        print(f"dqn-train: interrupted by {signal.Signals(interrupts.first).name} at step {trainer.step:,}{what}",
              file=sys.stderr)
        return interrupts.exit_code
    return 0


def _start_recording(args: argparse.Namespace, trainer):
    """A RunRecorder for this run in the runs folder, or None (--no-record, or the folder cannot be written)."""
    if args.no_record:
        return None
    from dqn_core.paths import runs_dir
    from dqn_core.experiments.runs import FolderSink, RunRecorder, new_run_id, tensorboard_available

    folder = Path(args.runs_dir).expanduser() if args.runs_dir else runs_dir()
    preset = None if args.resume else (args.preset or DEFAULT_PRESET)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id(folder, trainer.config, preset)
        sink = FolderSink(folder)
        tb = sink.folder(run_id) if tensorboard_available() else None
        recorder = RunRecorder(trainer, sink, run_id, name=args.name, preset=preset, source="cli", tensorboard_dir=tb)
    except (OSError, ValueError) as exc:
        print(f"dqn-train: warning: the run is not recorded: cannot write the runs folder {folder} "
              f"({exc.strerror if isinstance(exc, OSError) and exc.strerror else exc})", file=sys.stderr)
        return None
    print(f"dqn-train: recording the run in {sink.folder(run_id)}", file=sys.stderr)
    return recorder


def _finish_recording(args: argparse.Namespace, trainer, recorder, outcome: Any, interrupts: Interrupts) -> None:
    """The run folder gets the agents that were not saved elsewhere, their paths, and the run's status."""
    from dqn_core.training.checkpoint import save_agent

    folder = recorder.sink.folder(recorder.run_id)
    try:
        if args.save and Path(args.save).exists():
            recorder.set_agent("final", str(Path(args.save).resolve()))
        else:
            save_agent(trainer, folder / "agent.dqn")
            recorder.set_agent("final", "agent.dqn")
        if args.save_best and Path(args.save_best).exists():
            recorder.set_agent("best", str(Path(args.save_best).resolve()))
        elif trainer.best_state is not None:
            save_agent(trainer, folder / "best.dqn", best=True)
            recorder.set_agent("best", "best.dqn")
    except (OSError, ValueError) as exc:
        print(f"dqn-train: warning: could not keep the agent in the run folder {folder}: {exc}", file=sys.stderr)
    reason = f"interrupted by {signal.Signals(interrupts.first).name}" if interrupts.interrupted else None
    try:
        recorder.close_from(outcome, reason)
    except OSError as exc:
        print(f"dqn-train: warning: could not update the run folder {folder}: {exc}", file=sys.stderr)


def _write_outputs(args: argparse.Namespace, trainer, summary: dict[str, Any]) -> list[str]:
    """Write every output that was asked for, each on its own: one that fails does not stop the others. A failed
    --save puts the agent in a recovery file, so a trained agent is never dropped. Returns what failed."""
    from dqn_core.training.checkpoint import save_agent

    failures: list[str] = []
    if args.save_best:
        if trainer.best_state is None:
            print(f"dqn-train: no evaluation finished, so {args.save_best} was not written", file=sys.stderr)
        else:
            print(f"dqn-train: best agent ({trainer.describe_best()}) in {args.save_best}", file=sys.stderr)
    if args.save:
        try:
            size = save_agent(trainer, args.save, include_replay=args.save_replay)
            print(f"dqn-train: saved {args.save} ({size / 1024:.0f} KiB)", file=sys.stderr)
        except (OSError, ValueError) as exc:
            failures.append(f"could not write --save {args.save} ({_reason(exc)}); {_recover(trainer, args)}")
    if args.metrics:
        try:
            trainer.metrics.write_csv(args.metrics)
        except (OSError, ValueError) as exc:
            failures.append(f"could not write --metrics {args.metrics} ({_reason(exc)})")
    if args.summary_json:
        try:
            _write_json(args.summary_json, summary)
        except (OSError, ValueError) as exc:
            failures.append(f"could not write --summary-json {args.summary_json} ({_reason(exc)})")
    return failures


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _recover(trainer, args: argparse.Namespace) -> str:
    from dqn_core.training.checkpoint import save_recovery

    path, why = save_recovery(trainer, include_replay=args.save_replay)
    if path is None:
        return f"the agent could not be saved anywhere else either ({why})"
    return f"the agent was saved to the recovery file {path} instead"


# ---- dqn-eval ------------------------------------------------------------------------------------------------------
def eval_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dqn-eval", description="Play an agent file's greedy policy and report its returns.")
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
        return _eval(args)
    except KeyboardInterrupt:
        return _fail("dqn-eval", "interrupted", 130)
    except (ConfigError, ValueError, MemoryError, OSError) as exc:
        return _fail("dqn-eval", str(exc))
    except Exception as exc:
        return _fail("dqn-eval", f"{type(exc).__name__}: {exc}", EXIT_FAILED)


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from dqn_core.agentfile.read import precheck
    from dqn_core.fileio import check_output_path

    if not args.file.strip():
        raise ConfigError("AGENT_FILE", args.file, "a file name is needed")
    if args.episodes < 1:
        raise ConfigError("--episodes", args.episodes, "a positive integer")
    if args.summary_json:
        check_output_path(args.summary_json, "--summary-json")
    if args.video is not None:
        from dqn_core.fileio import check_distinct
        from dqn_core.video import check_video_path

        check_output_path(args.video, "--video")
        check_video_path(args.video)
        check_distinct({"--summary-json": args.summary_json, "--video": args.video})
    precheck(args.file)                  # a damaged or hostile file is refused before torch is even loaded
    from dqn_core.training.checkpoint import load_agent

    trainer = load_agent(args.file, device=args.device)
    if args.epsilon is not None:
        trainer.config = trainer.config.replace(eval_epsilon=args.epsilon)     # checked: a number in [0, 1]
    base = trainer.config.seed + 5_000_000 if args.seed is None else args.seed
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
        from dqn_core.video import default_fps, greedy_frames, write_video

        frames = write_video(args.video, greedy_frames(trainer, args.episodes, base), default_fps(trainer))
        summary["video"] = {"path": args.video, "frames": frames}
        print(f"dqn-eval: recorded {args.episodes} episode{'s' if args.episodes != 1 else ''} ({frames:,} frames) "
              f"in {args.video}", file=sys.stderr)
    if args.summary_json:
        _write_json(args.summary_json, summary)
    played = "greedy" if not trainer.config.eval_epsilon else f"ε = {trainer.config.eval_epsilon:g}"
    print(f"{args.file}: {args.episodes} {played} episodes of {trainer.config.env_id}: mean return "
          f"{summary['mean_return']:.2f} ± {summary['std_return']:.2f} (min {summary['min_return']:g}, "
          f"max {summary['max_return']:g})")
    return 0


if __name__ == "__main__":
    sys.exit(train_main())
