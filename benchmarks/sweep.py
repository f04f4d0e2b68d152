"""A sweep against the same runs one after another, and the same sweep on a two-node Ray cluster.

    python -m benchmarks.sweep [--grid lr=1e-3,2.3e-3] [--seeds 0 1 2] [--steps 30000] [--skip-cluster]

1. Sequential: each (setting, seed) trained by `dqn-train` in turn (its default threads: half the cores).
2. Sweep: the same trials as one `dqn-sweep` on a local Ray (one CPU and one torch thread per trial).
3. Cluster: `ray start --head` and `ray start --address` make two Ray nodes on this machine (one CPU each), and the
   same `dqn-sweep` runs on them with `--address`; the run folders say which node ran each trial.

Everything that starts Ray runs inside a network namespace with only loopback (`unshare -n`; root), because Ray
listens on every interface. Runs are deterministic on the CPU, so the final evaluation of each (setting, seed) must
be the same all three ways.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import table, write_results

PY = shlex.quote(sys.executable)
SWEEP = f"{PY} -m dqn_core.experiments.sweep"
PORT = 6390


def sequential(grid: str, seeds: list[int], steps: int) -> tuple[float, dict]:
    key, values = grid.split("=", 1)
    scores, started = {}, time.perf_counter()
    for value in values.split(","):
        for seed in seeds:
            proc = subprocess.run([sys.executable, "-m", "dqn_core.cli.main", "--preset", "zoo-state", "--set",
                                   f"{key}={value}", "--seed", str(seed), "--steps", str(steps), "--quiet",
                                   "--no-record"], capture_output=True, text=True, check=True)
            scores[(float(value), seed)] = json.loads(proc.stdout)["eval_mean_return"]
    return time.perf_counter() - started, scores


def isolated(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up; " + script], capture_output=True,
                          text=True, env=env)


def sweep_scores(summary: Path, key: str) -> tuple[dict, list]:
    data = json.loads(summary.read_text())
    scores = {(float(t["params"][key]), t["seed"]): t["final_eval_mean"] for t in data["trials"]}
    nodes = [t["node"]["id"] if t.get("node") else None for t in data["trials"]]
    return scores, nodes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="lr=1e-3,2.3e-3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args(argv)
    key = args.grid.split("=", 1)[0]
    folder = Path(tempfile.mkdtemp())
    seeds = " ".join(map(str, args.seeds))
    common = f"--preset zoo-state --grid {args.grid} --seeds {seeds} --steps {args.steps}"

    seq_wall, seq_scores = sequential(args.grid, args.seeds, args.steps)
    print(f"sequential: {seq_wall:.1f} s", flush=True)

    started = time.perf_counter()
    proc = isolated(f"exec {SWEEP} {common} --runs-dir {folder / 'local'} --name local "
                    f"--summary-json {folder / 'local.json'}")
    sweep_wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return 1
    sweep_scores_, _ = sweep_scores(folder / "local.json", key)
    print(f"sweep: {sweep_wall:.1f} s", flush=True)

    rows = [["sequential dqn-train", f"{seq_wall:.1f}", "1.00", ""],
            ["dqn-sweep, local Ray", f"{sweep_wall:.1f}", f"{sweep_wall / seq_wall:.2f}", ""]]
    results = {"grid": args.grid, "seeds": args.seeds, "steps": args.steps, "sequential_seconds": seq_wall,
               "sweep_seconds": sweep_wall, "ratio": sweep_wall / seq_wall,
               "scores": [{"params": {key: k[0]}, "seed": k[1], "sequential": seq_scores[k], "sweep": sweep_scores_[k]}
                          for k in sorted(seq_scores)]}
    if not args.skip_cluster:
        env = dict(os.environ, RAY_AUTH_MODE="token")
        script = (f"ray start --head --port={PORT} --num-cpus=1 --include-dashboard=false >/dev/null 2>&1 && "
                  f"ray start --address=127.0.0.1:{PORT} --num-cpus=1 >/dev/null 2>&1 && "
                  f"{SWEEP} {common} --address 127.0.0.1:{PORT} --runs-dir {folder / 'cluster'} --name cluster "
                  f"--summary-json {folder / 'cluster.json'}; code=$?; ray stop --force >/dev/null 2>&1; exit $code")
        started = time.perf_counter()
        proc = isolated(script, env)
        cluster_wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        cluster_scores, nodes = sweep_scores(folder / "cluster.json", key)
        per_node = {n: nodes.count(n) for n in dict.fromkeys(nodes)}
        rows.append(["dqn-sweep --address (2 nodes × 1 CPU)", f"{cluster_wall:.1f}", f"{cluster_wall / seq_wall:.2f}",
                     " / ".join(f"{c} trials" for c in per_node.values()) + f" on {len(per_node)} nodes"])
        results.update(cluster_seconds=cluster_wall, cluster_trials_per_node=list(per_node.values()))
        for row in results["scores"]:
            row["cluster"] = cluster_scores[(row["params"][key], row["seed"])]
    print(table(rows, ["how", "wall s", "× sequential", "nodes"]))
    score_rows = [[f"{r['params'][key]:g}", r["seed"], r["sequential"], r["sweep"], r.get("cluster", "")]
                  for r in results["scores"]]
    print(table(score_rows, [key, "seed", "final eval: sequential", "sweep", "cluster"]))
    same = all(r["sequential"] == r["sweep"] == r.get("cluster", r["sweep"]) for r in results["scores"])
    results["same_scores"] = same
    print(f"same final scores every way: {same}; results: {write_results('sweep', results)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
