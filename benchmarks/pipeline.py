"""Pixel observations per second (env step + render + preprocess): the lecture's pipeline vs ours, in one run.

    python -m benchmarks.pipeline [--steps 3000]

- lecture reference: `benchmarks/reference.py`'s get_screen, state = current − previous screen (float32 3×40×90);
- ours, gym renderer: the engine's `seed-pixels` pipeline (same crop, uint8 frames, difference on the device);
- ours, direct renderer: the engine's `pixels` pipeline (40×80 grayscale drawn directly, 2 stacked frames).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks.common import table, write_results


def _actions(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, size=n)


def lecture(steps: int) -> float:
    from benchmarks.reference import get_screen
    from dqn_core.envs.observed import gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    last = get_screen(env)
    current = get_screen(env)
    start = time.perf_counter()
    for a in _actions(steps):
        _, _, terminated, truncated, _ = env.step(int(a))
        last, current = current, get_screen(env)
        state = current - last
        if terminated or truncated:
            env.reset()
            last = get_screen(env)
            current = get_screen(env)
    del state
    return steps / (time.perf_counter() - start)


def ours(preset: str, steps: int) -> float:
    from dqn_core.envs.observed import ObservedEnv
    from dqn_core.presets import load_preset

    env = ObservedEnv(load_preset(preset), seed=0)
    env.reset()
    start = time.perf_counter()
    for a in _actions(steps):
        _, _, terminated, truncated = env.step(int(a))
        env.stacked()
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rates = {"lecture reference": lecture(args.steps), "ours, gym renderer (seed-pixels)": ours("seed-pixels", args.steps),
             "ours, direct renderer (pixels)": ours("pixels", args.steps)}
    base = rates["lecture reference"]
    rows = [[name, rate, rate / base] for name, rate in rates.items()]
    print(f"{args.steps} env steps each, 1 torch thread")
    print(table(rows, ["pipeline", "observations/s", "× lecture"]))
    print(f"results: {write_results('pipeline', {'steps': args.steps, 'observations_per_second': rates})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
