"""An Atari preset learning on named seeds, whole `dqn-train` processes one after another, each for a wall-clock
budget, then its final agent scored by `dqn-eval`; the score against wall-clock minutes, beside CleanRL's measured
speed converted to time.

    python -m benchmarks.atari_learning --preset atari-cpu --seeds 101 102 103 [--minutes 60] [--env ALE/Pong-v5]
        [--threads 2] [--parallel] [--eval-episodes 10] [--tag NAME] [--reference-steps 3200000]
    python -m benchmarks.atari_learning --replot TAG      # redraw TAG's plot from its results

Run it alone on the machine: the minutes are the result. With --parallel the seeds train at once (each its own
process, one torch thread unless --threads says), so each has a share of the cores: a budget's minutes then buy less
learning than alone. Each seed: `dqn-train --preset P --seed S --minutes M --threads T` (the preset stops by itself
when solved), its run recorded in benchmarks/results/<tag>-runs/, its final agent in
benchmarks/results/<tag>-seed<S>.dqn; then `dqn-eval` plays that agent for --eval-episodes games. Writes
benchmarks/results/<tag>.{json,csv,png}: per seed the minutes and steps to the preset's first confirmed solve (if
any), the whole process's wall time, and the dqn-eval score; the curve of each run's evaluations (score against
minutes of training). The plot's dashed vertical line is CleanRL's `dqn_atari.py` at the speed
`benchmarks.atari_cleanrl` measured (results/atari_cleanrl.json: rerun it on the machine that trains, since machines
of one name differ 4×), taken to --reference-steps agent steps (the point at which its documented Pong curve passes
18).

A tag's seeds may be trained in several sittings (each alone on a quiet machine): a later invocation with the same
settings adds its seeds to the tag's results, replacing any it trains again; each seed records its own machine.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS, machine, table, write_results
from benchmarks.learning import plot


COLUMNS = ["seed", "steps", "outcome", "process_minutes", "solved_at_step", "solved_at_minutes", "dqn_eval_mean"]


def cleanrl_steps_per_second() -> float | None:
    """CleanRL's whole-process agent steps per second on this machine, from the same-work benchmark's results."""
    path = RESULTS / "atari_cleanrl.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    seconds = next((v for k, v in data["seconds"].items() if k.startswith("CleanRL")), None)
    return data["steps"] / statistics.median(seconds) if seconds else None


def seed_file(args: argparse.Namespace, seed: int, suffix: str) -> Path:
    """A seed's result file: its agent (".dqn"), training summary ("-train.json") or dqn-eval score ("-eval.json")."""
    return RESULTS / f"{args.tag}-seed{seed}{suffix}"


def train_command(args: argparse.Namespace, seed: int) -> list[str]:
    command = [sys.executable, "-m", "dqn_core.cli.main", "--preset", args.preset, "--seed", str(seed),
               "--minutes", str(args.minutes), "--threads", str(args.threads), "--runs-dir", str(runs_folder(args)),
               "--name", f"{args.tag} seed {seed}", "--save", str(seed_file(args, seed, ".dqn")),
               "--summary-json", str(seed_file(args, seed, "-train.json")), "--quiet"]
    if args.env:
        command += ["--env", args.env]
    for change in args.set:
        command += ["--set", change]
    return command


def runs_folder(args: argparse.Namespace) -> Path:
    return RESULTS / f"{args.tag}-runs"


def train_seeds(args: argparse.Namespace) -> list[dict]:
    """Train every seed, one after another or (--parallel) all at once; each one's run folder, process seconds and
    training summary."""
    runs = runs_folder(args)
    before = {p.name for p in runs.iterdir()} if runs.exists() else set()
    seconds = {}
    for batch in [args.seeds] if args.parallel else [[seed] for seed in args.seeds]:
        started = time.perf_counter()
        running = {seed: subprocess.Popen(train_command(args, seed)) for seed in batch}
        while running:                             # each seed's seconds end when its own process does
            time.sleep(1)
            for seed, process in list(running.items()):
                if process.poll() is not None:
                    if process.returncode != 0:
                        raise subprocess.CalledProcessError(process.returncode, process.args)
                    seconds[seed] = time.perf_counter() - started
                    del running[seed]
    folders = {}
    for folder in runs.iterdir():                  # this invocation's runs, told apart by the seed each recorded
        if folder.name not in before and (folder / "run.json").exists():
            folders[json.loads((folder / "run.json").read_text())["seed"]] = folder
    return [{"seed": seed, "folder": folders[seed], "process_seconds": seconds[seed],
             "train": json.loads(seed_file(args, seed, "-train.json").read_text())} for seed in args.seeds]


def score(args: argparse.Namespace, seed: int) -> dict:
    """dqn-eval's score of the seed's agent, run in the results folder so that its JSON names the file, not a path."""
    out = seed_file(args, seed, "-eval.json")
    subprocess.run([sys.executable, "-c", "import sys; from dqn_core.cli.main import eval_main; "
                    "sys.exit(eval_main(sys.argv[1:]))", seed_file(args, seed, ".dqn").name,
                    "--episodes", str(args.eval_episodes), "--summary-json", out.name], check=True, cwd=RESULTS)
    return json.loads(out.read_text())


def curve(folder: Path) -> list[tuple[int, float, float]]:
    """(agent steps, seconds of training, mean return) of each evaluation the run recorded."""
    from dqn_core.experiments.runs import read_run

    evals = read_run(folder).evals
    return [(int(s), float(w), float(m)) for s, w, m in zip(evals["step"], evals["wall"], evals["mean"])]


def draw(args: argparse.Namespace, runs: list[dict], reference: float | None) -> None:
    """The PNG: each seed's evaluations against minutes, the solved score its training counted (the line), the ε
    its agent is evaluated at, CleanRL's time where known. Each run carries its training summary and dqn-eval score."""
    first = runs[0]
    env, threshold, epsilon = first["train"]["env_id"], first["train"]["solved_threshold"], first["eval"]["epsilon"]
    marks = []
    if reference and args.reference_steps:
        minutes = args.reference_steps / reference / 60
        marks.append((minutes, f"CleanRL as measured: {args.reference_steps / 1e6:.1f}M steps at {reference:.0f} steps/s "
                               f"= {minutes:.0f} min"))
    seeds = f"seed{'s' if len(runs) > 1 else ''} {', '.join(str(run['seed']) for run in runs)}"
    title = f"{args.preset} on {env}: evaluations during training, {seeds}"
    played = "greedy" if not epsilon else f"ε {epsilon:g}"
    plot([{**run, "threshold": threshold} for run in runs], title, str(RESULTS / f"{args.tag}.png"),
         x="minutes of training", marks=marks, y_range=(-21, 21) if env == "ALE/Pong-v5" else None,
         y_label=f"evaluation return ({played})")


def read_curves(tag: str, seeds: set[int] | None = None) -> dict[int, list[tuple[int, float, float]]]:
    """Each seed's evaluations (agent steps, seconds of training, mean return) from the tag's CSV, in step order."""
    curves: dict[int, list[tuple[int, float, float]]] = {}
    with open(RESULTS / f"{tag}.csv", newline="") as f:
        for r in csv.DictReader(f):
            if seeds is None or int(r["seed"]) in seeds:
                curves.setdefault(int(r["seed"]), []).append(
                    (int(r["step"]), float(r["train_seconds"]), float(r["eval_mean_return"])))
    return curves


def write_curves(tag: str, curves: dict[int, list[tuple[int, float, float]]]) -> None:
    with open(RESULTS / f"{tag}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["seed", "step", "train_seconds", "eval_mean_return"])
        for seed in sorted(curves):
            writer.writerows([seed, *point] for point in curves[seed])


def replot(args: argparse.Namespace) -> int:
    """Redraw the PNG from the files this benchmark wrote for the tag (its CSV, JSON and per-seed JSON)."""
    data = json.loads((RESULTS / f"{args.tag}.json").read_text())
    args.preset, args.reference_steps = data["preset"], data["reference_steps"]
    curves = read_curves(args.tag)
    runs = [{"seed": seed, "train": json.loads(seed_file(args, seed, "-train.json").read_text()),
             "eval": json.loads(seed_file(args, seed, "-eval.json").read_text()), "curve": curves.get(seed, [])}
            for seed in (result["seed"] for result in data["seeds"])]
    draw(args, runs, data["cleanrl_steps_per_second"])
    print(f"plot: {RESULTS / f'{args.tag}.png'}")
    return 0


def settings(args: argparse.Namespace) -> dict:
    """What must match for two sittings' seeds to share a tag's results."""
    return {"env": args.env, "minutes": args.minutes, "threads": args.threads, "parallel": args.parallel}


def earlier_seeds(args: argparse.Namespace) -> tuple[list[dict], dict[int, list[tuple[int, float, float]]]]:
    """The results and evaluation curves an earlier sitting recorded under this tag for seeds this one does not
    train. Exits, before any training, when that sitting used other settings (its seeds would not be comparable)."""
    path = RESULTS / f"{args.tag}.json"
    if not path.exists():
        return [], {}
    data = json.loads(path.read_text())
    earlier = {"preset": data["preset"], **{key: data.get(key) for key in settings(args)}}
    now = {"preset": args.preset, **settings(args)}
    if earlier != now:
        differ = ", ".join(f"{k} {earlier[k]!r} there, {now[k]!r} here" for k in now if earlier[k] != now[k])
        raise SystemExit(f"atari_learning: {path.name} holds seeds trained with other settings ({differ}); "
                         f"give another --tag, or remove {path.name} to start the tag afresh")
    results = [{**r, "machine": r.get("machine", data["machine"])} for r in data["seeds"] if r["seed"] not in args.seeds]
    return results, read_curves(args.tag, {r["seed"] for r in results})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="atari-cpu")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--replot", metavar="TAG", help="only redraw TAG's plot from its results (no training)")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of each seed's training")
    parser.add_argument("--env", help="another game than the preset's (e.g. ALE/Breakout-v5)")
    parser.add_argument("--threads", type=int, help="torch threads of each run (default: 2, with --parallel 1)")
    parser.add_argument("--parallel", action="store_true",
                        help="train the seeds all at once: each then has a share of the cores, "
                             "so its minutes are not those of a run alone")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--tag", help="name of the result files (default: atari-<preset>-<game>)")
    parser.add_argument("--reference-steps", type=float, default=3.2e6,
                        help="agent steps CleanRL's documented Pong curve takes to pass 18 (0: no line)")
    args = parser.parse_args(argv)
    if args.replot:
        args.tag = args.replot
        return replot(args)
    if not args.seeds:
        parser.error("--seeds is required (or --replot TAG)")
    if args.threads is None:
        args.threads = 1 if args.parallel else 2
    game = (args.env or "pong").split("/")[-1].split("-")[0].lower()
    args.tag = args.tag or f"atari-{args.preset}-{game}"
    RESULTS.mkdir(exist_ok=True)
    results, curves = earlier_seeds(args)    # checked before an hour of training, not after
    trained_seeds = train_seeds(args)
    here = machine()
    for trained in trained_seeds:
        seed = trained["seed"]
        evaluated = score(args, seed)
        train = trained["train"]
        results.append({
            "seed": seed, "steps": train["steps"], "outcome": train["outcome"],
            "process_minutes": round(trained["process_seconds"] / 60, 2),
            "solved_at_step": train["solved_at_step"],
            "solved_at_minutes": None if train["solved_at_seconds"] is None else round(train["solved_at_seconds"] / 60, 2),
            "steps_per_second": train["steps_per_second"], "dqn_eval_mean": evaluated["mean_return"],
            "dqn_eval_returns": evaluated["returns"], "run": trained["folder"].name, "machine": here})
        curves[seed] = curve(trained["folder"])
        print(table([[results[-1][k] for k in COLUMNS]], COLUMNS), flush=True)

    results.sort(key=lambda r: r["seed"])
    write_curves(args.tag, curves)
    path = write_results(args.tag, {"machine": here, "preset": args.preset, **settings(args), "seeds": results,
                                    "cleanrl_steps_per_second": cleanrl_steps_per_second(),
                                    "reference_steps": args.reference_steps})
    replot(args)
    print(table([[r[k] for k in COLUMNS] for r in results], COLUMNS))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
