"""Screen observations: the lecture's crop-and-shrink of gymnasium's frame, and a direct low-resolution CartPole renderer.

Both produce (C, H, W) uint8 frames over the same window of the 600×400 screen: rows 40–80 % of the height and
either the lecture's cart-centred window (60 % of the width, clamped at the edges) or the full width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# gymnasium's CartPole drawing constants (classic_control/cartpole.py)
SCREEN_W, SCREEN_H = 600, 400
CART_W, CART_H = 50.0, 30.0
POLE_W = 10.0
CART_TOP = 100.0                      # "carty", in gymnasium's y-up surface coordinates
AXLE_OFFSET = CART_H / 4.0
CART_RGB = (0, 0, 0)
POLE_RGB = (202, 152, 101)
AXLE_RGB = (129, 132, 203)
TRACK_RGB = (0, 0, 0)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class CropWindow:
    """A window of the full screen in pixel coordinates: rows [top, bottom), columns [left, right)."""

    top: int
    bottom: int
    left: int
    right: int


def crop_rows(screen_h: int = SCREEN_H) -> tuple[int, int]:
    """The lecture keeps rows 40 %–80 % of the screen height: the band the cart and pole live in."""
    return int(screen_h * 0.4), int(screen_h * 0.8)


def cart_window(cart_x: float, x_threshold: float, view: str, screen_w: int = SCREEN_W,
                screen_h: int = SCREEN_H) -> CropWindow:
    """The lecture's window: 60 % of the width centred on the cart, clamped at the screen edges (or the full width)."""
    top, bottom = crop_rows(screen_h)
    if view == "full-width":
        return CropWindow(top, bottom, 0, screen_w)
    view_w = int(screen_w * 0.6)
    scale = screen_w / (2 * x_threshold)
    cart_px = int(cart_x * scale + screen_w / 2.0)
    if cart_px < view_w // 2:
        left = 0
    elif cart_px > screen_w - view_w // 2:
        left = screen_w - view_w
    else:
        left = cart_px - view_w // 2
    return CropWindow(top, bottom, left, left + view_w)


def output_size(window: CropWindow, height: int, width: int) -> tuple[int, int]:
    """Frame size: the given height, and the given width or the window's aspect ratio when width is 0."""
    if width:
        return height, width
    crop_h, crop_w = window.bottom - window.top, window.right - window.left
    return height, max(1, int(round(crop_w * height / crop_h)))


def shrink(screen: np.ndarray, window: CropWindow, height: int, width: int, grayscale: bool) -> np.ndarray:
    """Crop an (H, W, 3) uint8 screen and resize it bicubically (anti-aliased, as PIL does) to (C, h, w) uint8."""
    crop = screen[window.top:window.bottom, window.left:window.right]
    out_h, out_w = output_size(window, height, width)
    tensor = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).unsqueeze(0).float()
    with torch.inference_mode():
        small = F.interpolate(tensor, size=(out_h, out_w), mode="bicubic", antialias=True, align_corners=False)[0]
        frame = small.clamp_(0, 255).numpy()
    if grayscale:
        frame = np.tensordot(LUMA, frame, axes=1)[None]
    return np.rint(frame).astype(np.uint8)


def _overlap(lo: np.ndarray, hi: np.ndarray, a: float, b: float) -> np.ndarray:
    """Length of [lo, hi) ∩ [a, b), elementwise."""
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None)


class CartPoleRenderer:
    """Draws gymnasium's CartPole scene straight into a small frame, with box-filter anti-aliasing.

    Each shape's coverage of an output pixel is computed analytically (axis-aligned boxes exactly, the tilted pole
    in its own frame, the axle radially), so the result matches gymnasium's 600×400 frame shrunk to the same size,
    at a small fraction of the cost: no full-size raster is ever made.
    """

    def __init__(self, x_threshold: float, pole_half_length: float, view: str, height: int, width: int,
                 grayscale: bool) -> None:
        self.x_threshold = x_threshold
        self.scale = SCREEN_W / (2 * x_threshold)
        self.pole_len = self.scale * 2 * pole_half_length
        self.view = view
        self.height = height
        self.width = width
        self.grayscale = grayscale
        self.channels = 1 if grayscale else 3
        colours = np.array([CART_RGB, POLE_RGB, AXLE_RGB, TRACK_RGB], dtype=np.float32) / 255.0
        self.colours = (colours @ LUMA)[:, None] if grayscale else colours      # (4, C)
        top, bottom = crop_rows()
        self.top = top
        self.out_h, _ = output_size(CropWindow(top, bottom, 0, int(SCREEN_W * 0.6) if view != "full-width" else SCREEN_W),
                                    height, width)
        self.sy = (bottom - top) / self.out_h
        self.rows = top + (np.arange(self.out_h, dtype=np.float64) + 0.5) * self.sy   # pixel centres, image y (down)
        # Image-space geometry (y grows downwards; gymnasium flips its y-up surface at the end).
        self.cart_y0 = SCREEN_H - (CART_TOP + CART_H / 2 + 1)        # filled rows are inclusive of both ends
        self.cart_y1 = SCREEN_H - (CART_TOP - CART_H / 2)
        self.axle_y = SCREEN_H - (CART_TOP + AXLE_OFFSET)
        self.track_y0 = SCREEN_H - (CART_TOP + 1)
        track_cov = _overlap(self.rows - self.sy / 2, self.rows + self.sy / 2, self.track_y0, self.track_y0 + 1) / self.sy
        touched = np.flatnonzero(track_cov)
        self.track_rows = slice(int(touched[0]), int(touched[-1]) + 1)
        self.track_cov = track_cov[self.track_rows].astype(np.float32)[:, None]
        cart_cov = _overlap(self.rows - self.sy / 2, self.rows + self.sy / 2, self.cart_y0, self.cart_y1) / self.sy
        touched = np.flatnonzero(cart_cov)
        self.cart_rows = slice(int(touched[0]), int(touched[-1]) + 1)
        self.cart_cov_y = cart_cov[self.cart_rows]

    def window(self, cart_x: float) -> CropWindow:
        return cart_window(cart_x, self.x_threshold, self.view)

    def render(self, state: np.ndarray) -> np.ndarray:
        """Return the (C, H, W) uint8 frame for a CartPole state (x, x_dot, theta, theta_dot)."""
        x, theta = float(state[0]), float(state[2])
        win = self.window(x)
        out_h, out_w = output_size(win, self.height, self.width)
        sx = (win.right - win.left) / out_w
        cols = win.left + (np.arange(out_w, dtype=np.float64) + 0.5) * sx
        rows, sy = self.rows, self.sy
        img = np.ones((self.channels, out_h, out_w), dtype=np.float32)
        cart_cx = x * self.scale + SCREEN_W / 2.0

        # Cart: an axis-aligned box, exact box-filter coverage as an outer product over the pixels it touches.
        left = math.floor(cart_cx - CART_W / 2)
        right = math.floor(cart_cx + CART_W / 2) + 1
        c0, c1 = self._span(left, right, win.left, sx, out_w)
        if c0 < c1:
            cov_x = _overlap(cols[c0:c1] - sx / 2, cols[c0:c1] + sx / 2, left, right) / sx
            self._paint(img[:, self.cart_rows, c0:c1], np.outer(self.cart_cov_y, cov_x).astype(np.float32), 0)

        # Pole: a box in its own (across, along) frame; coverage is the product of the two 1-D overlaps, evaluated
        # only on the rows and columns its bounding box touches.
        # gymnasium rotates the pole about the cart's exact position but draws the axle at whole pixels.
        pivot_x, axle_x = cart_cx, float(int(cart_cx)) + 0.5
        axle_y = self.axle_y
        sin_t, cos_t = math.sin(theta), math.cos(theta)
        half_w = POLE_W / 2 + 0.5
        v0, v1 = -POLE_W / 2 - 0.5, self.pole_len - POLE_W / 2 + 0.5
        corners_x = [pivot_x + u * cos_t + v * sin_t for u in (-half_w, half_w) for v in (v0, v1)]
        corners_y = [axle_y + u * sin_t - v * cos_t for u in (-half_w, half_w) for v in (v0, v1)]
        r0, r1 = self._span(min(corners_y), max(corners_y), self.top, sy, out_h)
        c0, c1 = self._span(min(corners_x), max(corners_x), win.left, sx, out_w)
        if r0 < r1 and c0 < c1:
            dx = cols[None, c0:c1] - pivot_x
            dy = rows[r0:r1, None] - axle_y
            u = dx * cos_t + dy * sin_t
            v = dx * sin_t - dy * cos_t
            fu = abs(cos_t) * sx + abs(sin_t) * sy          # the pixel's extent across and along the pole
            fv = abs(sin_t) * sx + abs(cos_t) * sy
            cov = (_overlap(u - fu / 2, u + fu / 2, -half_w, half_w) / fu) * (_overlap(v - fv / 2, v + fv / 2, v0, v1) / fv)
            self._paint(img[:, r0:r1, c0:c1], cov.astype(np.float32), 1)

        # Axle: a disc, anti-aliased radially.
        radius = POLE_W / 2 + 0.5
        r0, r1 = self._span(axle_y - radius, axle_y + radius, self.top, sy, out_h)
        c0, c1 = self._span(axle_x - radius, axle_x + radius, win.left, sx, out_w)
        if r0 < r1 and c0 < c1:
            dist = np.hypot(cols[None, c0:c1] - axle_x, rows[r0:r1, None] - axle_y)
            foot = (sx + sy) / 2
            # A disc smaller than a pixel can cover at most its area's share of that pixel.
            area = min(1.0, math.pi * radius * radius / (sx * sy))
            cov = np.minimum(np.clip((radius - dist) / foot + 0.5, 0.0, 1.0), area)
            self._paint(img[:, r0:r1, c0:c1], cov.astype(np.float32), 2)

        # Track: a one-pixel line across the whole screen, drawn last.
        self._paint(img[:, self.track_rows], self.track_cov, 3)
        return np.rint(img * 255.0).astype(np.uint8)

    @staticmethod
    def _span(lo: float, hi: float, origin: float, step: float, count: int) -> tuple[int, int]:
        """Output indices whose pixels may touch [lo, hi)."""
        first = max(0, int(math.floor((lo - origin) / step)))
        last = min(count, int(math.ceil((hi - origin) / step)) + 1)
        return first, last

    def _paint(self, img: np.ndarray, coverage: np.ndarray, shape: int) -> None:
        for c in range(self.channels):
            img[c] += coverage * (self.colours[shape, c] - img[c])


# ---- image observations (MinAtar's grids) ---------------------------------------------------------------------------
def image_frame(obs: np.ndarray) -> np.ndarray:
    """An env's own image observation as a stored frame: (C, H, W) uint8, on/off channels as 0/255."""
    array = np.asarray(obs)
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.moveaxis(array, -1, 0))


def _palette(n: int) -> np.ndarray:
    """n distinct colours (a cubehelix ramp, as MinAtar's own display uses), black for empty cells."""
    t = np.linspace(0.45, 0.95, n)                     # bright enough to see on the black background
    angle = 2 * np.pi * (0.5 / 3 + 1.0 + 1.5 * t)      # start 0.5, 1.5 rotations
    amp = 1.0 * t * (1 - t) / 2
    rgb = np.stack([t + amp * (-0.14861 * np.cos(angle) + 1.78277 * np.sin(angle)),
                    t + amp * (-0.29227 * np.cos(angle) - 0.90649 * np.sin(angle)),
                    t + amp * (1.97294 * np.cos(angle))], axis=1)
    return np.vstack([np.zeros((1, 3)), np.clip(rgb, 0, 1)])


def grid_to_rgb(frame: np.ndarray, cell: int = 20) -> np.ndarray:
    """A (C, H, W) frame of on/off channels as an (H·cell, W·cell, 3) uint8 picture: each cell the colour of its
    highest channel that is on (MinAtar's own way of showing a state)."""
    channels = frame.shape[0]
    on = frame > 127
    index = np.max(on * np.arange(1, channels + 1)[:, None, None], axis=0)
    picture = (_palette(channels)[index] * 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(picture, cell, axis=0), cell, axis=1))
