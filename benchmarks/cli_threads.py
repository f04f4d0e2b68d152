"""dqn-train beside another program that keeps one core busy: the default thread count against the alternatives.

    python -m benchmarks.cli_threads [--steps 10000] [--preset zoo-state]

Each run is `dqn-train --preset P --steps N --no-record` in a fresh process while a second process spins on one
core (as a browser tab, a compile or the window's drawing would), then the same without the busy core. The
default is half the cores (1 on a 2-core machine); before, it was every core.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from benchmarks.common import busy_core, table, write_results
from dqn_core.device import cpu_count, default_threads


def run(preset: str, steps: int, threads: int | None) -> tuple[float, float | None]:
    args = [sys.executable, "-m", "dqn_core.cli.main", "--preset", preset, "--steps", str(steps), "--quiet", "--no-record",
            "--set", "stop_when_solved=false"]
    if threads is not None:
        args += ["--threads", str(threads)]
    started = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - started, json.loads(out)["eval_mean_return"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--preset", default="zoo-state")
    args = parser.parse_args(argv)
    rows, results = [], []
    choices = [(f"default ({default_threads()})", None), (f"every core ({cpu_count()}, the old default)", cpu_count()),
               ("1", 1)]
    for busy in (True, False):
        for label, threads in choices:
            with busy_core(busy):
                seconds, score = run(args.preset, args.steps, threads)
            rows.append([label, "yes" if busy else "no", f"{seconds:.1f}", score])
            results.append({"threads": label, "busy_core": busy, "seconds": seconds, "final_eval": score})
            print(rows[-1], flush=True)
    print(table(rows, ["torch threads", "busy core", "wall s", "final evaluation"]))
    print(f"results: {write_results('cli-threads', {'preset': args.preset, 'steps': args.steps, 'runs': results})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
