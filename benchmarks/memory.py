"""Replay memory size: bytes per stored pixel transition and peak RSS for a 100k-transition buffer, ours vs the lecture's.

    python -m benchmarks.memory [--transitions 100000]

Each buffer is filled in a fresh subprocess with real CartPole transitions of its own pipeline, so peak RSS is its own.
- lecture reference: the lecture's ReplayMemory of Transition tuples holding float32 1×3×40×90 state and next-state
  tensors (`next_state` a second tensor, as in the lecture) plus action and reward tensors;
- ours (`seed-pixels`): uint8 3×40×90 frames, each stored once, scalars in preallocated arrays;
- ours (`pixels`): uint8 1×40×80 grayscale frames, each stored once.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.common import table, write_results

CHILD = r'''
import json, resource, sys, random
from collections import namedtuple
import numpy as np, torch
kind, n = sys.argv[1], int(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if kind == "lecture":
    from dqn_core.envs.observed import gym
    from benchmarks.reference import get_screen
    Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))
    env = gym.make("CartPole-v1", render_mode="rgb_array"); env.reset(seed=0)
    memory = []
    last = get_screen(env); current = get_screen(env); state = current - last
    frames = [state]                  # a pool of real screens, reused: rendering 100k would take minutes
    for _ in range(200):
        _, r, term, trunc, _ = env.step(random.randrange(2))
        last, current = current, get_screen(env); frames.append(current - last)
        if term or trunc:
            env.reset()
    for i in range(n):
        s = frames[i % 200].clone(); ns = frames[(i + 1) % 200].clone()   # new tensors, as the lecture allocates
        memory.append(Transition(s, torch.tensor([[i % 2]]), ns, torch.tensor([1.0])))
    per = (s.element_size() * s.nelement() * 2 + 8 + 4)
else:
    from dqn_core.envs.observed import ObservedEnv, history_length
    from dqn_core.presets import load_preset
    from dqn_core.learning.replay import ReplayMemory
    cfg = load_preset(kind)
    env = ObservedEnv(cfg, 0); frame = env.reset()
    pool = [frame] + [env.step(i % 2)[0] for i in range(200)]
    mem = ReplayMemory(n + 1, tuple(env.frame_shape), env.frame_dtype, history_length(cfg), torch.device("cpu"))
    mem.add_first(pool[0])
    for i in range(n):
        mem.add_step(i % 2, 1.0, False, False, pool[i % 200])
    per = mem.nbytes / mem.capacity
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes_per_transition": per, "peak_rss_mib": peak / 1024, "buffer_rss_mib": (peak - base) / 1024}))
'''


def measure(kind: str, n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=100_000)
    args = parser.parse_args(argv)
    results = {k: measure(k, args.transitions) for k in ("lecture", "seed-pixels", "pixels")}
    base = results["lecture"]["bytes_per_transition"]
    rows = [[k, v["bytes_per_transition"], base / v["bytes_per_transition"], v["peak_rss_mib"]]
            for k, v in results.items()]
    print(f"{args.transitions:,} pixel transitions")
    print(table(rows, ["replay", "bytes/transition (data)", "× smaller than lecture", "peak RSS MiB"]))
    print(f"results: {write_results('memory', {'transitions': args.transitions, **results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
