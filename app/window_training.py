"""The Training menu's work: start, pause, step, stop, watch; live edits; and showing what the engine reports.

A mixin of MainWindow. The trainer runs in a TrainingSession's thread; this side only sends requests through the
session's Control and draws the events that come back.
"""
from __future__ import annotations

import time

from PySide6.QtWidgets import QMessageBox

from dqn_core.config import PARAM_SPECS, ConfigError
from dqn_core.envs.families import family_of, unavailable
from dqn_core.experiments.run_end import close_run, final_evaluation
from dqn_core.experiments.runs import recorded
from dqn_core.presets import load_preset
from dqn_core.training import events as ev
from dqn_core.training.control import Control
from dqn_core.training.metrics import Metrics, format_clock
from dqn_core.training.watch import watch

from .run_end import ask_after_solved, for_a_new_run, kept_in_run_folder
from .undo import SettingChange
from .worker import AgentReady, RecorderReady, TrainingSession, open_run_folder, worker_threads


class TrainingActions:
    """Training-menu behaviour for MainWindow."""

    # ---- commands ----------------------------------------------------------------------------------------------------
    def start_training(self, paused: bool = False, steps: int = 0) -> None:
        """Start (or resume) training; builds a new agent first when there is none or its settings changed."""
        if self.session is not None and self.session.running:
            if self.mode == "train" and not paused:
                self.session.control.resume()
            return
        if self.trainer is not None and self.run_ended == "solved":
            # Settings changed since the run was solved are for a new run; otherwise Start says what it will do.
            choice = "new" if for_a_new_run(self.trainer.config, self.config) else ask_after_solved(self)
            if choice == "cancel" or (choice == "new" and not self.new_agent()):
                return
        pending = self._pending_new_agent()
        if pending:
            answer = QMessageBox.question(
                self, "New agent needed",
                f"These settings only apply to a new agent: {', '.join(pending)}.\n"
                "Start a new agent with them? (Cancel keeps the current agent and its settings.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
            if answer != QMessageBox.StandardButton.Yes or not self.new_agent():
                return
        control = Control(display_every=self.env_view.display_every())
        wind_down = Control()
        if paused:
            control.step(steps) if steps else control.pause()
        trainer, config, recorder = self.trainer, self.config, self.recorder
        runs_dir, preset = self.runs_panel.runs_dir, self._preset_of_agent()

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
                rec = open_run_folder(agent, runs_dir, preset)
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

        if self.trainer is None:
            self.run_metrics = Metrics()
            self.plots.set_metrics(self.run_metrics)
        if self.plots.banner.kind == "welcome":
            self.plots.banner.dismiss()       # the welcome said to press Start: done
        self._start_session(job, control, "train", wind_down)

    def watch_agent(self) -> None:
        if self.trainer is None or (self.session is not None and self.session.running):
            return
        trainer = self.trainer
        self.greedy_returns = []
        self._start_session(lambda control: watch(trainer, control), Control(display_every=1), "watch")

    def pause_training(self) -> None:
        if self.session is not None and self.session.running:
            self.session.control.pause()

    def step_training(self, count: int) -> None:
        """One step (or, with EPISODE, the rest of the episode), then pause; starts a paused run when idle."""
        if self.session is not None and self.session.running:
            self.session.control.step(count)
        else:
            self.start_training(paused=True, steps=count)

    def stop_training(self) -> None:
        if self.session is not None:
            self.session.stop()

    # ---- the session -------------------------------------------------------------------------------------------------
    def _start_session(self, job, control: Control, mode: str, wind_down: Control | None = None) -> None:
        self.env_view.configure(self.config)
        session = TrainingSession(job, control, self, wind_down)
        session.event.connect(self._on_event)
        session.failed.connect(self._on_failed)
        session.finished.connect(self._on_session_finished)
        self.session = session
        self.mode = mode
        self.paused = control.paused
        self._run_started = time.perf_counter()
        session.start()
        self._update_state()

    def _join_session(self) -> None:
        """Stop a running session and wait for its thread (used before New, Open and Quit)."""
        if self.session is not None:
            self.session.join()
            from PySide6.QtCore import QCoreApplication
            QCoreApplication.processEvents()      # deliver its last events (Finished, Saved) before going on
            self._on_session_finished()

    def _on_session_finished(self) -> None:
        if self.session is None:
            return
        if kept_in_run_folder(self.trainer, self.recorder, self.path):
            self.saved_step, self.dirty = self.trainer.step, False
        self.session.deleteLater()
        self.session = None
        self.mode = "idle"
        self.paused = False
        self._update_state()

    def _on_failed(self, message: str) -> None:
        self._error("Training failed", message)

    # ---- events --------------------------------------------------------------------------------------------------
    def _preset_of_agent(self) -> str | None:
        """The preset the run's settings came from, for its record (None for an opened file's agent)."""
        if self.trainer is not None and self.path:
            return None
        return self.preset_name or None

    def _on_event(self, event) -> None:
        if isinstance(event, AgentReady):
            self.trainer = event.trainer
            self.run_ended = None
            self.saved_step = 0
            self.recorder = None
            self.run_metrics = Metrics()
            self.plots.set_metrics(self.run_metrics)
            self.reset_milestones()
            self.path = None
        elif isinstance(event, RecorderReady):
            self.recorder = event.recorder
            self.runs_panel.refresh()
        elif isinstance(event, ev.StepStats):
            stats = self.run_metrics.stats
            for column, values in (("step", event.steps), ("loss", event.loss), ("q_mean", event.q_mean),
                                   ("epsilon", event.epsilon), ("grad_norm", event.grad_norm)):
                stats[column].extend(values.tolist() if column != "step" else values.astype(int).tolist())
            self.plots.mark_dirty()
            self._update_status(event)
            if not self.dirty and event.step > self.saved_step:
                self.dirty = True
                self._update_state()          # the title's "*"
        elif isinstance(event, ev.Frame):
            self.env_view.show_frame(event)
            if not self.dirty and self.mode == "train" and event.step > self.saved_step:    # a single step too
                self.dirty = True
                self._update_state()
        else:
            self._show_event(event)

    def _show_event(self, event) -> None:
        if isinstance(event, ev.EpisodeEnd):
            if event.greedy:
                self.greedy_returns.append(event.total_return)
                self.statusBar().showMessage(f"Greedy episode {event.episode}: return {event.total_return:g}", 4000)
                self._update_state()
                return
            self.run_metrics.add_episode(event.step, event.duration, event.total_return, event.wall_seconds)
            self.plots.mark_dirty()
            if not self.dirty:
                self.dirty = True
                self._update_state()          # the title's "*"; not every episode: it costs the trainer time
        elif isinstance(event, ev.EvalResult):
            self.run_metrics.add_eval(event.step, event.episode, event.mean_return, event.std_return)
            self.plots.mark_dirty()
            confirmed = ("" if event.confirm_mean is None else
                         f"; {event.confirm_episodes} more episodes: {event.confirm_mean:.1f}")
            solved = " — solved!" if event.solved else (" — not confirmed" if confirmed else "")
            best = " (best so far)" if event.new_best else ""
            self.statusBar().showMessage(f"Greedy evaluation at step {event.step:,}{best}: {event.mean_return:.1f} ± "
                                         f"{event.std_return:.1f}{confirmed}{solved}", 8000)
            if event.new_best:
                self.best_mark = (event.step, event.score)
                self._update_state()          # File ▸ Save Best Agent As… now has an agent to save
            if event.solved and self.solved_step is None:
                self.solved_step = event.step
                self._announce_solved(event)
            if event.new_best or event.solved:
                self.plots.set_milestones(self.solved_step, self.best_mark)
        elif isinstance(event, ev.ConfigApplied):
            for name, (old, new) in event.changes.items():
                self.run_metrics.add_change(event.step, event.episode, name, old, new)
            # Keep settings still pending elsewhere in the panel; show what the trainer confirmed.
            self.config = self.config.replace(**{n: getattr(event.config, n) for n in event.changes})
            for name in event.changes:
                self.panel.set_value(name, getattr(event.config, name))
            for name in event.rejected:
                self.panel.set_value(name, getattr(event.config, name))
            self.panel.show_error("; ".join(event.rejected.values()) if event.rejected else None)
            self.update_preset_label()
            self.plots.mark_dirty()
        elif isinstance(event, ev.Started):
            self.device_text = event.device
            self.env_view.configure(event.config, event.action_names)
            self._update_state()
        elif isinstance(event, ev.StateChanged):
            self.paused = event.state == "paused"
            self._update_state()
        elif isinstance(event, ev.Saved):
            self._show_saved(event)
        elif isinstance(event, ev.Failed):
            self._error("Training stopped", event.message)
        elif isinstance(event, ev.Finished):
            if self.mode == "train":
                self.run_ended = event.reason
            if event.reason == "solved":
                self.statusBar().showMessage(f"Solved at step {event.summary['solved_at_step']:,}", 10000)

    def _announce_solved(self, event: ev.EvalResult) -> None:
        """Solved is an event: a banner that stays until dismissed, with the way to keep this agent."""
        confirmed = ("" if event.confirm_mean is None else
                     f", confirmed over {event.confirm_episodes} more episodes at {event.confirm_mean:.1f}")
        stops = ("Training stops here (<i>Stop when solved</i>)." if self.config.stop_when_solved else
                 "Training goes on: a DQN's agent can get worse again, so keep this one.")
        self.plots.banner.show_message(
            "success", f"<b>Solved at step {event.step:,}</b>: greedy evaluation {event.mean_return:.1f}{confirmed}. "
                       f"{stops}", "Save Best Agent…", self.save_best_agent_as)

    def reset_milestones(self, trainer=None) -> None:
        """Solved and best markers for a new agent (none) or an opened one (from its record)."""
        self.solved_step = None if trainer is None else trainer.solved_at_step
        self.best_mark = None
        if trainer is not None and trainer.metrics.evals["mean_return"]:
            means = trainer.metrics.evals["mean_return"]
            i = max(range(len(means)), key=lambda k: (means[k], -k))
            self.best_mark = (int(trainer.metrics.evals["step"][i]), float(means[i]))
        self.plots.set_milestones(self.solved_step, self.best_mark)
        if self.plots.banner.kind == "success":
            self.plots.banner.hide()

    # ---- live edits ------------------------------------------------------------------------------------------------
    def _on_edit(self, name: str, value) -> None:
        """A control changed: validate, then send to the running trainer (live settings) or keep for the next start."""
        if name == "env_id":
            why = unavailable(str(value))
            if why:                                  # refused before anything is discarded or asked
                self.panel.show_error(why)
                self.panel.set_value("env_id", self.config.env_id)
                return
            if self._switch_family(str(value)):
                return
        try:
            new = self.config.replace(**{name: value})
        except ConfigError as exc:
            self.panel.show_error(exc)
            self.panel.set_value(name, getattr(self.config, name))
            return
        self.panel.show_error(None)
        old_value, new_value = getattr(self.config, name), getattr(new, name)
        if old_value != new_value:
            self.edits.push(SettingChange(self, name, old_value, new_value))    # applies it (Edit ▸ Undo takes back)

    def _switch_family(self, env_id: str) -> bool:
        """An env of another family (Atari, MinAtar, the rest) needs that family's observation pipeline and network:
        take them from its preset, keeping this seed and device (undoable, as choosing a preset is)."""
        family = family_of(env_id)
        if family is family_of(self.config.env_id):
            return False
        preset = family.preset
        try:
            config = load_preset(preset).replace(env_id=env_id.strip(), seed=self.config.seed,
                                                 device=self.config.device, torch_threads=self.config.torch_threads)
        except ConfigError as exc:
            self.panel.show_error(exc)
            self.panel.set_value("env_id", self.config.env_id)
            return True
        self._swap_to(config, preset, f"on {env_id.strip()}",
                      f"{env_id.strip()} uses the {preset} preset's observation, network and learning settings")
        return True

    def apply_setting(self, name: str, value) -> None:
        """Apply one checked setting: to the running trainer (live ones), or keep it for the next start."""
        self.panel.set_value(name, value)
        new = self.config.replace(**{name: value})
        live = PARAM_SPECS[name].live
        if self.session is not None and self.session.running and self.mode == "train":
            if live:
                self.session.control.patch({name: getattr(new, name)})   # answered by ConfigApplied
            else:
                self.config = new                                         # pending: takes effect with a new agent
            return
        self.config = new
        if self.trainer is not None and self.run_ended == "solved" and for_a_new_run(self.trainer.config, new):
            # A finished run is not changed after the fact: the change is for the next run.
            self.statusBar().showMessage(f"{PARAM_SPECS[name].label} is for a new run: Start (F5) begins one; this "
                                         "run stays in the Runs panel", 8000)
        elif self.trainer is not None and live:
            applied = self.trainer.apply_patch({name: getattr(new, name)})
            for field, (old, val) in applied.changes.items():
                self.run_metrics.add_change(applied.step, applied.episode, field, old, val)
            self.plots.mark_dirty()
            if applied.changes:
                self.dirty = self.dirty or self.trainer.step > 0
        elif self._pending_new_agent():
            self.statusBar().showMessage(f"{PARAM_SPECS[name].label} takes effect with a new agent (Start asks)", 6000)
        self.update_preset_label()
        self._update_state()

    def _on_display_rate(self, every: int) -> None:
        if self.session is not None:
            self.session.control.set_display(every)

    # ---- what the user sees ----------------------------------------------------------------------------------------
    def _update_state(self) -> None:
        running = self.session is not None and self.session.running
        training = running and self.mode == "train"
        a = self.actions_by_name
        a["start"].setEnabled(not running or (training and self.paused))
        a["start"].setText("Resume" if training and self.paused else ("Start" if self.trainer is None else "Start / Resume"))
        a["pause"].setEnabled(training and not self.paused)
        a["step"].setEnabled(not running or (training and self.paused))
        a["step_episode"].setEnabled(not running or (training and self.paused))
        a["stop"].setEnabled(running)
        a["watch"].setEnabled(not running and self.trainer is not None)
        a["record"].setEnabled(not running and self.trainer is not None)
        a["save"].setEnabled(self.trainer is not None and self.mode != "watch")
        a["save_as"].setEnabled(self.trainer is not None and self.mode != "watch")
        best = self.trainer.best.result if self.trainer is not None else None
        a["save_best"].setEnabled(best is not None and self.mode != "watch")
        a["save_best"].setStatusTip("The agent as it was at its best greedy evaluation so far"
                                    if best is None else f"The agent at its best evaluation: {best.score:.1f} at "
                                    f"step {best.step:,} (mean of {len(best.returns) + best.confirm_episodes} "
                                    "greedy episodes)")
        for key in ("new", "open", "load_preset"):
            a[key].setEnabled(True)
        self.panel.set_training(training)
        self.edits.set_training(training)
        self.panel.setEnabled(self.mode != "watch")
        self.plots.set_busy(running)
        name = self.path.rsplit("/", 1)[-1] if self.path else ("untitled agent" if self.trainer else "no agent yet")
        state = {"train": " — paused" if self.paused else " — training", "watch": " — watching"}.get(self.mode, "")
        self.setWindowTitle(f"DQN Studio — {name}{'*' if self.dirty else ''}{state}")
        if self.trainer is not None and not running:
            self._update_status(None)
        if training and self.paused:
            self.status_labels["rate"].setText("paused")
        elif running and self.mode == "watch":
            returns = self.greedy_returns
            self.status_labels["rate"].setText(
                "watching" if not returns else f"watching · last {returns[-1]:g} · mean {sum(returns) / len(returns):.1f}"
                f" over {len(returns)}")
        self.status_labels["device"].setText(self.device_text or "device: chosen at start")

    def _update_status(self, stats: ev.StepStats | None) -> None:
        t = self.trainer
        if stats is None and t is None:
            return
        step = stats.step if stats else t.step
        episodes = stats.episode if stats else t.episode
        fill = stats.replay_size if stats else len(t.replay)
        capacity = stats.replay_capacity if stats else t.replay.capacity
        elapsed = stats.elapsed_seconds if stats else t.wall_seconds
        labels = self.status_labels
        if not (stats is not None and self.paused):          # paused: the rate label says so, no stale rate
            labels["rate"].setText(f"{stats.steps_per_second:,.0f} steps/s" if stats else "idle")
        labels["steps"].setText(f"steps {step:,}")
        labels["episodes"].setText(f"episodes {episodes:,}")
        labels["replay"].setText(f"replay {fill:,}/{capacity:,} ({100 * fill / max(capacity, 1):.0f}%)")
        labels["lr"].setText(f"lr {stats.learning_rate if stats else t.learning_rate:.3g}")
        labels["elapsed"].setText(f"trained {format_clock(elapsed)}")
