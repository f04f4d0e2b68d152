"""Atari through ale-py: the paper's preprocessing against gymnasium's own wrappers on real ROMs, what learning sees
(a lost life as an end, rewards as their sign) against what the plots see (the game), the presets, the memory refusal,
a short run through the CLI, and several envs stepped together giving the same transitions as single envs."""
from __future__ import annotations

import json
import re
import subprocess

import gymnasium as gym
import numpy as np
import pytest

from conftest import EVAL, TRAIN
from dqn_core.config import TrainConfig
from dqn_core.envs.families import family_named
from dqn_core.envs.observed import ObservedEnv
from dqn_core.learning.replay import ReplayMemoryError
from dqn_core.presets import load_preset
from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.evaluation import env_seed
from dqn_core.training.trainer import Trainer

pytestmark = pytest.mark.needs("atari")


def atari(game: str = "Pong", **changes) -> TrainConfig:
    """The mnih2013 preset on `game`, small enough for a test."""
    values = dict(env_id=f"ALE/{game}-v5", replay_capacity=4000, learning_starts=100_000, eval_every=0,
                  torch_threads=1)
    values.update(changes)
    return load_preset("mnih2013").replace(**values)


class PressFire(gym.Wrapper):
    """FIRE after a reset and after a lost life (Stable-Baselines3's FireResetEnv, plus the lost life that its
    EpisodicLifeEnv turns into a reset): what the Atari DQN setups do for games that wait for it."""

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        self.lives = info["lives"]
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if info["lives"] < self.lives and not (terminated or truncated):
            obs, more, terminated, truncated, info = self.env.step(1)
            reward += more
        self.lives = info["lives"]
        return obs, reward, terminated, truncated, info


def reference_env(game: str) -> gym.Env:
    """gymnasium's own wrappers with the paper's settings: the standard our pipeline must match."""
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make(f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.0, full_action_space=False)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
    return gym.wrappers.FrameStackObservation(PressFire(env), 4)


@pytest.mark.parametrize("game", ["Pong", "Breakout"])
def test_the_network_sees_what_gymnasiums_wrappers_give_on_a_real_rom(game):
    env = ObservedEnv(atari(game), seed=5)
    ref = reference_env(game)
    first = env.reset()
    ref_obs, _ = ref.reset(seed=5)
    assert env.frame_shape == (1, 84, 84) and first.dtype == np.uint8
    assert env.action_names()[:2] == ["NOOP", "FIRE"]
    # The reference pads its stack with the first frame repeated, as ours does.
    np.testing.assert_array_equal(env.stacked()[:, 0], ref_obs)
    rng = np.random.default_rng(0)
    lost = 0
    for t in range(600):
        action = int(rng.integers(env.n_actions))
        frame, reward, terminated, truncated = env.step(action)
        ref_obs, ref_reward, ref_terminated, ref_truncated, info = ref.step(action)
        stacked = env.stacked()
        assert stacked.shape == (4, 1, 84, 84) and stacked.dtype == np.uint8
        np.testing.assert_array_equal(stacked[:, 0], ref_obs, err_msg=f"step {t}")
        assert (reward, terminated, truncated) == (ref_reward, ref_terminated, ref_truncated)
        assert env.lives == info["lives"]
        lost += env.life_lost
        if terminated or truncated:
            break
    assert lost or game == "Pong"                   # Breakout's lives (and the FIRE after each) were exercised
    screen = env.screen()
    assert screen.shape == (210, 160, 3) and screen.dtype == np.uint8       # the game's own frame, for the window


def test_learning_sees_lost_lives_and_clipped_rewards_while_plots_see_the_game():
    # Space Invaders under random play: aliens are worth 5 to 30 points, and three lives go in a few hundred steps.
    trainer = Trainer(atari("SpaceInvaders", eps_start=1.0, eps_end=1.0, seed=1))
    events = list(trainer.run(max_steps=1500))
    ends = [e for e in events if isinstance(e, ev.EpisodeEnd)]
    assert ends, "no game ended in 1500 steps"
    n = trainer.replay.size
    valid = trainer.replay.valid[:n]
    rewards = trainer.replay.rewards[:n][valid]
    assert set(np.unique(rewards)) <= {0.0, 1.0} and rewards.sum() > 0               # learning: signs only
    assert all(e.total_return % 5 == 0 for e in ends) and max(e.total_return for e in ends) > 30   # plots: points
    # Every lost life is a terminal transition for learning, but only a whole game is an episode.
    terminals = int((trainer.replay.terminated[:n] & valid).sum())
    assert terminals >= 3 * len(ends) > len(ends)
    assert trainer.metrics.episodes["total_return"] == [e.total_return for e in ends]


@pytest.mark.slow
def test_evaluation_plays_at_the_settings_epsilon_and_reports_the_game_score():
    trainer = Trainer(atari("SpaceInvaders", eval_epsilon=0.05))
    returns = trainer.greedy_returns([11, 12])
    assert returns == trainer.greedy_returns([11, 12])          # each episode's exploration comes from its seed
    steps = [total for total, *_ in trainer.evaluator.steps(11)]
    assert steps[-1] == returns[0] and returns[0] % 5 == 0
    greedy = Trainer(atari("SpaceInvaders", eval_epsilon=0.0))
    greedy.agent.q_net.load_state_dict(trainer.agent.q_net.state_dict())
    assert [a for *_, a in greedy.evaluator.steps(11)] != [a for *_, a in trainer.evaluator.steps(11)]


def test_the_presets_are_the_papers_networks_and_fit_in_memory():
    small = atari()
    mnih = Trainer(small)
    shapes = [tuple(p.shape) for p in mnih.agent.q_net.parameters()]
    assert shapes == [(16, 4, 8, 8), (16,), (32, 16, 4, 4), (32,), (256, 2592), (256,), (6, 256), (6,)]
    nature = Trainer(load_preset("nature2015").replace(env_id="ALE/Pong-v5", replay_capacity=4000, torch_threads=1))
    assert [tuple(p.shape) for p in nature.agent.q_net.parameters()][:6:2] == [(32, 4, 8, 8), (64, 32, 4, 4),
                                                                               (64, 64, 3, 3)]
    for name in ("mnih2013", "nature2015"):
        config = load_preset(name)
        assert config.replay_capacity == 1_000_000 and config.eval_epsilon == 0.05
        assert config.life_loss_terminal and config.clip_rewards and config.noop_max == 30


def test_the_atari_cpu_preset_is_a_laptop_recipe_that_stops_when_pong_is_solved():
    config = load_preset("atari-cpu")
    assert (config.env_id, config.obs, config.network) == ("ALE/Pong-v5", "atari", "mnih2013-cnn")
    assert config.double_dqn and config.dueling and config.n_step == 3 and config.optimizer == "adam"
    assert config.target_update // config.train_freq * config.gradient_steps == 1000    # updates between syncs
    assert config.torch_threads == 2 and not config.learner_thread       # both cores, the synchronous loop
    assert config.stop_when_solved and config.solved_threshold is None and config.confirm_episodes >= 10
    assert config.eval_epsilon == 0.0 and not config.life_loss_terminal and config.clip_rewards
    trainer = Trainer(config.replace(learning_starts=200, eval_every=0, torch_threads=1))
    assert trainer.replay.nbytes < 1 << 30 and trainer.num_envs == 8       # 100k frames in under 1 GiB, 8 games
    for event in trainer.run(Control(), max_steps=400):
        assert not isinstance(event, ev.Failed)
    assert abs(trainer.updates - (400 - 200) / 4) <= 2                   # one update per 4 decisions once learning
    assert trainer.solved_threshold() == 18                               # Pong's solved score …


def test_a_solved_score_belongs_to_its_game_so_the_atari_preset_on_breakout_trains_to_its_budget():
    breakout = Trainer(load_preset("atari-cpu").replace(env_id="ALE/Breakout-v5", replay_capacity=1000,
                                                        torch_threads=1))
    assert breakout.solved_threshold() is None                            # … not carried to another game
    chosen = Trainer(atari("Breakout", solved_threshold=30.0))
    assert chosen.solved_threshold() == 30.0                              # a score the user sets still counts


def test_a_replay_memory_that_cannot_fit_is_refused_with_the_capacity_that_does():
    with pytest.raises(ReplayMemoryError) as caught:
        Trainer(atari(replay_capacity=100_000_000))
    message = str(caught.value)
    assert "replay_capacity = 100000000 needs" in message and "1×84×84 uint8 frames" in message
    fits = int(message.rsplit("at most ", 1)[1])
    assert 0 < fits < 100_000_000
    Trainer(atari(replay_capacity=min(fits, 1_000_000)))           # what it names does fit


def test_the_env_picker_lists_installed_games_by_id():
    games = family_named("atari").games()
    assert {"ALE/Pong-v5", "ALE/Breakout-v5", "ALE/SpaceInvaders-v5"} <= set(games) and len(games) > 50


@pytest.mark.slow
def test_several_envs_stepped_together_give_the_transitions_of_single_envs():
    """num_envs = 3: each env's frames, actions, rewards and ends in the replay are exactly what a single env with
    that env's seed gives for the same actions, episode after episode."""
    config = atari("Breakout", num_envs=3, eps_start=1.0, eps_end=1.0, replay_capacity=3000, seed=4)
    trainer = Trainer(config)
    events = list(trainer.run(max_steps=1200))
    assert 1200 <= trainer.step < 1203                          # all 3 envs step together
    assert sum(isinstance(e, ev.EpisodeEnd) for e in events) >= 3
    replay = trainer.replay
    for i in range(3):
        slots = np.arange(i, replay.size, 3)                    # env i's frames, in the order it saw them
        single = ObservedEnv(config, env_seed(config.seed, i))
        checked = 0
        for k, slot in enumerate(slots):
            if replay.episode_start[slot]:
                np.testing.assert_array_equal(replay.frames[slot].numpy(), single.reset())
                continue
            previous = slots[k - 1]
            assert replay.valid[previous]
            frame, reward, terminated, truncated = single.step(int(replay.actions[previous]))
            np.testing.assert_array_equal(replay.frames[slot].numpy(), frame, err_msg=f"env {i}, slot {slot}")
            assert replay.rewards[previous] == np.sign(reward)
            assert replay.terminated[previous] == (terminated or single.life_lost)
            checked += 1
        assert checked > 300
    # Sampled stacks never mix envs: every frame of a stack comes from the env of its newest frame.
    stacks = replay.stack_indices(np.arange(replay.size))
    assert (stacks % 3 == np.arange(replay.size)[:, None] % 3).all()


def test_with_a_learner_thread_the_games_step_in_ales_vector_env_and_the_replay_keeps_each_games_order():
    """learner_thread: Pong's games step in ale-py's vector env. Every env's slots in the replay hold an unbroken
    stream: each episode starts with a marked first frame, the frames between are that game's (a stack never mixes
    games), the run ends with every update taken in and the frames shown are the game as the network sees it."""
    config = atari("Pong", num_envs=3, learner_thread=True, replay_capacity=3000, learning_starts=200, seed=2,
                   train_freq=4)
    trainer = Trainer(config)
    assert trainer.vector is not None and len(trainer.envs) == 3
    events = list(trainer.run(Control(display_every=1, display_fps=1e9), max_steps=900))
    assert isinstance(events[-1], ev.Finished) and 900 <= trainer.step < 903
    assert trainer.updates > 100 and trainer.learner is None
    replay = trainer.replay
    for i in range(3):
        slots = np.arange(i, replay.size, 3)
        assert replay.episode_start[slots[0]] and replay.valid[slots[:-1]].all()
    assert trainer.env_steps >= 4 * 890                      # four emulator frames per decision
    stacks = replay.stack_indices(np.arange(replay.size))
    assert (stacks % 3 == np.arange(replay.size)[:, None] % 3).all()
    frames = [e for e in events if isinstance(e, ev.Frame)]
    assert frames and frames[0].screen.shape == (84, 84, 3) and frames[0].net_input.shape == (4, 1, 84, 84)
    result = trainer.evaluate(1)                             # greedy play uses gymnasium's env, as always
    assert result is not None and -21 <= result.mean_return <= 21


@pytest.mark.slow
def test_a_short_atari_run_through_the_cli_then_dqn_eval_at_the_papers_epsilon(tmp_path):
    agent, summary, played = tmp_path / "pong.dqn", tmp_path / "s.json", tmp_path / "e.json"
    proc = subprocess.run([*TRAIN, "--preset", "mnih2013", "--steps", "400", "--set", "replay_capacity=2000",
                           "--set", "learning_starts=200", "--set", "num_envs=2", "--save", str(agent),
                           "--summary-json", str(summary), "--quiet", "--no-record"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    assert data["steps"] in (400, 401) and data["updates"] >= 45 and data["env_steps"] >= 4 * 398
    video = tmp_path / "pong.gif"
    proc = subprocess.run([*EVAL, str(agent), "--episodes", "1", "--summary-json", str(played), "--video", str(video)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(played.read_text())
    score = result["returns"][0]
    assert -21 <= score <= 21 and score == int(score)            # Pong's real score, not a clipped sum
    assert result["epsilon"] == 0.05 and "1 ε = 0.05 episodes of ALE/Pong-v5" in proc.stdout
    from PIL import Image

    with Image.open(video) as image:                             # the game's own frames, one per agent step,
        assert image.size == (160, 210) and image.n_frames > 200  # a game of Pong lasting hundreds of them
        assert image.info["duration"] == pytest.approx(1000 / 15, abs=10)    # about real time (GIF counts 10 ms)
    proc = subprocess.run([*EVAL, str(agent), "--episodes", "1", "--epsilon", "7"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "eval_epsilon = 7.0 is invalid: a number in [0, 1]" in proc.stderr


@pytest.mark.slow
def test_the_window_picks_a_game_and_shows_its_screen_input_score_lives_and_action_names(make_window, qtbot):
    w = make_window()                                              # a CartPole preset
    box = w.panel.controls["env_id"]
    assert box.findText("ALE/Breakout-v5") >= 0 and box.findText("MinAtar/Breakout-v1") >= 0
    box.setEditText("ALE/Breakout-v5")
    box.lineEdit().editingFinished.emit()                          # the user picks a game
    assert w.run.config.env_id == "ALE/Breakout-v5" and w.run.config.obs == "atari" and w.run.config.network == "mnih2013-cnn"
    assert w.run.preset_name == "atari-cpu"                         # the Atari preset that learns on a laptop
    w.actions_by_name["undo"].trigger()                            # one undo brings the CartPole settings back
    assert w.run.config.env_id == "CartPole-v1" and w.run.config.obs == "state"
    w.actions_by_name["redo"].trigger()
    w.configs.set_config(w.run.config.replace(replay_capacity=3000, learning_starts=100_000, device="cpu"), "test")
    w.training.start()
    qtbot.waitUntil(lambda: w.env_view.frames_shown >= 3, timeout=60_000)
    screen = w.env_view.screen
    assert (screen.image.width(), screen.image.height()) == (160, 210)      # the game's own frame …
    rect = screen.target_rect()
    scale = rect.width() / 160
    assert screen.pixel_art and rect.height() == pytest.approx(210 * scale)  # … unsmoothed, its shape kept,
    assert scale < 2 or scale == int(scale)                                  # ×2, ×3 … when there is room
    # A game's last frame has no lives left (the overlay then leaves them out): read a frame of a game in play.
    overlays: list[str] = []
    qtbot.waitUntil(lambda: overlays.append(screen.overlay) or " · lives " in overlays[-1], timeout=60_000)
    assert re.fullmatch(r"game \d+ · score \d+ · lives [1-5] · ε [01]\.\d+", overlays[-1])
    assert len(w.env_view.input_views) == 4
    assert all((v.image.width(), v.image.height()) == (84, 84) for v in w.env_view.input_views)
    assert w.env_view.bars.names == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    w.actions_by_name["stop"].trigger()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=60_000)


def test_the_top_plot_shows_the_score_when_steps_do_not_all_pay_one(qtbot):
    from app.plots import PlotsPanel
    from dqn_core.training.metrics import Metrics

    panel = PlotsPanel()
    qtbot.addWidget(panel)
    metrics = Metrics()
    for k, (length, score) in enumerate([(900, 2.0), (1200, 5.0), (700, 0.0)]):
        metrics.add_episode(1000 * (k + 1), length, score, 10.0 * (k + 1))
    panel.set_metrics(metrics)
    assert panel.plots["duration"].titleLabel.text == "Episode return (score)"
    assert list(panel.curves["duration"].getData()[1]) == [2.0, 5.0, 0.0]
    cartpole = Metrics()
    for k in range(3):
        cartpole.add_episode(100 * (k + 1), 20 + k, float(20 + k), 1.0 * k)
    panel.set_metrics(cartpole)
    assert panel.plots["duration"].titleLabel.text == "Episode duration (steps)"
    assert list(panel.curves["duration"].getData()[1]) == [20.0, 21.0, 22.0]
