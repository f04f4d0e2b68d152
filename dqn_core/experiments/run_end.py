"""The one end of a run, the same for dqn-train, the window and a sweep's trials: the final agent scored (unless
the last evaluation already scored it), then the run folder given its agents (`agent.dqn`, and `best.dqn` once an
evaluation kept one) and its status."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.saving import save_agent

AGENT_FILES = {"final": ("agent.dqn", False), "best": ("best.dqn", True)}


def final_evaluation(trainer, outcome: Any, recorder=None, control: Control | None = None) -> ev.EvalResult | None:
    """Evaluate the agent a finished run leaves, as its summary and the Runs panel report it; None when the run
    failed, the last evaluation was at this very step, or `control` stopped it."""
    if not isinstance(outcome, ev.Finished):
        return None
    if trainer.last_eval is not None and trainer.last_eval.step == trainer.step:
        return None
    final = trainer.evaluate(trainer.config.eval_episodes, control)
    if final is not None and recorder is not None:
        try:
            recorder.record(final)
        except OSError:                 # as while training: a full disk does not lose the result
            pass
    return final


def close_run(trainer, recorder, outcome: Any, interrupted: str | None = None,
              kept: dict[str, str] | None = None) -> list[str]:
    """Write the run's agents into its folder (no replay memory: Runs ▸ Open Agent loads them) unless `kept` names a
    file that already holds one ({"final": path, "best": path}), then close the run with the status `outcome`
    implies. Returns what could not be written (each part is tried on its own), for the caller to report."""
    problems = []
    for which, (name, best) in AGENT_FILES.items():
        try:
            if kept and kept.get(which) and Path(kept[which]).exists():
                recorder.set_agent(which, str(Path(kept[which]).resolve()))
            elif not best or trainer.best.state is not None:
                recorder.sink.save_file(recorder.run_id, name, lambda path: save_agent(trainer, path, best=best))
                recorder.set_agent(which, name)
        except (OSError, ValueError) as exc:
            problems.append(f"could not keep the {which} agent in the run folder: {exc}")
    try:
        recorder.close_from(outcome, interrupted)
    except OSError as exc:
        problems.append(f"could not update the run folder: {exc}")
    return problems
