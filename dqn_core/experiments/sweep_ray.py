"""The Ray Tune side of `dqn-sweep` (optional extra `sweep`): one trial = one Trainer on one CPU (or a GPU share).

Run folders come back to the machine that launched the sweep, wherever the trials ran: every trial records its run
through a `RunSinkActor` pinned to the launching node, which writes the runs folder there (run.json, metrics, the
agents). A trial saves its agent (without the replay memory) at each evaluation; when Tune restarts a crashed or
killed trial (`max_failures`), the trial starts again from that agent. On a cluster reached with `ray://` the
launching machine is a client, not a node: the runs folder is then written on the node the client's driver runs on
(the head node).
"""
from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from dqn_core.config import ConfigError, TrainConfig
from dqn_core.device import cpu_count
from dqn_core.experiments.run_end import close_run, final_evaluation
from dqn_core.experiments.runs import (CREATED_FORMAT, METRICS, RUN_JSON, FolderSink, RunRecorder, read_run, recorded,
                                       tensorboard_available)
from dqn_core.experiments.series import FILES as SERIES_FILES
from dqn_core.fileio import atomic_write_bytes
from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.loading import load_agent
from dqn_core.training.saving import save_agent
from dqn_core.training.trainer import Trainer

CHECKPOINT = "checkpoint.dqn"


@ray.remote(num_cpus=0)
class RunSinkActor:
    """Writes run folders on the node it was placed on. Calls from one trial run in the order they were made."""

    def __init__(self, runs_dir: str) -> None:
        self.sink = FolderSink(runs_dir)

    def write(self, run_id: str, name: str, data: bytes) -> None:
        self.sink.write(run_id, name, data)

    def append(self, run_id: str, name: str, text: str) -> None:
        self.sink.append(run_id, name, text)

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        self.sink.append_bytes(run_id, name, data)

    def read(self, run_id: str, name: str) -> bytes | None:
        path = self.sink.folder(run_id) / name
        return path.read_bytes() if path.exists() else None

    def reset(self, run_id: str, name: str) -> None:
        self.sink.close(run_id)
        path = self.sink.folder(run_id) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

    def remove(self, run_id: str, name: str) -> None:
        (self.sink.folder(run_id) / name).unlink(missing_ok=True)

    def close(self, run_id: str) -> None:
        self.sink.close(run_id)


class ActorSink:
    """A RunSink that forwards to a RunSinkActor without waiting; `flush` waits for everything sent so far."""

    def __init__(self, actor) -> None:
        self.actor = actor
        self.run_dir_hint = ""

    def write(self, run_id: str, name: str, data: bytes) -> None:
        self.actor.write.remote(run_id, name, data)

    def save_file(self, run_id: str, name: str, write_to) -> None:
        """Made here in a temporary folder, then sent whole: the file's node may be another machine."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            write_to(path)
            self.write(run_id, name, path.read_bytes())

    def append(self, run_id: str, name: str, text: str) -> None:
        self.actor.append.remote(run_id, name, text)

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        self.actor.append_bytes.remote(run_id, name, data)

    def close(self, run_id: str) -> None:
        ray.get(self.actor.close.remote(run_id))

    def folder(self, run_id: str) -> Path:
        return Path(self.run_dir_hint) / run_id


def _agent_bytes(trainer) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "agent.dqn"
        save_agent(trainer, path)
        return path.read_bytes()


def _trainer_from_bytes(data: bytes):

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "agent.dqn"
        path.write_bytes(data)
        return load_agent(path)


def _fail_without_trainer(sink: ActorSink, trial: dict[str, Any], spec_name: str, reason: str) -> None:

    info = {"format": "dqn-studio-run", "version": 1, "id": trial["run_id"], "name": trial["run_id"],
            "created": time.strftime(CREATED_FORMAT), "status": "failed", "reason": reason, "source": "sweep",
            "seed": trial["seed"], "config": None, "sweep": {"name": spec_name, "index": trial["index"],
                                                              "params": trial["params"]}}
    sink.write(trial["run_id"], RUN_JSON, json.dumps(info, indent=1).encode("utf-8"))


def run_trial(config: dict[str, Any], sink=None, spec: dict[str, Any] | None = None, runs_dir: str = "",
              driver_host: str = "") -> None:
    """One trial: train its config on its seed for the sweep's budget, recording the run and reporting each
    evaluation to Tune. A failure that training reports (a non-finite loss, a bad value) ends the trial as failed;
    a crash raises, so that Tune restarts it (from its last saved agent)."""


    torch.set_num_threads(1)
    trial = config["trial"]
    run_id = trial["run_id"]
    remote = ActorSink(sink)
    remote.run_dir_hint = runs_dir
    gpu = spec["gpus_per_trial"] > 0
    try:
        base = TrainConfig.from_dict(spec["base"])
        cfg = base.replace(**trial["params"], seed=trial["seed"], torch_threads=1, device="cuda" if gpu else "cpu")
    except ConfigError as exc:
        _fail_without_trainer(remote, trial, spec["name"], f"bad setting: {exc}")
        ray.get(sink.close.remote(run_id))
        tune.report({"eval_mean_return": float("nan"), "env_steps": 0, "failed": 1})
        return
    saved = ray.get(sink.read.remote(run_id, CHECKPOINT))
    try:
        trainer = _trainer_from_bytes(saved) if saved else Trainer(cfg, auto_threads=1)
    except (ValueError, MemoryError) as exc:             # a bad combination of settings, an unknown env, …
        _fail_without_trainer(remote, trial, spec["name"], f"could not create the agent: {exc}")
        ray.get(sink.close.remote(run_id))
        tune.report({"eval_mean_return": float("nan"), "env_steps": 0, "failed": 1})
        return
    ray.get([sink.reset.remote(run_id, name) for name in (METRICS, *SERIES_FILES)])   # rewritten from the agent's
    context = ray.get_runtime_context()
    node = {"id": context.get_node_id(), "host": socket.gethostname(), "ip": ray.util.get_node_ip_address()}
    tb = Path(runs_dir) / run_id if socket.gethostname() == driver_host and _has_tensorboard() else None
    recorder = RunRecorder(trainer, remote, run_id, preset=spec["preset"], source="sweep",
                           sweep={"name": spec["name"], "index": trial["index"], "params": trial["params"],
                                  "restarted_from_step": trainer.step if saved else None},
                           tensorboard_dir=tb)
    recorder.info["node"] = node
    outcome: Any = None
    for event in recorded(trainer.run(Control(), max_steps=max(0, spec["steps"] - trainer.step)), recorder):
        if isinstance(event, ev.EvalResult):
            remote.write(run_id, CHECKPOINT, _agent_bytes(trainer))
            tune.report(_metrics(trainer, event))
        elif isinstance(event, (ev.Finished, ev.Failed)):
            outcome = event
    final_evaluation(trainer, outcome, recorder)
    problems = close_run(trainer, recorder, outcome)
    if problems:                                        # Tune restarts the trial from its checkpoint
        raise OSError("; ".join(problems))
    sink.remove.remote(run_id, CHECKPOINT)              # the run has its agents now; no restart will need it
    last = trainer.last_eval
    tune.report(dict(_metrics(trainer, last), done_status=recorder.info["status"],
                     failed=int(isinstance(outcome, ev.Failed))))


def _metrics(trainer, result) -> dict[str, Any]:
    value = float("nan") if result is None else float(result.mean_return)
    return {"eval_mean_return": value if math.isfinite(value) else float("nan"), "env_steps": trainer.env_steps,
            "steps": trainer.step, "best_eval_score": None if trainer.best.result is None else trainer.best.result.score}


def _has_tensorboard() -> bool:

    return tensorboard_available()


class SweepProgress(tune.Callback):
    """A progress line on stderr as trials report, and which trials ended how (for the run folders' statuses)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.completed: set[str] = set()
        self.errored: dict[str, str] = {}
        self.best: tuple[float, str] | None = None
        self.running: set[str] = set()
        self.last_line = 0.0

    def _line(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_line < 2.0:
            return
        self.last_line = now
        best = "" if self.best is None else f" · best eval {self.best[0]:.1f} ({self.best[1]})"
        print(f"dqn-sweep: {len(self.completed)}/{self.total} trials done · {len(self.running)} running · "
              f"{len(self.errored)} crashed{best}", file=sys.stderr, flush=True)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.running.add(trial.config["trial"]["run_id"])
        self._line()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        value = result.get("eval_mean_return")
        if isinstance(value, (int, float)) and math.isfinite(value) and (self.best is None or value > self.best[0]):
            self.best = (float(value), trial.config["trial"]["run_id"])
        self._line()

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        run_id = trial.config["trial"]["run_id"]
        self.running.discard(run_id)
        self.completed.add(run_id)
        self._line(force=True)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        run_id = trial.config["trial"]["run_id"]
        self.running.discard(run_id)
        error = getattr(trial, "error_message", None) or getattr(trial, "error_msg", None) or "the trial crashed"
        self.errored[run_id] = str(error).strip().splitlines()[-1][:300] if error else "the trial crashed"
        self._line(force=True)


def run_sweep(spec: dict[str, Any], runs_dir: Path, address: str | None = None) -> bool:
    """Run the sweep's unfinished trials; return True when it was interrupted before they all ended."""

    todo = [t for t in spec["trials"] if read_run(runs_dir / t["run_id"]).status not in ("finished", "failed")]
    if not todo:
        print("dqn-sweep: every trial has ended already", file=sys.stderr)
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")     # our run folders are the record
    init: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False, "include_dashboard": False}
    for name in ("ray.tune", "ray.train"):      # Tune's own result files are off (the run folders are the record)
        logging.getLogger(name).setLevel(logging.ERROR)
    if address:
        ray.init(address=address, **init)
    else:

        ray.init(num_cpus=cpu_count(), **init)
    progress = SweepProgress(len(todo))
    interrupted = False
    try:
        node = ray.get_runtime_context().get_node_id()
        sink = RunSinkActor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
            str(runs_dir))
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, sink=sink, spec=spec, runs_dir=str(runs_dir),
                                 driver_host=socket.gethostname()),
            {"cpu": 1, "gpu": spec.get("gpus_per_trial") or 0})
        scheduler = None
        if spec.get("asha"):

            # max_t past the budget: a trial that reaches its budget ends by itself (and saves its agent), never
            # by the scheduler's "done" at max_t. Rungs sit at grace·2^k below max_t; with a grace of exactly a
            # quarter of the budget the top rung was the budget itself, and ASHA could stop a trial at its very last
            # report, before it saved (seen once in CI): a grace just over a quarter keeps every rung below the end.
            budget = spec["steps"]
            scheduler = ASHAScheduler(time_attr="env_steps", max_t=budget + 1,
                                      grace_period=max(1, (budget + 1) // 4 + 1), reduction_factor=2)
        tuner = tune.Tuner(
            trainable, param_space={"trial": tune.grid_search(todo)},
            tune_config=tune.TuneConfig(metric="eval_mean_return", mode="max", scheduler=scheduler,
                                        max_concurrent_trials=spec.get("max_concurrent") or None,
                                        trial_dirname_creator=lambda trial: trial.config["trial"]["run_id"]),
            run_config=tune.RunConfig(name=spec["name"], storage_path=str((runs_dir / ".ray").resolve()),
                                      failure_config=tune.FailureConfig(max_failures=spec.get("max_failures", 2)),
                                      verbose=0, callbacks=[progress]))
        try:
            tuner.fit()
        except KeyboardInterrupt:
            interrupted = True
    finally:
        interrupted = _settle(todo, runs_dir, progress) or interrupted
        ray.shutdown()
    return interrupted


def _settle(todo: list[dict[str, Any]], runs_dir: Path, progress: SweepProgress) -> bool:
    """Give every trial's run folder its final status: one still 'running' was stopped early by ASHA, crashed beyond
    its retries, or was cut short by an interrupt. Returns whether any was cut short."""


    cut_short = False
    for trial in todo:
        run_id = trial["run_id"]
        path = runs_dir / run_id / RUN_JSON
        run = read_run(runs_dir / run_id)
        if run.error:
            if run_id in progress.errored:
                continue
            cut_short = True
            continue
        if run.info.get("status") != "running":
            continue
        if run_id in progress.errored:
            status, reason = "failed", f"crashed: {progress.errored[run_id]}"
        elif run_id in progress.completed:
            status, reason = "stopped", "stopped early by ASHA (its evaluations trailed the others')"
        else:
            status, reason, cut_short = "stopped", "the sweep was interrupted", True
        info = dict(run.info, status=status, reason=reason)
        atomic_write_bytes(path, json.dumps(info, indent=1).encode("utf-8"))
    return cut_short
