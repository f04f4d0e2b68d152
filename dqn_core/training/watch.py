"""Watch Greedy Agent: the trained policy played without training, paced for viewing, until stopped; pause and
single steps work as they do while training."""
from __future__ import annotations

import math
import time
from typing import Any, Iterator

from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.evaluation import watch_seed


def watch(trainer, control: Control, steps_per_second: float = 50.0) -> Iterator[Any]:
    """Play the greedy policy without training, paced for viewing, until stopped; pause and step work."""
    yield ev.Started(trainer.device_name, trainer.config, trainer.step, trainer.episode, "watch",
                     tuple(trainer.env.action_names()))
    delay = 1.0 / max(steps_per_second, 1e-3)
    played = 0
    shown = trainer.evaluator.shown_env
    while not control.stop_requested:
        total, t = 0.0, 0
        for total, t, observation, q, action in trainer.evaluator.steps(watch_seed(trainer.config.seed, played)):
            started = time.perf_counter()
            yield ev.Frame(trainer.step, played, t, total, trainer.config.eval_epsilon, shown.screen(), observation,
                           q, action, lives=shown.lives)
            if not control.wait_for_step():
                break
            remaining = delay - (time.perf_counter() - started)
            if remaining > 0 and not control.paused:
                time.sleep(remaining)
        if control.stop_requested:
            break
        played += 1
        yield ev.EpisodeEnd(played, trainer.step, t, total, math.nan, math.nan, greedy=True)
    yield ev.Finished("stopped", trainer.summary())
