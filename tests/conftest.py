"""Test setup: Qt renders offscreen and pygame needs no display, before either is imported."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import pytest  # noqa: E402
import torch  # noqa: E402

from dqn_core.config import TrainConfig  # noqa: E402
from dqn_core.presets import load_preset  # noqa: E402

torch.set_num_threads(1)

# The engine's tests run on the CPU; DQN_TEST_DEVICE=cuda runs the same tests on a GPU (the CUDA path).
TEST_DEVICE = os.environ.get("DQN_TEST_DEVICE", "cpu")


@pytest.fixture
def state_config() -> TrainConfig:
    """A small, fast state-vector CartPole config."""
    return load_preset("tutorial-state").replace(device=TEST_DEVICE, batch_size=32, learning_starts=64,
                                                 replay_capacity=2000, eval_every=0, torch_threads=1)


@pytest.fixture
def pixel_config() -> TrainConfig:
    """The fast pixel pipeline, small enough for tests."""
    return load_preset("pixels").replace(device=TEST_DEVICE, batch_size=16, learning_starts=32, replay_capacity=500,
                                         eval_every=0, torch_threads=1)
