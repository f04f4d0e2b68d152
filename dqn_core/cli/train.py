"""`dqn-train` once its arguments passed their checks: build or resume the trainer, run it with progress and
signals handled, score the final agent, write every output asked for, and close the run folder."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from dqn_core.cli.parser import DEFAULT_PRESET, EXIT_BAD_INPUT, EXIT_FAILED, build_config, fail, parse_sets, write_json
from dqn_core.cli.terminal import Interrupts, Progress
from dqn_core.config import ConfigError
from dqn_core.experiments.run_end import close_run, final_evaluation
from dqn_core.experiments.runs import FolderSink, RunRecorder, new_run_id, recorded, tensorboard_available
from dqn_core.paths import runs_dir
from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.loading import load_agent
from dqn_core.training.saving import save_agent, save_recovery
from dqn_core.training.trainer import Trainer


def train(args: argparse.Namespace) -> int:
    control = Control()
    # Signals are caught from here on: once training has started, the agent is saved whatever arrives.
    with Interrupts(control, "dqn-train") as interrupts:
        trainer = _make_trainer(args)
        if interrupts.interrupted:
            return interrupts.exit_code
        return _run_and_save(args, trainer, control, interrupts)


def _make_trainer(args: argparse.Namespace):
    if not args.resume:
        return Trainer(build_config(args))
    if args.preset or args.config or args.env or args.seed is not None:
        raise ConfigError("--resume", args.resume, "takes its config from the agent file; --preset, --config, "
                          "--env and --seed cannot be combined with it (live settings can be changed with --set)")
    trainer = load_agent(args.resume, device=args.device)
    patch = parse_sets(args.set)
    if args.threads is not None:
        patch["torch_threads"] = str(args.threads)
    if patch:
        applied = trainer.apply_patch(patch)
        if applied.rejected:
            name, reason = next(iter(applied.rejected.items()))
            raise ConfigError(name, patch[name], reason)
    return trainer


def _run_and_save(args: argparse.Namespace, trainer, control: Control, interrupts: Interrupts) -> int:
    episodes = args.episodes if (args.episodes or args.steps or args.minutes) else 500
    max_seconds = args.minutes * 60 if args.minutes else None
    progress = Progress(args.steps, episodes if not args.steps else None, enabled=not args.quiet,
                        total_seconds=max_seconds)
    print(f"dqn-train: {trainer.config.env_id} from {trainer.config.obs} on {trainer.device_name}", file=sys.stderr)
    recorder = _open_run_folder(args, trainer)
    if args.save is None:
        where = (f"in the run folder, {recorder.sink.folder(recorder.run_id) / 'agent.dqn'}" if recorder
                 else "nowhere: the trained agent is not kept")
        print(f"dqn-train: no --save given: the final agent will be kept {where}", file=sys.stderr)
    start_step, start_episode, start_wall = trainer.step, trainer.episode, trainer.wall_seconds
    started = time.perf_counter()
    outcome: Any = None

    def keep_best(result) -> None:
        if args.save_best and result is not None and result.new_best:
            try:
                save_agent(trainer, args.save_best, best=True)
            except (OSError, ValueError) as exc:       # training goes on; the previous file stays as it was
                print(f"dqn-train: warning: could not write {args.save_best}: {exc}", file=sys.stderr)

    try:
        for event in recorded(trainer.run(control, max_steps=args.steps, max_episodes=None if args.steps else episodes,
                                          max_seconds=max_seconds), recorder):
            if isinstance(event, ev.EvalResult):
                confirmed = "" if event.confirm_mean is None else f" (confirm {event.confirm_mean:.1f})"
                progress.eval_text = f" | eval {event.mean_return:6.1f}{confirmed}"
                keep_best(event)
            elif isinstance(event, (ev.Finished, ev.Failed)):
                outcome = event
            progress.update(trainer, trainer.step - start_step, trainer.episode - start_episode, start_wall)
    finally:
        progress.update(trainer, trainer.step - start_step, trainer.episode - start_episode, start_wall, force=True)
        progress.close()
    run_seconds = time.perf_counter() - started
    if not interrupts.interrupted and not args.no_final_eval:
        keep_best(final_evaluation(trainer, outcome, recorder))     # the summary reports the final agent
    summary = trainer.summary(start_step, start_wall)          # steps/s of this run, also after --resume
    summary.update(run_steps=trainer.step - start_step, run_seconds=round(run_seconds, 3))
    summary["outcome"] = ("failed" if isinstance(outcome, ev.Failed) else
                          "interrupted" if interrupts.interrupted else getattr(outcome, "reason", "stopped"))
    failures = _write_outputs(args, trainer, summary)
    if recorder is not None:
        _close_run_folder(args, trainer, recorder, outcome, interrupts)
    print(json.dumps({k: summary[k] for k in ("steps", "episodes", "wall_seconds", "steps_per_second",
                                              "mean100_duration", "eval_mean_return", "best_eval_score",
                                              "best_eval_step", "solved_at_step")}))
    if failures:
        for message in failures:
            print(f"dqn-train: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(outcome, ev.Failed):
        return fail("dqn-train", outcome.message, EXIT_FAILED)
    if interrupts.interrupted:
        what = f"; saved to {args.save}" if args.save else ""
        print(f"dqn-train: interrupted by {signal.Signals(interrupts.first).name} at step {trainer.step:,}{what}",
              file=sys.stderr)
        return interrupts.exit_code
    return 0


def _open_run_folder(args: argparse.Namespace, trainer):
    """A RunRecorder for this run in the runs folder, or None (--no-record, or the folder cannot be written)."""
    if args.no_record:
        return None
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


def _close_run_folder(args: argparse.Namespace, trainer, recorder, outcome: Any, interrupts: Interrupts) -> None:
    """The run folder gets the agents that were not saved elsewhere, their paths, and the run's status."""
    reason = f"interrupted by {signal.Signals(interrupts.first).name}" if interrupts.interrupted else None
    kept = {"final": args.save, "best": args.save_best}
    for problem in close_run(trainer, recorder, outcome, reason, kept):
        print(f"dqn-train: warning: {problem} ({recorder.sink.folder(recorder.run_id)})", file=sys.stderr)


def _write_outputs(args: argparse.Namespace, trainer, summary: dict[str, Any]) -> list[str]:
    """Write every output that was asked for, each on its own: one that fails does not stop the others. A failed
    --save puts the agent in a recovery file, so a trained agent is never dropped. Returns what failed."""
    failures: list[str] = []
    if args.save_best:
        if trainer.best.state is None:
            print(f"dqn-train: no evaluation finished, so {args.save_best} was not written", file=sys.stderr)
        else:
            print(f"dqn-train: best agent ({trainer.best.describe()}) in {args.save_best}", file=sys.stderr)
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
            write_json(args.summary_json, summary)
        except (OSError, ValueError) as exc:
            failures.append(f"could not write --summary-json {args.summary_json} ({_reason(exc)})")
    return failures


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _recover(trainer, args: argparse.Namespace) -> str:
    path, why = save_recovery(trainer, include_replay=args.save_replay)
    if path is None:
        return f"the agent could not be saved anywhere else either ({why})"
    return f"the agent was saved to the recovery file {path} instead"
