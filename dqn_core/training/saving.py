"""A trainer's agent as plain state, and written to an agent file (the format is `agentfile`'s).

`capture` gives what a file keeps — a JSON-ready dict and named arrays, no pickle anywhere — and the agent-file
writer takes it as it is; the trainer's own counters come from `counters`. Nothing here imports the trainer.
"""
from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dqn_core import __version__
from dqn_core.agentfile.read import FORMAT, VERSION
from dqn_core.agentfile.write import write_agent_file
from dqn_core.paths import recovery_candidates
from dqn_core.training.events import EvalResult


def _tensor_arrays(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": v.detach().cpu().numpy() for k, v in state.items()}


def eval_to_dict(last: EvalResult | None) -> dict[str, Any] | None:
    return None if last is None else {
        "step": last.step, "episode": last.episode, "mean": last.mean_return, "std": last.std_return,
        "returns": list(last.returns), "threshold": last.threshold, "solved": last.solved,
        "confirm_mean": last.confirm_mean, "confirm_episodes": last.confirm_episodes, "new_best": last.new_best}


def counters(trainer) -> dict[str, Any]:
    """The trainer's counters and its first env's open episode (exact resume is for one env), as plain values."""
    t = trainer
    return {"step": t.step, "env_steps": t.env_steps, "episode": t.episode, "updates": t.updates,
            "episode_step": t.episode_steps[0], "episode_return": t.episode_returns[0],
            "episode_open": t.episodes_open[0], "wall_seconds": t.wall_seconds,
            "solved_at_step": t.solved_at_step, "solved_at_seconds": t.solved_at_seconds,
            "evals_done": t.evals_done, "stats_acc": t.open_row.state()}


def capture(trainer, include_replay: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The agent of `trainer` as (meta, arrays): networks, optimizer, metrics, RNGs, the env's recent frames, the
    counters and, with `include_replay`, the replay memory. CPU arrays share the live tensors' memory."""
    agent = trainer.agent
    arrays: dict[str, np.ndarray] = {}
    arrays.update(_tensor_arrays("q_net", agent.q_net.state_dict()))
    arrays.update(_tensor_arrays("target_net", agent.target_net.state_dict()))
    opt_state = agent.optimizer.state_dict()
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
    meta = {
        "format": FORMAT, "version": VERSION, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "software": {"dqn_studio": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "config": trainer.config.to_dict(),
        "model": {"frame_shape": list(trainer.env.frame_shape), "history": trainer.input_frames,
                  "n_actions": trainer.env.n_actions},
        "counters": counters(trainer),
        "last_eval": eval_to_dict(trainer.last_eval),
        "optimizer": {"param_groups": opt_state["param_groups"], "scalars": opt_scalars},
        "rng": {"numpy": trainer.rng.bit_generator.state},
        "env": env_meta,
        "replay": replay_meta,
        "changes": trainer.metrics.changes,
    }
    return meta, arrays


def save_agent(trainer, path: str | Path, include_replay: bool = False, best: bool = False) -> int:
    """Write `trainer`'s agent to `path` atomically; return the file size in bytes.

    With `best`, write the agent as it was at its best-scoring evaluation (never with the replay memory, which has
    moved on since)."""
    if best:
        if trainer.best.state is None:
            raise ValueError("there is no best agent yet: it is kept at each greedy evaluation (eval_every)")
        meta, arrays = trainer.best.state
        meta = dict(meta, saved_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    else:
        meta, arrays = capture(trainer, include_replay)
    return write_agent_file(path, meta, arrays)


def save_recovery(trainer, include_replay: bool = False) -> tuple[Path | None, str]:
    """Save the agent where it can be written when its own target failed or an interrupt left it unsaved: the data
    folder's `recovery`, else the system's temporary folder. Returns (path, "") or (None, why it failed)."""
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
