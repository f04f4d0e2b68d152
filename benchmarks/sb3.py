"""Ours vs Stable-Baselines3 DQN on CartPole-v1 with the RL Zoo hyperparameters, same seeds, 50k steps, one run.

    pip install -e ".[bench]"
    python -m benchmarks.sb3 [--seeds 0 1 2] [--steps 50000] [--threads 1]

For each seed, SB3 trains first and then ours (`zoo-state`), interleaved so machine drift hits both alike: ours for
the whole budget, and ours stopped at the first perfect evaluation (20 greedy episodes all reaching 500, checked every
2,500 steps, evaluation time included). Reported: training wall time of each and their ratio, and each final
agent's mean over the same 100 greedy episodes.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks.common import table, write_results

EVAL_SEED = 9_000_000

ZOO = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
           target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
           exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]))


def greedy_mean(act, seed: int, episodes: int = 100) -> float:
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + seed * 1000 + i)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def sb3_run(seed: int, steps: int) -> tuple[float, float]:
    from stable_baselines3 import DQN

    model = DQN("MlpPolicy", "CartPole-v1", seed=seed, device="cpu", verbose=0, **ZOO)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - start
    return seconds, greedy_mean(lambda obs: int(model.predict(obs, deterministic=True)[0]), seed)


def our_run(seed: int, steps: int, early_stop: bool, threads: int) -> tuple[float, float]:
    """Ours for `steps`, or (early_stop) until the first perfect greedy evaluation (20 episodes, all 500 steps; one
    every 2,500 steps); evaluation time counts in our wall time."""
    from dqn_core.presets import load_preset
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    config = load_preset("zoo-state").replace(seed=seed, device="cpu", eval_every=0, torch_threads=threads)
    if early_stop:
        config = config.replace(eval_every=2500, eval_unit="steps", eval_episodes=20, solved_threshold=500.0,
                                stop_when_solved=True)
    trainer = Trainer(config)
    start = time.perf_counter()
    for _ in trainer.run(Control(), max_steps=steps):
        pass
    seconds = time.perf_counter() - start
    return seconds, greedy_mean(lambda obs: int(np.argmax(trainer.agent.q_values(obs[None].astype(np.float32)))), seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads, the same for both")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows, runs = [], []
    for seed in args.seeds:
        sb3_s, sb3_mean = sb3_run(seed, args.steps)
        full_s, full_mean = our_run(seed, args.steps, early_stop=False, threads=args.threads)
        early_s, early_mean = our_run(seed, args.steps, early_stop=True, threads=args.threads)
        runs.append({"seed": seed, "sb3_seconds": sb3_s, "sb3_final_mean": sb3_mean, "our_full_seconds": full_s,
                     "our_full_final_mean": full_mean, "our_early_seconds": early_s, "our_early_final_mean": early_mean})
        rows.append([seed, sb3_s, sb3_mean, full_s, full_s / sb3_s, full_mean, early_s, early_s / sb3_s, early_mean])
        print(f"seed {seed}: SB3 {sb3_s:.1f} s → {sb3_mean:.1f}; ours {full_s:.1f} s → {full_mean:.1f}; "
              f"ours, stop when solved {early_s:.1f} s → {early_mean:.1f}", flush=True)
    print(f"CartPole-v1, {args.steps:,}-step budget, RL Zoo hyperparameters (ours: zoo-state, which adds Double DQN), "
          f"{args.threads} torch thread{'s' if args.threads > 1 else ''} each")
    print(table(rows, ["seed", "SB3 s", "SB3 final", "ours s", "× SB3", "ours final", "ours early-stop s",
                       "× SB3", "early-stop final"]))
    print(f"results: {write_results('sb3', {'steps': args.steps, 'threads': args.threads, 'runs': runs})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
