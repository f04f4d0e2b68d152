"""Same-work Atari speed against CleanRL itself: its own `dqn_atari.py`, unchanged, in its own virtual environment,
beside `dqn-train` doing the same work, whole processes, alternating in one run.

    python -m benchmarks.atari_cleanrl --cleanrl DIR --python DIR/venv/bin/python [--steps 6000] [--rounds 2]

DIR holds CleanRL's `cleanrl/dqn_atari.py` and `cleanrl_utils/` from its repository (commit fe8d8a03 here), and a
virtual environment with the versions its pyproject pins (torch 2.4.1, gymnasium 0.29.1; ale-py 0.9.0, which
carries the ROMs, since 0.8.1 needs AutoROM's download; a `sitecustomize` module imports it, which registers the
games as 0.8.1's gymnasium plugin did). Set up, e.g.:

    git clone https://github.com/vwxyzjn/cleanrl DIR && python3.10 -m venv DIR/venv
    DIR/venv/bin/pip install torch==2.4.1 gymnasium==0.29.1 ale-py==0.9.0 "opencv-python<5" tyro tensorboard "numpy<2"

The work: Pong, `--steps` agent steps, learning from 1,000 with one update of 32 per 4 steps, a 100k replay memory,
Adam, the target every 1,000 steps, ε from 1 to 0.01 over the first 10 % (CleanRL's schedule), the same torch
threads (2), no evaluation (`--no-final-eval`: dqn-train's greedy evaluation of the final agent, 10 Pong games,
is work CleanRL's script does not do). `nature2015` uses CleanRL's network; `mnih2013` (the 2013 network) is DQN Studio's
faster option for the same settings. The figure is agent steps per second of the whole process (start-up
included) and the ratio to CleanRL's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import table, write_results


def cleanrl_command(python: str, folder: Path, steps: int) -> list[str]:
    return [python, str(folder / "cleanrl" / "dqn_atari.py"), "--env-id", "PongNoFrameskip-v4", "--total-timesteps",
            str(steps), "--learning-starts", "1000", "--buffer-size", "100000", "--no-cuda", "--seed", "1"]


def ours_command(preset: str, steps: int, runs: Path) -> list[str]:
    settings = {"learning_starts": 1000, "replay_capacity": 100_000, "train_freq": 4, "batch_size": 32,
                "optimizer": "adam", "lr": 1e-4, "target_update": 1000, "target_update_unit": "steps",
                "eps_schedule": "linear", "eps_start": 1.0, "eps_end": 0.01, "eps_decay": steps * 0.1,
                "eval_every": 0, "num_envs": 1, "double_dqn": False, "n_step": 1, "life_loss_terminal": True}
    command = [sys.executable, "-m", "dqn_core.cli.main", "--preset", preset, "--steps", str(steps), "--seed", "1",
               "--threads", "2", "--quiet", "--runs-dir", str(runs), "--device", "cpu", "--no-final-eval"]
    for key, value in settings.items():
        command += ["--set", f"{key}={value}"]
    return command


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])}… failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cleanrl", required=True, type=Path, help="folder with cleanrl/ and cleanrl_utils/")
    parser.add_argument("--python", required=True, help="the Python of CleanRL's own virtual environment")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    shim = Path(tempfile.mkdtemp(prefix="dqn-cleanrl-site-"))
    # ale-py 0.8.1 registered its games with gymnasium through a plugin entry point; 0.9.0 does it when imported, so
    # the unchanged script gets that import from a sitecustomize module (nothing else is added).
    (shim / "sitecustomize.py").write_text("import ale_py  # registers the ALE games with gymnasium\n")
    env = dict(os.environ, PYTHONPATH=f"{shim}{os.pathsep}{args.cleanrl}")
    seconds: dict[str, list[float]] = {"CleanRL dqn_atari.py (Nature network)": [], "dqn-train nature2015": [],
                                       "dqn-train mnih2013": []}
    with tempfile.TemporaryDirectory(prefix="dqn-atari-cleanrl-") as scratch:
        scratch = Path(scratch)
        for round_ in range(args.rounds):
            jobs = [("CleanRL dqn_atari.py (Nature network)", cleanrl_command(args.python, args.cleanrl, args.steps),
                     scratch, env),
                    ("dqn-train nature2015", ours_command("nature2015", args.steps, scratch / "runs"), root,
                     dict(os.environ)),
                    ("dqn-train mnih2013", ours_command("mnih2013", args.steps, scratch / "runs"), root,
                     dict(os.environ))]
            if round_ % 2:
                jobs.reverse()                       # alternate which goes first
            for name, command, cwd, job_env in jobs:
                seconds[name].append(timed(command, cwd, job_env))
                print(f"round {round_ + 1}: {name}: {seconds[name][-1]:.1f} s", flush=True)
    base = statistics.median(seconds["CleanRL dqn_atari.py (Nature network)"])
    rows = [[name, " / ".join(f"{s:.1f}" for s in values), f"{args.steps / statistics.median(values):.0f}",
             f"{base / statistics.median(values):.2f}"] for name, values in seconds.items()]
    print(table(rows, ["program", "whole process (s)", "agent steps/s", "speed vs CleanRL"]))
    print(f"results: {write_results('atari_cleanrl', {'steps': args.steps, 'seconds': seconds})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
