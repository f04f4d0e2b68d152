"""What the window decides when a run has ended: whether changed settings are for a new run, and — after a solve —
what Start will do, asked in words."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from dqn_core.config import NOT_LEARNING, TrainConfig

# Settings a finished run may change and go on with (how far it trains, where it computes); any other change is for
# a new run.
CONTINUES_A_RUN = NOT_LEARNING | {"stop_when_solved"}


def for_a_new_run(run_config: TrainConfig, config: TrainConfig) -> bool:
    """Whether `config` differs from the run's in a setting that would change what it learns."""
    return any(name not in CONTINUES_A_RUN for name in run_config.diff(config))


def ask_after_solved(window: QWidget, run: Any) -> str:
    """Start after a solved run says what it will do: 'continue', 'new' or 'cancel'."""
    t = run.trainer
    stop = ("Stop when solved is on, so it will stop at its next evaluation that is solved; turn it off to keep "
            "training." if run.config.stop_when_solved else "It trains until you stop it.")
    box = QMessageBox(QMessageBox.Icon.Question, "The run is solved",
                      f"This run was solved at step {t.solved_at_step or t.step:,}.\n\nContinue this run: {stop}"
                      "\n\nStart a new run: a new agent from the current settings; this run stays in the Runs "
                      "panel.", parent=window)
    go_on = box.addButton("Continue This Run", QMessageBox.ButtonRole.AcceptRole)
    new = box.addButton("Start a New Run", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(go_on)
    box.exec()
    clicked = box.clickedButton()
    return "continue" if clicked is go_on else "new" if clicked is new else "cancel"
