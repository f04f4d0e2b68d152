"""Atari training throughput: DQN Studio's `mnih2013` preset against a faithful CleanRL-style loop, same run.

    python -m benchmarks.atari [--game ALE/Pong-v5] [--steps 4000] [--learning-starts 1000] [--repeats 2]
    python -m benchmarks.atari --profile            # where a step of ours goes

Both train on the same game with one update of 32 transitions per 4 agent steps, at num_envs 1 and 8, alternating
the reference and ours `--repeats` times; each figure is agent steps (4 frames each) per second after learning
starts, with updates running, and the table gives the ratio of the medians. Torch threads: the engine's default for
both. Reference: benchmarks/atari_reference.py — CleanRL's dqn_atari loop and network (Nature), SB3's replay of
stacked observations; and the same loop with the 2013 network, which shows how much of the difference is the
network and how much the loop.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time

import torch

from benchmarks import atari_reference
from benchmarks.common import table, write_results
from dqn_core.device import default_threads
from dqn_core.presets import load_preset
from dqn_core.training.trainer import Trainer


def ours(game: str, num_envs: int, steps: int, learning_starts: int, capacity: int) -> dict[str, float]:
    config = load_preset("mnih2013").replace(env_id=game, num_envs=num_envs, learning_starts=learning_starts,
                                             replay_capacity=capacity, eval_every=0)
    trainer = Trainer(config, auto_threads=default_threads())
    for _ in trainer.run(max_steps=learning_starts):
        pass
    started, step0, updates0 = time.perf_counter(), trainer.step, trainer.updates
    for _ in trainer.run(max_steps=steps - learning_starts):
        pass
    return {"env_steps_per_second": (trainer.step - step0) / (time.perf_counter() - started),
            "updates": trainer.updates - updates0}


def reference(network: type, game: str, num_envs: int, steps: int, learning_starts: int,
              capacity: int) -> dict[str, float]:
    import ale_py
    import gymnasium as gym

    torch.set_num_threads(default_threads())
    torch.manual_seed(0)
    gym.register_envs(ale_py)
    with gym.make(game, full_action_space=False) as env:
        n_actions = int(env.action_space.n)
    return atari_reference.run(network(n_actions), game, num_envs, steps, learning_starts, capacity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="ALE/Pong-v5")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--capacity", type=int, default=10_000, help="replay capacity of both (the reference's "
                        "float stacks take 226 KB a transition)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="instead: where a step of ours goes (cProfile, one "
                        "env), by function")
    args = parser.parse_args(argv)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(ours, args.game, 1, args.steps, args.learning_starts, args.capacity)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return 0
    rows, results = [], []
    contenders = {"CleanRL": functools.partial(reference, atari_reference.QNetwork),
                  "CleanRL loop, 2013 net": functools.partial(reference, atari_reference.Mnih2013Network),
                  "ours": ours}
    for num_envs in (1, 8):
        rates: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeats):
            for name, fn in contenders.items():
                out = fn(args.game, num_envs, args.steps, args.learning_starts, args.capacity)
                rates[name].append(out["env_steps_per_second"])
                print(f"num_envs {num_envs} {name}: {out['env_steps_per_second']:.0f} steps/s, "
                      f"{out['updates']} updates", flush=True)
        medians = {name: statistics.median(r) for name, r in rates.items()}
        mine = medians["ours"]
        rows.append([num_envs, f"{medians['CleanRL']:.0f}", f"{medians['CleanRL loop, 2013 net']:.0f}", f"{mine:.0f}",
                     f"{mine / medians['CleanRL']:.2f}×", f"{mine / medians['CleanRL loop, 2013 net']:.2f}×"])
        results.append({"num_envs": num_envs, "rates": rates,
                        "ratio_to_cleanrl": mine / medians["CleanRL"],
                        "ratio_to_cleanrl_loop_2013_net": mine / medians["CleanRL loop, 2013 net"]})
    print(table(rows, ["num_envs", "CleanRL (steps/s)", "CleanRL loop, 2013 net", "DQN Studio mnih2013",
                       "vs CleanRL", "vs same net"]))
    path = write_results("atari", {"game": args.game, "steps": args.steps, "learning_starts": args.learning_starts,
                                   "capacity": args.capacity, "threads": default_threads(), "runs": results})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
