"""Environments and their observation pipelines: what the agent sees, frame by frame.

`ObservedEnv` wraps a gymnasium env and yields single *frames* (what the replay memory stores once each) and keeps the
short input_frames of frames the network sees (a stack, or the pair whose difference the lecture used).
"""
from __future__ import annotations

import warnings
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from dqn_core.config import TrainConfig, did_you_mean
from dqn_core.envs.families import family_of
from dqn_core.envs.family import EnvError  # noqa: F401  (where the env's users find it)
from dqn_core.envs.observations import CartPoleRenderer, CropWindow, cart_window, grid_to_rgb, image_frame, shrink


def input_frames(config: TrainConfig) -> int:
    """Frames the network sees at once: 2 for a difference, k for a stack, 1 for state vectors."""
    if config.obs == "state":
        return 1
    return 2 if config.frame_op == "difference" else config.frame_stack


def window_length(config: TrainConfig) -> int:
    """Recent frames an env keeps: the seen ones are `frame_gap` steps apart, so every frame between them is kept."""
    return (input_frames(config) - 1) * config.frame_gap + 1


def _make_gym(config: TrainConfig, render: bool) -> gym.Env:
    family = family_of(config.env_id)
    kwargs: dict[str, Any] = family.make_kwargs(config)
    if (render or config.obs == "pixels") and config.obs not in ("image", "atari"):
        kwargs["render_mode"] = "rgb_array"
    if config.max_episode_steps:
        kwargs["max_episode_steps"] = config.max_episode_steps
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gym.make(config.env_id, **kwargs)
    except gym.error.DependencyNotInstalled as exc:
        raise EnvError(f"env_id = {config.env_id!r} needs a package that is not installed: {exc}") from None
    except gym.error.Error as exc:
        hint = did_you_mean(config.env_id, gym.registry.keys())
        raise EnvError(f"env_id = {config.env_id!r} is not a known gymnasium environment{hint} ({exc})") from None
    except Exception as exc:  # a third-party env's constructor may raise anything
        raise EnvError(f"env_id = {config.env_id!r} could not be created: {type(exc).__name__}: {exc}") from None
    env = family.wrap(env, config)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise EnvError(f"env_id = {config.env_id!r} has actions {env.action_space}; DQN needs a discrete action space")
    if config.obs == "state" and not (isinstance(env.observation_space, gym.spaces.Box)
                                      and len(env.observation_space.shape) == 1):
        env.close()
        raise EnvError(f"env_id = {config.env_id!r} has observations {env.observation_space}; obs = 'state' needs a "
                       "flat vector (use obs = 'pixels', or 'image' for an image observation)")
    if config.obs == "image" and not (isinstance(env.observation_space, gym.spaces.Box)
                                      and len(env.observation_space.shape) in (2, 3)):
        env.close()
        raise EnvError(f"env_id = {config.env_id!r} has observations {env.observation_space}; obs = 'image' needs "
                       "an image (H×W or H×W×C; use obs = 'state' or 'pixels')")
    return env


def is_cartpole(env: gym.Env) -> bool:
    return type(env.unwrapped).__name__ == "CartPoleEnv"


def render_screen(env: gym.Env) -> np.ndarray:
    """The env's rgb_array frame (H, W, 3) uint8, contiguous.

    gymnasium's classic-control envs draw into a pygame surface and then return a transposed copy of it, which is
    most of their render time; for them the surface's bytes are taken directly in row order (the same pixels, about
    30 % faster, and already contiguous for display). Any other env renders as usual.
    """
    unwrapped = env.unwrapped
    if (type(unwrapped).__module__.startswith("gymnasium.envs.classic_control")
            and unwrapped.render_mode == "rgb_array" and hasattr(unwrapped, "screen")):
        import pygame

        unwrapped.render_mode = "surface"          # draws into unwrapped.screen and returns nothing
        try:
            unwrapped.render()
        finally:
            unwrapped.render_mode = "rgb_array"
        surface = unwrapped.screen
        if surface is not None:
            data = pygame.image.tobytes(surface, "RGB")
            return np.frombuffer(data, dtype=np.uint8).reshape(surface.get_height(), surface.get_width(), 3)
    return np.ascontiguousarray(env.render())


class ObservedEnv:
    """A gymnasium env plus the observation pipeline chosen by the config.

    :param seed: seeds the first reset; later resets continue the env's own random stream.
    :param render: also allow full-size rendering for display (always possible for pixel observations).
    """

    def __init__(self, config: TrainConfig, seed: int, render: bool = True) -> None:
        self.config = config
        self.env = _make_gym(config, render)
        self.seed = seed
        self.n_actions = int(self.env.action_space.n)
        self.input_frames = input_frames(config)
        self._frames: deque[np.ndarray] = deque(maxlen=window_length(config))     # stacked() shows every gap-th
        self._screen: np.ndarray | None = None        # full-size frame rendered this step, reused for display
        self._seeded = False
        self.last_env_steps = 0                       # env steps the last step() took (action repeat)
        self.ale = getattr(self.env.unwrapped, "ale", None) if config.obs == "atari" else None
        self.lives = 0
        self.life_lost = False                        # the last step() lost a life (Atari; the game goes on)
        names = self.action_names()
        # Games that wait for FIRE to serve (Breakout, …) get it after a reset and a lost life, as the Atari DQN
        # setups do (Stable-Baselines3's FireResetEnv); otherwise an agent can stall a game forever.
        self.fire_action = 1 if self.ale is not None and len(names) >= 3 and names[1] == "FIRE" else None
        self.renderer: CartPoleRenderer | None = None
        unwrapped = self.env.unwrapped
        if config.obs == "pixels":
            if config.pixel_renderer == "direct":
                if not is_cartpole(self.env):
                    self.env.close()
                    raise EnvError(f"pixel_renderer = 'direct' draws CartPole only, not env_id = {config.env_id!r}; "
                                   "use pixel_renderer = 'gym'")
                self.renderer = CartPoleRenderer(unwrapped.x_threshold, unwrapped.length, config.pixel_view,
                                                 config.frame_height, config.frame_width, config.grayscale)
        obs, _ = self.env.reset(seed=seed)
        self.frame_shape = self._observe(obs).shape
        self.frame_dtype = np.float32 if config.obs == "state" else np.uint8

    # ---- frames ----------------------------------------------------------------------------------------------
    def _observe(self, obs: np.ndarray) -> np.ndarray:
        """One frame for the replay memory: the state vector, or the processed screen."""
        self._screen = None
        cfg = self.config
        if cfg.obs == "state":
            return np.asarray(obs, dtype=np.float32)
        if cfg.obs in ("image", "atari"):
            return image_frame(obs)
        unwrapped = self.env.unwrapped
        if self.renderer is not None:
            return self.renderer.render(unwrapped.state)
        screen = render_screen(self.env)
        self._screen = screen
        if is_cartpole(self.env):
            window = cart_window(float(unwrapped.state[0]), unwrapped.x_threshold, cfg.pixel_view,
                                 screen.shape[1], screen.shape[0])
        else:
            window = CropWindow(0, screen.shape[0], 0, screen.shape[1])
        return shrink(screen, window, cfg.frame_height, cfg.frame_width, cfg.grayscale)

    def reseed(self, seed: int) -> None:
        """The next reset starts from `seed` (evaluation plays each episode from a known seed)."""
        self.seed = seed
        self._seeded = False

    def reset(self) -> np.ndarray:
        """Start an episode; return its first frame. The input_frames is filled with copies of it (a zero difference)."""
        obs, _ = self.env.reset(seed=None if self._seeded else self.seed)
        self._seeded = True
        if self.ale is not None:
            self.lives = self.ale.lives()
            self.life_lost = False
            if self.fire_action is not None:
                obs, _, terminated, truncated, _ = self.env.step(self.fire_action)
                if terminated or truncated:
                    obs, _ = self.env.reset()
        frame = self._observe(obs)
        self._frames.clear()
        for _ in range(self._frames.maxlen):
            self._frames.append(frame)
        return frame

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """Act (held for `action_repeat` env steps, or until the episode ends); return (next frame, summed reward,
        terminated, truncated). `last_env_steps` tells how many env steps it took."""
        if self.ale is not None:
            return self._atari_step(action)
        total = 0.0
        for taken in range(1, self.config.action_repeat + 1):
            obs, reward, terminated, truncated, _ = self.env.step(int(action))
            total += float(reward)
            if terminated or truncated:
                break
        self.last_env_steps = taken
        reward = total
        frame = self._observe(obs)
        self._frames.append(frame)
        return frame, float(reward), bool(terminated), bool(truncated)

    def _atari_step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """One agent step of an Atari game: AtariPreprocessing skips the frames; a lost life is noted (and FIRE
        pressed where the game needs it to go on); `last_env_steps` counts emulator frames."""
        ale = self.ale
        start = ale.getFrameNumber()
        obs, reward, terminated, truncated, _ = self.env.step(int(action))
        lives = ale.lives()
        self.life_lost = lives < self.lives
        self.lives = lives
        if self.life_lost and self.fire_action is not None and not (terminated or truncated):
            obs, more, terminated, truncated, _ = self.env.step(self.fire_action)
            reward += more
        self.last_env_steps = ale.getFrameNumber() - start
        frame = self._observe(obs)
        self._frames.append(frame)
        return frame, float(reward), bool(terminated), bool(truncated)

    def stacked(self) -> np.ndarray:
        """The network's current input, oldest frame first: (input_frames, *frame_shape)."""
        return np.stack(list(self._frames)[::self.config.frame_gap])

    def screen(self) -> np.ndarray | None:
        """The full-size rendered frame (H, W, 3) uint8 for display, or None if the env cannot render."""
        if self._screen is not None:
            return self._screen
        if self.ale is not None:                              # the game's own screen, 210×160 in colour
            self._screen = self.ale.getScreenRGB()
            return self._screen
        if self.config.obs == "image" and self._frames:
            self._screen = grid_to_rgb(self._frames[-1])      # the image the agent sees, in colour, enlarged
            return self._screen
        try:
            self._screen = render_screen(self.env)
        except Exception:   # an env that cannot render: the view shows what the network sees only
            return None
        return self._screen

    def action_names(self) -> list[str]:
        """The env's names for its actions where it has them (MinAtar, Atari), else numbered ones."""
        try:
            return family_of(self.config.env_id).action_names(self.env.unwrapped)
        except (AttributeError, IndexError, TypeError):
            return []

    def reward_threshold(self) -> float | None:
        """The return that counts as solved: the env's own (CartPole-v1: 475), else its family's for the game."""
        spec = self.env.spec
        if spec is not None and spec.reward_threshold is not None:
            return spec.reward_threshold
        return family_of(self.config.env_id).solved_scores.get(self.config.env_id)

    def close(self) -> None:
        self.env.close()

    # ---- exact resume ----------------------------------------------------------------------------------------
    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The env's full state where it can be captured (classic-control physics envs), else only its RNG.

        Returns JSON-able values and arrays. `restorable` says whether the running episode can continue on load.
        """
        unwrapped = self.env.unwrapped
        meta: dict[str, Any] = {"seeded": self._seeded, "restorable": False}
        arrays: dict[str, np.ndarray] = {"frames": np.stack(self._frames)} if self._frames else {}
        rng = getattr(unwrapped, "_np_random", None)
        if rng is not None:
            meta["np_random"] = rng.bit_generator.state
        state = getattr(unwrapped, "state", None)
        if state is not None and np.asarray(state).dtype.kind == "f":
            arrays["state"] = np.array(state, dtype=np.float64)
            meta["state_type"] = type(state).__name__
            meta["restorable"] = True
            meta["steps_beyond_terminated"] = getattr(unwrapped, "steps_beyond_terminated", None)
            meta["elapsed_steps"] = self._time_limit_steps()
        return meta, arrays

    def restore(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bool:
        """Put back a snapshot; return False when the episode could not be restored (a new one must start)."""
        unwrapped = self.env.unwrapped
        self._seeded = bool(meta.get("seeded", True))
        if "np_random" in meta and getattr(unwrapped, "_np_random", None) is not None:
            unwrapped._np_random.bit_generator.state = meta["np_random"]
        if not meta.get("restorable") or "state" not in arrays:
            return False
        state = arrays["state"]
        unwrapped.state = tuple(state.tolist()) if meta.get("state_type") == "tuple" else np.array(state)
        if hasattr(unwrapped, "steps_beyond_terminated"):
            unwrapped.steps_beyond_terminated = meta.get("steps_beyond_terminated")
        self._set_time_limit_steps(meta.get("elapsed_steps"))
        frames = arrays.get("frames", ())
        self._frames.clear()
        for frame in frames:
            self._frames.append(np.array(frame))
        self._screen = None
        return True

    def _time_limit_steps(self) -> int | None:
        env = self.env
        while isinstance(env, gym.Wrapper):
            if isinstance(env, gym.wrappers.TimeLimit):
                return int(env._elapsed_steps or 0)
            env = env.env
        return None

    def _set_time_limit_steps(self, steps: int | None) -> None:
        env = self.env
        while isinstance(env, gym.Wrapper):
            if isinstance(env, gym.wrappers.TimeLimit):
                env._elapsed_steps = steps
            if isinstance(env, gym.wrappers.OrderEnforcing):
                env._has_reset = True
            env = env.env
