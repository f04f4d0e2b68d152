"""Named configs: the built-in ones in resources/presets, plus any folder of the user's."""
from __future__ import annotations

import tomllib
from pathlib import Path

from dqn_core.config import ConfigError, TrainConfig, did_you_mean, load_config_file

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "resources" / "presets"


def preset_dirs(extra: list[Path] | None = None) -> list[Path]:
    return [BUILTIN_DIR, *(extra or [])]


def list_presets(extra: list[Path] | None = None) -> dict[str, Path]:
    """Preset name -> file; a user's preset of the same name shadows a built-in one."""
    found: dict[str, Path] = {}
    for folder in preset_dirs(extra):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def preset_info(path: Path) -> dict[str, str]:
    """A preset's description and typical time to solve on a 2-core CPU (measured; README, Presets)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {"description": "", "solve_time": ""}
    return {"description": str(data.get("description", "")), "solve_time": str(data.get("solve_time", ""))}


def solve_time_where(info: dict[str, str]) -> str:
    """The preset's typical time with the machine it was measured on, unless its own words name it."""
    text = info.get("solve_time", "")
    return text if not text or "CPU" in text or "GPU" in text else f"{text} on 2 CPU cores"


def preset_description(path: Path) -> str:
    info = preset_info(path)
    return info["description"] + (f" ({solve_time_where(info)})" if info["solve_time"] else "")


def load_preset(name: str, extra: list[Path] | None = None) -> TrainConfig:
    """The preset's config on top of the defaults; unknown names list the known ones."""
    presets = list_presets(extra)
    if name not in presets:
        raise ConfigError("preset", name, "one of " + ", ".join(sorted(presets)) + did_you_mean(name, presets))
    return load_config_file(presets[name])
