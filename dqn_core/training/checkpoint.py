"""Agents to and from files (.dqn; the format and its checked reading are `agentfile`'s): no pickle anywhere.

Saving writes a temporary file beside the target and renames it over, so an interrupted save leaves the previous
file intact; arrays are streamed in pieces, so a save never copies the replay memory. Loading checks the whole file
and builds a new `Trainer` from it; any problem raises `AgentFileError` naming the file, and nothing that already
exists is touched.
"""
from __future__ import annotations

import json
import math
import platform
import time
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch

from dqn_core import __version__
from dqn_core.training import events as ev
from dqn_core.agentfile.read import (CHUNK_BYTES, FORMAT, META, VERSION, AgentArchive, AgentFileError, Dim,  # noqa: F401
                        LoadCancelled)
from dqn_core.config import ConfigError, TrainConfig
from dqn_core.fileio import atomic_writer
from dqn_core.training.metrics import EPISODE_COLUMNS, EVAL_COLUMNS, STATS_COLUMNS, Metrics

# ---- saving ------------------------------------------------------------------------------------------------------


def save_agent(trainer, path: str | Path, include_replay: bool = False, best: bool = False) -> int:
    """Write `trainer` to `path` atomically; return the file size in bytes.

    With `best`, write the agent as it was at its best-scoring evaluation (`trainer.best_state`; never with the
    replay memory, which has moved on since). Arrays are streamed into the zip in 4 MiB pieces, so saving a
    replay memory costs about 10 MiB beyond the memory itself, not a second copy of it."""
    if best:
        if trainer.best_state is None:
            raise ValueError("there is no best agent yet: it is kept at each greedy evaluation (eval_every)")
        meta, arrays = trainer.best_state
        meta = dict(meta, saved_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    else:
        meta, arrays = agent_state(trainer, include_replay)
    meta["arrays"] = {name: {"shape": list(a.shape), "dtype": _dtype_of(a).str} for name, a in arrays.items()}
    with atomic_writer(path) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(META, json.dumps(meta, indent=1, allow_nan=True))
            for name, array in arrays.items():
                with zf.open(f"arrays/{name}.npy", "w", force_zip64=True) as member:
                    write_npy(member, array)
    return Path(path).stat().st_size


def save_recovery(trainer, include_replay: bool = False) -> tuple[Path | None, str]:
    """Save the agent where it can be written when its own target failed or an interrupt left it unsaved: the data
    folder's `recovery`, else the system's temporary folder. Returns (path, "") or (None, why it failed)."""
    from dqn_core.paths import recovery_candidates

    name = f"{trainer.config.env_id.replace('/', '_')}-step{trainer.step}-{time.strftime('%Y%m%d-%H%M%S')}.dqn"
    errors = []
    for folder in recovery_candidates():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            save_agent(trainer, folder / name, include_replay=include_replay)
            return folder / name, ""
        except (OSError, ValueError) as exc:
            errors.append(f"{folder}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
    return None, "; ".join(errors)


def _dtype_of(array: np.ndarray | torch.Tensor) -> np.dtype:
    if isinstance(array, torch.Tensor):
        return np.dtype(str(array.dtype).removeprefix("torch.").replace("bool", "bool_"))
    return array.dtype


def write_npy(handle: BinaryIO, array: np.ndarray | torch.Tensor) -> None:
    """One array in .npy format, written in CHUNK_BYTES pieces (a tensor on a GPU is copied piece by piece)."""
    dtype = _dtype_of(array)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(array.shape)}
    np.lib.format.write_array_header_2_0(handle, header)
    rows = array.shape[0] if array.ndim else 1
    row_bytes = max(1, (math.prod(array.shape[1:]) if array.ndim else 1) * dtype.itemsize)
    step = max(1, CHUNK_BYTES // row_bytes)
    flat = array.reshape(1) if array.ndim == 0 else array
    for first in range(0, rows, step):
        piece = flat[first:first + step]
        if isinstance(piece, torch.Tensor):
            piece = piece.detach().cpu().numpy()
        handle.write(memoryview(np.ascontiguousarray(piece)).cast("B"))


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


METRICS_SLACK_BYTES = 256 << 20   # episodes, statistics and evaluations of a very long run fit in this


def allowed_arrays(trainer) -> tuple[dict[str, tuple[tuple[Dim, ...], ...]], int]:
    """The arrays an agent file for `trainer` may hold (name → allowed shapes) and how many bytes they may take."""
    from dqn_core.learning.replay import estimate_bytes

    allowed: dict[str, tuple[tuple[Dim, ...], ...]] = {}
    budget = METRICS_SLACK_BYTES
    for prefix, module in (("q_net", trainer.agent.q_net), ("target_net", trainer.agent.target_net)):
        for key, tensor in module.state_dict().items():
            allowed[f"{prefix}.{key}"] = (tuple(tensor.shape),)
            budget += tensor.numel() * 8
    slots = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "momentum_buffer", "grad_avg", "step")
    for pid, param in enumerate(trainer.agent.q_net.parameters()):
        for slot in slots:
            allowed[f"optim.{pid}.{slot}"] = (tuple(param.shape), ())
            budget += param.numel() * 8
    for table, columns in (("episodes", EPISODE_COLUMNS), ("stats", STATS_COLUMNS), ("evals", EVAL_COLUMNS)):
        for column in columns:
            allowed[f"metrics.{table}.{column}"] = ((None,),)
    allowed["rng.torch"] = ((None,),)
    frame, history = tuple(trainer.env.frame_shape), trainer.history
    from dqn_core.envs.observed import window_length          # a trainer exists, so its environments are loaded already
    allowed["env.frames"] = ((window_length(trainer.config), *frame),)
    allowed["env.state"] = ((None,),)
    replay = trainer.replay
    slots = range(replay.capacity + 1)
    allowed["replay.frames"] = ((slots, *frame),)
    for column in ("actions", "rewards", "terminated", "truncated", "valid", "episode_start", "priorities"):
        allowed[f"replay.{column}"] = ((slots,),)
    budget += 2 * estimate_bytes(replay.capacity, frame, np.dtype(np.float32)) + history * math.prod(frame) * 4
    return allowed, budget


def load_agent(path: str | Path, device: str | None = None, auto_threads: int | None = None,
               progress: Callable[[float], bool] | None = None):
    """Build a new Trainer from an agent file. Raises AgentFileError (or LoadCancelled, when `progress` returns
    False) and leaves everything else untouched.

    :param device: override the saved device ("auto", "cpu", "cuda"); a CUDA agent opens on the CPU when no GPU is
        available.
    :param progress: called with the fraction read so far; returning False cancels.
    """
    where = str(path)
    with AgentArchive(path) as archive:
        meta = archive.read_meta()
        planned = archive.plan(meta["arrays"])
        config_values = meta.get("config")
        if not isinstance(config_values, dict):
            raise AgentFileError(f"{where}: its config is missing or not a table")
        try:
            config = TrainConfig.from_dict(config_values)
        except ConfigError as exc:
            raise AgentFileError(f"{where}: its config is invalid: {exc}") from None
        from dqn_core.training.trainer import Trainer     # environments and networks: only for a file that passed the checks above

        if device is not None:
            config = config.replace(device=device)
        elif config.device == "cuda" and not torch.cuda.is_available():
            config = config.replace(device="auto")
        try:
            trainer = Trainer(config, auto_threads=auto_threads)
        except (ConfigError, MemoryError) as exc:
            raise AgentFileError(f"{where}: {exc}") from None
        except (ValueError, RuntimeError, OSError) as exc:
            raise AgentFileError(f"{where}: its environment cannot be made ({type(exc).__name__}: {exc})") from None
        _check_model(trainer, meta, where)
        allowed, budget = allowed_arrays(trainer)
        arrays = archive.read_arrays(planned, allowed, budget, progress)
    try:
        _restore(trainer, meta, arrays, where)
    except AgentFileError:
        raise
    except (ConfigError, MemoryError) as exc:
        raise AgentFileError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        raise AgentFileError(f"{where}: incompatible or damaged agent ({type(exc).__name__}: {exc})") from None
    return trainer


def _check_model(trainer, meta: dict[str, Any], where: str) -> None:
    model = meta.get("model")
    if not isinstance(model, dict):
        raise AgentFileError(f"{where}: the network description is missing")
    if (list(trainer.env.frame_shape) != model.get("frame_shape") or trainer.env.n_actions != model.get("n_actions")
            or trainer.history != model.get("history")):
        raise AgentFileError(f"{where}: saved for frames {model.get('frame_shape')} × {model.get('history')} and "
                             f"{model.get('n_actions')} actions; this environment gives {list(trainer.env.frame_shape)} "
                             f"× {trainer.history} and {trainer.env.n_actions}")


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
    # Exact resume is for one env: with several, every env starts a new episode (its frames still one per step).
    if c.get("episode_open") and replay_meta is not None and trainer.num_envs == 1:
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
