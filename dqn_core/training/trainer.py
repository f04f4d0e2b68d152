"""The training loop: a generator of events that honours pause, single steps, stop, live patches and saves.

A `Trainer` owns everything one agent is: config, env, networks, optimizer, replay, counters, RNGs and metrics.
`run()` advances it and yields events; it can be called again to continue (or after loading an agent file).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import replace
from typing import Any, Iterator

import numpy as np
import torch

from dqn_core.training import events as ev
from dqn_core.learning.agent import DQNAgent, NonFiniteLossError, epsilon, evaluation_action, learning_rate
from dqn_core.config import LIVE_FIELDS, ConfigError, TrainConfig, parse_values
from dqn_core.training.control import Control, SaveRequest
from dqn_core.device import describe_device, one_thread, resolve_device, reuse_freed_memory, set_threads
from dqn_core.envs.observed import ObservedEnv, history_length
from dqn_core.training.metrics import Metrics
from dqn_core.learning.replay import ReplayMemory

STATS_INTERVAL = 10          # env steps per row of training statistics
STATS_EVENT_SECONDS = 0.2    # StepStats events at most this often
EVAL_BATCH = 32              # evaluation episodes played side by side
EVAL_SEED_OFFSET = 1_000_003
CONFIRM_SEED_SHIFT = 1000       # confirmation episodes' seeds, after an evaluation's own


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
        self.envs = [ObservedEnv(config, env_seed(config.seed, i)) for i in range(self.num_envs)]
        self.env = self.envs[0]                    # the one the window shows
        self.history = history_length(config)
        self.agent = DQNAgent(config, tuple(self.env.frame_shape), self.history, self.env.n_actions, self.device)
        if config.replay_capacity < config.batch_size:
            raise ConfigError("replay_capacity", config.replay_capacity,
                              f"must hold at least one batch (batch_size = {config.batch_size})")
        capacity = config.replay_capacity - config.replay_capacity % self.num_envs     # a whole slot per env
        if capacity < 2 * self.num_envs:
            raise ConfigError("replay_capacity", config.replay_capacity,
                              f"must hold at least two frames per env (num_envs = {self.num_envs})")
        self.replay = ReplayMemory(capacity, tuple(self.env.frame_shape), self.env.frame_dtype,
                                   self.history, self.device, check_memory=check_memory,
                                   prioritized=config.prioritized, streams=self.num_envs, gap=config.frame_gap)
        self.metrics = Metrics()
        self.step = 0                              # decisions (agent steps); every schedule counts these
        self.env_steps = 0                         # env steps: more than `step` with action_repeat > 1
        self.episode = 0
        self.updates = 0
        # Each env's open episode: its length in env steps, its return (the game's score), whether it is running.
        self.episode_steps = [0] * self.num_envs
        self.episode_returns = [0.0] * self.num_envs
        self.episodes_open = [False] * self.num_envs
        self.wall_seconds = 0.0
        self.solved_at_step: int | None = None
        self.solved_at_seconds: float | None = None
        self.last_eval: ev.EvalResult | None = None
        # The agent as it was at its best-scoring evaluation since this trainer was made (a DQN's last agent can be
        # worse than one it passed through): an in-memory agent file, written by `save_agent(..., best=True)`.
        self.best_eval: ev.EvalResult | None = None
        self.best_state: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None
        # Sums of the open stats row's loss, mean max-Q, gradient norm and skipped (non-finite) updates, kept on the
        # training device so that an update never waits for the GPU; read once per row.
        self._row_sums = torch.zeros(4, dtype=torch.float64, device=self.device)
        self._row_updates = 0
        self._eval_envs: list[ObservedEnv] = []      # greedy play; several for batched evaluation
        self.evals_done = 0                        # seeds each evaluation differently
        self._last_frame_time = 0.0
        self._stats_sent = 0                         # stats rows already sent in StepStats events
        self._stats_time = 0.0
        self._stats_step = 0

    # The first env's episode, which the window shows and an agent file saves (exact resume is for one env).
    @property
    def episode_step(self) -> int:
        return self.episode_steps[0]

    @episode_step.setter
    def episode_step(self, value: int) -> None:
        self.episode_steps[0] = value

    @property
    def episode_return(self) -> float:
        return self.episode_returns[0]

    @episode_return.setter
    def episode_return(self, value: float) -> None:
        self.episode_returns[0] = value

    @property
    def episode_open(self) -> bool:
        return self.episodes_open[0]

    @episode_open.setter
    def episode_open(self, value: bool) -> None:
        self.episodes_open[0] = value

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
        last = self.last_eval
        steps, seconds = self.step - since_step, self.wall_seconds - since_seconds
        return {
            "env_id": self.config.env_id, "obs": self.config.obs, "device": self.device_name,
            "steps": self.step, "env_steps": self.env_steps, "episodes": self.episode, "updates": self.updates,
            "wall_seconds": round(self.wall_seconds, 3),
            "steps_per_second": round(steps / seconds, 2) if seconds > 0 else None,
            "mean100_duration": _finite_or_none(self.metrics.mean100("duration")),
            "mean100_return": _finite_or_none(self.metrics.mean100("total_return")),
            "eval_mean_return": None if last is None else last.mean_return,
            "eval_std_return": None if last is None else last.std_return,
            "eval_step": None if last is None else last.step,
            "best_eval_score": None if self.best_eval is None else self.best_eval.score,
            "best_eval_step": None if self.best_eval is None else self.best_eval.step,
            "solved_threshold": self.solved_threshold(),
            "solved_at_step": self.solved_at_step,
            "solved_at_seconds": None if self.solved_at_seconds is None else round(self.solved_at_seconds, 3),
        }

    # ---- the loop ----------------------------------------------------------------------------------------------
    def run(self, control: Control | None = None, max_steps: int | None = None,
            max_episodes: int | None = None) -> Iterator[Any]:
        """Train until `max_steps`/`max_episodes` more (if given), a stop request, or a solve with stop_when_solved."""
        control = control or Control()
        set_threads(self.config.torch_threads, self.auto_threads)
        yield ev.Started(self.device_name, self.config, self.step, self.episode, "train",
                         tuple(self.env.action_names()))
        start_step, start_episode, start_wall = self.step, self.episode, self.wall_seconds
        self._stats_sent = len(self.metrics.stats["step"])
        self._stats_time = time.perf_counter()
        self._stats_step = self.step
        reason = "stopped"
        tick = time.perf_counter()
        try:
            for i in range(self.num_envs):            # one frame per env, in env order (the replay's layout)
                if not self.episodes_open[i]:
                    self._begin_episode(i)
            was_paused = None
            while True:
                yield from self._serve_requests(control)
                if control.paused != was_paused:
                    was_paused = control.paused
                    yield ev.StateChanged("paused" if was_paused else "running", self.step, self.episode)
                if control.stop_requested:
                    break
                if max_steps is not None and self.step - start_step >= max_steps:
                    reason = "budget"
                    break
                if max_episodes is not None and self.episode - start_episode >= max_episodes:
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
                if self.config.stop_when_solved and self.solved_at_step is not None:
                    reason = "solved"
                    break
            self.wall_seconds += time.perf_counter() - tick
            yield from self._stats_event(force=True)
            yield ev.Finished(reason, self.summary(start_step, start_wall))
        except NonFiniteLossError as exc:
            yield ev.Failed(f"Training stopped at step {self.step}: the loss became non-finite ({exc}). "
                            "The weights from before that update are kept; try a lower learning rate.", self.step)
        except (ConfigError, MemoryError, RuntimeError, ValueError) as exc:
            yield ev.Failed(f"Training stopped at step {self.step}: {type(exc).__name__}: {exc}", self.step)

    def _begin_episode(self, i: int) -> None:
        frame = self.envs[i].reset()
        self.replay.add_first(frame)
        self.episodes_open[i] = True
        self.episode_steps[i] = 0
        self.episode_returns[i] = 0.0

    def _one_step(self, control: Control) -> Iterator[Any]:
        """One step of every env (an env whose episode ended last step starts its next one instead), the updates
        and target syncs those steps make due; returns the envs whose episodes ended."""
        cfg = self.config
        eps = epsilon(cfg, self.step)
        show = self._frame_due(control)
        acting = [i for i in range(self.num_envs) if self.episodes_open[i]]
        stacked = [self.envs[i].stacked() for i in acting]
        q_shown = None
        if self.num_envs == 1:
            action, q_shown = self.agent.act(stacked[0], eps, self.rng, want_q=show)
            actions = [action]
        elif not acting:                                # every env ended at the last step: all start anew
            actions = []
        else:
            chosen, q = self.agent.act_batch(np.stack(stacked), eps, self.rng, want_q=show and 0 in acting)
            actions = chosen.tolist()
            if q is not None and acting and acting[0] == 0:
                q_shown = q[0]
        ended = []
        k = 0
        for i in range(self.num_envs):
            if not self.episodes_open[i]:
                self._begin_episode(i)                  # this env's frame for this step
                continue
            env, action = self.envs[i], actions[k]
            k += 1
            frame, reward, terminated, truncated = env.step(action)
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
            self.agent.sync_target(cfg.tau)
        if _crossings(before, self.step, STATS_INTERVAL):
            self._close_stats_row(eps)
        if show and acting and acting[0] == 0:
            self._last_frame_time = time.perf_counter()
            yield ev.Frame(self.step, self.episode, self.episode_steps[0], self.episode_returns[0], eps,
                           self.env.screen(), stacked[0], q_shown, actions[0], lives=self.env.lives)
        yield from self._stats_event()
        return ended

    def _train(self, count: int) -> None:
        """`count` TD updates in a row (nothing is stored between them)."""
        cfg = self.config
        beta = cfg.per_beta_start + (1.0 - cfg.per_beta_start) * min(1.0, self.step / cfg.per_beta_steps)
        self.agent.set_lr(self.learning_rate)
        for batch in self.replay.sample_batches(count, cfg.batch_size, self.rng, cfg.gamma, cfg.n_step, beta):
            self._row_sums += self.agent.queue_update(batch)
            if cfg.prioritized:
                self.replay.update_priorities(batch.indices, self.agent.td_errors.cpu().numpy(), cfg.per_alpha)
            self.updates += 1
            self._row_updates += 1

    @property
    def open_stats(self) -> list[float]:
        """The open stats row: loss, mean max-Q and gradient-norm sums, and its update count (saved with the agent)."""
        loss, q, grad_norm, _ = self._row_sums.tolist()
        return [loss, q, grad_norm, self._row_updates]

    @open_stats.setter
    def open_stats(self, values: list[float]) -> None:
        loss, q, grad_norm, n = values
        self._row_sums = torch.tensor([loss, q, grad_norm, 0.0], dtype=torch.float64, device=self.device)
        self._row_updates = int(n)

    def _close_stats_row(self, eps: float) -> None:
        loss, q, grad_norm, skipped = self._row_sums.tolist()
        n = self._row_updates
        self._row_sums.zero_()
        self._row_updates = 0
        if skipped:             # the row is dropped, so that training can go on once the cause is fixed
            raise NonFiniteLossError(f"{int(skipped)} of the last {n} updates had a non-finite loss or gradient and "
                                     "were skipped")
        nan = float("nan")
        self.metrics.add_stats(self.step, loss / n if n else nan, q / n if n else nan, eps, grad_norm / n if n else nan)

    def _after_episode(self, control: Control, i: int) -> Iterator[Any]:
        self.episode += 1
        self.metrics.add_episode(self.step, self.episode_steps[i], self.episode_returns[i], self.wall_seconds)
        yield ev.EpisodeEnd(self.episode, self.step, self.episode_steps[i], self.episode_returns[i],
                            self.metrics.mean100("duration"), self.metrics.mean100("total_return"),
                            wall_seconds=self.wall_seconds)
        cfg = self.config
        if cfg.target_update_unit == "episodes" and self.episode % cfg.target_update == 0:
            self.agent.sync_target(cfg.tau)
        if self.num_envs == 1:
            self._begin_episode(i)
        else:                        # its next episode starts at the next step, keeping one frame per env per step
            self.episodes_open[i] = False
            self.episode_steps[i], self.episode_returns[i] = 0, 0.0
        if cfg.eval_unit == "episodes":
            yield from self._maybe_evaluate(control, self.episode - 1, self.episode)

    def _frame_due(self, control: Control) -> bool:
        every = control.display_every
        if control.paused:                       # single-stepping: show every step taken
            return every > 0 or control.display_fps > 0
        if every <= 0 or self.step % every:
            return False
        return time.perf_counter() - self._last_frame_time >= 1.0 / max(control.display_fps, 1e-3)

    def _stats_event(self, force: bool = False) -> Iterator[Any]:
        now = time.perf_counter()
        if not force and now - self._stats_time < STATS_EVENT_SECONDS:
            return
        stats = self.metrics.stats
        lo = self._stats_sent
        rows = {c: np.asarray(stats[c][lo:], dtype=np.float64) for c in stats}
        self._stats_sent = len(stats["step"])
        elapsed = now - self._stats_time
        rate = (self.step - self._stats_step) / elapsed if elapsed > 0 else 0.0
        self._stats_time, self._stats_step = now, self.step
        yield ev.StepStats(rows["step"], rows["loss"], rows["q_mean"], rows["epsilon"], rows["grad_norm"],
                           self.step, self.episode, self.updates, len(self.replay), self.replay.capacity, rate,
                           self.wall_seconds, self.learning_rate)

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def _maybe_evaluate(self, control: Control, before: int, after: int) -> Iterator[Any]:
        """Evaluate when the count (steps or episodes) passed a multiple of `eval_every` going from before to after."""
        every = self.config.eval_every
        if every and _crossings(before, after, every):
            result = self.evaluate(self.config.eval_episodes, control)
            if result is not None:
                yield result

    def evaluate(self, episodes: int, control: Control | None = None) -> ev.EvalResult | None:
        """Greedy returns over `episodes` episodes on separate envs; None if a stop interrupted it."""
        # Each evaluation draws from its own block of seeds: evaluation episodes first, confirmation episodes from
        # CONFIRM_SEED_SHIFT on (both at most 1000, so the blocks never overlap).
        first_seed = self.config.seed + EVAL_SEED_OFFSET + 7919 * self.evals_done
        returns = self.greedy_returns([first_seed + i for i in range(episodes)], control)
        if returns is None:
            return None
        self.evals_done += 1
        mean, std = float(np.mean(returns)), float(np.std(returns))
        threshold = self.solved_threshold()
        solved = threshold is not None and mean >= threshold
        confirm_mean = None
        if solved and self.config.confirm_episodes:
            # A short evaluation passes by luck now and then (one 20-episode pass at 481 scored 441 over 100);
            # the run counts as solved only if fresh episodes agree.
            first_confirm = first_seed + CONFIRM_SEED_SHIFT
            more = self.greedy_returns([first_confirm + i for i in range(self.config.confirm_episodes)], control)
            confirm_mean = None if more is None else float(np.mean(more))
            solved = confirm_mean is not None and confirm_mean >= threshold
        if solved and self.solved_at_step is None:
            self.solved_at_step, self.solved_at_seconds = self.step, self.wall_seconds
        self.metrics.add_eval(self.step, self.episode, mean, std)
        result = ev.EvalResult(self.step, self.episode, mean, std, tuple(returns), threshold, solved, confirm_mean,
                               0 if confirm_mean is None else self.config.confirm_episodes)
        new_best = self.best_eval is None or result.score > self.best_eval.score    # ties keep the earlier agent
        self.last_eval = replace(result, new_best=new_best)
        if new_best:
            self._keep_best()
        return self.last_eval

    def save(self, path: str, include_replay: bool = False, best: bool = False) -> ev.Saved:
        """Write this agent (with `best`, the one kept at its best evaluation) to `path`; never raises: a failure is
        a Saved event with `ok` False, and the previous file stays intact. Used while training (between steps) and
        while idle, so both say the same."""
        from dqn_core.training.checkpoint import save_agent

        what = f"the best agent ({self.describe_best()})" if best and self.best_eval else "agent"
        try:
            size = save_agent(self, path, include_replay=include_replay, best=best)
        except Exception as exc:   # a failed save must not stop training, nor lose the agent in memory
            return ev.Saved(str(path), False, f"Could not save {what} to {path}: {exc}", best, self.step)
        return ev.Saved(str(path), True, f"Saved {what} to {path} ({size / 1024:,.0f} KiB)", best, self.step)

    def describe_best(self) -> str:
        """'evaluation 487.3 at step 245,000' for the kept best agent."""
        best = self.best_eval
        return "none yet" if best is None else f"evaluation {best.score:.1f} at step {best.step:,}"

    def _keep_best(self) -> None:
        """Copy the agent as it is now (weights, optimiser, counters, curves; no replay memory) as the best one."""
        from dqn_core.training.checkpoint import agent_state

        meta, arrays = agent_state(self, include_replay=False)
        # agent_state shares the CPU tensors' memory; training goes on changing them, so the copy must own its data.
        self.best_state = copy.deepcopy(meta), {name: np.array(a, copy=True) for name, a in arrays.items()}
        self.best_eval = self.last_eval

    def greedy_returns(self, seeds: list[int], control: Control | None = None) -> list[float] | None:
        """The return of one greedy episode per seed (the same as `greedy_steps` gives), played EVAL_BATCH episodes
        at a time in lockstep: one batched forward pass per step instead of one per episode per step (~10× faster
        for small networks). None if a stop interrupted it."""
        with one_thread():
            return self._greedy_returns(seeds, control)

    def _greedy_returns(self, seeds: list[int], control: Control | None) -> list[float] | None:
        returns: list[float] = []
        eps = self.config.eval_epsilon
        for first in range(0, len(seeds), EVAL_BATCH):
            chunk = seeds[first:first + EVAL_BATCH]
            while len(self._eval_envs) < len(chunk):
                self._eval_envs.append(ObservedEnv(self.config, chunk[0]))
            envs = self._eval_envs[:len(chunk)]
            for env, seed in zip(envs, chunk):
                env.reseed(seed)
                env.reset()
            # Exploration while evaluating (eval_epsilon) draws from each episode's own seed, as greedy_steps does,
            # never from training's stream.
            rngs = [np.random.default_rng(seed) for seed in chunk]
            totals = [0.0] * len(chunk)
            playing = list(range(len(chunk)))
            while playing:
                if control is not None and control.stop_requested:
                    return None
                q = self.agent.q_values_batch(np.stack([envs[i].stacked() for i in playing]))
                still = []
                for i, q_i in zip(playing, q):
                    action = evaluation_action(q_i, eps, rngs[i])
                    _, reward, terminated, truncated = envs[i].step(int(action))
                    totals[i] += reward
                    if not (terminated or truncated):
                        still.append(i)
                playing = still
            returns.extend(totals)
        return returns

    def greedy_steps(self, seed: int) -> Iterator[tuple[float, int, np.ndarray, np.ndarray, int]]:
        """Play one greedy episode (ε = eval_epsilon) on the evaluation env, yielding (return so far, t, input, Q,
        action) per step."""
        if not self._eval_envs:
            self._eval_envs.append(ObservedEnv(self.config, seed))
        env = self._eval_envs[0]
        env.reseed(seed)
        env.reset()
        rng = np.random.default_rng(seed)
        eps = self.config.eval_epsilon
        total, t, done = 0.0, 0, False
        while not done:
            stacked = env.stacked()
            q = self.agent.q_values(stacked)
            action = evaluation_action(q, eps, rng)
            _, reward, terminated, truncated = env.step(action)
            total += reward
            t += env.last_env_steps
            done = terminated or truncated
            yield total, t, stacked, q, action

    def watch(self, control: Control, steps_per_second: float = 50.0) -> Iterator[Any]:
        """Play the greedy policy without training, paced for viewing, until stopped; pause and step work."""
        yield ev.Started(self.device_name, self.config, self.step, self.episode, "watch",
                         tuple(self.env.action_names()))
        delay = 1.0 / max(steps_per_second, 1e-3)
        played = 0
        while not control.stop_requested:
            total, t = 0.0, 0
            for total, t, stacked, q, action in self.greedy_steps(self.config.seed + 2 * EVAL_SEED_OFFSET + played):
                started = time.perf_counter()
                yield ev.Frame(self.step, played, t, total, self.config.eval_epsilon, self._eval_envs[0].screen(),
                               stacked, q, action, lives=self._eval_envs[0].lives)
                while not control.may_step(timeout=0.05):
                    if control.stop_requested:
                        break
                control.took_step(False)
                if control.stop_requested:
                    break
                remaining = delay - (time.perf_counter() - started)
                if remaining > 0 and not control.paused:
                    time.sleep(remaining)
            if control.stop_requested:
                break
            played += 1
            yield ev.EpisodeEnd(played, self.step, t, total, math.nan, math.nan, greedy=True)
        yield ev.Finished("stopped", self.summary())

    # ---- requests between steps ----------------------------------------------------------------------------------
    def _serve_requests(self, control: Control) -> Iterator[Any]:
        for request in control.pending():
            if isinstance(request, SaveRequest):
                yield self.save(request.path, request.include_replay, request.best)
            else:
                yield self.apply_patch(request)

    def apply_patch(self, changes: dict[str, Any]) -> ev.ConfigApplied:
        """Apply live changes; non-live or invalid ones are rejected with a reason and change nothing."""
        rejected: dict[str, str] = {}
        accepted: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in LIVE_FIELDS:
                rejected[name] = "needs a stop: only live settings change during training" \
                    if name in self.config.to_dict() else "unknown setting"
                continue
            try:
                accepted.update(parse_values({name: value}))
            except ConfigError as exc:
                rejected[name] = str(exc)
        new = self.config
        for name, value in accepted.items():
            try:
                candidate = TrainConfig.from_dict({name: value}, new)
                if candidate.replay_capacity < candidate.batch_size:
                    raise ConfigError("batch_size", candidate.batch_size,
                                      f"at most replay_capacity = {candidate.replay_capacity}")
                new = candidate
            except ConfigError as exc:
                rejected[name] = str(exc)
        diff = self.config.diff(new)
        for name, (old, value) in diff.items():
            self.metrics.add_change(self.step, self.episode, name, old, value)
        self.config = new
        self.agent.apply_config(new, self.learning_rate)
        if "torch_threads" in diff:
            set_threads(new.torch_threads, self.auto_threads)
        for env in self._eval_envs:
            env.config = new
        return ev.ConfigApplied(new, diff, rejected, self.step, self.episode)


def env_seed(seed: int, i: int) -> int:
    """The seed of env i of a run: far apart, so that runs with neighbouring seeds do not share envs."""
    return seed + 104_729 * i


def _crossings(before: int, after: int, period: int) -> int:
    """How many multiples of `period` lie in (before, after]: what became due as a count went from before to after."""
    return after // period - before // period


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
