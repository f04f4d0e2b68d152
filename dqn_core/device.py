"""Choosing and describing the compute device, and the CPU thread count."""
from __future__ import annotations

import ctypes
import os
import platform
from contextlib import contextmanager

import numpy as np
import torch

from dqn_core.config import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "CUDA is not available on this machine; use 'auto' or 'cpu'")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return f"cpu ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''})"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_threads() -> int:
    """Torch threads when the config says 0 (auto): half the cores. Two busy threads on cores that another program
    also uses stall each other (measured: a `zoo-state` run 8× slower beside one busy core with 2 threads on 2 cores,
    unchanged with 1), while half the cores still leaves room for the window, evaluation and whatever else runs."""
    return max(1, cpu_count() // 2)


def set_threads(requested: int, automatic: int | None = None) -> int:
    """Apply the torch intra-op thread count: `requested`, or `automatic` (default: `default_threads()`) when it
    is 0."""
    count = requested or automatic or default_threads()
    count = max(1, min(count, 64))
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


# glibc's mallopt(3) parameters, and the values the engine uses.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20          # the largest glibc accepts on 64-bit systems
_TRIM_THRESHOLD = 512 << 20
_freed_memory_reused: bool | None = None


def reuse_freed_memory() -> bool:
    """Make glibc's malloc keep freed blocks of up to 32 MiB for reuse instead of handing them back to the kernel.

    One update of a conv net at batch 128 allocates and frees tens of megabytes of activations. By default glibc
    serves such blocks with fresh `mmap` pages, or trims them off the heap when freed, so the next update faults every
    page back in: measured here, 2,300–8,300 page faults and up to +10 ms (≈ +20 %) per update of the lecture's net,
    depending on the allocator's state. With these two settings the same update takes 0–25 faults. PyTorch's CPU tuning guide gives
    the same advice (a caching allocator such as jemalloc); this needs no preload. The cost: memory freed after a peak
    stays with the process (up to 512 MiB is kept before any is returned). Applies to the whole process, once;
    returns whether the settings took (False off glibc)."""
    global _freed_memory_reused
    if _freed_memory_reused is None:
        _freed_memory_reused = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            _freed_memory_reused = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
                                        and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _freed_memory_reused


@contextmanager
def one_thread():
    """Torch on one intra-op thread for a while: small batched inference gains nothing from a second thread and, on
    a machine whose other core is busy, loses up to 10× to it (measured: 100 greedy CartPole episodes 0.75 s vs 12 s)."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A host array as a tensor on `device`, without waiting for the GPU.

    A copy from ordinary (pageable) host memory makes CUDA wait for the stream's queued work first, so every batch
    upload would stall the host until the previous update finished. Staged through page-locked memory the copy is
    queued like a kernel; torch's pinned-memory cache keeps each staging block until its copy has run. On the CPU the
    array is shared, not copied."""
    tensor = torch.from_numpy(array)
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)
