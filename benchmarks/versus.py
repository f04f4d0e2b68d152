"""This tree's speed against another commit's, side by side in one run: each benchmark is run by each tree's own
copy of it, alternating, and only our own measurements are compared (the lecture's and CleanRL's loops are the same
code in both trees).

    python -m benchmarks.versus [--base 939c66c] [--rounds 2] [--only training update atari]

The base commit is checked out in a temporary git worktree and removed afterwards. The two trees take turns going
first (A B, B A, …). Ratios are this tree's rate over the base's (medians over the rounds); ≥ 1 means this tree is at
least as fast.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import table, write_results

ROOT = Path(__file__).resolve().parent.parent

# Each benchmark's arguments (short enough to alternate) and how to read our own rates from its results file.
BENCHMARKS = {
    "training": (["--steps", "800", "--pixels-steps", "3000"],
                 lambda r: {k: v for k, v in r["env_steps_per_second"].items() if not k.startswith("lecture")}),
    "update": (["--seconds", "4"],
               lambda r: {k: v["our_updates_per_second"] for k, v in r.items() if isinstance(v, dict)
                          and "our_updates_per_second" in v}),
    "atari": (["--steps", "2000", "--repeats", "1"],
              lambda r: {f"num_envs {run['num_envs']}": statistics.median(run["rates"]["ours"]) for run in r["runs"]}),
}


def run_in(tree: Path, name: str, args: list[str]) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=tree, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmarks.{name} failed in {tree}:\n{proc.stderr[-3000:]}")
    results = json.loads((tree / "benchmarks" / "results" / f"{name}.json").read_text())
    return BENCHMARKS[name][1](results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="939c66c", help="the commit to compare with (default: before the move "
                        "into folders)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=sorted(BENCHMARKS))
    args = parser.parse_args(argv)
    rows, out = [], {}
    with tempfile.TemporaryDirectory(prefix="dqn-versus-") as scratch:
        base = Path(scratch) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            for name in args.only:
                rates: dict[str, dict[str, list[float]]] = {"base": {}, "this": {}}
                for round_ in range(args.rounds):
                    # A B, then B A: whichever runs first in a round (a cooler core, a warmer cache) favours neither.
                    order = (("base", base), ("this", ROOT))
                    for side, tree in (order if round_ % 2 == 0 else order[::-1]):
                        for key, value in run_in(tree, name, BENCHMARKS[name][0]).items():
                            rates[side].setdefault(key, []).append(value)
                        print(f"{name} {side}: {rates[side]}", flush=True)
                for key in rates["this"]:
                    old, new = statistics.median(rates["base"][key]), statistics.median(rates["this"][key])
                    rows.append([name, key, f"{old:.1f}", f"{new:.1f}", f"{new / old:.3f}"])
                    out.setdefault(name, {})[key] = {"base": rates["base"][key], "this": rates["this"][key],
                                                     "ratio": new / old}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, capture_output=True)
    print(table(rows, ["benchmark", "measure", f"{args.base} (rate)", "this tree", "this / base"]))
    print(f"results: {write_results('versus', {'base': args.base, 'rounds': args.rounds, 'results': out})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
