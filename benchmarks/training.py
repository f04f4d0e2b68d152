"""End-to-end pixel training speed: env steps per second of whole training runs, the lecture's loop vs ours, in one run.

    python -m benchmarks.training [--steps 1500] [--pixels-steps 6000] [--threads 1]

- lecture reference: `benchmarks/reference.py`'s loop (screen difference, list replay, one update per step at batch
  128, RMSprop, BatchNorm net);
- ours with the lecture's settings: the `seed-pixels` preset (the same network, batch, schedule and update rate);
- ours with the `pixels` preset (the settings that learn: stride-4 net, batch 64 every 4 steps).

All three run in one process under the engine's allocator settings (`dqn_core.device.reuse_freed_memory`, applied
before the lecture's run), so the lecture's loop gets the same memory reuse as ours. Every run starts from an empty
replay memory; the first `--skip` steps (at least until the memory holds a batch and
learning has started) are not timed, so all rates are of training proper.
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks.common import table, write_results


def lecture_rate(steps: int, skip: int) -> float:
    from benchmarks.reference import lecture_training

    return steps / lecture_training(skip + steps, timed_from=skip)


def our_rate(preset: str, steps: int, skip: int) -> float:
    import torch

    from dqn_core.presets import load_preset
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    config = load_preset(preset).replace(eval_every=0, seed=0, torch_threads=torch.get_num_threads())
    trainer = Trainer(config)
    for _ in trainer.run(Control(), max_steps=max(skip, config.learning_starts, config.batch_size)):
        pass
    start = time.perf_counter()
    for _ in trainer.run(Control(), max_steps=steps):
        pass
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="timed env steps with the lecture's settings")
    parser.add_argument("--pixels-steps", type=int, default=6000, help="timed env steps with the pixels preset")
    parser.add_argument("--skip", type=int, default=1000, help="untimed steps first (replay warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from dqn_core.device import reuse_freed_memory

    reuse_freed_memory()
    lecture = lecture_rate(args.steps, 200)
    seed = our_rate("seed-pixels", args.steps, 200)
    pixels = our_rate("pixels", args.pixels_steps, args.skip)
    rows = [["lecture reference", lecture, 1.0], ["ours, lecture settings (seed-pixels)", seed, seed / lecture],
            ["ours, pixels preset", pixels, pixels / lecture]]
    print(f"{args.threads} torch thread{'s' if args.threads > 1 else ''}; lecture settings {args.steps} steps, "
          f"pixels {args.pixels_steps} steps")
    print(table(rows, ["training run", "env steps/s", "× lecture"]))
    print(f"results: {write_results('training', {'threads': args.threads, 'steps': args.steps, 'pixels_steps': args.pixels_steps, 'env_steps_per_second': {r[0]: r[1] for r in rows}})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
