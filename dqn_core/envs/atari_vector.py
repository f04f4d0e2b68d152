"""Atari games stepped together by ale-py's own C++ vector env (`AtariVectorEnv`), for training with a learner
thread (`learner_thread`).

Why: ale-py's Python env holds Python's lock while the emulator runs, so a learner thread next to it got half its
speed; the vector env steps the games in its own threads with the lock released, and the learner keeps its core.
It preprocesses as `obs = "atari"` does (frame skip with the last two frames max-pooled, no-op starts, grayscale
84×84, no sticky actions, FIRE after a reset where the game needs it). An env whose episode ended starts its next
one at the next step (the vector env's own reset), as the trainer's parallel envs always do. Its episodes are not
restorable from an agent file (neither are the Python env's Atari episodes).
"""
from __future__ import annotations

import re
from collections import deque
from typing import Any

import numpy as np

from dqn_core.config import TrainConfig
from dqn_core.envs.atari import INSTALL
from dqn_core.envs.family import EnvError
from dqn_core.envs.observed import ObservedEnv, window_length


def rom_name(env_id: str) -> str:
    """'ALE/SpaceInvaders-v5' -> 'space_invaders' (the vector env's name for a game)."""
    game = env_id.split("/")[-1].split("-")[0]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", game).lower()


def usable(config: TrainConfig) -> bool:
    """Whether training with `config` steps its games in the vector env."""
    return config.learner_thread and config.obs == "atari" and config.grayscale and config.env_id.startswith("ALE/")


class Lane:
    """One game of the vector env, seen as the trainer sees an env (its frames, stack, lives, screen)."""

    def __init__(self, vector: AtariVector, index: int) -> None:
        self.vector, self.index = vector, index
        ref = vector.reference
        self.config = ref.config
        self.n_actions, self.frame_shape, self.frame_dtype = ref.n_actions, ref.frame_shape, ref.frame_dtype
        self._frames: deque[np.ndarray] = deque(maxlen=window_length(ref.config))
        self.lives = 0
        self.life_lost = False
        self.last_env_steps = 0

    def start(self, frame: np.ndarray, lives: int) -> None:
        self._frames.clear()
        for _ in range(self._frames.maxlen):
            self._frames.append(frame)
        self.lives, self.life_lost = lives, False

    def stacked(self) -> np.ndarray:
        return np.stack(list(self._frames)[::self.config.frame_gap])

    def screen(self) -> np.ndarray:
        """What the window shows: the frame the network gets (the vector env renders no colour screen)."""
        return np.repeat(self._frames[-1][0][..., None], 3, axis=-1)          # (1, H, W) grayscale -> (H, W, 3)

    def action_names(self) -> list[str]:
        return self.vector.reference.action_names()

    def reward_threshold(self) -> float | None:
        return self.vector.reference.reward_threshold()

    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"seeded": True, "restorable": False}, {"frames": np.stack(self._frames)}

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bool:
        return False

    def close(self) -> None:
        self.vector.close()


class AtariVector:
    """`num_envs` games of `config.env_id`, seeded from `seed`; `lanes` are what the trainer steps."""

    def __init__(self, config: TrainConfig, seed: int, num_envs: int) -> None:
        try:
            from ale_py.vector_env import AtariVectorEnv
        except ImportError:
            raise EnvError(f"learner_thread with Atari needs ale-py's vector env: {INSTALL}") from None
        self.reference = ObservedEnv(config, seed, render=False)      # the game's names, threshold, frame shape
        height = config.frame_height
        width = config.frame_width or config.frame_height
        self.env = AtariVectorEnv(
            rom_name(config.env_id), num_envs, num_threads=1, noop_max=config.noop_max, frameskip=config.action_repeat,
            img_height=height, img_width=width, grayscale=config.grayscale, stack_num=1, maxpool=True,
            repeat_action_probability=0.0, reward_clipping=False, episodic_life=False,
            use_fire_reset=self.reference.fire_action is not None, autoreset_mode="NextStep")
        shape = self.env.single_observation_space.shape
        if tuple(shape) != tuple(self.reference.frame_shape):
            self.env.close()
            raise EnvError(f"ale-py's vector env gives frames of {shape}, the trainer expects "
                           f"{self.reference.frame_shape}")
        self.seed = seed
        self.lanes = [Lane(self, i) for i in range(num_envs)]
        self._frame_numbers = np.zeros(num_envs, dtype=np.int64)
        self._started = False
        self._starting = np.zeros(num_envs, dtype=bool)

    def start(self) -> list[np.ndarray]:
        """First frames of every game when they have not started yet (a run's start), else none: games that ended
        begin their next episode at the next step."""
        return self.reset_all() if not self._started else []

    def step_acting(self, acting: list[int], actions: list[int]) -> list[tuple[bool, tuple]]:
        """The trainer's step: `actions` of the `acting` games (the others begin their next episode). Per game, in
        order: (True, (first frame,)) or (False, (frame, reward, terminated, truncated))."""
        full = [0] * len(self.lanes)
        for i, action in zip(acting, actions):
            full[i] = action
        return [(True, (frame,)) if started else (False, (frame, reward, terminated, truncated))
                for frame, reward, terminated, truncated, started in self.step(full)]

    def reset_all(self) -> list[np.ndarray]:
        """First frames of every game (the run's start)."""
        obs, info = self.env.reset(seed=self.seed if not self._started else None)
        self._started = True
        self._frame_numbers[:] = info["frame_number"]
        frames = []
        for i, lane in enumerate(self.lanes):
            frame = obs[i]
            lane.start(frame, int(info["lives"][i]))
            frames.append(frame)
        self._starting[:] = False
        return frames

    def step(self, actions: list[int]) -> list[tuple[np.ndarray, float, bool, bool, bool]]:
        """Step every game; a game whose episode ended at the last step begins its next one instead (its action is
        ignored). Per game: (frame, reward, terminated, truncated, started)."""
        obs, rewards, terminated, truncated, info = self.env.step(np.asarray(actions, dtype=np.int64))
        frames = info["frame_number"].astype(np.int64)
        out = []
        for i, lane in enumerate(self.lanes):
            frame, lives = obs[i], int(info["lives"][i])
            started = bool(self._starting[i])
            if started:
                lane.start(frame, lives)
                lane.last_env_steps = 0
            else:
                lane._frames.append(frame)
                lane.life_lost, lane.lives = lives < lane.lives, lives
                lane.last_env_steps = int(max(frames[i] - self._frame_numbers[i], 0))
            out.append((frame, float(rewards[i]), bool(terminated[i]), bool(truncated[i]), started))
        self._frame_numbers = frames
        self._starting = terminated | truncated
        return out

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.reference.close()
            self.env = None
