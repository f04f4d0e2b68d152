"""Atari games through ale-py (`ALE/<Game>-v5`; the optional `atari` extra: ale-py, whose wheel carries the ROMs,
and OpenCV for resizing), set up as the DQN papers play them."""
from __future__ import annotations

from typing import Any

import gymnasium as gym

from dqn_core.config import TrainConfig
from dqn_core.envs.family import EnvError, Family

INSTALL = "pip install 'dqn-studio[atari]' (ale-py, whose wheel carries the game ROMs, and OpenCV for resizing)"


def register() -> None:
    if "ALE/Pong-v5" in gym.registry:
        return
    try:
        import ale_py
    except ImportError:
        raise EnvError(f"Atari games need the Atari extra: {INSTALL}") from None
    gym.register_envs(ale_py)


def games() -> list[str]:
    return sorted(k for k in gym.registry if k.startswith("ALE/") and k.endswith("-v5"))


def make_kwargs(config: TrainConfig) -> dict[str, Any]:
    try:
        register()
    except EnvError:
        raise EnvError(f"env_id = {config.env_id!r} needs the Atari extra: {INSTALL}") from None
    if config.obs != "atari":
        return {}
    # The paper's setting: no sticky actions, the game's minimal action set; frame skip (with max-pooling) is
    # AtariPreprocessing's, so the emulator itself must not skip.
    return {"frameskip": 1, "repeat_action_probability": 0.0, "full_action_space": False}


def wrap(env: gym.Env, config: TrainConfig) -> gym.Env:
    """gymnasium's AtariPreprocessing with the config's frame skip, no-op starts and frame size. Lives are followed
    by ObservedEnv (a lost life ends an episode for learning only), so the wrapper never ends one itself."""
    if config.obs != "atari":
        return env
    size = config.frame_height if not config.frame_width else (config.frame_width, config.frame_height)
    try:
        return gym.wrappers.AtariPreprocessing(env, noop_max=config.noop_max, frame_skip=config.action_repeat,
                                               screen_size=size, terminal_on_life_loss=False,
                                               grayscale_obs=config.grayscale, scale_obs=False)
    except gym.error.DependencyNotInstalled:
        env.close()
        raise EnvError(f"obs = 'atari' resizes frames with OpenCV, which is not installed: {INSTALL}") from None


def action_names(unwrapped: gym.Env) -> list[str]:
    return list(unwrapped.get_action_meanings())


FAMILY = Family(name="atari", title="Atari (ALE)", prefix="ALE/", preset="atari-cpu", register=register,
                game_ids=games, make_kwargs=make_kwargs, wrap=wrap, action_names=action_names,
                screen_fps=60.0, own_pixels=True,      # the console's 60 frames/s (ale-py declares 30 for its own)
                # ale-py declares no solved score; Pong ≥ 18 is the literature's (CleanRL's, Tianshou's) mark of a
                # learned game. Other games have none: a run on them stops at its budget.
                solved_scores={"ALE/Pong-v5": 18.0})
