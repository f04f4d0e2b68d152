"""Optimisation steps per second for the lecture's net at batch 128: the lecture's update vs ours, in one run,
with achieved GFLOP/s against a plain matmul ceiling measured in the same run and thread count; also with a busy
process competing for a core (the window's share), which is what the engine's thread default is chosen from.

    python -m benchmarks.update [--seconds 6]

Both run in one process under the engine's allocator settings (`dqn_core.device.reuse_freed_memory`, which a
`Trainer` applies), so neither pays page faults the other does not.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from benchmarks.common import busy_core, table, write_results


def rate(fn, seconds: float, sync=None) -> float:
    """Calls per second of `fn`. With `sync` (e.g. torch.cuda.synchronize), only work the device has finished counts."""
    for _ in range(3):
        fn()                                        # warm-up: first calls allocate, import, pick kernels
    if sync:
        sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    if sync:
        sync()
    return count / (time.perf_counter() - start)


def matmul_gflops(seconds: float) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return rate(lambda: torch.mm(a, b), seconds) * 2 * 1024 ** 3 / 1e9


def lecture_update(device: torch.device | str = "cpu", batch_size: int = 128):
    """The lecture's update as a callable, its networks and replay memory (2,000 transitions) on `device`."""
    from benchmarks import reference as ref

    torch.manual_seed(0)
    policy, target = ref.DQN(40, 90, 2).to(device), ref.DQN(40, 90, 2).to(device)
    target.load_state_dict(policy.state_dict())
    target.eval()
    optimizer = torch.optim.RMSprop(policy.parameters())
    memory = ref.ReplayMemory(10000)
    for i in range(2000):
        s = torch.rand(1, 3, 40, 90, device=device) - 0.5
        memory.push(s, torch.tensor([[i % 2]], device=device),
                    None if i % 25 == 24 else torch.rand(1, 3, 40, 90, device=device) - 0.5,
                    torch.tensor([1.0], device=device))
    return lambda: ref.optimize_model(memory, policy, target, optimizer, batch_size=batch_size, device=device)


def our_update():
    from dqn_core.learning.agent import DQNAgent
    from dqn_core.learning.replay import ReplayMemory
    from dqn_core.presets import load_preset

    cfg = load_preset("seed-pixels")
    torch.manual_seed(0)
    agent = DQNAgent(cfg, (3, 40, 90), 2, 2, torch.device("cpu"))
    mem = ReplayMemory(10000, (3, 40, 90), np.uint8, 2, torch.device("cpu"))
    rng = np.random.default_rng(0)
    mem.add_first(rng.integers(0, 255, (3, 40, 90), dtype=np.uint8))
    for i in range(2000):
        mem.add_step(i % 2, 1.0, i % 25 == 24, False, rng.integers(0, 255, (3, 40, 90), dtype=np.uint8))
        if i % 25 == 24:
            mem.add_first(rng.integers(0, 255, (3, 40, 90), dtype=np.uint8))
    return lambda: agent.update(mem.sample(128, rng, cfg.gamma)), agent


def update_flops(agent) -> float:
    """FLOPs of one update (online forward + backward, target forward), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    from dqn_core.learning.replay import Batch

    x = torch.randint(0, 255, (128, 6, 40, 90), dtype=torch.uint8)
    batch = Batch(x, torch.zeros(128, dtype=torch.long), torch.ones(128), torch.ones(128), x, np.zeros(128))
    with FlopCounterMode(display=False) as counter:
        agent.update(batch)
    return float(counter.get_total_flops())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args(argv)
    from dqn_core.device import reuse_freed_memory

    reuse_freed_memory()
    ours_fn, agent = our_update()
    flops = update_flops(agent)
    lecture_fn = lecture_update()
    rows, results = [], {}
    for busy in (False, True):
        with busy_core(busy):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                ceiling = matmul_gflops(args.seconds / 2)
                ref_rate = rate(lecture_fn, args.seconds)
                our_rate = rate(ours_fn, args.seconds)
                achieved = our_rate * flops / 1e9
                label = f"{threads} thread{'s' if threads > 1 else ''}{', busy core' if busy else ''}"
                rows.append([label, ref_rate, our_rate, our_rate / ref_rate, achieved, ceiling, achieved / ceiling])
                results[label] = {"lecture_updates_per_second": ref_rate, "our_updates_per_second": our_rate,
                                  "ratio": our_rate / ref_rate, "gflops": achieved, "matmul_gflops": ceiling}
    print(f"lecture net, batch 128, {flops / 1e9:.2f} GFLOP per update")
    print(table(rows, ["threads", "lecture updates/s", "our updates/s", "× lecture", "our GFLOP/s",
                       "matmul GFLOP/s", "of ceiling"]))
    print(f"results: {write_results('update', {'gflop_per_update': flops / 1e9, **results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
