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
