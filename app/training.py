"""The Training menu's work: start, pause, step, stop, watch, and showing what the engine reports.

The trainer runs in a TrainingSession's thread; this side only sends requests through the session's Control and
draws the events that come back. What the events change about the run goes to the current run (the document).
"""
from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal
from PySide6.QtWidgets import QMessageBox

from dqn_core.experiments.run_end import close_run, final_evaluation
from dqn_core.experiments.runs import recorded
from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.watch import watch

from .plots import evaluation_words
from .run_end import ask_after_solved, for_a_new_run
from .worker import AgentReady, RecorderReady, TrainingSession, open_run_folder, worker_threads


def training_job(trainer, config, recorder, runs_dir, preset, origin, wind_down: Control):
    """The worker thread's job: build the agent if there is none, open its run folder, train, then end the run
    (final evaluation under `wind_down`, agent files, status)."""
    def job(control: Control):
        agent, rec = trainer, recorder
        if agent is None:
            from dqn_core.training.trainer import Trainer
            try:
                agent = Trainer(config, auto_threads=worker_threads())
            except Exception as exc:   # bad env id, memory, ... : report it as a failure event
                yield ev.Failed(f"Could not create the agent: {exc}", 0)
                return
            yield AgentReady(agent)
        if rec is None or rec.trainer is not agent:
            rec = open_run_folder(agent, runs_dir, preset, origin)
            if rec is not None:
                yield RecorderReady(rec)
        outcome = None
        for event in recorded(agent.run(control), rec):
            if isinstance(event, (ev.Finished, ev.Failed)):
                outcome = event
            yield event
        final = final_evaluation(agent, outcome, rec, wind_down)
        if final is not None:
            yield final
        if rec is not None:
            close_run(agent, rec, outcome)
    return job


class Training(QObject):
    """The session that trains or watches the current run's agent, and the Training menu's commands."""

    state_changed = Signal()       # running, paused or its mode changed: the actions and title follow

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.run = window.run
        self.session: TrainingSession | None = None
        self.mode = "idle"                        # idle | train | watch
        self.paused = False
        self.greedy_returns: list[float] = []     # of the episodes played while watching
        self.device_text = ""
        self.ended_how: str | None = None         # how the session that is ending ended: its Finished, or failed

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    @property
    def training(self) -> bool:
        return self.running and self.mode == "train"

    # ---- commands ----------------------------------------------------------------------------------------------------
    def start(self, paused: bool = False, steps: int = 0) -> None:
        """Start (or resume) training. A finished run, or settings that only a new agent can take, first say what
        Start will do: continue this run, or start a new one."""
        if self.running:
            if self.mode == "train" and not paused:
                self.session.control.resume()
            return
        if not self._settle_what_start_does():
            return
        run = self.run
        control = Control(display_every=self.w.env_view.display_every())
        wind_down = Control()
        if paused:
            control.step(steps) if steps else control.pause()
        preset = None if run.trainer is not None and run.path else (run.preset_name or None)
        job = training_job(run.trainer, run.config, run.recorder, self.w.runs_panel.runs_dir, preset, run.origin(),
                           wind_down)
        if self.w.plots.banner.kind == "welcome":
            self.w.plots.banner.dismiss()       # the welcome said to press Start: done
        self._start_session(job, control, "train", wind_down)

    def _settle_what_start_does(self) -> bool:
        """After a solve, Start asks whether to continue or begin a new run (unless changed settings already
        decided: they are for a new run). Settings only a new agent takes are asked about too. False: cancelled."""
        run = self.run
        if run.trainer is None:
            return True
        if run.ended == "solved":
            choice = "new" if for_a_new_run(run.trainer.config, run.config) else ask_after_solved(self.w, run)
            if choice == "cancel":
                return False
            if choice == "new":
                return self.w.files.new_agent()
        elif run.ended is not None and for_a_new_run(run.trainer.config, run.config):
            return self.w.files.new_agent()      # an ended run is not changed after the fact: a new run takes them
        pending = self.w.configs.pending_new_agent()
        if not pending:
            return True
        answer = QMessageBox.question(
            self.w, "New agent needed",
            f"These settings only apply to a new agent: {', '.join(pending)}.\n"
            "Start a new agent with them? (Cancel keeps the current agent and its settings.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes and self.w.files.new_agent()

    def watch(self) -> None:
        if self.run.trainer is None or self.running:
            return
        trainer = self.run.trainer
        self.greedy_returns = []
        self._start_session(lambda control: watch(trainer, control), Control(display_every=1), "watch")

    def pause(self) -> None:
        if self.running:
            self.session.control.pause()

    def step(self, count: int) -> None:
        """One step (or, with EPISODE, the rest of the episode), then pause; starts a paused run when idle."""
        if self.running:
            self.session.control.step(count)
        else:
            self.start(paused=True, steps=count)

    def hold(self, timeout: float = 2.0) -> bool:
        """Pause a training session and wait until the trainer rests, so that what a question says (its step
        count) and the status bar agree; True when this paused it (the caller may resume it)."""
        if not self.training or self.paused:
            return False
        self.session.control.pause()
        deadline = time.monotonic() + timeout
        while self.running and not self.paused and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if self.running and self.paused and self.run.trainer is not None:
            self.w.status.show_agent(self.run.trainer)
            self.w.status.show_rate("paused")
        return True

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def set_display(self, every: int) -> None:
        if self.session is not None:
            self.session.control.set_display(every)

    # ---- the session -------------------------------------------------------------------------------------------------
    def _start_session(self, job, control: Control, mode: str, wind_down: Control | None = None) -> None:
        self.w.env_view.configure(self.run.config)
        session = TrainingSession(job, control, self, wind_down)
        session.event.connect(self._on_event)
        session.failed.connect(lambda message: self.w.error("Training failed", message))
        session.finished.connect(self._on_session_finished)
        self.session, self.mode, self.paused, self.ended_how = session, mode, control.paused, None
        session.start()
        self.state_changed.emit()

    def join(self) -> None:
        """Stop a running session and wait for its thread (before New, Open and Quit)."""
        if self.session is not None:
            self.session.join()
            QCoreApplication.processEvents()      # deliver its last events (Finished, Saved) before going on
            self._on_session_finished()

    def _on_session_finished(self) -> None:
        if self.session is None:
            return
        self.session.deleteLater()
        self.session, mode = None, self.mode
        self.mode, self.paused = "idle", False
        self.run.session_ended(self.ended_how if mode == "train" else None)
        self.state_changed.emit()

    # ---- events ------------------------------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        run, w = self.run, self.w
        if isinstance(event, AgentReady):
            run.swap(event.trainer)
        elif isinstance(event, RecorderReady):
            run.recorder = event.recorder
            w.runs_panel.refresh()
        elif isinstance(event, ev.StepStats):
            stats = run.metrics.stats
            for column, values in (("step", event.steps), ("loss", event.loss), ("q_mean", event.q_mean),
                                   ("epsilon", event.epsilon), ("grad_norm", event.grad_norm)):
                stats[column].extend(values.tolist() if column != "step" else values.astype(int).tolist())
            w.plots.mark_dirty()
            w.status.show_stats(event, self.paused)
            run.trained(event.step)
        elif isinstance(event, ev.Frame):
            w.env_view.show_frame(event)
            if self.mode == "train":
                run.trained(event.step)               # a single step too
        elif isinstance(event, ev.EpisodeEnd):
            self._episode_ended(event)
        elif isinstance(event, ev.EvalResult):
            self._evaluated(event)
        elif isinstance(event, ev.ConfigApplied):
            w.configs.applied(event)
        elif isinstance(event, ev.Started):
            self.device_text = event.device
            w.env_view.configure(event.config, event.action_names)
            self.state_changed.emit()
        elif isinstance(event, ev.StateChanged):
            self.paused = event.state == "paused"
            self.state_changed.emit()
        elif isinstance(event, ev.Saved):
            w.files.show_saved(event)
        elif isinstance(event, ev.Failed):
            self.ended_how = "failed"
            w.error("Training stopped", event.message)
        elif isinstance(event, ev.Finished):
            self.ended_how = event.reason
            if event.reason == "solved":
                w.statusBar().showMessage(f"Solved at step {event.summary['solved_at_step']:,}", 10000)

    def _episode_ended(self, event: ev.EpisodeEnd) -> None:
        if event.greedy:
            self.greedy_returns.append(event.total_return)
            self.w.statusBar().showMessage(f"Greedy episode {event.episode}: return {event.total_return:g}", 4000)
            self.state_changed.emit()
            return
        self.run.metrics.add_episode(event.step, event.duration, event.total_return, event.wall_seconds)
        self.w.plots.mark_dirty()

    def _evaluated(self, event: ev.EvalResult) -> None:
        run, plots = self.run, self.w.plots
        run.metrics.add_eval(event.step, event.episode, event.mean_return, event.std_return)
        plots.mark_dirty()
        confirmed = ("" if event.confirm_mean is None else
                     f"; {event.confirm_episodes} more episodes: {event.confirm_mean:.1f}")
        solved = " — solved!" if event.solved else (" — not confirmed" if confirmed else "")
        best = " (best so far)" if event.new_best else ""
        played = evaluation_words(run.in_force.eval_epsilon)
        self.w.statusBar().showMessage(f"{played.capitalize()} at step {event.step:,}{best}: "
                                       f"{event.mean_return:.1f} ± {event.std_return:.1f}{confirmed}{solved}", 8000)
        if event.new_best:
            run.new_best(event.step, event.score)     # File ▸ Save Best Agent As… now has an agent to save
        if event.solved and run.solved(event.step):
            self._announce_solved(event)
        if event.new_best or event.solved:
            plots.set_milestones(run.solved_step, run.best_mark)

    def _announce_solved(self, event: ev.EvalResult) -> None:
        """Solved is an event: a banner that stays until dismissed, with the way to keep this agent."""
        confirmed = ("" if event.confirm_mean is None else
                     f", confirmed over {event.confirm_episodes} more episodes at {event.confirm_mean:.1f}")
        played = evaluation_words(self.run.in_force.eval_epsilon)
        stops = ("Training stops here (<i>Stop when solved</i>)." if self.run.config.stop_when_solved else
                 "Training goes on: a DQN's agent can get worse again, so keep this one.")
        self.w.plots.banner.show_message(
            "success", f"<b>Solved at step {event.step:,}</b>: {played} {event.mean_return:.1f}{confirmed}. "
                       f"{stops}", "Save Best Agent…", self.w.files.save_best_agent_as)
