"""A faithful CleanRL-style Atari DQN loop (cleanrl/dqn_atari.py), to measure DQN Studio's against in the same run.

As CleanRL writes it: gymnasium's SyncVectorEnv of N envs, each with the standard Atari wrappers (here gymnasium's
AtariPreprocessing and FrameStackObservation, FIRE after a reset, rewards clipped), observations kept as stacked
4×84×84 arrays; Stable-Baselines3's replay buffer, which stores each transition's observation and next observation
whole (in the observation space's dtype, uint8, as SB3 does; `dtype=float32` stores them as floats); ε-greedy from
one forward pass of the batch of envs; one TD update (MSE, Adam 1e-4) per 4 env steps on 32 sampled transitions,
the target network synced every 1,000 steps; CleanRL's network (the Nature one), or any other passed in.
"""
from __future__ import annotations

import copy
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class FireReset(gym.Wrapper):
    """Press FIRE after a reset, for games that wait for it (Stable-Baselines3's FireResetEnv)."""

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        return obs, info


def make_env(env_id: str, seed: int):
    def thunk():
        import ale_py

        gym.register_envs(ale_py)
        env = gym.make(env_id, frameskip=1, repeat_action_probability=0.0, full_action_space=False)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True)
        if "FIRE" in env.unwrapped.get_action_meanings():
            env = FireReset(env)
        env = gym.wrappers.ClipReward(env, -1, 1)
        env = gym.wrappers.FrameStackObservation(env, 4)
        env.action_space.seed(seed)
        return env
    return thunk


class ReplayBuffer:
    """Stable-Baselines3's layout: (capacity, n_envs, *obs_shape) arrays for observations and next observations."""

    def __init__(self, capacity: int, n_envs: int, obs_shape: tuple[int, ...], dtype=np.uint8) -> None:
        self.capacity, self.n_envs = capacity, n_envs
        self.obs = np.zeros((capacity, n_envs, *obs_shape), dtype=dtype)
        self.next_obs = np.zeros((capacity, n_envs, *obs_shape), dtype=dtype)
        self.actions = np.zeros((capacity, n_envs), dtype=np.int64)
        self.rewards = np.zeros((capacity, n_envs), dtype=np.float32)
        self.dones = np.zeros((capacity, n_envs), dtype=np.float32)
        self.pos, self.full = 0, False

    def add(self, obs, next_obs, actions, rewards, dones) -> None:
        self.obs[self.pos] = np.array(obs)
        self.next_obs[self.pos] = np.array(next_obs)
        self.actions[self.pos] = np.array(actions)
        self.rewards[self.pos] = np.array(rewards)
        self.dones[self.pos] = np.array(dones)
        self.pos += 1
        if self.pos == self.capacity:
            self.full, self.pos = True, 0

    def sample(self, batch_size: int, rng: np.random.Generator):
        upper = self.capacity if self.full else self.pos
        idx = rng.integers(0, upper, size=batch_size)
        env = rng.integers(0, self.n_envs, size=batch_size)
        return (torch.as_tensor(self.obs[idx, env]), torch.as_tensor(self.actions[idx, env]),
                torch.as_tensor(self.next_obs[idx, env]), torch.as_tensor(self.dones[idx, env]),
                torch.as_tensor(self.rewards[idx, env]))


class QNetwork(nn.Module):
    """CleanRL's dqn_atari network: the Nature DQN's, scaling the frames itself."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.network = nn.Sequential(nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2),
                                     nn.ReLU(), nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, n_actions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


class Mnih2013Network(QNetwork):
    """The same loop with the 2013 paper's smaller network, for a comparison of the loops alone."""

    def __init__(self, n_actions: int) -> None:
        nn.Module.__init__(self)
        self.network = nn.Sequential(nn.Conv2d(4, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2),
                                     nn.ReLU(), nn.Flatten(), nn.Linear(2592, 256), nn.ReLU(),
                                     nn.Linear(256, n_actions))


def run(q_network: nn.Module, env_id: str, num_envs: int, env_steps: int, learning_starts: int, capacity: int,
        seed: int = 0, dtype=np.uint8) -> dict[str, float]:
    """Train for `env_steps` agent steps (all envs together, 4 frames each); return the agent steps per second after
    learning starts, and the updates made."""
    rng = np.random.default_rng(seed)
    envs = gym.vector.SyncVectorEnv([make_env(env_id, seed + i) for i in range(num_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    target_network = copy.deepcopy(q_network)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=1e-4)
    rb = ReplayBuffer(capacity // num_envs, num_envs, envs.single_observation_space.shape, dtype)
    obs, _ = envs.reset(seed=seed)
    steps, updates, started = 0, 0, None
    while steps < env_steps:
        epsilon = max(0.1, 1.0 - 0.9 * steps / 1_000_000)
        if rng.random() < epsilon:
            actions = np.array([envs.single_action_space.sample() for _ in range(num_envs)])
        else:
            with torch.no_grad():
                q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)
        real_next_obs = next_obs.copy()
        if "final_obs" in infos:
            for i, done in enumerate(infos["_final_obs"]):
                if done:
                    real_next_obs[i] = infos["final_obs"][i]
        rb.add(obs, real_next_obs, actions, rewards, terminations)
        obs = next_obs
        before, steps = steps, steps + num_envs
        if steps > learning_starts:
            if started is None:
                started = (time.perf_counter(), steps)
            for _ in range(steps // 4 - before // 4):            # one update per 4 env steps
                b_obs, b_actions, b_next, b_dones, b_rewards = rb.sample(32, rng)
                with torch.no_grad():
                    target_max, _ = target_network(b_next.float()).max(dim=1)
                    td_target = b_rewards + 0.99 * target_max * (1 - b_dones)
                old_val = q_network(b_obs.float()).gather(1, b_actions.unsqueeze(1)).squeeze()
                loss = F.mse_loss(td_target, old_val)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                updates += 1
            if steps // 1000 > before // 1000:
                target_network.load_state_dict(q_network.state_dict())
    envs.close()
    t0, s0 = started
    return {"env_steps_per_second": (steps - s0) / (time.perf_counter() - t0), "updates": updates}
