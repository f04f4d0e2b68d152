"""The env families, and which one owns an env id. Adding a family is one module making a `Family` (see
`family.py`), listed here, and a preset."""
from __future__ import annotations

from dqn_core.envs import atari, gymnasium_envs, minatar
from dqn_core.envs.family import Family

FAMILIES: tuple[Family, ...] = (atari.FAMILY, minatar.FAMILY, gymnasium_envs.FAMILY)     # the catch-all last


def family_of(env_id: str) -> Family:
    """The family that owns `env_id` (every id has one: the last family takes the rest)."""
    env_id = env_id.strip()
    return next(f for f in FAMILIES if f.owns(env_id))


def family_named(name: str) -> Family:
    return next(f for f in FAMILIES if f.name == name)
