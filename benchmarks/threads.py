"""Torch thread count vs speed: update rate and end-to-end training rate at 1 and 2 intra-op threads, with the cores
idle and with a competing busy process holding one core (what the window's drawing takes), in one run.

    python -m benchmarks.threads [--seconds 8] [--preset pixels]

The engine's default (half the cores: one thread here, for `dqn-train` and the window's worker alike) is chosen
from this table.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from benchmarks.common import busy_core, table, write_results
from benchmarks.update import rate


def trainer_after_warmup(preset: str):
    from dqn_core.presets import load_preset
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    config = load_preset(preset).replace(eval_every=0, seed=0, torch_threads=torch.get_num_threads())
    trainer = Trainer(config)
    for _ in trainer.run(Control(), max_steps=max(config.learning_starts, config.batch_size) + 200):
        pass
    return trainer


def end_to_end_rate(trainer, seconds: float) -> float:
    """Env steps per second of training (acting, replay, updates at the preset's rate, target syncs)."""
    from dqn_core.training.control import Control

    control = Control()
    start, steps = time.perf_counter(), trainer.step
    for _ in trainer.run(control):
        if time.perf_counter() - start > seconds:
            control.stop()
    return (trainer.step - steps) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--preset", default="pixels")
    args = parser.parse_args(argv)
    rows, results = [], {}
    for busy in (False, True):
        with busy_core(busy):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                trainer = trainer_after_warmup(args.preset)
                batch = trainer.replay.sample(trainer.config.batch_size, trainer.rng, trainer.config.gamma)
                updates = rate(lambda: trainer.agent.update(batch), args.seconds / 2)
                steps = end_to_end_rate(trainer, args.seconds)
                label = f"{threads} thread{'s' if threads > 1 else ''}, {'busy core' if busy else 'idle'}"
                rows.append([label, updates, steps])
                results[label] = {"updates_per_second": updates, "env_steps_per_second": steps}
    print(f"preset {args.preset} (batch {trainer.config.batch_size}, one update every {trainer.config.train_freq} "
          f"env steps)")
    print(table(rows, ["torch threads", "updates/s", "env steps/s (end to end)"]))
    print(f"results: {write_results('threads', {'preset': args.preset, **results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
