"""Loading an agent file into a new `Trainer`: the file is read and checked by `agentfile` (bounded, numpy only),
the trainer is built from its config, every array is checked against that trainer's shapes, and only then is
anything restored. Any problem raises `AgentFileError` naming the file, and nothing that already exists is touched.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from dqn_core.agentfile.read import AgentArchive, AgentFileError, Dim
from dqn_core.config import ConfigError, TrainConfig
from dqn_core.envs.observed import window_length
from dqn_core.learning.replay import estimate_bytes
from dqn_core.training.events import EvalResult
from dqn_core.training.metrics import EPISODE_COLUMNS, EVAL_COLUMNS, STATS_COLUMNS, Metrics
from dqn_core.training.trainer import Trainer

METRICS_SLACK_BYTES = 256 << 20   # episodes, statistics and evaluations of a very long run fit in this


def allowed_arrays(trainer) -> tuple[dict[str, tuple[tuple[Dim, ...], ...]], int]:
    """The arrays an agent file for `trainer` may hold (name → allowed shapes) and how many bytes they may take."""
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
    frame, input_frames = tuple(trainer.env.frame_shape), trainer.input_frames
    allowed["env.frames"] = ((window_length(trainer.config), *frame),)
    allowed["env.state"] = ((None,),)
    replay = trainer.replay
    slots = range(replay.capacity + 1)
    allowed["replay.frames"] = ((slots, *frame),)
    for column in ("actions", "rewards", "terminated", "truncated", "valid", "episode_start", "priorities"):
        allowed[f"replay.{column}"] = ((slots,),)
    budget += 2 * estimate_bytes(replay.capacity, frame, np.dtype(np.float32)) + input_frames * math.prod(frame) * 4
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
            or trainer.input_frames != model.get("history")):
        raise AgentFileError(f"{where}: saved for frames {model.get('frame_shape')} × {model.get('history')} and "
                             f"{model.get('n_actions')} actions; this environment gives {list(trainer.env.frame_shape)} "
                             f"× {trainer.input_frames} and {trainer.env.n_actions}")


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
    metrics = Metrics.from_arrays({k[8:]: v for k, v in arrays.items() if k.startswith("metrics.")},
                                  meta.get("changes", []))
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
    counters = meta["counters"]
    restored = False
    # Exact resume is for one env: with several, every env starts a new episode (its frames still one per step).
    if counters.get("episode_open") and replay_meta is not None and trainer.num_envs == 1:
        restored = trainer.env.restore(meta["env"], env_arrays)
    if not restored:
        # Without the replay memory (or an env whose state cannot be captured) the open episode cannot continue
        # exactly: the next run starts a fresh one.
        trainer.env.restore({**meta["env"], "restorable": False}, env_arrays)
    restore_counters(trainer, counters, metrics, eval_from_dict(meta.get("last_eval")), episode_continues=restored)


def eval_from_dict(last: dict[str, Any] | None) -> EvalResult | None:
    if not last:
        return None
    return EvalResult(last["step"], last["episode"], last["mean"], last["std"], tuple(last["returns"]),
                      last["threshold"], last["solved"], last.get("confirm_mean"), last.get("confirm_episodes", 0),
                      bool(last.get("new_best", False)))


def restore_counters(trainer, counters: dict[str, Any], metrics: Metrics, last_eval: Any,
                     episode_continues: bool) -> None:
    """Give `trainer` the counters an agent file kept (older files may lack some), its metrics and last evaluation;
    with `episode_continues` the first env's open episode goes on, else the next run starts a fresh one."""
    t, c = trainer, counters
    t.step, t.episode, t.updates = int(c["step"]), int(c["episode"]), int(c["updates"])
    t.env_steps = int(c.get("env_steps", t.step))        # files from before action repeat existed
    t.wall_seconds = float(c["wall_seconds"])
    t.solved_at_step, t.solved_at_seconds = c.get("solved_at_step"), c.get("solved_at_seconds")
    t.evals_done = int(c.get("evals_done", 0))
    t.open_row.restore(list(c.get("stats_acc", [0.0, 0.0, 0.0, 0])))
    t.metrics, t.last_eval = metrics, last_eval
    t.episodes_open[0] = episode_continues
    t.episode_steps[0] = int(c["episode_step"]) if episode_continues else 0
    t.episode_returns[0] = float(c["episode_return"]) if episode_continues else 0.0
    t.agent.apply_config(t.config, t.learning_rate)        # the rate at the restored step
