from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

# A fresh process times a few updates of the lecture's net at batch 128 and prints the page faults per update.
_FAULTS_PER_UPDATE = textwrap.dedent("""
    import resource, sys
    import numpy as np, torch
    from dqn_core.learning.agent import DQNAgent
    from dqn_core.device import reuse_freed_memory
    from dqn_core.presets import load_preset
    from dqn_core.learning.replay import ReplayMemory

    if sys.argv[1] == "reuse":
        assert reuse_freed_memory()
    torch.set_num_threads(1)
    cfg = load_preset("seed-pixels")
    agent = DQNAgent(cfg, (3, 40, 90), 2, 2, torch.device("cpu"))
    memory = ReplayMemory(1000, (3, 40, 90), np.uint8, 2, torch.device("cpu"))
    rng = np.random.default_rng(0)
    memory.add_first(rng.integers(0, 255, (3, 40, 90), dtype=np.uint8))
    for i in range(300):
        memory.add_step(i % 2, 1.0, False, False, rng.integers(0, 255, (3, 40, 90), dtype=np.uint8))
    for _ in range(10):
        agent.update(memory.sample(128, rng, cfg.gamma))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(8):
        agent.update(memory.sample(128, rng, cfg.gamma))
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 8)
""")


def faults_per_update(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", _FAULTS_PER_UPDATE, mode], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_updates_reuse_freed_memory_instead_of_faulting_pages_back_in():
    # An update allocates tens of MiB of activations; without the setting glibc hands much of it back and faults it
    # in again on the next update (measured: 4,500–7,800 page faults per update, ~20 % of its time on a 2-core
    # machine); with it, 0 on most runs and up to ~170 where the heap still grows.
    assert faults_per_update("reuse") < 1000
