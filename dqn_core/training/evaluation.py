"""Greedy play: the one loop that plays an agent's episodes without training (evaluations, confirmations, Watch,
dqn-eval and recordings), on envs of its own so that it never disturbs training's, and the seeds each use.

An episode is played at the evaluation's ε (`eval_epsilon`, 0 = fully greedy) with its exploration drawn from the
episode's own seed, so the same seed plays the same episode wherever it is played.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from dqn_core.config import TrainConfig
from dqn_core.device import one_thread
from dqn_core.envs.families import family_of
from dqn_core.envs.observed import ObservedEnv
from dqn_core.learning.agent import DQNAgent, evaluation_action
from dqn_core.training.control import Control
from dqn_core.training.events import EvalResult
from dqn_core.video import VideoError

EVAL_BATCH = 32              # evaluation episodes played side by side (one batched forward pass per step)

# Seeds. Every stream of episodes a run plays has a block of its own, far from the others and from neighbouring
# runs' seeds, so that no evaluation replays a training episode and runs with seeds 0 and 1 share nothing.
EVAL_SEED_OFFSET = 1_000_003      # evaluations start here (Watch at twice this)
EVAL_SEED_STRIDE = 7919           # between one evaluation's block and the next
CONFIRM_SEED_SHIFT = 1000         # confirmation episodes, after an evaluation's own (both at most 1000 episodes)
ENV_SEED_STRIDE = 104_729         # between the envs of one run (num_envs > 1)
PLAY_SEED_OFFSET = 5_000_000      # dqn-eval's episodes, unless it is given --seed
RECORD_SEED_OFFSET = 3_000_000    # the window's Record Video…


def env_seed(seed: int, i: int) -> int:
    """The seed of training env i of a run."""
    return seed + ENV_SEED_STRIDE * i


def evaluation_seeds(seed: int, evals_done: int, episodes: int) -> list[int]:
    first = seed + EVAL_SEED_OFFSET + EVAL_SEED_STRIDE * evals_done
    return [first + i for i in range(episodes)]


def confirmation_seeds(seed: int, evals_done: int, episodes: int) -> list[int]:
    first = seed + EVAL_SEED_OFFSET + EVAL_SEED_STRIDE * evals_done + CONFIRM_SEED_SHIFT
    return [first + i for i in range(episodes)]


def watch_seed(seed: int, played: int) -> int:
    return seed + 2 * EVAL_SEED_OFFSET + played


@dataclass(frozen=True)
class Move:
    """One step of one greedy episode: which env, what the network saw, its Q-values, the action and its outcome."""

    env: int
    observation: np.ndarray
    q: np.ndarray
    action: int
    reward: float
    done: bool


def start_episodes(envs: list[ObservedEnv], seeds: list[int]) -> None:
    """Reset each env to the start of its seed's episode."""
    for env, seed in zip(envs, seeds):
        env.reseed(seed)
        env.reset()


def greedy_episodes(agent: DQNAgent, envs: list[ObservedEnv], seeds: list[int], eps: float) -> Iterator[list[Move]]:
    """The episodes `start_episodes` began, one per env, played side by side with each one's exploration drawn
    from its seed: one batched forward pass per step chooses every playing env's action. Yields the step's moves,
    until every episode has ended."""
    rngs = [np.random.default_rng(seed) for seed in seeds]
    playing = list(range(len(envs)))
    while playing:
        observations = [envs[i].stacked() for i in playing]
        q = agent.q_values_batch(np.stack(observations))
        moves = []
        for i, observation, q_i in zip(playing, observations, q):
            action = evaluation_action(q_i, eps, rngs[i])
            _, reward, terminated, truncated = envs[i].step(action)
            moves.append(Move(i, observation, q_i, action, reward, terminated or truncated))
        playing = [m.env for m in moves if not m.done]
        yield moves


class Evaluator:
    """Plays an agent greedily on envs of its own, made on first use and kept for the next evaluation."""

    def __init__(self, agent: DQNAgent, config: TrainConfig) -> None:
        self.agent = agent
        self.config = config          # replaced by the trainer when live settings change (eval_epsilon)
        self.envs: list[ObservedEnv] = []

    def _envs(self, count: int, seed: int) -> list[ObservedEnv]:
        while len(self.envs) < count:
            self.envs.append(ObservedEnv(self.config, seed))
        for env in self.envs:
            env.config = self.config
        return self.envs[:count]

    def returns(self, seeds: list[int], control: Control | None = None) -> list[float] | None:
        """The return of one episode per seed, EVAL_BATCH at a time (~10× faster than one by one for small
        networks); None if a stop interrupted it."""
        returns: list[float] = []
        with one_thread():
            for first in range(0, len(seeds), EVAL_BATCH):
                chunk = seeds[first:first + EVAL_BATCH]
                totals = [0.0] * len(chunk)
                envs = self._envs(len(chunk), chunk[0])
                start_episodes(envs, chunk)
                for moves in greedy_episodes(self.agent, envs, chunk, self.config.eval_epsilon):
                    if control is not None and control.stop_requested:
                        return None
                    for move in moves:
                        totals[move.env] += move.reward
                returns.extend(totals)
        return returns

    def evaluate(self, evals_done: int, episodes: int, threshold: float | None,
                 control: Control | None = None) -> EvalResult | None:
        """The `evals_done`-th evaluation of a run (its own block of seeds): mean and spread of `episodes` returns,
        and whether they reach `threshold` — confirmed, where the config asks, by fresh episodes, since a short
        evaluation passes by luck now and then (one 20-episode pass at 481 scored 441 over 100). Step and episode
        are the caller's to fill in. None if a stop interrupted it."""
        cfg = self.config
        returns = self.returns(evaluation_seeds(cfg.seed, evals_done, episodes), control)
        if returns is None:
            return None
        mean = float(np.mean(returns))
        solved = threshold is not None and mean >= threshold
        confirm_mean = None
        if solved and cfg.confirm_episodes:
            more = self.returns(confirmation_seeds(cfg.seed, evals_done, cfg.confirm_episodes), control)
            confirm_mean = None if more is None else float(np.mean(more))
            solved = confirm_mean is not None and confirm_mean >= threshold
        return EvalResult(0, 0, mean, float(np.std(returns)), tuple(returns), threshold, solved, confirm_mean,
                          0 if confirm_mean is None else cfg.confirm_episodes)

    def steps(self, seed: int) -> Iterator[tuple[float, int, np.ndarray, np.ndarray, int]]:
        """One episode on the first env, step by step: (return so far, env steps so far, input, Q, action)."""
        env = self._envs(1, seed)[0]
        start_episodes([env], [seed])
        total, t = 0.0, 0
        for (move,) in greedy_episodes(self.agent, [env], [seed], self.config.eval_epsilon):
            total += move.reward
            t += env.last_env_steps
            yield total, t, move.observation, move.q, move.action

    @property
    def shown_env(self) -> ObservedEnv:
        """The env `steps` plays on (what Watch shows)."""
        return self._envs(1, self.config.seed)[0]


def greedy_frames(trainer, episodes: int, seed: int) -> Iterator[np.ndarray]:
    """The rendered screen at the start of each of `episodes` greedy episodes and after each of their steps, played
    on an environment of its own (so a recording never disturbs training's or evaluation's), at the evaluation's ε
    with each episode's exploration drawn from its seed, as dqn-eval plays it."""
    env = ObservedEnv(trainer.config, seed)
    try:
        for i in range(episodes):
            start_episodes([env], [seed + i])
            yield _screen(env, trainer.config.env_id)
            for _ in greedy_episodes(trainer.agent, [env], [seed + i], trainer.config.eval_epsilon):
                yield _screen(env, trainer.config.env_id)
    finally:
        env.close()


def _screen(env: ObservedEnv, env_id: str) -> np.ndarray:
    screen = env.screen()
    if screen is None:
        raise VideoError(f"{env_id} renders no frames, so it cannot be recorded")
    return screen


def default_fps(trainer) -> float:
    """Real time: the env's own rendering rate where it declares one (else 30) over the env steps each recorded frame
    spans (Atari: 60 frames/s, one recorded frame per 4)."""
    own = family_of(trainer.config.env_id).screen_fps
    if own:
        return own / trainer.config.action_repeat
    fps = getattr(trainer.env.env.unwrapped, "metadata", {}).get("render_fps")
    fps = float(fps) if isinstance(fps, (int, float)) and fps > 0 else 30.0
    return fps / trainer.config.action_repeat
