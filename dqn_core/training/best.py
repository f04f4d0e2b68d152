"""The best agent of a run: a DQN's last agent can be worse than one it passed through, so the agent as it was at its
best-scoring evaluation is kept in memory (as the plain state an agent file is written from) until it is saved."""
from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

from dqn_core.training.events import EvalResult

AgentState = tuple[dict[str, Any], dict[str, np.ndarray]]


class BestAgent:
    """Offered each evaluation; keeps a copy of the agent whenever one scores higher than every one before (a tie
    keeps the earlier agent)."""

    def __init__(self) -> None:
        self.result: EvalResult | None = None
        self.state: AgentState | None = None

    def is_better(self, result: EvalResult) -> bool:
        return self.result is None or result.score > self.result.score

    def keep(self, result: EvalResult, capture: Callable[[], AgentState]) -> None:
        """Keep the agent that scored `result`; `capture` gives its state (no replay memory), which shares the live
        tensors' memory, so the copy must own its data while training goes on changing them."""
        meta, arrays = capture()
        self.state = copy.deepcopy(meta), {name: np.array(a, copy=True) for name, a in arrays.items()}
        self.result = result

    def describe(self) -> str:
        """'evaluation 487.3 at step 245,000' for the kept agent."""
        return "none yet" if self.result is None else f"evaluation {self.result.score:.1f} at step {self.result.step:,}"
