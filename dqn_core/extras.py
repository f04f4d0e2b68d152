"""The optional extras: what each one adds, the modules it brings, and the one line that installs it.

One table, read by the messages that name a missing extra, by the window's Help, and by the tests' `needs` marker
(a test that needs an extra skips, with this install line as its reason, where the extra is missing).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    name: str
    purpose: str
    modules: tuple[str, ...]      # top-level import names; every one must be importable
    distribution: str             # the package whose version Help shows
    install: str                  # the command a user runs

    def missing_module(self) -> str | None:
        """The first of the extra's modules that cannot be imported, or None when the extra is installed."""
        for module in self.modules:
            try:
                if importlib.util.find_spec(module) is None:
                    return module
            except (ImportError, ValueError):      # ValueError: a module set to None in sys.modules (tests do that)
                return module
        return None

    @property
    def installed(self) -> bool:
        return self.missing_module() is None

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution) if self.installed else None
        except importlib.metadata.PackageNotFoundError:
            return None


EXTRAS: dict[str, Extra] = {e.name: e for e in (
    Extra("sweep", "sweeps with Ray Tune (dqn-sweep, Training ▸ Sweep…)", ("ray",), "ray",
          "pip install 'dqn-studio[sweep]'"),
    Extra("tensorboard", "TensorBoard event files beside every run", ("tensorboard",), "tensorboard",
          "pip install 'dqn-studio[tensorboard]'"),
    Extra("video", "MP4 recordings (PyAV)", ("av",), "av", "pip install 'dqn-studio[video]'"),
    Extra("atari", "Atari games (ale-py with the ROMs, OpenCV)", ("ale_py", "cv2"), "ale-py",
          "pip install 'dqn-studio[atari]'"),
    Extra("box2d", "Box2D environments (LunarLander)", ("Box2D",), "box2d",
          "pip install 'dqn-studio[box2d]'"),
    # MinAtar's package requires a plotting stack its games never use, so it is installed without dependencies.
    Extra("minatar", "MinAtar games", ("minatar",), "MinAtar", "pip install --no-deps minatar"),
)}


def extra(name: str) -> Extra:
    """The extra called `name`; a KeyError names the ones that exist."""
    try:
        return EXTRAS[name]
    except KeyError:
        raise KeyError(f"no extra {name!r}; the extras are {', '.join(EXTRAS)}") from None
