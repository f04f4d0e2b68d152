"""The lecture's screen pipeline, written as the lecture wrote it, to measure ours against in the same run.

`get_screen` follows the classic PyTorch DQN tutorial the lecture is based on: render 600×400, transpose to CHW,
keep rows 40–80 %, slice a window 60 % wide centred on the cart, convert to a float tensor and resize to 40 px high
with bicubic interpolation (the tutorial's `T.Resize(40, interpolation=Image.CUBIC)` on a PIL image; here the
equivalent anti-aliased bicubic of `torch.nn.functional.interpolate`, as PIL is not a dependency), add a batch axis.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def get_cart_location(env, screen_width: int) -> int:
    world_width = env.unwrapped.x_threshold * 2
    scale = screen_width / world_width
    return int(env.unwrapped.state[0] * scale + screen_width / 2.0)


def resize(screen: torch.Tensor) -> torch.Tensor:
    _, h, w = screen.shape
    new_w = int(40 * w / h)
    return F.interpolate(screen.unsqueeze(0), size=(40, new_w), mode="bicubic", antialias=True,
                         align_corners=False)[0].clamp(0, 1)


def get_screen(env) -> torch.Tensor:
    screen = env.render().transpose((2, 0, 1))
    _, screen_height, screen_width = screen.shape
    screen = screen[:, int(screen_height * 0.4):int(screen_height * 0.8)]
    view_width = int(screen_width * 0.6)
    cart_location = get_cart_location(env, screen_width)
    if cart_location < view_width // 2:
        slice_range = slice(view_width)
    elif cart_location > (screen_width - view_width // 2):
        slice_range = slice(-view_width, None)
    else:
        slice_range = slice(cart_location - view_width // 2, cart_location + view_width // 2)
    screen = screen[:, :, slice_range]
    screen = np.ascontiguousarray(screen, dtype=np.float32) / 255
    screen = torch.from_numpy(screen)
    return resize(screen).unsqueeze(0)


# ---- the lecture's network, replay memory and update ------------------------------------------------------------
import random  # noqa: E402
from collections import namedtuple  # noqa: E402

from torch import nn  # noqa: E402

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ReplayMemory:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.memory: list = []
        self.position = 0

    def push(self, *args) -> None:
        if len(self.memory) < self.capacity:
            self.memory.append(None)
        self.memory[self.position] = Transition(*args)
        self.position = (self.position + 1) % self.capacity

    def sample(self, batch_size: int) -> list:
        return random.sample(self.memory, batch_size)

    def __len__(self) -> int:
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, h: int, w: int, outputs: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=5, stride=2)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, stride=2)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, kernel_size=5, stride=2)
        self.bn3 = nn.BatchNorm2d(32)

        def conv2d_size_out(size, kernel_size=5, stride=2):
            return (size - (kernel_size - 1) - 1) // stride + 1
        convw = conv2d_size_out(conv2d_size_out(conv2d_size_out(w)))
        convh = conv2d_size_out(conv2d_size_out(conv2d_size_out(h)))
        self.head = nn.Linear(convw * convh * 32, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        return self.head(x.view(x.size(0), -1))


def optimize_model(memory: ReplayMemory, policy_net: DQN, target_net: DQN, optimizer, batch_size: int = 128,
                   gamma: float = 0.999, device: torch.device | str = "cpu") -> None:
    if len(memory) < batch_size:
        return
    transitions = memory.sample(batch_size)
    batch = Transition(*zip(*transitions))
    non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), device=device,
                                  dtype=torch.bool)
    non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
    state_batch = torch.cat(batch.state)
    action_batch = torch.cat(batch.action)
    reward_batch = torch.cat(batch.reward)
    state_action_values = policy_net(state_batch).gather(1, action_batch)
    next_state_values = torch.zeros(batch_size, device=device)
    next_state_values[non_final_mask] = target_net(non_final_next_states).max(1)[0].detach()
    expected_state_action_values = (next_state_values * gamma) + reward_batch
    loss = F.smooth_l1_loss(state_action_values, expected_state_action_values.unsqueeze(1))
    optimizer.zero_grad()
    loss.backward()
    for param in policy_net.parameters():
        param.grad.data.clamp_(-1, 1)
    optimizer.step()


# ---- the lecture's training loop --------------------------------------------------------------------------------
import math  # noqa: E402
import time  # noqa: E402


def lecture_training(steps: int, timed_from: int = 0, seed: int = 0, device: torch.device | str = "cpu") -> float:
    """The lecture's loop for `steps` env steps: ε-greedy on the screen difference, push, one update per step,
    target copied every 10 episodes; on `device`, as the tutorial moves screens, networks and tensors there.
    Returns the seconds taken by the steps after the first `timed_from`."""
    from dqn_core.envs.observed import gym

    # optimize_model carries the lecture's batch size (128) and γ (0.999) as its defaults
    eps_start, eps_end, eps_decay, target_update = 0.9, 0.05, 200, 10
    random.seed(seed)
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=seed)
    n_actions = env.action_space.n
    _, _, screen_height, screen_width = get_screen(env).shape
    policy_net = DQN(screen_height, screen_width, n_actions).to(device)
    target_net = DQN(screen_height, screen_width, n_actions).to(device)
    target_net.load_state_dict(policy_net.state_dict())
    target_net.eval()
    optimizer = torch.optim.RMSprop(policy_net.parameters())
    memory = ReplayMemory(10000)
    steps_done = episodes = 0
    started = time.perf_counter()

    def select_action(state):
        nonlocal steps_done
        eps_threshold = eps_end + (eps_start - eps_end) * math.exp(-1. * steps_done / eps_decay)
        steps_done += 1
        if random.random() > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1)[1].view(1, 1)
        return torch.tensor([[random.randrange(n_actions)]], device=device, dtype=torch.long)

    while steps_done < steps:
        env.reset()
        last_screen = get_screen(env).to(device)
        current_screen = get_screen(env).to(device)
        state = current_screen - last_screen
        while steps_done < steps:
            if steps_done == timed_from:
                started = time.perf_counter()
            action = select_action(state)
            _, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            last_screen = current_screen
            current_screen = get_screen(env).to(device)
            next_state = None if terminated else current_screen - last_screen
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model(memory, policy_net, target_net, optimizer, device=device)
            if terminated or truncated:
                episodes += 1
                if episodes % target_update == 0:
                    target_net.load_state_dict(policy_net.state_dict())
                break
    return time.perf_counter() - started
