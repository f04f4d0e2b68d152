"""CUDA speed: updates/s and env steps/s for the lecture's net and the Nature net at batch 32 and 128, on the GPU,
with the lecture's own update and training loop timed in the same run.

    python -m benchmarks.cuda [--seconds 4] [--steps 2000] [--device cuda]

- lecture net: the `seed-pixels` preset (the lecture's screens, network, RMSprop and one update per env step);
- Nature net: the `pixels` preset's observations (40×80 grayscale, 2 frames) with `network = nature-cnn`
  (one update every 4 env steps);
- lecture reference: `benchmarks/reference.py` with its tensors on the GPU, as the tutorial does.

Updates/s time `sample + update` back to back, queued as in training (the host does not wait for each); env steps/s
time whole training runs (acting, env, replay, updates, target syncs) after the replay memory holds `learning_starts`
transitions. Needs a CUDA GPU (`--device cpu` runs the same measurements on the CPU, to check the script).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from benchmarks.common import table, write_results
from benchmarks.update import lecture_update, rate


def synchronizer(device: torch.device):
    return torch.cuda.synchronize if device.type == "cuda" else None


def our_config(net: str, batch: int, device: torch.device):
    from dqn_core.presets import load_preset

    if net == "lecture":
        config = load_preset("seed-pixels")
    else:
        config = load_preset("pixels").replace(network="nature-cnn")
    return config.replace(batch_size=batch, device=device.type, eval_every=0, seed=0)


def our_rates(net: str, batch: int, seconds: float, steps: int, device: torch.device) -> tuple[float, float]:
    """(updates/s, env steps/s) of our engine on `device`."""
    from dqn_core.training.control import Control
    from dqn_core.training.trainer import Trainer

    sync = synchronizer(device) or (lambda: None)
    config = our_config(net, batch, device)
    trainer = Trainer(config)
    for _ in trainer.run(Control(), max_steps=max(config.learning_starts, batch) + 200):
        pass
    sync()
    start = time.perf_counter()
    for _ in trainer.run(Control(), max_steps=steps):
        pass
    sync()
    env_rate = steps / (time.perf_counter() - start)
    rng = np.random.default_rng(0)
    replay, agent = trainer.replay, trainer.agent
    updates = rate(lambda: agent.queue_update(replay.sample(batch, rng, config.gamma, config.n_step)), seconds,
                   synchronizer(device))
    return updates, env_rate


def lecture_training_rate(steps: int, device: torch.device) -> float:
    from benchmarks.reference import lecture_training

    return steps / lecture_training(200 + steps, timed_from=200, device=device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per updates/s measurement")
    parser.add_argument("--steps", type=int, default=2000, help="timed env steps per training run")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("benchmarks.cuda needs a CUDA GPU; none is available here.")
        return 1
    rows, results = [], {}
    for net in ("lecture", "nature"):
        for batch in (32, 128):
            updates, env_rate = our_rates(net, batch, args.seconds, args.steps, device)
            ref_updates = (rate(lecture_update(device, batch), args.seconds, synchronizer(device))
                           if net == "lecture" else None)
            ref_env = lecture_training_rate(args.steps, device) if net == "lecture" and batch == 128 else None
            label = f"{net} net, batch {batch}"
            rows.append([label, updates, ref_updates if ref_updates is not None else "—",
                         f"{updates / ref_updates:.2f}" if ref_updates else "—", env_rate,
                         ref_env if ref_env is not None else "—",
                         f"{env_rate / ref_env:.2f}" if ref_env else "—"])
            results[label] = {"our_updates_per_second": updates, "lecture_updates_per_second": ref_updates,
                              "our_env_steps_per_second": env_rate, "lecture_env_steps_per_second": ref_env}
            print(f"{label}: {updates:.1f} updates/s, {env_rate:.1f} env steps/s", flush=True)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}")
    print(table(rows, ["network", "our updates/s", "lecture updates/s", "×", "our env steps/s",
                       "lecture env steps/s", "×"]))
    print(f"results: {write_results(device.type, {'seconds': args.seconds, 'steps': args.steps, **results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
