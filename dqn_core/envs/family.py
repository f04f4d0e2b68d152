"""What one kind of environment needs that the rest of the engine and the window ask for: its env ids, the extra
that brings it, the preset that sets up its observation and network, how its envs are made, the names of its
actions and how fast its screen runs. Each family is one module (`atari.py`, `minatar.py`, `gymnasium_envs.py`)
that makes one `Family`; `families.py` lists them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym

from dqn_core.config import TrainConfig
from dqn_core.extras import EXTRAS


class EnvError(ValueError):
    """The environment cannot be used for DQN; the message says why."""


@dataclass(frozen=True)
class Family:
    name: str                         # also the name of its extra, where it has one
    title: str                        # as the env picker heads its games
    prefix: str                       # the env ids it owns ("" = every id no other family owns)
    preset: str                       # the preset that sets up its observation pipeline and network
    register: Callable[[], None] = lambda: None          # makes its ids known; EnvError naming the missing extra
    game_ids: Callable[[], list[str]] = lambda: []        # its games, once registered (the env picker lists them)
    make_kwargs: Callable[[TrainConfig], dict[str, Any]] = lambda config: {}
    wrap: Callable[[gym.Env, TrainConfig], gym.Env] = lambda env, config: env
    action_names: Callable[[gym.Env], list[str]] = lambda unwrapped: []
    screen_fps: float | None = None   # the console's own frame rate, where the env's metadata does not say
    own_pixels: bool = False          # its screen is a game's own pixels: drawn unsmoothed, with score and lives
    needs: Callable[[str], str | None] = lambda env_id: None        # the extra an env id needs beyond the family's
    # The score that counts as solving a game whose env declares none (an empty `solved_threshold` uses it), so a
    # preset's "solved" follows the game picked instead of carrying one game's score to another.
    solved_scores: dict[str, float] = field(default_factory=dict, hash=False, compare=False)
    @property
    def extra(self):
        return EXTRAS.get(self.name)

    def extra_for(self, env_id: str):
        """The optional extra `env_id` needs (the family's own, or one of its envs'), or None."""
        return self.extra or EXTRAS.get(self.needs(env_id) or "")

    def owns(self, env_id: str) -> bool:
        return env_id.startswith(self.prefix)

    def games(self) -> list[str]:
        """Its installed games as env ids (empty when its extra is missing)."""
        if self.extra is not None and not self.extra.installed:
            return []
        try:
            self.register()
        except EnvError:
            return []
        return self.game_ids()
