"""Learning in a second thread: the TD updates of one round run while the trainer steps the envs (the actor), so
that a 2-core laptop has both cores working — one acting and stepping the emulator, one updating.

A queue of one (as Cleanba's): the actor hands a round of sampled batches over and goes on stepping; at the next
round it first waits for the previous one, then copies the learner's weights into its own network. The actor's
network is so never more than one round of updates behind. Everything else that reads or writes the learner's
networks (target syncs, evaluations, saves, live changes) waits for the round in flight first (`join`).
"""
from __future__ import annotations

import copy
import threading
from typing import Any, Iterable

import torch

from dqn_core.learning.replay import Batch


class Learner:
    """The updates of `agent` in a thread; `agent.acting_net` becomes the actor's copy of its network."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.actor_net = copy.deepcopy(agent.q_net)
        self.actor_net.requires_grad_(False)
        agent.acting_net = self.actor_net
        self._pairs = list(zip(self.actor_net.state_dict().values(), agent.q_net.state_dict().values()))
        self._job: list[Batch] | None = None
        self._results: list[torch.Tensor] = []
        self._priorities: list[tuple[Any, torch.Tensor]] = []
        self._error: BaseException | None = None
        self._wake = threading.Condition()
        self._busy = False
        self._closed = False
        self.rounds = 0                            # rounds handed over (the actor's copy is of rounds - 1 or more)
        self.synced_round = 0                      # the rounds whose updates the actor's copy has
        self._thread = threading.Thread(target=self._loop, name="dqn-learner", daemon=True)
        self._thread.start()

    # ---- the actor's side ------------------------------------------------------------------------------------------
    def submit(self, batches: Iterable[Batch], open_row: Any, replay: Any, per_alpha: float) -> None:
        """Hand a round of updates over (the batches drawn now, by the actor, who owns the replay memory), after
        taking in the round before."""
        self.settle(open_row, replay, per_alpha)
        job = list(batches)
        with self._wake:
            self._job, self._busy = job, True
            self.rounds += 1
            self._wake.notify()

    def join(self) -> list[torch.Tensor]:
        """Wait for the round in flight, bring the actor's copy up to date, and return that round's statistics (a
        tensor per update); re-raises what the learner raised."""
        with self._wake:
            while self._busy:
                self._wake.wait()
            error, self._error = self._error, None
            results, self._results = self._results, []
        if error is not None:
            raise error
        if self.synced_round != self.rounds:
            with torch.no_grad():
                for mine, theirs in self._pairs:
                    mine.copy_(theirs)
            self.synced_round = self.rounds
        return results

    def settle(self, open_row: Any, replay: Any, per_alpha: float) -> None:
        """`join`, then add the round's statistics to the open row and its TD errors to the replay's priorities
        (the actor owns both)."""
        for stats in self.join():
            open_row.add(stats)
        priorities, self._priorities = self._priorities, []
        for indices, td_errors in priorities:
            replay.update_priorities(indices, td_errors.cpu().numpy(), per_alpha)

    def close(self) -> None:
        """End the thread; the actor acts with the learner's own network again. An error of the last round was
        either met by a join already or is moot: the run is ending."""
        try:
            self.join()
        except Exception:
            pass
        finally:
            with self._wake:
                self._closed = True
                self._wake.notify()
            self._thread.join(timeout=10)
            self.agent.acting_net = self.agent.q_net

    # ---- the learner's thread --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._job is None and not self._closed:
                    self._wake.wait()
                if self._closed and self._job is None:
                    return
                batches, self._job = self._job, None
            results, priorities, error = [], [], None
            try:
                for batch in batches:
                    results.append(self.agent.queue_update(batch))
                    if batch.weights is not None:
                        priorities.append((batch.indices, self.agent.td_errors))
            except BaseException as exc:      # surfaces in the actor's next join: a failed run, never a hang
                error = exc
            with self._wake:
                self._results.extend(results)
                self._priorities.extend(priorities)
                self._error = error
                self._busy = False
                self._wake.notify_all()


class InlineLearner:
    """The updates of a round made here and now, one batch after another (prioritized batches are drawn one at a time,
    each after the priorities of the one before): the default loop, repeatable exactly from its seed."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    def submit(self, batches: Iterable[Batch], open_row: Any, replay: Any, per_alpha: float) -> None:
        for batch in batches:
            open_row.add(self.agent.queue_update(batch))
            if batch.weights is not None:
                replay.update_priorities(batch.indices, self.agent.td_errors.cpu().numpy(), per_alpha)

    def settle(self, open_row: Any, replay: Any, per_alpha: float) -> None:
        """Nothing is ever in flight."""

    def close(self) -> None:
        """No thread to end."""
