from __future__ import annotations

import numpy as np
import pytest

from dqn_core.envs.observations import CartPoleRenderer, cart_window, crop_rows, output_size, shrink
from dqn_core.envs.observed import gym


def test_lecture_crop_geometry():
    assert crop_rows(400) == (160, 320)                       # rows 40 %–80 % of the height
    centre = cart_window(0.0, 2.4, "cart-centred")
    assert (centre.left, centre.right) == (120, 480)          # 60 % of 600 px, centred on the cart at x = 300
    assert cart_window(0.8, 2.4, "cart-centred").left == 300 + 100 - 180
    assert (cart_window(-2.3, 2.4, "cart-centred").left, cart_window(2.3, 2.4, "cart-centred").right) == (0, 600)
    assert cart_window(0.5, 2.4, "full-width") == cart_window(-2.0, 2.4, "full-width")
    assert output_size(centre, 40, 0) == (40, 90)             # 160×360 → 40 px high keeps the aspect ratio


@pytest.fixture(scope="module")
def cartpole():
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    yield env.unwrapped
    env.close()


def _ink(img: np.ndarray) -> np.ndarray:
    return (255.0 - img.astype(float)).sum(axis=0)


def _centroid(ink: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Centre of the ink in the given rows (the full-width track line is left out: it has no position)."""
    ink = ink[rows]
    ys, xs = np.indices(ink.shape)
    return np.array([(ink * ys).sum(), (ink * xs).sum()]) / ink.sum()


@pytest.mark.parametrize("view, width", [("cart-centred", 0), ("full-width", 80)])
@pytest.mark.parametrize("grayscale", [True, False])
@pytest.mark.parametrize("state", [(0.0, 0.0, 0.0, 0.0), (1.4, 0.0, 0.19, 0.0), (-2.1, 0.0, -0.2, 0.0),
                                   (2.35, 0.0, 0.05, 0.0), (0.33, 0.0, -0.07, 0.0)])
def test_direct_renderer_matches_gymnasium_frame(cartpole, view, width, grayscale, state):
    cartpole.state = np.array(state)
    screen = cartpole.render()
    reference = shrink(screen, cart_window(state[0], cartpole.x_threshold, view), 40, width, grayscale)
    direct = CartPoleRenderer(cartpole.x_threshold, cartpole.length, view, 40, width, grayscale).render(np.array(state))
    assert direct.shape == reference.shape and direct.dtype == np.uint8
    diff = np.abs(direct.astype(float) - reference.astype(float))
    assert diff.mean() < 2.5                                   # of 255: the same picture, anti-aliasing aside
    assert np.percentile(diff, 99) < 40
    ref_ink, direct_ink = _ink(reference), _ink(direct)
    rows = ref_ink.min(axis=1) < 3                             # rows the track line does not cross
    assert np.abs(_centroid(direct_ink, rows) - _centroid(ref_ink, rows)).max() < 0.5   # within half a pixel


def test_renderer_follows_the_pole(cartpole):
    r = CartPoleRenderer(cartpole.x_threshold, cartpole.length, "full-width", 40, 80, True)
    upright, leaning = r.render(np.zeros(4)), r.render(np.array([0.0, 0.0, 0.2, 0.0]))
    top_row_x = lambda img: np.argmin(img[0, 5])               # the pole's column near its top
    assert top_row_x(leaning) > top_row_x(upright)
