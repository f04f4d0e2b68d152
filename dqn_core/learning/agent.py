"""The DQN agent: ε-greedy acting, one TD update, target-network sync, live hyperparameter changes."""
from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dqn_core.config import ADAM_OPTIMIZERS, TrainConfig
from dqn_core.device import to_device
from dqn_core.learning.networks import build_q_network
from dqn_core.learning.replay import Batch


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient became NaN/Inf; the weights are those from before that update."""


def epsilon(config: TrainConfig, step: int) -> float:
    """Exploration rate after `step` env steps: the lecture's exponential decay, or a linear ramp."""
    start, end, decay = config.eps_start, config.eps_end, config.eps_decay
    if config.eps_schedule == "linear":
        return start + (end - start) * min(1.0, step / decay)
    return end + (start - end) * math.exp(-step / decay)


def evaluation_action(q: np.ndarray, eps: float, rng: np.random.Generator) -> int:
    """The greedy action of Q-values `q`, or with probability `eps` (the evaluation ε) a random one, drawn from the
    episode's own generator (evaluation, Watch, dqn-eval and recordings play the same episode for the same seed)."""
    if eps > 0 and rng.random() < eps:
        return int(rng.integers(len(q)))
    return int(np.argmax(q))


def learning_rate(config: TrainConfig, step: int) -> float:
    """The optimizer's step size after `step` steps: constant, or a linear ramp to `lr_end` (then flat)."""
    if config.lr_schedule == "linear":
        return config.lr + (config.lr_end - config.lr) * min(1.0, step / config.lr_decay)
    return config.lr


def random_shift(frames: torch.Tensor, pad: int) -> torch.Tensor:
    """DrQ's augmentation: each image of a (B, C, H, W) batch moved by a random whole number of pixels in [-pad, pad]
    in both directions, the edges repeated into the gap. Drawn from torch's generator, which agent files save, so
    a resumed run draws the same shifts.

    Done as two gathers in the frames' own dtype (uint8), with clamped indices standing in for replicate padding:
    whole rows first (one index per row), then columns within each row. The same result as padding and indexing
    with four broadcast index tensors, ~20× faster alone (that indexing was 30 % of a `pixels` update at batch 128; one
    flat gather needed a full-size int64 index, whose broadcast sum alone was ~14 % of the update in a
    torch-profiler look)."""
    n, c, h, w = frames.shape
    dev = frames.device
    dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), device=dev)
    dx = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), device=dev)
    rows = (dy - pad + torch.arange(h, device=dev).view(1, 1, h)).clamp_(0, h - 1)
    cols = (dx - pad + torch.arange(w, device=dev).view(1, 1, 1, w)).clamp_(0, w - 1)
    planes = torch.arange(n * c, device=dev).view(n, c, 1) * h
    picked = frames.contiguous().view(n * c * h, w).index_select(0, (planes + rows).view(-1)).view(n, c, h, w)
    return picked.gather(3, cols.expand(n, c, h, w))


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "rmsprop":            # the lecture: torch's RMSprop defaults, lr 0.01
        return torch.optim.RMSprop(params, lr=config.lr)
    if config.optimizer == "rmsprop-centered":   # the DQN papers' constants, as MinAtar's DQN sets them
        return torch.optim.RMSprop(params, lr=config.lr, alpha=0.95, eps=0.01, centered=True)
    # The fused kernels do the same arithmetic as the per-tensor Python loop, in one pass (measured: the loop was
    # ~14 % of a state-vector training run).
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, eps=config.adam_eps, fused=True)
    # AdamW with AMSGrad: the current PyTorch tutorial.
    return torch.optim.AdamW(params, lr=config.lr, eps=config.adam_eps, amsgrad=True, fused=True)


class DQNAgent:
    """Online and target Q-networks and their optimizer."""

    def __init__(self, config: TrainConfig, frame_shape: tuple[int, ...], input_frames: int, n_actions: int,
                 device: torch.device) -> None:
        self.config = config
        self.device = device
        self.n_actions = n_actions
        self.q_net = build_q_network(config, frame_shape, input_frames, n_actions).to(device)
        self.target_net = copy.deepcopy(self.q_net)
        self.target_net.eval()
        for p in self.target_net.parameters():
            p.requires_grad_(False)
        self.optimizer = make_optimizer(config, self.q_net.parameters())
        self._fused = bool(self.optimizer.defaults.get("fused"))
        self._params = [p for p in self.q_net.parameters()]
        # Only BatchNorm (the lecture's net) behaves differently in eval mode; switching modes walks every module,
        # which costs ~10 % of a small network's training time, so other networks never switch.
        self._has_batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.q_net.modules())
        self.td_errors: torch.Tensor | None = None    # of the last update, for prioritized replay
        self.acting_net = self.q_net    # what acting and greedy play use: a learner thread's copy, where there is one

    # ---- acting ------------------------------------------------------------------------------------------------
    def q_values(self, stacked: np.ndarray) -> np.ndarray:
        """Q-values for one observation (input_frames, *frame_shape), computed in eval mode (BatchNorm's running stats)."""
        return self.q_values_batch(stacked[None])[0]

    def q_values_batch(self, stacked: np.ndarray) -> np.ndarray:
        """Q-values (N, actions) for N observations (N, input_frames, *frame_shape), in eval mode."""
        x = to_device(stacked, self.device)
        n = stacked.shape[0]
        x = x.reshape(n, -1, *stacked.shape[3:]) if stacked.ndim == 5 else x.reshape(n, -1)
        net = self.acting_net
        if self._has_batchnorm:
            net.eval()
        with torch.inference_mode():
            q = net(x).float().cpu().numpy()
        if self._has_batchnorm:
            net.train()
        return q

    def act(self, stacked: np.ndarray, eps: float, rng: np.random.Generator,
            want_q: bool = False) -> tuple[int, np.ndarray | None]:
        """ε-greedy action; Q-values are computed only when acting greedily or when asked for (for display)."""
        explore = rng.random() < eps
        q = self.q_values(stacked) if (want_q or not explore) else None
        if explore:
            return int(rng.integers(self.n_actions)), q
        return int(np.argmax(q)), q

    def act_batch(self, stacked: np.ndarray, eps: float, rng: np.random.Generator,
                  want_q: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """ε-greedy actions for N observations at once (each env explores on its own draw), from one batched
        forward pass, made only when some env acts greedily or Q-values are wanted for display."""
        n = stacked.shape[0]
        explore = rng.random(n) < eps
        random_actions = rng.integers(self.n_actions, size=n)
        q = self.q_values_batch(stacked) if (want_q or not explore.all()) else None
        if q is None:
            return random_actions, None
        return np.where(explore, random_actions, q.argmax(axis=1)), q

    def act_envs(self, observations: list[np.ndarray], eps: float, rng: np.random.Generator, want_q: bool,
                 batched: bool) -> tuple[list[int], np.ndarray | None]:
        """The actions of the envs that act this step, and the first one's Q-values when wanted (for display): with
        `batched`, one forward pass for all (each env explores on its own draw); else one env, as `act`."""
        if not observations:                   # every env ended at the last step: all start anew
            return [], None
        if not batched:
            action, q = self.act(observations[0], eps, rng, want_q=want_q)
            return [action], q
        chosen, q = self.act_batch(np.stack(observations), eps, rng, want_q=want_q)
        return chosen.tolist(), (q[0] if q is not None else None)

    # ---- learning ----------------------------------------------------------------------------------------------
    def update(self, batch: Batch) -> tuple[float, float, float]:
        """One TD step, waited for. Returns (loss, mean max-Q of the batch, gradient norm before clipping).

        Raises NonFiniteLossError, with the weights untouched, when the loss or the gradients are not finite.
        """
        loss, q, grad_norm, skipped = self.queue_update(batch).tolist()
        if skipped:
            raise NonFiniteLossError(f"loss {loss:g}, gradient norm {grad_norm:g}")
        return loss, q, grad_norm

    def queue_update(self, batch: Batch) -> torch.Tensor:
        """One TD step, queued on the device without waiting for it (on a GPU the host goes on with the next env
        step; with RMSprop, which has no fused kernel, the host waits for the finiteness check). Returns a device
        tensor (loss, mean max-Q, gradient norm before clipping, skipped): an update whose loss or gradients are not
        finite is skipped, leaving weights and optimizer state untouched, and `skipped` is 1."""
        cfg = self.config
        if cfg.augment_shift and batch.obs.dim() == 4:
            batch = replace(batch, obs=random_shift(batch.obs, cfg.augment_shift),
                            next_obs=random_shift(batch.next_obs, cfg.augment_shift))
        q_all = self.q_net(batch.obs)
        q = q_all.gather(1, batch.actions.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            # Both networks read the next observations through the same parameter-free input layer: convert once.
            next_x = self.q_net.adapter(batch.next_obs)
            if cfg.double_dqn:
                next_actions = self.q_net.from_input(next_x).argmax(dim=1, keepdim=True)
                next_q = self.target_net.from_input(next_x).gather(1, next_actions).squeeze(1)
            else:
                next_q = self.target_net.from_input(next_x).max(dim=1).values
            target = batch.returns + batch.discounts * next_q
        if cfg.loss == "huber":
            losses = F.huber_loss(q, target, delta=cfg.huber_delta, reduction="none")
        else:
            losses = F.mse_loss(q, target, reduction="none")
        # Prioritized replay weights each sample's loss to undo the bias of non-uniform sampling.
        loss = losses.mean() if batch.weights is None else (batch.weights * losses).mean()
        self.td_errors = (target - q).detach()
        # The same arithmetic as optimizer.zero_grad and clip_grad_norm_, without their per-call Python layers
        # (together ~10 % of a small network's update).
        for p in self._params:
            p.grad = None
        loss.backward()
        grads = [p.grad for p in self._params if p.grad is not None]
        grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if cfg.grad_clip_mode == "norm":
            torch._foreach_mul_(grads, torch.clamp(cfg.grad_clip / (grad_norm + 1e-6), max=1.0))
        elif cfg.grad_clip_mode == "value":
            torch._foreach_clamp_min_(grads, -cfg.grad_clip)
            torch._foreach_clamp_max_(grads, cfg.grad_clip)
        stats = torch.stack([loss.detach(), q_all.detach().max(dim=1).values.mean(), grad_norm.detach().float()])
        skipped = (~torch.isfinite(stats).all()).float()
        if self._fused:
            self.optimizer.found_inf = skipped              # the fused kernels skip the whole step when it is 1
            self.optimizer.step()
        elif not skipped.item():                            # RMSprop has no such switch: the host checks (a wait)
            self.optimizer.step()
        return torch.cat([stats, skipped.unsqueeze(0)])

    @torch.no_grad()
    def sync_target(self, tau: float) -> None:
        """Hard copy (τ = 1) or Polyak averaging θ' ← θ' + τ(θ − θ'); buffers (BatchNorm statistics) are copied."""
        target_params = list(self.target_net.parameters())
        if tau >= 1.0:
            # One fused copy instead of load_state_dict (~10× cheaper; `zoo-state` syncs every 10 steps).
            torch._foreach_copy_(target_params, list(self.q_net.parameters()))
        else:
            torch._foreach_lerp_(target_params, list(self.q_net.parameters()), tau)
        buffers = list(self.target_net.buffers())
        if buffers:
            torch._foreach_copy_(buffers, list(self.q_net.buffers()))

    # ---- live changes ------------------------------------------------------------------------------------------
    def apply_config(self, config: TrainConfig, lr: float) -> None:
        """Take a new config whose differences are all live fields, and `lr`, the rate its schedule gives now."""
        self.config = config
        self.set_lr(lr)
        if config.optimizer in ADAM_OPTIMIZERS:
            for group in self.optimizer.param_groups:
                group["eps"] = config.adam_eps

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])
