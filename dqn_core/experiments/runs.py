"""Runs: every training run — from the window, `dqn-train` or a sweep — recorded as a folder in the runs directory.

A run folder holds:
- `run.json`: name, created, status (running / finished / stopped / failed, with the reason), the full config, the
  settings that differ from its preset, seed, software versions, device, host, counters, the last and best
  evaluation, the paths of its final and best agent files, the sweep it belongs to. Rewritten atomically.
- `metrics.jsonl`: one JSON object a line — episodes, training statistics, evaluations, live config changes —
  appended and flushed as they happen, so a crash or `kill -9` leaves every complete line readable (a torn last
  line is skipped). A run whose status says running but whose process is gone reads as "crashed".
- `agent.dqn` / `best.dqn`: the final agent and the best evaluated one, where the run kept them.
- with the optional `tensorboard` extra, TensorBoard event files with CleanRL's tags (`tensorboard --logdir RUNS`).

A `RunRecorder` is one more consumer of the trainer's events, beside the window and the CLI. It writes through a
`RunSink`: the local folder, or (in a sweep on a cluster) an actor on the machine that launched it.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
import os
import platform
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

import numpy as np

from dqn_core import __version__
from dqn_core.config import NOT_LEARNING, PARAM_SPECS, TrainConfig
from dqn_core.experiments.series import FILES as SERIES_FILES
from dqn_core.experiments.series import SERIES, encode
from dqn_core.experiments.series import present as series_present
from dqn_core.experiments.series import read_from as read_series
from dqn_core.fileio import atomic_write_bytes
from dqn_core.presets import load_preset
from dqn_core.training import events as ev

RUN_FORMAT = "dqn-studio-run"
RUN_VERSION = 1
RUN_JSON = "run.json"
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%S%z"   # run.json's `created` and `updated`
METRICS = "metrics.jsonl"
HEARTBEAT_SECONDS = 10.0


class RunSink(Protocol):
    """Where a recorder's files go: `write` replaces a file, `save_file` has `write_to(path)` make one (an agent
    file, streamed), `append` adds text to one."""

    def write(self, run_id: str, name: str, data: bytes) -> None: ...

    def save_file(self, run_id: str, name: str, write_to: Callable[[Path], Any]) -> None: ...

    def append(self, run_id: str, name: str, text: str) -> None: ...

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None: ...


class FolderSink:
    """Run folders in a local runs directory (the default)."""

    def __init__(self, runs_dir: str | Path) -> None:
        self.runs_dir = Path(runs_dir)
        self._handles: dict[tuple[str, str], Any] = {}

    def folder(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def write(self, run_id: str, name: str, data: bytes) -> None:
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / name, data)

    def save_file(self, run_id: str, name: str, write_to: Callable[[Path], Any]) -> None:
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        write_to(folder / name)

    def append(self, run_id: str, name: str, text: str) -> None:
        self.append_bytes(run_id, name, text.encode("utf-8"))

    def append_bytes(self, run_id: str, name: str, data: bytes) -> None:
        handle = self._handles.get((run_id, name))
        if handle is None:
            folder = self.folder(run_id)
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / name, "ab")
            self._handles[(run_id, name)] = handle
        handle.write(data)
        handle.flush()            # a killed process leaves every line it wrote

    def close(self, run_id: str | None = None) -> None:
        for key in [k for k in self._handles if run_id is None or k[0] == run_id]:
            self._handles.pop(key).close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def new_run_id(runs_dir: str | Path, config: TrainConfig, preset: str | None) -> str:
    """'<preset>-<env>-s<seed>-<YYYYmmdd-HHMMSS>', made unique in the runs directory."""
    env = config.env_id.split("/")[-1]
    base = _slug(f"{preset or 'custom'}-{env}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    candidate, n = base, 1
    while (Path(runs_dir) / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def preset_differences(config: TrainConfig, preset: str | None) -> dict[str, list[Any]]:
    """Settings whose values differ from the preset's: name -> [preset's, run's]."""
    if not preset:
        return {}
    try:
        base = load_preset(preset)
    except ValueError:
        return {}
    return {k: [_plain(a), _plain(b)] for k, (a, b) in base.diff(config).items() if k not in ("device",)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class RunRecorder:
    """Records one trainer's run: create it, feed it every event (`record`), then `close` it with the outcome."""

    def __init__(self, trainer, sink: RunSink, run_id: str, name: str | None = None, preset: str | None = None,
                 source: str = "cli", sweep: dict[str, Any] | None = None, tensorboard_dir: Path | None = None) -> None:
        self.trainer = trainer
        self.sink = sink
        self.run_id = run_id
        self.info: dict[str, Any] = {
            "format": RUN_FORMAT, "version": RUN_VERSION, "id": run_id, "name": name or run_id,
            "created": time.strftime(CREATED_FORMAT), "status": "running", "reason": None,
            "source": source, "preset": preset, "differs_from_preset": preset_differences(trainer.config, preset),
            "seed": trainer.config.seed, "config": trainer.config.to_dict(),
            "software": _software(), "device": trainer.device_name, "host": socket.gethostname(), "pid": os.getpid(),
            "sweep": sweep, "agents": {"final": None, "best": None},
        }
        self._last_beat = 0.0
        self._tb = _tensorboard_writer(tensorboard_dir, trainer.config) if tensorboard_dir else None
        for name, _ in SERIES.values():     # all three exist before run.json does: readers then use them alone
            sink.append_bytes(run_id, name, b"")
        if trainer.metrics.episodes["step"] or trainer.metrics.evals["step"]:
            self._write_history(trainer.metrics)        # an opened agent's earlier training belongs to its run
        self.flush_info()

    # ---- events ------------------------------------------------------------------------------------------------
    def record(self, event: Any) -> None:
        line: dict[str, Any] | None = None
        rows: tuple[str, Any] | None = None          # the same numbers for the binary series (series.py)
        if isinstance(event, ev.EpisodeEnd) and not event.greedy:
            line = {"t": "episode", "episode": event.episode, "step": event.step, "duration": event.duration,
                    "return": event.total_return, "wall": round(event.wall_seconds, 3)}
            rows = ("episode", [(event.step, event.duration, event.total_return, event.wall_seconds)])
            self._scalar("charts/episodic_return", event.total_return, event.step)
            self._scalar("charts/episodic_length", event.duration, event.step)
        elif isinstance(event, ev.StepStats) and len(event.steps):
            line = {"t": "stats", "step": event.steps.astype(int).tolist(),
                    "loss": [_finite(float(x)) for x in event.loss], "q": [_finite(float(x)) for x in event.q_mean],
                    "epsilon": event.epsilon.tolist(), "wall": round(event.elapsed_seconds, 3)}
            rows = ("stats", np.stack([event.steps, event.loss, event.q_mean, event.epsilon], axis=1))
            for i, step in enumerate(event.steps.astype(int).tolist()):
                self._scalar("losses/td_loss", event.loss[i], step)
                self._scalar("losses/q_values", event.q_mean[i], step)
                self._scalar("charts/epsilon", event.epsilon[i], step)
        elif isinstance(event, ev.EvalResult):
            line = {"t": "eval", "step": event.step, "episode": event.episode, "mean": event.mean_return,
                    "std": event.std_return, "score": event.score, "solved": event.solved,
                    "wall": round(self.trainer.wall_seconds, 3)}
            rows = ("eval", [(event.step, event.episode, event.mean_return, event.std_return,
                              self.trainer.wall_seconds)])
            self._scalar("eval/mean_return", event.mean_return, event.step)
            self.info["last_eval"] = {"step": event.step, "mean": event.mean_return, "std": event.std_return,
                                      "score": event.score, "solved": event.solved}
            if event.new_best:
                self.info["best_eval"] = dict(self.info["last_eval"])
            if event.solved and self.info.get("solved_at_step") is None:
                self.info["solved_at_step"] = event.step
            self.flush_info()
        elif isinstance(event, ev.ConfigApplied) and event.changes:
            for name, (old, new) in event.changes.items():
                self.sink.append(self.run_id, METRICS, json.dumps(
                    {"t": "change", "step": event.step, "episode": event.episode, "field": name,
                     "old": _plain(old), "new": _plain(new)}) + "\n")
            self.info["config"] = event.config.to_dict()
        elif isinstance(event, ev.Started):
            self.info["status"], self.info["reason"] = "running", None
            self.info["pid"] = os.getpid()
            self.flush_info()
        if line is not None:
            self.sink.append(self.run_id, METRICS, json.dumps(line, allow_nan=False) + "\n")
        if rows is not None:
            self.sink.append_bytes(self.run_id, SERIES[rows[0]][0], encode(*rows))
        if time.monotonic() - self._last_beat > HEARTBEAT_SECONDS:
            self.flush_info()

    def _scalar(self, tag: str, value: float, step: int) -> None:
        if self._tb is not None and math.isfinite(float(value)):
            self._tb.add_scalar(tag, float(value), int(step))

    def _write_history(self, metrics) -> None:
        lines = []
        e = metrics.episodes
        for i, step in enumerate(e["step"]):
            lines.append({"t": "episode", "episode": i + 1, "step": int(step), "duration": int(e["duration"][i]),
                          "return": float(e["total_return"][i]), "wall": round(float(e["wall_seconds"][i]), 3)})
        s = metrics.stats
        if s["step"]:
            lines.append({"t": "stats", "step": [int(x) for x in s["step"]], "loss": [_finite(x) for x in s["loss"]],
                          "q": [_finite(x) for x in s["q_mean"]], "epsilon": list(s["epsilon"]), "wall": None})
        v = metrics.evals
        for i, step in enumerate(v["step"]):
            lines.append({"t": "eval", "step": int(step), "episode": int(v["episode"][i]), "mean": v["mean_return"][i],
                          "std": v["std_return"][i], "score": v["mean_return"][i], "solved": False, "wall": None})
        for change in metrics.changes:
            lines.append({"t": "change", **change})
        self.sink.append(self.run_id, METRICS, "".join(json.dumps(x) + "\n" for x in lines))
        nan = [float("nan")]
        for kind, columns in (("episode", [e["step"], e["duration"], e["total_return"], e["wall_seconds"]]),
                              ("stats", [s["step"], s["loss"], s["q_mean"], s["epsilon"]]),
                              ("eval", [v["step"], v["episode"], v["mean_return"], v["std_return"],
                                        nan * len(v["step"])])):
            self.sink.append_bytes(self.run_id, SERIES[kind][0],
                                   encode(kind, np.array(columns, dtype=float).T.reshape(-1, len(columns))))

    # ---- run.json ----------------------------------------------------------------------------------------------
    def flush_info(self) -> None:
        t = self.trainer
        self.info["counters"] = {"steps": t.step, "env_steps": t.env_steps, "episodes": t.episode,
                                 "updates": t.updates, "wall_seconds": round(t.wall_seconds, 3)}
        self.info["updated"] = time.strftime(CREATED_FORMAT)
        self.info["heartbeat"] = time.time()
        self._last_beat = time.monotonic()
        self.sink.write(self.run_id, RUN_JSON, json.dumps(self.info, indent=1, allow_nan=False).encode("utf-8"))

    def set_agent(self, which: str, path: str | None) -> None:
        self.info["agents"][which] = None if path is None else str(path)

    def close(self, status: str, reason: str | None = None) -> None:
        """The run ended: finished (its budget), stopped (a stop, a signal, an early stop), or failed (the reason)."""
        self.info["status"], self.info["reason"] = status, reason
        self.flush_info()
        if self._tb is not None:
            self._tb.flush()
        closer = getattr(self.sink, "close", None)
        if closer is not None:
            closer(self.run_id)

    def close_from(self, outcome: Any, interrupted: str | None = None) -> None:
        """Close with the status an outcome event implies."""
        if isinstance(outcome, ev.Failed):
            self.close("failed", outcome.message)
        elif interrupted:
            self.close("stopped", interrupted)
        elif isinstance(outcome, ev.Finished):
            status = "finished" if outcome.reason in ("budget", "solved") else "stopped"
            self.close(status, {"budget": "step or episode budget reached", "solved": "solved (stop when solved)",
                                "stopped": "stopped by the user"}.get(outcome.reason, outcome.reason))
        else:
            self.close("stopped", "ended without an outcome")


def recorded(events: Iterable[Any], recorder: RunRecorder | None) -> Iterator[Any]:
    """Pass events through, recording each first."""
    for event in events:
        if recorder is not None:
            try:
                recorder.record(event)
            except OSError:                     # a full disk must not stop training; the run shows what it has
                pass
        yield event


def _software() -> dict[str, str]:
    import torch

    return {"dqn_studio": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__}


def _tensorboard_writer(folder: Path, config: TrainConfig):
    """A SummaryWriter in `folder` with the run's hyperparameters, or None without the `tensorboard` extra."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    writer = SummaryWriter(str(folder))
    table = "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in config.to_dict().items())
    writer.add_text("hyperparameters", table)
    return writer


def tensorboard_available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


# ---- reading -------------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """A run folder as read from disk. `error` is set (and the rest mostly empty) when it cannot be read."""

    folder: Path
    info: dict[str, Any] = field(default_factory=dict)
    episodes: dict[str, np.ndarray] = field(default_factory=dict)   # step, duration, return, wall
    stats: dict[str, np.ndarray] = field(default_factory=dict)      # step, loss, q, epsilon
    evals: dict[str, np.ndarray] = field(default_factory=dict)      # step, episode, mean, std, wall
    changes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    metrics_loaded: bool = False          # the series above are read (run.json alone gives the table)
    _offset: int = 0                      # bytes of metrics.jsonl already read
    _series_offsets: dict[str, int] = field(default_factory=dict)   # bytes of each binary series file read
    _stamp: tuple = ()                    # what the files looked like when last read
    fixed_status: str | None = None       # a snapshot's status, decided when it was taken

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def name(self) -> str:
        return str(self.info.get("name") or self.id)

    def created(self) -> datetime | None:
        """When the run started (run.json's `created`); None where that is missing or not a time."""
        try:
            return datetime.strptime(str(self.info.get("created", "")), CREATED_FORMAT)
        except ValueError:
            return None

    @property
    def status(self) -> str:
        """The recorded status, or 'crashed' for a run that says running but whose process is gone."""
        if self.fixed_status is not None:
            return self.fixed_status
        if self.error:
            return "unreadable"
        status = str(self.info.get("status", "?"))
        if status == "running" and not _still_running(self.info):
            return "crashed"
        return status

    def config(self) -> TrainConfig | None:
        try:
            return TrainConfig.from_dict(self.info.get("config") or {})
        except ValueError:
            return None

    def behaviour(self) -> dict[str, Any]:
        """The settings that decide what the run learns (the config less seed, device and threads)."""
        config = self.info.get("config") or {}
        return {k: v for k, v in sorted(config.items()) if k not in NOT_LEARNING}

    def final_eval(self) -> float | None:
        """The last evaluation's mean: from the metrics where they are read, else from run.json."""
        if len(self.evals.get("mean", ())):
            return float(self.evals["mean"][-1])
        return _number((self.info.get("last_eval") or {}).get("mean"))

    def best_eval(self) -> float | None:
        if len(self.evals.get("mean", ())):
            return float(np.max(self.evals["mean"]))
        return _number((self.info.get("best_eval") or {}).get("mean"))

    def snapshot(self) -> Run:
        """A copy to hand to another thread: its status decided now (a liveness check per read would be slow), its
        series shared — a later read replaces them, never changes them in place."""
        snap = copy.copy(self)
        snap.changes = list(self.changes)
        snap.fixed_status = self.status
        return snap

    def drop_metrics(self) -> None:
        """Forget the series (a run no longer compared): the table needs only run.json."""
        self.episodes, self.stats, self.evals, self.changes = {}, {}, {}, []
        self.metrics_loaded, self._offset, self._series_offsets = False, 0, {}

    def solved_at(self) -> int | None:
        value = self.info.get("solved_at_step")
        return int(value) if isinstance(value, (int, float)) else None

    def agent_path(self) -> Path | None:
        agents = self.info.get("agents") or {}
        for key in ("final", "best"):
            path = agents.get(key)
            if path:
                candidate = Path(path) if Path(path).is_absolute() else self.folder / path
                if candidate.exists():
                    return candidate
        for name in ("agent.dqn", "best.dqn"):
            if (self.folder / name).exists():
                return self.folder / name
        return None


def _still_running(info: dict[str, Any]) -> bool:
    """A running run's process must be alive (same host), or its heartbeat recent (another host)."""
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        try:
            os.kill(info["pid"], 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OSError):
            return True
        return True
    beat = info.get("heartbeat")
    return isinstance(beat, (int, float)) and time.time() - beat < 6 * HEARTBEAT_SECONDS


MAX_RUN_JSON_BYTES = 4 << 20


def read_run(folder: str | Path, previous: Run | None = None, metrics: bool = True) -> Run:
    """Read (or, given the previous read, bring up to date) one run folder; never raises. Without `metrics` only
    run.json is read (what a table of runs needs), and a previous read's series are dropped."""
    folder = Path(folder)
    run = previous if previous is not None else Run(folder)
    if not metrics and run.metrics_loaded:
        run.drop_metrics()
    try:
        path = folder / RUN_JSON
        stamp = _stamp(folder, metrics)
        if previous is not None and stamp == run._stamp and not run.error and run.metrics_loaded == metrics:
            return run                          # nothing written since: the Runs panel polls every 2 s
        run._stamp = stamp
        if path.stat().st_size > MAX_RUN_JSON_BYTES:
            raise ValueError(f"{RUN_JSON} is implausibly large")
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
            raise ValueError(f"{RUN_JSON} is not a DQN Studio run")
        if not isinstance(info.get("version"), int) or info["version"] > RUN_VERSION:
            raise ValueError(f"written by a newer DQN Studio (run format {info.get('version')!r}; this version reads "
                             f"up to {RUN_VERSION})")
        run.info, run.error = info, None
        if metrics:
            _read_metrics(run)
    except (OSError, ValueError, RecursionError, TypeError, KeyError) as exc:
        run.error = f"{folder}: {exc}"
    return run


def _stamp(folder: Path, metrics: bool) -> tuple:
    """What changes when a run is written: run.json's time and size, and how long its metrics are (with `metrics`,
    its binary series too: a table of 10,000 runs has no use for three more stat calls each)."""
    info = (folder / RUN_JSON).stat()
    sizes = []
    for name in (METRICS, *SERIES_FILES) if metrics else (METRICS,):
        try:
            sizes.append((folder / name).stat().st_size)
        except FileNotFoundError:
            sizes.append(-1)
    return info.st_mtime_ns, info.st_size, *sizes


def _read_metrics(run: Run) -> None:
    """Read what the run's metrics gained since the last read, appended to its numpy series: from the binary
    series files where the run has them (series.py), else by parsing metrics.jsonl."""
    run.metrics_loaded = True
    path = run.folder / METRICS
    if not path.exists():
        return
    if path.stat().st_size < run._offset:       # rewritten from the start (a restarted sweep trial): read it anew
        run.drop_metrics()
        run.metrics_loaded = True
    with open(path, "rb") as f:
        f.seek(run._offset)
        data = f.read()
    end = data.rfind(b"\n") + 1              # a torn last line (a killed writer) waits for its end, or stays out
    if series_present(run.folder):
        try:
            new, run._series_offsets = read_series(run.folder, run._series_offsets)
        except ValueError:                     # rewritten from the start: read it all anew next time
            run.drop_metrics()
            return
        run.episodes = _join(run.episodes, new["episode"])
        run.stats = _join(run.stats, new["stats"])
        run.evals = _join(run.evals, new["eval"])
        if data.find(b'"t": "change"', 0, end) != -1:     # live changes are in the JSON lines only
            lines = [line for line in data[:end].split(b"\n") if b'"t": "change"' in line]
            run.changes.extend(item for item in _json_lines(b"\n".join(lines))
                               if isinstance(item, dict) and item.get("t") == "change")
        run._offset += end
        return
    rows: dict[str, list[dict[str, Any]]] = {"episode": [], "stats": [], "eval": []}
    for item in _json_lines(data[:end]):
        if not isinstance(item, dict):
            continue
        if item.get("t") in rows:
            rows[item["t"]].append(item)
        elif item.get("t") == "change":
            run.changes.append(item)
    run._offset += end
    ep, st, vals = rows["episode"], rows["stats"], rows["eval"]
    run.episodes = _extend(run.episodes, {"step": [r["step"] for r in ep], "duration": [r["duration"] for r in ep],
                                          "return": [r["return"] for r in ep],
                                          "wall": [r.get("wall") or np.nan for r in ep]})
    # numpy turns each None (a non-finite value, written as null) into NaN as it converts the whole column.
    run.stats = _extend(run.stats, {key: list(itertools.chain.from_iterable(r.get(key, ()) for r in st))
                                    for key in ("step", "loss", "q", "epsilon")})
    run.evals = _extend(run.evals, {"step": [r["step"] for r in vals],
                                    "episode": [r.get("episode", np.nan) for r in vals],
                                    "mean": [r["mean"] for r in vals], "std": [r.get("std", 0.0) for r in vals],
                                    "wall": [r.get("wall") or np.nan for r in vals]})


JSON_CHUNK_LINES = 4000


def _json_lines(data: bytes) -> list[Any]:
    """The JSON values of the lines in `data`, parsed as arrays of a few thousand lines (one call into the parser
    per chunk is several times faster than a call per line, and a chunk holds the GIL only ~10 ms, so a window
    reading in another thread stays responsive); a line that does not parse (a killed writer's) is left out."""
    lines = data.splitlines()
    out: list[Any] = []
    for start in range(0, len(lines), JSON_CHUNK_LINES):
        chunk = lines[start:start + JSON_CHUNK_LINES]
        try:
            out.extend(json.loads(b"[" + b",".join(chunk) + b"]"))
        except (ValueError, RecursionError):
            for raw in chunk:
                try:
                    out.append(json.loads(raw))
                except (ValueError, RecursionError):
                    continue
    return out


def _extend(series: dict[str, np.ndarray], new: dict[str, list]) -> dict[str, np.ndarray]:
    """Each column with the new values appended (float arrays; no Python objects kept per row)."""
    return {key: np.concatenate([series.get(key, np.zeros(0)), np.asarray(values, dtype=float)])
            for key, values in new.items()}


def _join(series: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([series[key], values]) if key in series else values for key, values in new.items()}


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def list_runs(runs_dir: str | Path, known: dict[str, Run] | None = None,
              metrics: Callable[[str], bool] | bool = True) -> dict[str, Run]:
    """Every run folder in `runs_dir` by id (updating `known` runs in place); unreadable ones carry their error.
    `metrics` says for which run ids the series are read too (a table of runs needs only run.json)."""
    runs_dir = Path(runs_dir)
    known = known or {}
    found: dict[str, Run] = {}
    try:
        entries = sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return found
    for folder in entries:
        if not (folder / RUN_JSON).exists():
            continue
        wanted = metrics(folder.name) if callable(metrics) else metrics
        found[folder.name] = read_run(folder, known.get(folder.name), wanted)
    return found


def rename_run(folder: str | Path, name: str) -> None:
    """Give a run a new display name (its folder keeps its id)."""
    name = name.strip()
    if not name:
        raise ValueError("a run's name cannot be empty")
    path = Path(folder) / RUN_JSON
    info = json.loads(path.read_text(encoding="utf-8"))
    info["name"] = name
    atomic_write_bytes(path, json.dumps(info, indent=1).encode("utf-8"))


def delete_run(folder: str | Path) -> None:
    """Remove a run folder (only one that holds a run.json: never an arbitrary folder)."""
    folder = Path(folder)
    if not (folder / RUN_JSON).exists():
        raise ValueError(f"{folder} is not a run folder")
    shutil.rmtree(folder)


def settings_that_differ(runs: Iterable[Run]) -> list[str]:
    """The settings (seed included) whose values are not the same in every listed run, in spec order."""
    configs = [r.info.get("config") or {} for r in runs if not r.error]
    if len(configs) < 2:
        return []
    # Values as they are where they hash (most of them): json.dumps of every value of 10,000 runs took a second.
    def key(value: Any) -> Any:
        return json.dumps(value) if isinstance(value, (list, dict)) else value
    return [name for name in PARAM_SPECS if name not in ("device", "torch_threads")
            and len({key(c.get(name)) for c in configs}) > 1]
