"""Agent files (.dqn): one zip holding `meta.json` and `.npy` arrays; no pickle anywhere.

Saving writes a temporary file beside the target and renames it over, so an interrupted save leaves the previous
file intact. Loading checks the whole file and builds a new `Trainer` from it; any problem raises `AgentFileError`
naming the file, and nothing that already exists is touched.
"""
from __future__ import annotations

import io
import json
import platform
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from . import events as ev
from .config import ConfigError, TrainConfig
from .fileio import atomic_writer
from .metrics import Metrics

FORMAT = "dqn-studio-agent"
VERSION = 1
META = "meta.json"
MAX_META_BYTES = 64 * 1024 * 1024


class AgentFileError(ValueError):
    """An agent file cannot be read or does not fit; the message names the file and the problem."""


# ---- saving ------------------------------------------------------------------------------------------------------
def save_agent(trainer, path: str | Path, include_replay: bool = False, best: bool = False) -> int:
    """Write `trainer` to `path` atomically; return the file size in bytes.

    With `best`, write the agent as it was at its best-scoring evaluation (`trainer.best_state`; never with the
    replay memory, which has moved on since)."""
    if best:
        if trainer.best_state is None:
            raise ValueError("there is no best agent yet: it is kept at each greedy evaluation (eval_every)")
        meta, arrays = trainer.best_state
        meta = dict(meta, saved_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    else:
        meta, arrays = agent_state(trainer, include_replay)
    meta["arrays"] = {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()}
    with atomic_writer(path) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(META, json.dumps(meta, indent=1, allow_nan=True))
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.save(buf, array, allow_pickle=False)   # np.save writes any layout; ascontiguousarray would make 0-d arrays 1-d
                zf.writestr(f"arrays/{name}.npy", buf.getvalue())
    return Path(path).stat().st_size


def _tensor_arrays(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": v.detach().cpu().numpy() for k, v in state.items()}


def agent_state(trainer, include_replay: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    arrays.update(_tensor_arrays("q_net", trainer.agent.q_net.state_dict()))
    arrays.update(_tensor_arrays("target_net", trainer.agent.target_net.state_dict()))
    opt_state = trainer.agent.optimizer.state_dict()
    opt_scalars: dict[str, dict[str, Any]] = {}
    for pid, slots in opt_state["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                arrays[f"optim.{pid}.{key}"] = value.detach().cpu().numpy()
            else:
                opt_scalars.setdefault(str(pid), {})[key] = value
    arrays.update({f"metrics.{k}": v for k, v in trainer.metrics.arrays().items()})
    arrays["rng.torch"] = torch.get_rng_state().numpy()
    env_meta, env_arrays = trainer.env.snapshot()
    arrays.update({f"env.{k}": v for k, v in env_arrays.items()})
    replay_meta = None
    if include_replay:
        replay_meta, replay_arrays = trainer.replay.state()
        arrays.update({f"replay.{k}": v for k, v in replay_arrays.items()})
    last = trainer.last_eval
    meta = {
        "format": FORMAT, "version": VERSION, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "software": {"dqn_studio": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "config": trainer.config.to_dict(),
        "model": {"frame_shape": list(trainer.env.frame_shape), "history": trainer.history,
                  "n_actions": trainer.env.n_actions},
        "counters": {"step": trainer.step, "env_steps": trainer.env_steps, "episode": trainer.episode,
                     "updates": trainer.updates, "episode_step": trainer.episode_step, "episode_return": trainer.episode_return,
                     "episode_open": trainer.episode_open, "wall_seconds": trainer.wall_seconds,
                     "solved_at_step": trainer.solved_at_step, "solved_at_seconds": trainer.solved_at_seconds,
                     "evals_done": trainer.evals_done, "stats_acc": trainer.open_stats},
        "last_eval": None if last is None else {"step": last.step, "episode": last.episode, "mean": last.mean_return,
                                                "std": last.std_return, "returns": list(last.returns),
                                                "threshold": last.threshold, "solved": last.solved,
                                                "confirm_mean": last.confirm_mean,
                                                "confirm_episodes": last.confirm_episodes,
                                                "new_best": last.new_best},
        "optimizer": {"param_groups": opt_state["param_groups"], "scalars": opt_scalars},
        "rng": {"numpy": trainer.rng.bit_generator.state},
        "env": env_meta,
        "replay": replay_meta,
        "changes": trainer.metrics.changes,
    }
    return meta, arrays


# ---- loading -----------------------------------------------------------------------------------------------------
def read_agent_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and structurally check an agent file without building anything."""
    path = Path(path)
    where = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AgentFileError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if not data:
        raise AgentFileError(f"{where}: the file is empty")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AgentFileError(f"{where}: not a DQN Studio agent file (not a zip archive, or truncated)") from None
    try:
        with zf:
            names = set(zf.namelist())
            if META not in names:
                raise AgentFileError(f"{where}: not a DQN Studio agent file (no {META})")
            if zf.getinfo(META).file_size > MAX_META_BYTES:
                raise AgentFileError(f"{where}: {META} is implausibly large")
            try:
                meta = json.loads(zf.read(META).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise AgentFileError(f"{where}: {META} is corrupt ({exc})") from None
            _check_header(meta, where)
            manifest = meta.get("arrays")
            if not isinstance(manifest, dict):
                raise AgentFileError(f"{where}: the array list is missing")
            arrays = {}
            for name, info in manifest.items():
                member = f"arrays/{name}.npy"
                if member not in names:
                    raise AgentFileError(f"{where}: array {name!r} is missing (file truncated?)")
                arrays[name] = _read_array(zf, member, name, info, where)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise AgentFileError(f"{where}: the file is corrupt or truncated ({exc})") from None
    return meta, arrays


def _check_header(meta: Any, where: str) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AgentFileError(f"{where}: not a DQN Studio agent file (format is not {FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise AgentFileError(f"{where}: the format version {version!r} is invalid")
    if version > VERSION:
        raise AgentFileError(f"{where}: written by a newer DQN Studio (format version {version}; this version reads "
                             f"up to {VERSION})")


def _read_array(zf: zipfile.ZipFile, member: str, name: str, info: Any, where: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise AgentFileError(f"{where}: array {name!r} holds pickled Python objects; refused (agent files never "
                                 "contain code)") from None
        raise AgentFileError(f"{where}: array {name!r} is corrupt ({exc})") from None
    except (OSError, EOFError) as exc:
        raise AgentFileError(f"{where}: array {name!r} is corrupt ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise AgentFileError(f"{where}: array {name!r} is not numeric")
    if not isinstance(info, dict) or list(array.shape) != info.get("shape") or array.dtype.str != info.get("dtype"):
        raise AgentFileError(f"{where}: array {name!r} does not match its description ({array.shape} {array.dtype})")
    return array


def load_agent(path: str | Path, device: str | None = None, auto_threads: int | None = None):
    """Build a new Trainer from an agent file. Raises AgentFileError and leaves everything else untouched.

    :param device: override the saved device ("auto", "cpu", "cuda"); a CUDA agent opens on the CPU when no GPU is
        available.
    """
    from .trainer import Trainer

    where = str(path)
    meta, arrays = read_agent_file(path)
    try:
        config = TrainConfig.from_dict(meta.get("config") or {})
    except ConfigError as exc:
        raise AgentFileError(f"{where}: its config is invalid: {exc}") from None
    if device is not None:
        config = config.replace(device=device)
    elif config.device == "cuda" and not torch.cuda.is_available():
        config = config.replace(device="auto")
    try:
        trainer = Trainer(config, auto_threads=auto_threads)
        _restore(trainer, meta, arrays, where)
    except AgentFileError:
        raise
    except (ConfigError, MemoryError) as exc:
        raise AgentFileError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise AgentFileError(f"{where}: incompatible or damaged agent ({type(exc).__name__}: {exc})") from None
    return trainer


def _load_module(module: torch.nn.Module, prefix: str, arrays: dict[str, np.ndarray], where: str) -> None:
    expected = module.state_dict()
    state = {}
    for key, tensor in expected.items():
        name = f"{prefix}.{key}"
        if name not in arrays:
            raise AgentFileError(f"{where}: tensor {name!r} is missing")
        array = arrays[name]
        if tuple(array.shape) != tuple(tensor.shape):
            raise AgentFileError(f"{where}: tensor {name!r} has shape {tuple(array.shape)}, the network expects "
                                 f"{tuple(tensor.shape)} (different network settings?)")
        state[key] = torch.from_numpy(np.array(array)).to(dtype=tensor.dtype)
    extra = [n for n in arrays if n.startswith(prefix + ".") and n[len(prefix) + 1:] not in expected]
    if extra:
        raise AgentFileError(f"{where}: unexpected tensor {extra[0]!r} (different network settings?)")
    module.load_state_dict(state)


def _restore(trainer, meta: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
    model = meta["model"]
    if (list(trainer.env.frame_shape) != list(model["frame_shape"]) or trainer.env.n_actions != model["n_actions"]
            or trainer.history != model["history"]):
        raise AgentFileError(f"{where}: saved for frames {model['frame_shape']} × {model['history']} and "
                             f"{model['n_actions']} actions; this environment gives {list(trainer.env.frame_shape)} × "
                             f"{trainer.history} and {trainer.env.n_actions}")
    agent = trainer.agent
    _load_module(agent.q_net, "q_net", arrays, where)
    _load_module(agent.target_net, "target_net", arrays, where)
    opt = meta["optimizer"]
    state: dict[int, dict[str, Any]] = {}
    for name, array in arrays.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = torch.from_numpy(np.array(array))   # load_state_dict moves it
    for pid, scalars in opt.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(scalars)
    params = list(agent.q_net.parameters())
    for pid, slots in state.items():
        if not 0 <= pid < len(params):
            raise AgentFileError(f"{where}: optimizer state for parameter {pid} which the network does not have")
        for key, value in slots.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                if value.shape != params[pid].shape:
                    raise AgentFileError(f"{where}: optimizer slot {key!r} of parameter {pid} has shape "
                                         f"{tuple(value.shape)}, expected {tuple(params[pid].shape)}")
                # Same memory layout as the parameter (channels-last conv weights): fused optimizers walk both
                # tensors' storage in step.
                slots[key] = torch.empty_like(params[pid], dtype=value.dtype).copy_(value)
    groups = opt["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    agent.optimizer.load_state_dict({"state": state, "param_groups": groups})
    trainer.metrics = Metrics.from_arrays({k[8:]: v for k, v in arrays.items() if k.startswith("metrics.")},
                                          meta.get("changes", []))
    c = meta["counters"]
    trainer.step, trainer.episode, trainer.updates = int(c["step"]), int(c["episode"]), int(c["updates"])
    trainer.env_steps = int(c.get("env_steps", trainer.step))      # files from before action repeat existed
    trainer.wall_seconds = float(c["wall_seconds"])
    trainer.solved_at_step, trainer.solved_at_seconds = c.get("solved_at_step"), c.get("solved_at_seconds")
    trainer.evals_done = int(c.get("evals_done", 0))
    agent.apply_config(trainer.config, trainer.learning_rate)         # the rate at the restored step
    trainer.open_stats = list(c.get("stats_acc", [0.0, 0.0, 0.0, 0]))
    last = meta.get("last_eval")
    if last:
        trainer.last_eval = ev.EvalResult(last["step"], last["episode"], last["mean"], last["std"],
                                          tuple(last["returns"]), last["threshold"], last["solved"],
                                          last.get("confirm_mean"), last.get("confirm_episodes", 0),
                                          bool(last.get("new_best", False)))
    trainer.rng.bit_generator.state = meta["rng"]["numpy"]
    torch.set_rng_state(torch.from_numpy(np.array(arrays["rng.torch"])))
    replay_meta = meta.get("replay")
    if replay_meta is not None:
        replay_arrays = {k[7:]: v for k, v in arrays.items() if k.startswith("replay.")}
        try:
            trainer.replay.check_state(replay_meta, replay_arrays)
        except ValueError as exc:
            raise AgentFileError(f"{where}: {exc}") from None
        trainer.replay.load_state(replay_meta, replay_arrays)
    env_arrays = {k[4:]: v for k, v in arrays.items() if k.startswith("env.")}
    restored = False
    if c.get("episode_open") and replay_meta is not None:
        restored = trainer.env.restore(meta["env"], env_arrays)
    if restored:
        trainer.episode_open = True
        trainer.episode_step, trainer.episode_return = int(c["episode_step"]), float(c["episode_return"])
    else:
        # Without the replay memory (or an env whose state cannot be captured) the open episode cannot continue
        # exactly: the next run starts a fresh one.
        trainer.env.restore({**meta["env"], "restorable": False}, env_arrays)
        trainer.episode_open = False
        trainer.episode_step, trainer.episode_return = 0, 0.0
