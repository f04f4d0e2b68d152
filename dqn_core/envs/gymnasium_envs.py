"""Every other gymnasium env with discrete actions (classic control, Box2D, third-party ones), seen from its state
vector or its rendered screen."""
from __future__ import annotations

from dqn_core.envs.family import Family

FAMILY = Family(name="gymnasium", title="Gymnasium", prefix="", preset="zoo-state")
