"""Every other gymnasium env with discrete actions (classic control, Box2D, third-party ones), seen from its state
vector or its rendered screen."""
from __future__ import annotations

from dqn_core.envs.family import Family

BOX2D = ("LunarLander-v3",)      # gymnasium's Box2D envs with discrete actions


def needs(env_id: str) -> str | None:
    return "box2d" if env_id in BOX2D else None


FAMILY = Family(name="gymnasium", title="Gymnasium", prefix="", preset="zoo-state", needs=needs)
