"""Environments: the env families (one module each), and the observed env every family is played through.

The SDL settings come first, before any env module imports gymnasium or pygame: pygame (gymnasium's renderer) needs
no window or sound device for rgb_array rendering, and SDL would otherwise take over SIGINT and SIGTERM when pygame
starts (turning them into a quit event nobody reads), so that a plain `kill` would no longer stop a run.
"""
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
