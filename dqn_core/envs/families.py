"""The env families, and which one owns an env id. Adding a family is one module making a `Family` (see
`family.py`), listed here, and a preset."""
from __future__ import annotations

import gymnasium as gym

from dqn_core.config import did_you_mean
from dqn_core.envs import atari, gymnasium_envs, minatar
from dqn_core.envs.family import EnvError, Family

FAMILIES: tuple[Family, ...] = (atari.FAMILY, minatar.FAMILY, gymnasium_envs.FAMILY)     # the catch-all last


def family_of(env_id: str) -> Family:
    """The family that owns `env_id` (every id has one: the last family takes the rest)."""
    env_id = env_id.strip()
    return next(f for f in FAMILIES if f.owns(env_id))


def family_named(name: str) -> Family:
    return next(f for f in FAMILIES if f.name == name)


def unavailable(env_id: str) -> str:
    """Why `env_id` cannot be trained here, as far as can be told without making it ('' when nothing is known
    against it): a missing extra, or an id gymnasium does not know."""
    env_id = env_id.strip()
    family = family_of(env_id)
    extra = family.extra_for(env_id)
    if extra is not None and not extra.installed:
        return f"env_id = {env_id!r} needs the '{extra.name}' extra, which is not installed: {extra.install}"
    try:
        family.register()
    except EnvError as exc:
        return str(exc)
    if ":" in env_id or env_id in gym.registry:        # "module:Env-v0" registers itself when made
        return ""
    return f"env_id = {env_id!r} is not a known gymnasium environment{did_you_mean(env_id, gym.registry.keys())}"
