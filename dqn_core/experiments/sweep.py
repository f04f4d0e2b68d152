"""`dqn-sweep`: settings × seeds, trained as Ray Tune trials on this machine or a Ray cluster, every trial a run.

    dqn-sweep --preset zoo-state --grid lr=1e-3,2.3e-3 --seeds 0 1 2 --steps 30000
    dqn-sweep --preset zoo-state --sample lr=loguniform:1e-4:1e-2 --trials 16 --seeds 0 1 --asha
    dqn-sweep --file sweep.toml --address auto
    dqn-sweep --resume NAME

The trial list (each setting combination on each seed) is made here, written to the runs folder's `.sweeps/NAME.json`
and handed to Tune as one grid, so a sweep can be resumed exactly. Sampled settings are drawn here too, from a
seeded generator. Ray itself is `sweep_ray`'s business (the optional `sweep` extra).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, NoReturn, Sequence

import numpy as np

from dqn_core.config import PARAM_SPECS, ConfigError, load_config_file, parse_values
from dqn_core.experiments.compare import group_runs, group_table
from dqn_core.experiments.runs import CREATED_FORMAT, read_run
from dqn_core.extras import EXTRAS
from dqn_core.fileio import atomic_write_bytes, check_output_path
from dqn_core.paths import runs_dir as default_runs_dir
from dqn_core.presets import load_preset

EXIT_BAD_INPUT = 2
SAMPLERS = ("uniform", "loguniform", "choice", "randint")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dqn-sweep", description="Sweep settings × seeds as Ray Tune trials; every trial is a run.")
    p.add_argument("--file", metavar="SWEEP.toml", help="the sweep as a TOML file (flags given too override it)")
    p.add_argument("--preset", help="the config every trial starts from (default: zoo-state)")
    p.add_argument("--config", metavar="FILE", help="a TOML or JSON config applied after the preset (as in dqn-train)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], help="a setting for every trial")
    p.add_argument("--grid", metavar="KEY=V1,V2,…", action="append", default=[],
                   help="values of a setting to try (repeatable: the grid is every combination)")
    p.add_argument("--sample", metavar="KEY=DIST:A:B", action="append", default=[],
                   help="a setting drawn at random per trial: uniform:A:B, loguniform:A:B, randint:A:B, choice:X|Y|Z")
    p.add_argument("--trials", type=int, metavar="N", help="settings drawn with --sample (default 8)")
    p.add_argument("--sample-seed", type=int, default=0, metavar="N", help="seed of the --sample draws")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S", help="seeds every setting runs on (default 0 1 2)")
    p.add_argument("--steps", type=int, metavar="N", help="env steps per trial (default 30000)")
    p.add_argument("--asha", action="store_true", help="stop weak trials early on their greedy evaluation return "
                   "(Tune's ASHA scheduler)")
    p.add_argument("--max-concurrent", type=int, metavar="N", help="trials at once (default: as many as CPUs)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, metavar="F", help="a GPU share per trial; trials "
                   "then train on CUDA")
    p.add_argument("--max-failures", type=int, default=2, metavar="N",
                   help="restarts of a crashed or killed trial, from its last saved agent (default 2)")
    p.add_argument("--runs-dir", metavar="DIR", help="the runs folder (default: $DQN_STUDIO_RUNS or the user's "
                   "data folder)")
    p.add_argument("--address", metavar="ADDR", help="an existing Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                   "(default: start Ray on this machine)")
    p.add_argument("--name", help="the sweep's name (default: preset and time)")
    p.add_argument("--summary-json", metavar="FILE", help="write the trials and groups as JSON")
    p.add_argument("--resume", metavar="NAME", help="finish a sweep: run its trials that did not finish")
    return p


# ---- the sweep's specification -----------------------------------------------------------------------------------
def _values(key: str, text: str) -> list[Any]:
    if key not in PARAM_SPECS:
        parse_values({key: text})                    # raises with "did you mean"
    values = [v for v in text.split(",") if v.strip()]
    if not values:
        raise ConfigError(f"--grid {key}", text, "at least one value, e.g. lr=1e-3,2.3e-3")
    return [parse_values({key: v})[key] for v in values]


def _sampler(key: str, text: str) -> tuple[str, list[Any]]:
    if key not in PARAM_SPECS:
        parse_values({key: text})
    kind, _, rest = text.partition(":")
    if kind not in SAMPLERS:
        raise ConfigError(f"--sample {key}", text, f"DIST:A:B with DIST one of {', '.join(SAMPLERS)}")
    if kind == "choice":
        options = [parse_values({key: v})[key] for v in rest.split("|") if v]
        if not options:
            raise ConfigError(f"--sample {key}", text, "choice:X|Y|Z with at least one option")
        return kind, options
    try:
        low, high = (float(x) for x in rest.split(":"))
    except ValueError:
        raise ConfigError(f"--sample {key}", text, f"{kind}:LOW:HIGH with two numbers") from None
    if not low < high or (kind == "loguniform" and low <= 0):
        raise ConfigError(f"--sample {key}", text, "LOW < HIGH (and LOW > 0 for loguniform)")
    return kind, [low, high]


def _draw(kind: str, args: list[Any], rng: np.random.Generator) -> Any:
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    low, high = args
    if kind == "uniform":
        return float(rng.uniform(low, high))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return int(rng.integers(int(low), int(high) + 1))


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The whole sweep as plain data: base config, budget, and the trial list."""
    file: dict[str, Any] = {}
    if args.file:
        try:
            file = tomllib.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("--file", args.file, f"cannot be read as TOML ({exc})") from None
    preset = args.preset or file.get("preset") or "zoo-state"
    base = load_preset(preset)
    config_file = args.config or file.get("config")
    if config_file:
        base = load_config_file(config_file, base=base)
    overrides = dict(file.get("set", {}))
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("--set", item, "expected KEY=VALUE")
        overrides[key.strip()] = value.strip()
    base = base.replace(**overrides) if overrides else base
    grid = {k: (v if isinstance(v, list) else [v]) for k, v in file.get("grid", {}).items()}
    grid = {k: [parse_values({k: x})[k] for x in vs] for k, vs in grid.items()}
    for item in args.grid:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError("--grid", item, "expected KEY=V1,V2,…, e.g. lr=1e-3,2.3e-3")
        grid[key.strip()] = _values(key.strip(), text)
    samplers = {k: _sampler(k, str(v)) for k, v in file.get("sample", {}).items()}
    for item in args.sample:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError("--sample", item, "expected KEY=DIST:A:B, e.g. lr=loguniform:1e-4:1e-2")
        samplers[key.strip()] = _sampler(key.strip(), text)
    seeds = args.seeds if args.seeds is not None else file.get("seeds", [0, 1, 2])
    steps = args.steps if args.steps is not None else int(file.get("steps", 30_000))
    trials_n = args.trials if args.trials is not None else int(file.get("trials", 8))
    if steps < 1:
        raise ConfigError("--steps", steps, "a positive integer")
    if not seeds or len(set(seeds)) != len(seeds) or any(not isinstance(s, int) or s < 0 for s in seeds):
        raise ConfigError("--seeds", seeds, "distinct non-negative integers")
    if samplers and trials_n < 1:
        raise ConfigError("--trials", trials_n, "a positive integer")
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] or [{}]
    if samplers:
        rng = np.random.default_rng(args.sample_seed)
        combos = [dict(c, **{k: _draw(kind, a, rng) for k, (kind, a) in samplers.items()})
                  for _ in range(trials_n) for c in combos]
    for combo in combos:                               # every trial's config must be valid before any starts
        base.replace(**combo)
    name = args.name or file.get("name") or f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    trials = []
    for i, (combo, seed) in enumerate(itertools.product(combos, seeds)):
        label = "-".join(f"{k}{_short(v)}" for k, v in combo.items())
        trials.append({"index": i, "params": combo, "seed": int(seed),
                       "run_id": _slug(f"{name}-{i:03d}{'-' + label if label else ''}-s{seed}")})
    return {"format": "dqn-studio-sweep", "version": 1, "name": name, "preset": preset,
            "base": base.to_dict(), "steps": steps, "seeds": list(seeds), "asha": bool(args.asha or file.get("asha")),
            "max_concurrent": args.max_concurrent or file.get("max_concurrent"), "gpus_per_trial": args.gpus_per_trial,
            "max_failures": args.max_failures, "trials": trials, "created": time.strftime(CREATED_FORMAT)}


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:120]


def sweep_file(runs_dir: Path, name: str) -> Path:
    return runs_dir / ".sweeps" / f"{_slug(name)}.json"


# ---- results -------------------------------------------------------------------------------------------------------
def summarize(spec: dict[str, Any], runs_dir: Path, wall_seconds: float) -> dict[str, Any]:
    """The summary JSON, read back from the run folders (so a resumed sweep reports every trial)."""
    trials, runs = [], []
    for trial in spec["trials"]:
        run = read_run(runs_dir / trial["run_id"])
        info = run.info
        counters = info.get("counters") or {}
        last = info.get("last_eval") or {}
        best = info.get("best_eval") or {}
        trials.append({"name": trial["run_id"], "params": trial["params"], "seed": trial["seed"],
                       "status": run.status if not run.error else "missing", "reason": info.get("reason"),
                       "node": info.get("node"), "steps": counters.get("steps"),
                       "final_eval_mean": last.get("mean"), "best_eval_score": best.get("score"),
                       "solved_at_step": info.get("solved_at_step"), "run_dir": str(runs_dir / trial["run_id"])})
        if not run.error:
            runs.append(run)
    groups = []
    for row, group in zip(group_table(group_runs(runs)), group_runs(runs)):
        params = {k: v for k, v in group.runs[0].behaviour().items() if k in _swept(spec)}
        groups.append({"params": params, "seeds": row["seeds"], "final_eval_mean": row["final_eval_mean"],
                       "final_eval_std": row["final_eval_std"], "best_eval_mean": row["best_eval_mean"]})
    return {"name": spec["name"], "wall_seconds": round(wall_seconds, 3), "trials": trials, "groups": groups}


def _swept(spec: dict[str, Any]) -> set[str]:
    return {k for t in spec["trials"] for k in t["params"]}


def groups_table(summary: dict[str, Any]) -> str:
    lines = ["settings | seeds | final eval (mean ± std) | best eval (mean)", "-|-|-|-"]
    for g in summary["groups"]:
        settings = ", ".join(f"{k}={_short(v)}" for k, v in g["params"].items()) or "(base)"
        final = "—" if g["final_eval_mean"] is None else f"{g['final_eval_mean']:.1f} ± {g['final_eval_std']:.1f}"
        best = "—" if g["best_eval_mean"] is None else f"{g['best_eval_mean']:.1f}"
        lines.append(f"{settings} | {' '.join(map(str, g['seeds']))} | {final} | {best}")
    return "\n".join(lines)


# ---- main ----------------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    prog = "dqn-sweep"
    try:
        return _main(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, ValueError, OSError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _main(args: argparse.Namespace) -> int:
    check_output_path(args.summary_json, "--summary-json")
    runs_dir = Path(args.runs_dir).expanduser() if args.runs_dir else default_runs_dir()
    # The user's own input is checked before the extra is asked for: a typo is heard first, and a missing Ray does
    # not hide it until after the install.
    if args.resume:
        path = sweep_file(runs_dir, args.resume)
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError("--resume", args.resume, f"no readable sweep of that name in {runs_dir} ({exc})") \
                from None
    else:
        spec = build_spec(args)
    if not EXTRAS["sweep"].installed:
        print(f"dqn-sweep: error: sweeps need Ray Tune, which is not installed: {EXTRAS['sweep'].install}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.resume:
        runs_dir.mkdir(parents=True, exist_ok=True)
        path = sweep_file(runs_dir, spec["name"])
        if path.exists():
            raise ConfigError("--name", spec["name"], f"a sweep of that name exists in {runs_dir}; use --resume "
                              f"{spec['name']} to finish it, or another --name")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(spec, indent=1).encode("utf-8"))
    from dqn_core.experiments.sweep_ray import run_sweep

    started = time.perf_counter()
    interrupted = run_sweep(spec, runs_dir, address=args.address)
    summary = summarize(spec, runs_dir, time.perf_counter() - started)
    print(groups_table(summary))
    done = sum(t["status"] == "finished" for t in summary["trials"])
    failed = [t for t in summary["trials"] if t["status"] == "failed"]
    print(f"dqn-sweep: {done} of {len(summary['trials'])} trials finished, {len(failed)} failed, "
          f"{summary['wall_seconds']:.0f} s; runs in {runs_dir}", file=sys.stderr)
    for t in failed:
        print(f"dqn-sweep: failed: {t['name']}: {t['reason']}", file=sys.stderr)
    if args.summary_json:
        atomic_write_bytes(args.summary_json, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    if interrupted:
        print(f"dqn-sweep: interrupted; finished runs are kept; `dqn-sweep --resume {spec['name']}` runs the rest",
              file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
