"""The training loop: a generator of events that honours pause, single steps, stop, live patches and saves.

A `Trainer` is handed nothing but a config; it makes the envs, the agent and the replay memory, and composes the
parts that do the rest: greedy play (`Evaluator`), the best agent (`BestAgent`), statistics (`OpenRow`,
`StatsStream`). `run()` advances it and yields events; it can be called again to continue (or after loading an
agent file). Its counters are plain attributes, given and taken as one plain dict (`state()`, `restore()`).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Iterator

import numpy as np
import torch

from dqn_core.config import ConfigError, TrainConfig, live_changes
from dqn_core.device import describe_device, resolve_device, reuse_freed_memory, set_threads
from dqn_core.envs.atari_vector import AtariVector
from dqn_core.envs.atari_vector import usable as vector_usable
from dqn_core.envs.observed import ObservedEnv, input_frames
from dqn_core.learning.agent import DQNAgent, NonFiniteLossError, epsilon, learning_rate
from dqn_core.learning.replay import ReplayMemory
from dqn_core.training import events as ev
from dqn_core.training.best import BestAgent
from dqn_core.training.control import Control, SaveRequest
from dqn_core.training.evaluation import Evaluator, env_seed
from dqn_core.training.learner import InlineLearner, Learner
from dqn_core.training.metrics import Metrics
from dqn_core.training.saving import capture, save_agent
from dqn_core.training.stats import STATS_INTERVAL, OpenRow, StatsStream, run_summary


def _spent(budget: float | None, used: float) -> bool:
    return budget is not None and used >= budget


class Trainer:
    """One DQN agent and its training state.

    :param auto_threads: torch threads to use when `config.torch_threads` is 0 (default: half the cores).
    """

    def __init__(self, config: TrainConfig, auto_threads: int | None = None, check_memory: bool = True) -> None:
        self.config = config
        self.auto_threads = auto_threads
        self.device = resolve_device(config.device)
        set_threads(config.torch_threads, auto_threads)
        reuse_freed_memory()
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.num_envs = config.num_envs
        # With a learner thread, Atari games step in ale-py's vector env, outside Python's lock (atari_vector.py).
        self.vector = AtariVector(config, env_seed(config.seed, 0), self.num_envs) if vector_usable(config) else None
        self.envs = self.vector.lanes if self.vector else [ObservedEnv(config, env_seed(config.seed, i))
                                                           for i in range(self.num_envs)]
        self.env = self.envs[0]                    # the one the window shows
        self.input_frames = input_frames(config)
        self.agent = DQNAgent(config, tuple(self.env.frame_shape), self.input_frames, self.env.n_actions,
                              self.device)
        capacity = config.replay_capacity - config.replay_capacity % self.num_envs     # a whole slot per env
        if capacity < 2 * self.num_envs:
            raise ConfigError("replay_capacity", config.replay_capacity,
                              f"must hold at least two frames per env (num_envs = {self.num_envs})")
        self.replay = ReplayMemory(capacity, tuple(self.env.frame_shape), self.env.frame_dtype,
                                   self.input_frames, self.device, check_memory=check_memory,
                                   prioritized=config.prioritized, streams=self.num_envs, gap=config.frame_gap)
        self.metrics = Metrics()
        self.evaluator = Evaluator(self.agent, config)
        self.best = BestAgent()
        self.open_row = OpenRow(self.device)
        self.learner: Learner | InlineLearner | None = None    # who makes the updates, during run()
        self._stats_stream = StatsStream()
        self._last_frame_time = 0.0
        self.step = 0                              # decisions (agent steps); every schedule counts these
        self.env_steps = 0                         # env steps: more than `step` with action_repeat > 1
        self.episode = 0
        self.updates = 0
        self.wall_seconds = 0.0
        self.solved_at_step: int | None = None
        self.solved_at_seconds: float | None = None
        self.evals_done = 0                        # seeds each evaluation differently
        self.last_eval: ev.EvalResult | None = None
        # Each env's open episode: its length in env steps, its return (the game's score), whether it is running.
        self.episode_steps = [0] * self.num_envs
        self.episode_returns = [0.0] * self.num_envs
        self.episodes_open = [False] * self.num_envs

    # ---- public queries ----------------------------------------------------------------------------------------
    @property
    def device_name(self) -> str:
        return describe_device(self.device)

    @property
    def epsilon(self) -> float:
        return epsilon(self.config, self.step)

    @property
    def learning_rate(self) -> float:
        return learning_rate(self.config, self.step)

    def solved_threshold(self) -> float | None:
        if self.config.solved_threshold is not None:
            return self.config.solved_threshold
        return self.env.reward_threshold()

    def summary(self, since_step: int = 0, since_seconds: float = 0.0) -> dict[str, Any]:
        """Totals, and the training rate since (`since_step`, `since_seconds`): a run's own rate after a resume."""
        return run_summary(self, since_step, since_seconds)

    # ---- the loop ----------------------------------------------------------------------------------------------
    def run(self, control: Control | None = None, max_steps: int | None = None,
            max_episodes: int | None = None, max_seconds: float | None = None) -> Iterator[Any]:
        """Train until `max_steps`/`max_episodes`/`max_seconds` of training time more (if given), a stop request, or
        a solve with stop_when_solved."""
        control = control or Control()
        set_threads(self.config.torch_threads, self.auto_threads)
        yield ev.Started(self.device_name, self.config, self.step, self.episode, "train",
                         tuple(self.env.action_names()))
        start_step, start_episode, start_wall = self.step, self.episode, self.wall_seconds
        self._stats_stream.start(self.metrics, self.step)
        reason = "stopped"
        tick = time.perf_counter()
        self.learner = Learner(self.agent) if self.config.learner_thread else InlineLearner(self.agent)
        try:
            for i, frame in enumerate(self.vector.start() if self.vector is not None else []):
                self._episode_begun(i, frame)            # the vector env's first frames (none once it runs)
            for i in range(self.num_envs):            # one frame per env, in env order (the replay's layout)
                if not self.episodes_open[i] and self.vector is None:
                    self._begin_episode(i)
            was_paused = None
            while True:
                yield from self._serve_requests(control)
                if control.paused != was_paused:
                    was_paused = control.paused
                    yield ev.StateChanged("paused" if was_paused else "running", self.step, self.episode)
                if control.stop_requested:
                    break
                if _spent(max_steps, self.step - start_step) or _spent(max_episodes, self.episode - start_episode) \
                        or _spent(max_seconds, self.wall_seconds - start_wall):
                    reason = "budget"
                    break
                now = time.perf_counter()
                if not control.may_step(timeout=0.05):
                    tick = time.perf_counter()          # paused time is not training time
                    continue
                self.wall_seconds += now - tick
                tick = now
                before = self.step
                ended = yield from self._one_step(control)
                control.took_step(bool(ended))
                for i in ended:
                    yield from self._after_episode(control, i)
                if self.config.eval_unit == "steps":          # also when this step ended an episode
                    yield from self._maybe_evaluate(control, before, self.step)
                # An evaluation of this run that counts as solved: a run continued after its solve trains on to
                # its next evaluation, instead of stopping again at once.
                last = self.last_eval
                if self.config.stop_when_solved and last is not None and last.solved and last.step > start_step:
                    reason = "solved"
                    break
            self._settle()
            self.wall_seconds += time.perf_counter() - tick
            yield self._stats_stream.event(self)
            yield ev.Finished(reason, self.summary(start_step, start_wall))
        except NonFiniteLossError as exc:
            yield ev.Failed(f"Training stopped at step {self.step}: the loss became non-finite ({exc}). "
                            "The weights from before that update are kept; try a lower learning rate.", self.step)
        except (ConfigError, MemoryError, RuntimeError, ValueError) as exc:
            yield ev.Failed(f"Training stopped at step {self.step}: {type(exc).__name__}: {exc}", self.step)
        finally:
            if self.learner is not None:
                self.learner, learner = None, self.learner
                learner.close()

    def _begin_episode(self, i: int) -> None:
        self._episode_begun(i, self.envs[i].reset())

    def _episode_begun(self, i: int, frame: np.ndarray) -> None:
        self.replay.add_first(frame)
        self.episodes_open[i] = True
        self.episode_steps[i] = 0
        self.episode_returns[i] = 0.0

    def _step_envs(self, acting: list[int], actions: list[int]) -> list[tuple[bool, tuple]]:
        """Per env, in env order: (True, (first frame,)) where its next episode begins, else (False, (frame, reward,
        terminated, truncated)) of its step. Nothing is stored here: the caller stores in env order (the replay's
        layout). The vector env steps all its games in one call."""
        if self.vector is not None:
            return self.vector.step_acting(acting, actions)
        chosen = dict(zip(acting, actions))
        return [(False, self.envs[i].step(chosen[i])) if i in chosen else (True, (self.envs[i].reset(),))
                for i in range(self.num_envs)]

    def _one_step(self, control: Control) -> Iterator[Any]:
        """One step of every env (an env whose episode ended last step starts its next one instead), the updates
        and target syncs those steps make due; returns the envs whose episodes ended."""
        cfg = self.config
        eps = epsilon(cfg, self.step)
        show = control.frame_due(self.step, self._last_frame_time)
        acting = [i for i in range(self.num_envs) if self.episodes_open[i]]
        observations = [self.envs[i].stacked() for i in acting]
        actions, q_shown = self.agent.act_envs(observations, eps, self.rng, show and 0 in acting,
                                               batched=self.num_envs > 1)
        ended = []
        chosen = iter(actions)
        for i, (begun, outcome) in enumerate(self._step_envs(acting, actions)):
            if begun:
                self._episode_begun(i, outcome[0])      # this env's frame for this step
                continue
            env, action = self.envs[i], next(chosen)
            frame, reward, terminated, truncated = outcome
            # What learning sees may differ from the game: a lost life as an end, a reward as its sign.
            learn_terminal = terminated or (cfg.life_loss_terminal and env.life_lost)
            learn_reward = float(np.sign(reward)) if cfg.clip_rewards else reward
            self.replay.add_step(action, learn_reward, learn_terminal, truncated, frame)
            self.env_steps += env.last_env_steps
            self.episode_steps[i] += env.last_env_steps   # durations in env steps, the env's own time limit's unit
            self.episode_returns[i] += reward
            if terminated or truncated:
                ended.append(i)
        before = self.step
        self.step += len(acting)
        if len(self.replay) >= max(cfg.learning_starts, cfg.batch_size):
            rounds = _crossings(before, self.step, cfg.train_freq)
            if rounds:
                self._train(rounds * cfg.gradient_steps)
        if cfg.target_update_unit == "steps" and _crossings(before, self.step, cfg.target_update):
            self._settle()
            self.agent.sync_target(cfg.tau)
        if _crossings(before, self.step, STATS_INTERVAL):
            self.open_row.close(self.metrics, self.step, eps)
        if show and acting and acting[0] == 0:
            self._last_frame_time = time.perf_counter()
            yield ev.Frame(self.step, self.episode, self.episode_steps[0], self.episode_returns[0], eps,
                           self.env.screen(), observations[0], q_shown, actions[0], lives=self.env.lives)
        if self._stats_stream.due():
            yield self._stats_stream.event(self)
        return ended

    def _train(self, count: int) -> None:
        """`count` TD updates in a row (nothing is stored between them): here, or handed to the learner thread."""
        cfg = self.config
        beta = cfg.per_beta_start + (1.0 - cfg.per_beta_start) * min(1.0, self.step / cfg.per_beta_steps)
        self._settle()                           # a learner thread's round before: statistics, the actor's copy
        self.agent.set_lr(self.learning_rate)
        batches = self.replay.sample_batches(count, cfg.batch_size, self.rng, cfg.gamma, cfg.n_step, beta)
        self.learner.submit(batches, self.open_row, self.replay, cfg.per_alpha)
        self.updates += count

    def _settle(self) -> None:
        """Wait for the learner thread's round in flight, if any, and take in what it did: before anything reads or
        writes the networks (target syncs, evaluations, saves, live changes) and at the end of a run."""
        if self.learner is not None:
            self.learner.settle(self.open_row, self.replay, self.config.per_alpha)

    def _after_episode(self, control: Control, i: int) -> Iterator[Any]:
        self.episode += 1
        self.metrics.add_episode(self.step, self.episode_steps[i], self.episode_returns[i], self.wall_seconds)
        yield ev.EpisodeEnd(self.episode, self.step, self.episode_steps[i], self.episode_returns[i],
                            self.metrics.mean100("duration"), self.metrics.mean100("total_return"),
                            wall_seconds=self.wall_seconds)
        cfg = self.config
        if cfg.target_update_unit == "episodes" and self.episode % cfg.target_update == 0:
            self._settle()
            self.agent.sync_target(cfg.tau)
        if self.num_envs == 1 and self.vector is None:
            self._begin_episode(i)
        else:                        # its next episode starts at the next step, keeping one frame per env per step
            self.episodes_open[i] = False
            self.episode_steps[i], self.episode_returns[i] = 0, 0.0
        if cfg.eval_unit == "episodes":
            yield from self._maybe_evaluate(control, self.episode - 1, self.episode)

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def _maybe_evaluate(self, control: Control, before: int, after: int) -> Iterator[Any]:
        """Evaluate when the count (steps or episodes) passed a multiple of `eval_every` going from before to after."""
        every = self.config.eval_every
        if every and _crossings(before, after, every):
            result = self.evaluate(self.config.eval_episodes, control)
            if result is not None:
                yield result

    def evaluate(self, episodes: int, control: Control | None = None) -> ev.EvalResult | None:
        """Greedy returns over `episodes` episodes on envs of the evaluator's own (confirmed on fresh ones where the
        config asks); kept as the best agent when it scores highest so far. None if a stop interrupted it."""
        self._settle()
        result = self.evaluator.evaluate(self.evals_done, episodes, self.solved_threshold(), control)
        if result is None:
            return None
        self.evals_done += 1
        if result.solved and self.solved_at_step is None:
            self.solved_at_step, self.solved_at_seconds = self.step, self.wall_seconds
        self.metrics.add_eval(self.step, self.episode, result.mean_return, result.std_return)
        self.last_eval = replace(result, step=self.step, episode=self.episode, new_best=self.best.is_better(result))
        if self.last_eval.new_best:
            self.best.keep(self.last_eval, lambda: capture(self, include_replay=False))
        return self.last_eval

    def greedy_returns(self, seeds: list[int], control: Control | None = None) -> list[float] | None:
        """The return of one greedy episode per seed (as `evaluator.steps` plays it); None if stopped."""
        return self.evaluator.returns(seeds, control)

    def save(self, path: str, include_replay: bool = False, best: bool = False) -> ev.Saved:
        """Write this agent (with `best`, the one kept at its best evaluation) to `path`; never raises: a failure is
        a Saved event with `ok` False, and the previous file stays intact. Used while training (between steps) and
        while idle, so both say the same."""
        what = f"the best agent ({self.best.describe()})" if best and self.best.result else "agent"
        try:
            size = save_agent(self, path, include_replay=include_replay, best=best)
        except Exception as exc:   # a failed save must not stop training, nor lose the agent in memory
            return ev.Saved(str(path), False, f"Could not save {what} to {path}: {exc}", best, self.step)
        return ev.Saved(str(path), True, f"Saved {what} to {path} ({size / 1024:,.0f} KiB)", best, self.step)

    # ---- requests between steps ----------------------------------------------------------------------------------
    def _serve_requests(self, control: Control) -> Iterator[Any]:
        requests = control.pending()
        if requests:
            self._settle()
        for request in requests:
            if isinstance(request, SaveRequest):
                yield self.save(request.path, request.include_replay, request.best)
            else:
                yield self.apply_patch(request)

    def apply_patch(self, changes: dict[str, Any]) -> ev.ConfigApplied:
        """Apply live changes; non-live or invalid ones are rejected with a reason and change nothing."""
        new, rejected = live_changes(self.config, changes)
        diff = self.config.diff(new)
        for name, (old, value) in diff.items():
            self.metrics.add_change(self.step, self.episode, name, old, value)
        self.config = new
        self.agent.apply_config(new, self.learning_rate)
        if "torch_threads" in diff:
            set_threads(new.torch_threads, self.auto_threads)
        self.evaluator.config = new
        return ev.ConfigApplied(new, diff, rejected, self.step, self.episode)


def _crossings(before: int, after: int, period: int) -> int:
    """How many multiples of `period` lie in (before, after]: what became due as a count went from before to after."""
    return after // period - before // period
