"""Replay memory: a preallocated ring of single frames, each stored once, on the training device.

Slot i holds the frame o_i and, once the next frame is known, the transition taken from it (a_i, r_i, flags). An
episode of T steps uses T+1 slots: its last frame has no transition (`valid` False), which is how next-states are
found without a second copy. Stacks are assembled at sample time by index arithmetic and never reach back across
an episode start or past the oldest frame still in the ring.

With several envs stepped together (`streams` = N), each vector step writes exactly one frame per env, in env order,
so env e's frames sit at slots e, e+N, e+2N, …: a frame's predecessor is N slots back, its successor N slots on,
and the same arithmetic serves one env (N = 1) and many.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from dqn_core.device import to_device
from dqn_core.learning.sumtree import SumTree

SAMPLE_CHUNK_BYTES = 32 << 20      # observations drawn at once for a run of uniform updates (see sample_batches)


class ReplayMemoryError(MemoryError):
    """The requested replay memory cannot fit; the message gives the sizes."""


@dataclass
class Batch:
    obs: torch.Tensor            # (B, input_frames·C, H, W) uint8, or (B, input_frames·D) float32
    actions: torch.Tensor        # (B,) int64
    returns: torch.Tensor        # (B,) float32: n-step discounted reward sum
    discounts: torch.Tensor      # (B,) float32: γ^n, or 0 where the episode terminated inside the n steps
    next_obs: torch.Tensor
    indices: np.ndarray
    weights: torch.Tensor | None = None   # (B,) importance weights (prioritized replay), else None

    def rows(self, lo: int, hi: int) -> Batch:
        """Transitions lo…hi−1 of this batch (views, no copies)."""
        return Batch(self.obs[lo:hi], self.actions[lo:hi], self.returns[lo:hi], self.discounts[lo:hi],
                     self.next_obs[lo:hi], self.indices[lo:hi], None if self.weights is None else self.weights[lo:hi])


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def available_memory(device: torch.device) -> int | None:
    """Bytes the replay memory may use on `device`, or None when unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


SCALAR_BYTES_PER_SLOT = 8 + 4 + 4  # action, reward, four flags


def estimate_bytes(capacity: int, frame_shape: tuple[int, ...], frame_dtype: np.dtype) -> int:
    return capacity * (math.prod(frame_shape) * np.dtype(frame_dtype).itemsize + SCALAR_BYTES_PER_SLOT)


class ReplayMemory:
    """Ring buffer of frames and transitions.

    :param input_frames: frames per observation (stack size; 2 for a difference; 1 for state vectors).
    :param gap: the stream's steps between an observation's frames (`frame_gap`).
    """

    def __init__(self, capacity: int, frame_shape: tuple[int, ...], frame_dtype: np.dtype, input_frames: int,
                 device: torch.device, check_memory: bool = True, prioritized: bool = False, streams: int = 1,
                 gap: int = 1) -> None:
        if capacity < 2 * streams or capacity % streams:
            raise ValueError(f"replay_capacity must be a multiple of num_envs = {streams} and at least {2 * streams}")
        self.capacity = capacity
        self.streams = streams
        self.frame_shape = tuple(frame_shape)
        self.frame_dtype = np.dtype(frame_dtype)
        self.input_frames = input_frames
        self.gap = gap
        self.device = device
        need = estimate_bytes(capacity, self.frame_shape, self.frame_dtype)
        have = available_memory(device) if check_memory else None
        if have is not None and need > 0.8 * have:
            shape = "×".join(str(s) for s in self.frame_shape)
            raise ReplayMemoryError(
                f"replay_capacity = {capacity} needs {format_bytes(need)} on {device.type} ({shape} "
                f"{self.frame_dtype.name} frames), but only {format_bytes(have)} is available; lower replay_capacity "
                f"to at most {int(0.8 * have / max(1, need / capacity))}")
        torch_dtype = torch.uint8 if self.frame_dtype == np.uint8 else torch.float32
        self.frames = torch.empty((capacity, *self.frame_shape), dtype=torch_dtype, device=device)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.truncated = np.zeros(capacity, dtype=bool)
        self.valid = np.zeros(capacity, dtype=bool)          # slot holds a complete transition
        self.episode_start = np.zeros(capacity, dtype=bool)
        # Prioritized replay: a sum tree of priorities (0 for slots without a complete transition).
        self.priorities = SumTree(capacity) if prioritized else None
        self.max_priority = 1.0
        self.cursor = 0                                      # next slot to write
        self.size = 0                                        # slots written, ≤ capacity
        self.transitions = 0                                 # valid slots

    def __len__(self) -> int:
        return self.transitions

    @property
    def nbytes(self) -> int:
        return estimate_bytes(self.capacity, self.frame_shape, self.frame_dtype)

    # ---- writing -----------------------------------------------------------------------------------------------
    def _write_frame(self, frame: np.ndarray, episode_start: bool) -> None:
        i = self.cursor
        if self.valid[i]:
            self.transitions -= 1
            if self.priorities is not None:
                self.priorities.set(np.array([i]), np.zeros(1))
        self.valid[i] = False
        self.episode_start[i] = episode_start
        self.frames[i].copy_(to_device(np.asarray(frame, dtype=self.frame_dtype), self.device), non_blocking=True)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_first(self, frame: np.ndarray) -> None:
        """Store the first frame of an episode."""
        self._write_frame(frame, episode_start=True)

    def add_step(self, action: int, reward: float, terminated: bool, truncated: bool, next_frame: np.ndarray) -> None:
        """Complete the transition from this stream's newest frame and store the frame it led to."""
        prev = (self.cursor - self.streams) % self.capacity
        self._write_frame(next_frame, episode_start=False)
        self.actions[prev] = action
        self.rewards[prev] = reward
        self.terminated[prev] = terminated
        self.truncated[prev] = truncated
        self.valid[prev] = True
        self.transitions += 1
        if self.priorities is not None:           # new transitions are seen at least once: the highest priority
            self.priorities.set(np.array([prev]), np.array([self.max_priority]))

    # ---- reading -----------------------------------------------------------------------------------------------
    def _oldest_of_stream(self, idx: np.ndarray) -> np.ndarray:
        """Whether slot `idx` holds the oldest frame its stream still has (nothing before it may be stacked)."""
        oldest = self.cursor if self.size == self.capacity else 0
        return (idx - oldest) % self.capacity < self.streams

    def stack_indices(self, idx: np.ndarray) -> np.ndarray:
        """(B, input_frames) slots for observations ending at `idx`, `gap` steps of the stream apart; before an episode's
        start its first frame repeats (as the env does)."""
        h = self.input_frames
        out = np.empty((len(idx), h), dtype=np.int64)
        out[:, h - 1] = idx
        cur = idx.copy()
        blocked = self.episode_start[cur] | self._oldest_of_stream(cur)
        for j in range(h - 2, -1, -1):
            for _ in range(self.gap):
                cur = np.where(blocked, cur, (cur - self.streams) % self.capacity)
                blocked |= self.episode_start[cur] | self._oldest_of_stream(cur)
            out[:, j] = cur
        return out

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform over complete transitions (with replacement), by rejection: almost every slot is valid."""
        if self.transitions == 0:
            raise ValueError("the replay memory holds no transition yet")
        picked = rng.integers(0, self.size, size=batch_size)
        bad = ~self.valid[picked]
        while bad.any():
            picked[bad] = rng.integers(0, self.size, size=int(bad.sum()))
            bad = ~self.valid[picked]
        return picked

    def sample(self, batch_size: int, rng: np.random.Generator, gamma: float, n_step: int = 1,
               beta: float = 1.0) -> Batch:
        if self.priorities is None:
            return self.gather(self.sample_indices(batch_size, rng), gamma, n_step)
        idx = self.priorities.sample(batch_size, rng)
        bad = ~self.valid[idx]                      # float round-off at a boundary can land on an empty slot
        if bad.any():
            idx[bad] = self.sample_indices(int(bad.sum()), rng)
        probs = self.priorities.get(idx) / self.priorities.total
        weights = (self.transitions * np.maximum(probs, 1e-12)) ** -beta
        batch = self.gather(idx, gamma, n_step)
        batch.weights = to_device((weights / weights.max()).astype(np.float32), self.device)
        return batch

    def sample_batches(self, count: int, batch_size: int, rng: np.random.Generator, gamma: float, n_step: int = 1,
                       beta: float = 1.0) -> Iterator[Batch]:
        """Batches for `count` updates in a row with nothing stored between them, drawn lazily.

        Uniform batches are drawn together, as many per gather as fit in SAMPLE_CHUNK_BYTES: the same distribution
        as one draw per update, without the per-draw Python and indexing cost (which was ~10 % of a `zoo-state`
        update). Prioritized batches are drawn one at a time, since each update changes the priorities."""
        if self.priorities is not None:
            for _ in range(count):
                yield self.sample(batch_size, rng, gamma, n_step, beta)
            return
        per_batch = 2 * batch_size * self.input_frames * self.frames[0].nbytes
        chunk = max(1, min(count, SAMPLE_CHUNK_BYTES // max(1, per_batch)))
        for first in range(0, count, chunk):
            n = min(chunk, count - first)
            drawn = self.sample(n * batch_size, rng, gamma, n_step)
            for k in range(n):
                yield drawn.rows(k * batch_size, (k + 1) * batch_size)

    def update_priorities(self, idx: np.ndarray, td_errors: np.ndarray, alpha: float, eps: float = 1e-6) -> None:
        """After an update: priority = (|TD error| + ε)^α for the sampled slots that still hold them."""
        if self.priorities is None:
            return
        priorities = (np.abs(td_errors) + eps) ** alpha
        keep = self.valid[idx]
        if keep.any():
            self.priorities.set(idx[keep], priorities[keep])
            self.max_priority = max(self.max_priority, float(priorities[keep].max()))

    def gather(self, idx: np.ndarray, gamma: float, n_step: int = 1) -> Batch:
        """Batch of n-step transitions starting at slots `idx`; an n-step run stops at the episode's end."""
        returns = np.zeros(len(idx), dtype=np.float64)
        discount = np.ones(len(idx), dtype=np.float64)
        last = idx.copy()
        alive = np.ones(len(idx), dtype=bool)
        ended = np.zeros(len(idx), dtype=bool)
        terminated = np.zeros(len(idx), dtype=bool)
        for k in range(n_step):
            j = (idx + k * self.streams) % self.capacity
            if k:
                alive &= ~ended & self.valid[j]
            returns += np.where(alive, discount * self.rewards[j], 0.0)
            discount = np.where(alive, discount * gamma, discount)
            last = np.where(alive, j, last)
            terminated = np.where(alive, self.terminated[j], terminated)
            ended = np.where(alive, self.terminated[j] | self.truncated[j], ended)
        next_idx = (last + self.streams) % self.capacity
        discount = np.where(terminated, 0.0, discount)
        return Batch(obs=self._frames_at(self.stack_indices(idx)),
                     actions=to_device(self.actions[idx], self.device),
                     returns=to_device(returns.astype(np.float32), self.device),
                     discounts=to_device(discount.astype(np.float32), self.device),
                     next_obs=self._frames_at(self.stack_indices(next_idx)),
                     indices=idx)

    def _frames_at(self, stack_idx: np.ndarray) -> torch.Tensor:
        b, h = stack_idx.shape
        flat = to_device(stack_idx.reshape(-1), self.device)
        frames = self.frames.index_select(0, flat)
        if len(self.frame_shape) == 3:                   # (B, h·C, H, W)
            c, hh, ww = self.frame_shape
            return frames.view(b, h * c, hh, ww)
        return frames.view(b, -1)

    # ---- persistence -------------------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray | torch.Tensor]]:
        n = self.size
        meta = {"capacity": self.capacity, "cursor": self.cursor, "size": n, "transitions": self.transitions,
                "frame_shape": list(self.frame_shape), "frame_dtype": self.frame_dtype.name, "history": self.input_frames,
                "streams": self.streams}
        # The frames stay a tensor (on the training device): the agent file streams them in pieces, never copying
        # the whole memory.
        arrays = {"frames": self.frames[:n], "actions": self.actions[:n], "rewards": self.rewards[:n],
                  "terminated": self.terminated[:n], "truncated": self.truncated[:n], "valid": self.valid[:n],
                  "episode_start": self.episode_start[:n]}
        if self.priorities is not None:
            arrays["priorities"] = self.priorities.get(np.arange(n))
            meta["max_priority"] = self.max_priority
        return meta, arrays

    def load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore a saved memory; the caller has checked shapes with `check_state`."""
        n = int(meta["size"])
        self.frames[:n].copy_(torch.from_numpy(np.ascontiguousarray(arrays["frames"])))
        for name in ("actions", "rewards", "terminated", "truncated", "valid", "episode_start"):
            getattr(self, name)[:n] = arrays[name]
        self.cursor, self.size, self.transitions = int(meta["cursor"]), n, int(meta["transitions"])
        if self.priorities is not None:
            saved = arrays.get("priorities")
            if saved is not None and saved.shape == (n,):
                self.priorities.set(np.arange(n), np.where(self.valid[:n], saved, 0.0))
            else:                                # saved without priorities: every transition starts equal
                self.priorities.set(np.arange(n), self.valid[:n].astype(np.float64))
            self.max_priority = float(meta.get("max_priority", 1.0))

    def check_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Raise ValueError unless a saved memory fits this one."""
        n = int(meta.get("size", -1))
        if not 0 <= n <= self.capacity or not 0 <= int(meta.get("cursor", -1)) < self.capacity:
            raise ValueError(f"replay size {n} does not fit capacity {self.capacity}")
        if int(meta.get("streams", 1)) != self.streams:
            raise ValueError(f"the replay memory was filled by {meta.get('streams')} envs at a time; this run has "
                             f"num_envs = {self.streams}")
        want = {"frames": ((n, *self.frame_shape), self.frame_dtype), "actions": ((n,), np.int64),
                "rewards": ((n,), np.float32), "terminated": ((n,), bool), "truncated": ((n,), bool),
                "valid": ((n,), bool), "episode_start": ((n,), bool)}
        for name, (shape, dtype) in want.items():
            arr = arrays.get(name)
            if arr is None or arr.shape != shape or arr.dtype != np.dtype(dtype):
                got = "missing" if arr is None else f"{arr.shape} {arr.dtype}"
                raise ValueError(f"replay array {name!r} is {got}, expected {shape} {np.dtype(dtype).name}")
        if int(arrays["valid"].sum()) != int(meta.get("transitions", -1)):
            raise ValueError("replay transition count does not match its valid flags")
