"""Q-networks: the lecture's conv net, the Nature DQN net, the 2013 Atari DQN net, a cheap stride-4 conv net, MinAtar's one-conv net, an MLP;
optional dueling head.

ReLUs work in place: every one follows a layer whose backward pass does not need its output (a convolution, a linear
layer, BatchNorm), and skipping the extra tensor makes an update of the lecture's net 2–3 % faster (measured,
`benchmarks/NOTES.md`). Autograd's version counters would raise if that ever stopped being true.

Every network takes the replay memory's raw layout — uint8 frames (B, input_frames·C, H, W) or float vectors (B, D) —
and does its own scaling (and the lecture's frame difference) on the device, so nothing is converted on the host.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dqn_core.config import OWN_HIDDEN, ConfigError, TrainConfig, network_of


def conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - (kernel - 1) - 1) // stride + 1


class PixelInput(nn.Module):
    """uint8 frames → floats in [0, 1]; with `difference`, the newest frame minus the one before (the lecture's state).

    With `channels_last`, the floats come out in NHWC memory order, which oneDNN's convolutions run much faster on
    than NCHW (measured: the fast net's 8×8 stride-4 first layer 2.4× faster; `benchmarks/NOTES.md`).
    """

    def __init__(self, channels: int, difference: bool, channels_last: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.difference = difference
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and not self.difference:
            # Reordered while still uint8, a quarter of the bytes a float copy moves; `float()` keeps the order, so
            # the reorder below is then free. Same values, same layout: 10–14 % off an Atari update (NOTES).
            x = x.contiguous(memory_format=torch.channels_last)
        x = x.float().mul_(1.0 / 255.0)
        if self.difference:
            c = self.channels
            x = x[:, c:2 * c] - x[:, :c]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


class QHead(nn.Module):
    """Linear Q-values, or a dueling head: Q = V + A − mean(A)."""

    def __init__(self, features: int, n_actions: int, dueling: bool) -> None:
        super().__init__()
        self.dueling = dueling
        self.advantage = nn.Linear(features, n_actions)
        self.value = nn.Linear(features, 1) if dueling else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        adv = self.advantage(h)
        if self.value is None:
            return adv
        return self.value(h) + adv - adv.mean(dim=1, keepdim=True)


class MLPBody(nn.Sequential):
    """Linear and ReLU layers, applied as plain functions: a module call per layer costs more than the layer itself
    for a small MLP at batch 64 (measured; `benchmarks/NOTES.md`). Same parameters and state-dict keys as the
    nn.Sequential it replaces."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self._modules.values():
            if isinstance(layer, nn.Linear):
                x = F.linear(x, layer.weight, layer.bias)
            elif isinstance(layer, nn.ReLU):
                x = torch.relu_(x)
            else:
                x = layer(x)
        return x


class QNetwork(nn.Module):
    """input adapter → feature body → Q head."""

    def __init__(self, adapter: nn.Module, body: nn.Module, features: int, n_actions: int, dueling: bool) -> None:
        super().__init__()
        self.adapter = adapter
        self.body = body
        self.head = QHead(features, n_actions, dueling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_input(self.adapter(x))

    def from_input(self, x: torch.Tensor) -> torch.Tensor:
        """Q-values of an input the adapter has already converted (it has no parameters, so any network's does)."""
        return self.head(self.body(x))


def _lecture_body(c: int, h: int, w: int) -> tuple[nn.Module, int, int, int]:
    layers: list[nn.Module] = []
    for c_in, c_out in ((c, 16), (16, 32), (32, 32)):
        layers += [nn.Conv2d(c_in, c_out, kernel_size=5, stride=2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        h, w = conv_out(h, 5, 2), conv_out(w, 5, 2)
    return nn.Sequential(*layers, nn.Flatten()), h, w, 32


# Convolutions (channels, kernel, stride) of each conv body but the lecture's.
CONV_LAYERS = {
    "nature-cnn": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),      # Mnih et al. 2015
    "mnih2013-cnn": ((16, 8, 4), (32, 4, 2)),                # Mnih et al. 2013
    "fast-cnn": ((32, 8, 4), (32, 4, 2)),                    # ours: cheap, for small pixel frames
    "minatar-cnn": ((16, 3, 1),),                            # Young & Tian 2019
}


def _conv_body(c: int, h: int, w: int, layers: tuple[tuple[int, int, int], ...],
               norm: bool) -> tuple[nn.Module, int, int, int]:
    """Conv → (LayerNorm over channels and positions, as GroupNorm with one group) → ReLU, per layer."""
    modules: list[nn.Module] = []
    for c_out, k, stride in layers:
        modules.append(nn.Conv2d(c, c_out, k, stride))
        if norm:
            modules.append(nn.GroupNorm(1, c_out))
        modules.append(nn.ReLU(inplace=True))
        c, h, w = c_out, conv_out(h, k, stride), conv_out(w, k, stride)
    return nn.Sequential(*modules, nn.Flatten()), h, w, c


def _hidden(size: int, hidden: int, norm: bool) -> list[nn.Module]:
    return [nn.Linear(size, hidden), *([nn.LayerNorm(hidden)] if norm else []), nn.ReLU(inplace=True)]


def build_q_network(config: TrainConfig, frame_shape: tuple[int, ...], input_frames: int, n_actions: int) -> QNetwork:
    """Build the network the config names for frames of `frame_shape` seen `input_frames` at a time."""
    kind = network_of(config, frame_shape)
    if config.obs == "state":
        adapter: nn.Module = nn.Flatten()
        in_features = input_frames * frame_shape[0]
    else:
        channels = frame_shape[0]
        difference = config.frame_op == "difference"
        adapter = PixelInput(channels, difference, channels_last=kind != "mlp")
        in_channels = channels if difference else channels * input_frames
        in_features = in_channels * frame_shape[1] * frame_shape[2]
    if kind == "mlp":
        if config.obs == "pixels":
            adapter = nn.Sequential(adapter, nn.Flatten())
        layers: list[nn.Module] = []
        size = in_features
        for hidden in config.hidden_sizes:
            layers += _hidden(size, hidden, config.layer_norm)
            size = hidden
        return QNetwork(adapter, MLPBody(*layers), size, n_actions, config.dueling)
    _, h, w = frame_shape
    if kind == "lecture-cnn":
        body, oh, ow, oc = _lecture_body(in_channels, h, w)
    else:
        body, oh, ow, oc = _conv_body(in_channels, h, w, CONV_LAYERS[kind], config.layer_norm)
    if oh <= 0 or ow <= 0:
        raise ConfigError("network", kind, f"needs larger frames than {h}×{w} px (frame_height/frame_width)")
    features = oh * ow * oc
    if kind != "lecture-cnn":
        hidden = OWN_HIDDEN.get(kind) or config.hidden_sizes[0]
        body = nn.Sequential(body, *_hidden(features, hidden, config.layer_norm))
        features = hidden
    # Conv weights in channels-last order to match the input (see PixelInput).
    return QNetwork(adapter, body, features, n_actions, config.dueling).to(memory_format=torch.channels_last)
