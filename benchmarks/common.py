"""Shared helpers: result files, tables, machine description."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What a timing was measured on. Two machines both called "AMD EPYC" differed ~4× in an Atari update's time
    (AVX-512 and clock against AVX2 at 2 GHz), so the description carries the vector unit torch's kernels use and one
    core's measured matrix-multiply rate: times from different machines compare through it."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "vector_unit": torch.backends.cpu.get_cpu_capability(), "matmul_gflops_one_core": matmul_gflops(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date": time.strftime("%Y-%m-%d %H:%M")}


def matmul_gflops(size: int = 512, seconds: float = 0.3) -> float:
    """One core's float32 matrix-multiply rate in GFLOP/s, what a convolutional network's update scales with;
    measured as the results are written, so it reads low on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = torch.randn(size, size)
        a @ a
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ a
            count += 1
        return round(count * 2 * size ** 3 / (time.perf_counter() - start) / 1e9, 1)
    finally:
        torch.set_num_threads(threads)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """results/<name>.json: the data and the machine it was measured on (measured now unless the data carries it)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data if "machine" in data else {"machine": machine(), **data}, indent=2) + "\n")
    return path


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [[f"{c:,.2f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def busy_core(active: bool = True):
    """While active, another process spins on one core: the share a window drawing at 30 fps takes."""
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if active else None
    try:
        yield
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
