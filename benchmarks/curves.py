"""Several learning benchmarks' curves on one plot, against env steps or training minutes.

    python -m benchmarks.curves learning-pixels learning-seed-pixels [--x minutes] [--out pixels-vs-seed-pixels]

Reads benchmarks/results/<tag>.csv as written by `benchmarks.learning` and writes benchmarks/results/<out>.png:
one colour per result file, one line per seed.
"""
from __future__ import annotations

import argparse
import csv
import sys

from benchmarks.common import RESULTS
from benchmarks.learning import plot


def read_runs(tag: str, colour: int) -> list[dict]:
    path = RESULTS / f"{tag}.csv"
    if not path.exists():
        raise SystemExit(f"{path}: no such result file (run benchmarks.learning with --tag {tag} first)")
    curves: dict[int, list] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            curves.setdefault(int(row["seed"]), []).append(      # older files name the step column "step"
                (int(row.get("env_steps") or row["step"]), float(row["train_seconds"]), float(row["eval_mean_return"])))
    name = tag.removeprefix("learning-")
    seeds = sorted(curves)
    label = f"{name} (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})"
    return [{"seed": seed, "curve": curves[seed], "label": label if i == 0 else None, "colour": colour,
             "threshold": None} for i, seed in enumerate(seeds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", nargs="+", help="result names, e.g. learning-pixels")
    parser.add_argument("--x", choices=("env steps", "minutes"), default="minutes")
    parser.add_argument("--out", default="curves")
    parser.add_argument("--threshold", type=float, default=475.0, help="dashed line (CartPole-v1: 475)")
    args = parser.parse_args(argv)
    runs = [run for i, tag in enumerate(args.tags) for run in read_runs(tag, colour=i)]
    if runs:
        runs[0]["threshold"] = args.threshold
    out = RESULTS / f"{args.out}.png"
    plot(runs, " vs ".join(t.removeprefix("learning-") for t in args.tags) + ": greedy evaluation", str(out), args.x)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
