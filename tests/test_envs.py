from __future__ import annotations

import numpy as np
import pytest

from dqn_core.config import TrainConfig
from dqn_core.envs.observed import EnvError, ObservedEnv


@pytest.mark.parametrize("env_id, dim, actions", [("CartPole-v1", 4, 2), ("Acrobot-v1", 6, 3), ("MountainCar-v0", 2, 3)])
def test_state_vector_envs(env_id, dim, actions):
    env = ObservedEnv(TrainConfig(env_id=env_id, obs="state"), seed=0)
    frame = env.reset()
    assert frame.shape == (dim,) and frame.dtype == np.float32 and env.n_actions == actions
    frame, reward, terminated, truncated = env.step(0)
    assert frame.shape == (dim,) and isinstance(reward, float)
    env.close()


@pytest.mark.needs("box2d")
def test_lunar_lander_state():
    env = ObservedEnv(TrainConfig(env_id="LunarLander-v3", obs="state"), seed=0)
    assert env.reset().shape == (8,) and env.n_actions == 4


def test_truncation_is_reported_apart_from_termination():
    env = ObservedEnv(TrainConfig(env_id="CartPole-v1", obs="state", max_episode_steps=5), seed=0)
    env.reset()
    flags = [env.step(i % 2)[2:] for i in range(5)]
    assert flags[-1] == (False, True)                          # time limit: truncated, not terminated


@pytest.mark.parametrize("env_id, fragment", [("NoSuchEnv-v9", "not a known gymnasium environment"),
                                              ("Pendulum-v1", "needs a discrete action space")])
def test_unusable_envs_are_refused_clearly(env_id, fragment):
    with pytest.raises(EnvError) as info:
        ObservedEnv(TrainConfig(env_id=env_id, obs="state"), seed=0)
    assert env_id in str(info.value) and fragment in str(info.value)


def test_direct_renderer_is_cartpole_only():
    with pytest.raises(EnvError, match="draws CartPole only"):
        ObservedEnv(TrainConfig(env_id="Acrobot-v1", obs="pixels", pixel_renderer="direct"), seed=0)


def test_lecture_pixels_start_with_a_zero_difference():
    env = ObservedEnv(TrainConfig(), seed=0)                  # the lecture: RGB 3×40×90, difference of 2 frames
    first = env.reset()
    assert first.shape == (3, 40, 90) and first.dtype == np.uint8
    stacked = env.stacked()
    assert stacked.shape == (2, 3, 40, 90) and np.array_equal(stacked[0], stacked[1])
    for _ in range(8):
        env.step(1)
    assert not np.array_equal(env.stacked()[0], env.stacked()[1])


def test_frame_stack_keeps_the_last_k_frames(pixel_config):
    env = ObservedEnv(pixel_config.replace(frame_stack=3, frame_gap=1), seed=0)
    env.reset()
    frames = [env.step(1)[0] for _ in range(4)]
    assert np.array_equal(env.stacked(), np.stack(frames[-3:]))
    assert env.stacked().shape == (3, 1, 40, 80)


def test_frame_gap_shows_every_gap_th_frame(pixel_config):
    env = ObservedEnv(pixel_config.replace(frame_stack=3, frame_gap=2), seed=0)
    first = env.reset()
    frames = [env.step(1)[0]]
    assert np.array_equal(env.stacked(), np.stack([first, first, frames[0]]))      # the first frame repeats
    frames += [env.step(0)[0] for _ in range(5)]
    assert np.array_equal(env.stacked(), np.stack(frames[-5::2]))


def test_same_seed_same_episode(state_config):
    runs = []
    for _ in range(2):
        env = ObservedEnv(state_config, seed=7)
        runs.append([env.reset()] + [env.step(1)[0] for _ in range(5)] + [env.reset()])
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"])
def test_fast_screen_grab_gives_gymnasiums_pixels(env_id):
    from dqn_core.envs.observed import gym, render_screen

    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=3)
    env.step(1)
    fast = render_screen(env)
    assert fast.flags.c_contiguous and np.array_equal(fast, env.render())
    assert env.unwrapped.render_mode == "rgb_array"


def test_action_repeat_holds_the_action_and_sums_rewards():
    """k = 3 on CartPole: the same physics as three single steps with that action, reward 3, last state observed."""
    single = ObservedEnv(TrainConfig(env_id="CartPole-v1", obs="state"), seed=5)
    repeated = ObservedEnv(TrainConfig(env_id="CartPole-v1", obs="state", action_repeat=3), seed=5)
    single.reset()
    repeated.reset()
    for action in (0, 1, 1):
        for _ in range(3):
            expected, *_ = single.step(action)
        frame, reward, terminated, truncated = repeated.step(action)
        assert reward == 3.0 and repeated.last_env_steps == 3
        np.testing.assert_array_equal(frame, expected)


def test_action_repeat_stops_at_the_end_of_the_episode():
    env = ObservedEnv(TrainConfig(env_id="CartPole-v1", obs="state", action_repeat=4, max_episode_steps=6), seed=0)
    env.reset()
    assert env.step(0)[1:] == (4.0, False, False) and env.last_env_steps == 4
    assert env.step(0)[1:] == (2.0, False, True) and env.last_env_steps == 2    # the limit, not 8 steps
