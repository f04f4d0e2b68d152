"""What both commands share: their exit codes, the one-line failure, JSON output, and settings from arguments."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn, Sequence

from dqn_core.config import ConfigError, TrainConfig, load_config_file
from dqn_core.fileio import atomic_write_bytes
from dqn_core.presets import load_preset

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
DEFAULT_PRESET = "zoo-state"        # learns CartPole in about 20 s on 2 cores


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def write_json(path: str, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", item, "expected KEY=VALUE, e.g. --set lr=0.001")
        out[key.strip()] = value.strip()
    return out


def build_config(args: argparse.Namespace) -> TrainConfig:
    config = load_preset(args.preset or DEFAULT_PRESET)
    if args.config:
        config = load_config_file(args.config, base=config)
    changes: dict[str, Any] = parse_sets(args.set)
    if args.env:
        changes["env_id"] = args.env
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.device:
        changes["device"] = args.device
    if args.threads is not None:
        changes["torch_threads"] = args.threads
    return config.replace(**changes) if changes else config
