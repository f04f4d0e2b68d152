"""MinAtar (Young & Tian 2019): Atari-like games on a 10×10 grid of on/off channels, made for DQN on a CPU
(`MinAtar/<Game>-v1`; installed with `pip install --no-deps minatar`, since its core needs only numpy)."""
from __future__ import annotations

import logging

import gymnasium as gym

from dqn_core.envs.family import EnvError, Family

GAMES = ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders")
ACTIONS = {"n": "NOOP", "l": "LEFT", "u": "UP", "r": "RIGHT", "d": "DOWN", "f": "FIRE"}
INSTALL = "pip install --no-deps minatar (its core needs only numpy; README, MinAtar)"


def register() -> None:
    """MinAtar's gymnasium ids (-v0 with all 6 actions, -v1 with each game's minimal set). It warns once that its
    plotting packages are missing, which matters only to its own renderer (ours draws the grid itself)."""
    if "MinAtar/Breakout-v1" in gym.registry:
        return
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        from minatar.gym import register_envs
    except ImportError:
        raise EnvError(f"MinAtar games need the MinAtar package: {INSTALL}") from None
    finally:
        root.setLevel(level)
    register_envs()


def make_kwargs(config) -> dict:
    try:
        register()
    except EnvError:
        raise EnvError(f"env_id = {config.env_id!r} needs the MinAtar package: {INSTALL}") from None
    return {}


def action_names(unwrapped: gym.Env) -> list[str]:
    action_map = unwrapped.game.env.action_map
    return [ACTIONS.get(action_map[a], str(action_map[a])) for a in unwrapped.action_set]


FAMILY = Family(name="minatar", title="MinAtar", prefix="MinAtar/", preset="minatar", register=register,
                game_ids=lambda: [f"MinAtar/{game}-v1" for game in GAMES], make_kwargs=make_kwargs,
                action_names=action_names, own_pixels=True)
