"""The settings' side of the window: edits from the panel (checked, undoable, live while training), presets and
config files, and the picker's note of where the settings came from."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtWidgets import QFileDialog

from dqn_core.config import NOT_LEARNING, PARAM_SPECS, ConfigError, TrainConfig, load_config_file, save_config_file
from dqn_core.envs.families import family_of, unavailable
from dqn_core.presets import list_presets, load_preset, preset_info
from dqn_core.training import events as ev

from .run_end import for_a_new_run
from .undo import ConfigSwap, EditHistory, SettingChange

CONFIG_FILTER = "Configs (*.toml *.json);;All files (*)"
FIRST_PRESET = "zoo-state"          # learns visibly within a minute on 2 cores (README, first start)


def user_preset_dir() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "presets"


def preset_names() -> dict[str, dict[str, str]]:
    return {name: preset_info(path) for name, path in list_presets([user_preset_dir()]).items()}


class ConfigEdits(QObject):
    """Changes to the current run's settings (`run.config`), from the panel, presets and files."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.run = window.run
        self.panel = window.panel
        self.history = EditHistory(window)

    # ---- one setting -------------------------------------------------------------------------------------------------
    def on_edit(self, name: str, value) -> None:
        """A control changed: check it, then apply it undoably (live settings reach a training run at once)."""
        if name == "env_id":
            why = unavailable(str(value))
            if why:                                  # refused before anything is discarded or asked
                self.panel.show_error(why)
                self.panel.set_value("env_id", self.run.config.env_id)
                return
            if self._switch_family(str(value)):
                return
        try:
            new = self.run.config.replace(**{name: value})
        except ConfigError as exc:
            self.panel.show_error(exc)
            self.panel.set_value(name, getattr(self.run.config, name))
            return
        self.panel.show_error(None)
        old_value, new_value = getattr(self.run.config, name), getattr(new, name)
        if old_value != new_value:
            self.history.push(SettingChange(self, name, old_value, new_value))    # applies it

    def _switch_family(self, env_id: str) -> bool:
        """An env of another family (Atari, MinAtar, the rest) needs that family's observation pipeline and network:
        take them from its preset, keeping this seed and device (undoable, as choosing a preset is)."""
        family = family_of(env_id)
        if family is family_of(self.run.config.env_id):
            return False
        config = self.run.config
        try:
            new = load_preset(family.preset).replace(env_id=env_id.strip(), seed=config.seed, device=config.device,
                                                     torch_threads=config.torch_threads)
        except ConfigError as exc:
            self.panel.show_error(exc)
            self.panel.set_value("env_id", config.env_id)
            return True
        self.swap_undoably(new, family.preset, f"on {env_id.strip()}",
                           f"{env_id.strip()} uses the {family.preset} preset's observation, network and learning "
                           "settings")
        return True

    def apply_setting(self, name: str, value) -> None:
        """Apply one checked setting: to the training run (live ones), to an idle run that goes on (live ones), or
        for the next run."""
        run, training = self.run, self.w.training
        self.panel.set_value(name, value)
        new = run.config.replace(**{name: value})
        live = PARAM_SPECS[name].live
        if training.training and live:
            training.session.control.patch({name: getattr(new, name)})       # answered by ConfigApplied
            return
        message, idle, patched = "", not training.running, False
        if idle and run.trainer is not None and run.ended is not None and for_a_new_run(run.trainer.config, new):
            # An ended run is not changed after the fact: the change is for the next run.
            message = f"{PARAM_SPECS[name].label} is for a new run (F5 starts it)"
        elif idle and run.trainer is not None and live:
            # The trainer first: what follows run.changed (legend names, the evaluation title) reads its settings.
            applied = run.trainer.apply_patch({name: getattr(new, name)})
            for field, (old, val) in applied.changes.items():
                run.metrics.add_change(applied.step, applied.episode, field, old, val)
            self.w.plots.mark_dirty()
            if applied.changes:
                run.changed_by_hand()
            patched = True
        run.set_config(new)
        if not message and not patched and self.pending_new_agent():
            message = f"{PARAM_SPECS[name].label} takes effect with a new agent (Start asks)"
        if message:
            self.w.statusBar().showMessage(message, 8000)
        self.update_preset_label()

    def applied(self, event: ev.ConfigApplied) -> None:
        """The trainer confirmed live changes (and refused others): mark them on the plots, show what it took."""
        run = self.run
        for name, (old, new) in event.changes.items():
            run.metrics.add_change(event.step, event.episode, name, old, new)
        # Keep settings still pending elsewhere in the panel; show what the trainer confirmed.
        run.set_config(run.config.replace(**{n: getattr(event.config, n) for n in event.changes}))
        for name in list(event.changes) + list(event.rejected):
            self.panel.set_value(name, getattr(event.config, name))
        self.panel.show_error("; ".join(event.rejected.values()) if event.rejected else None)
        self.update_preset_label()
        self.w.plots.mark_dirty()

    def pending_new_agent(self) -> list[str]:
        """Non-live settings that differ from the current agent's (their labels, as the panel shows them): they
        take effect with a new agent."""
        trainer = self.run.trainer
        if trainer is None:
            return []
        return [PARAM_SPECS[n].label for n in trainer.config.diff(self.run.config) if not PARAM_SPECS[n].live]

    # ---- all settings at once ----------------------------------------------------------------------------------------
    def choose_preset(self, name: str) -> None:
        try:
            config = load_preset(name, [user_preset_dir()])
        except ConfigError as exc:
            self.w.error("Cannot load preset", str(exc))
            return
        self.swap_undoably(config, name, "", f"Preset {name}")

    def reset_to_preset(self) -> None:
        self.choose_preset(self.run.preset_name or FIRST_PRESET)

    def load_preset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Load Preset", self.w.last_dir(), CONFIG_FILTER)
        if not path:
            return
        try:
            config = load_config_file(path)
        except ConfigError as exc:
            self.w.error("Cannot load preset", str(exc))
            return
        self.swap_undoably(config, "", f"from {Path(path).name}", f"Loaded {path}")

    def swap_undoably(self, config: TrainConfig, preset: str, source: str, message: str) -> None:
        """All settings at once, undoably (Edit ▸ Undo brings the previous ones back)."""
        old = (self.run.config, self.run.preset_name, self.run.source_note)
        self.history.push(ConfigSwap(self, message, old, (config, preset, source)))

    def swap_config(self, config: TrainConfig, preset: str, source: str, message: str) -> None:
        self.run.set_config(config, preset, source)
        self.show_config(message)

    def set_config(self, config: TrainConfig, message: str) -> None:
        """Settings from elsewhere (a script, a test), keeping where the others came from."""
        self.run.set_config(config)
        self.show_config(message)

    def show_config(self, message: str = "") -> None:
        """The panel shows the run's settings (after a swap, an undo, an opened agent)."""
        self.panel.set_config(self.run.config)
        self.panel.show_error(None)
        pending = self.pending_new_agent()
        note = f"; {', '.join(pending)} take effect with a new agent" if pending else ""
        if message:
            self.w.statusBar().showMessage(message + note, 6000)
        self.update_preset_label()

    def save_preset_dialog(self) -> None:
        folder = user_preset_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self.w, "Save Config as Preset", str(folder / "my-preset.toml"),
                                              CONFIG_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".toml"
        try:
            save_config_file(self.run.config, path, name=Path(path).stem, description="Saved from DQN Studio")
        except OSError as exc:
            self.w.error("Cannot save preset", f"Could not write {path}: {exc}")
            return
        self.panel.set_presets(preset_names())
        self.w.statusBar().showMessage(f"Saved preset {path}", 5000)

    def update_preset_label(self) -> None:
        """The picker names where the settings came from: the preset, 'preset (modified)', the agent file whose
        settings they are, or nothing in particular."""
        run = self.run
        if not run.preset_name:
            note = run.source_note
            if note.startswith("from agent ") and run.trainer is None:
                note = f"settings of agent {note[len('from agent '):]}"    # the agent itself is not open
            self.panel.show_preset(None, note or "(custom settings)")
            return
        try:
            preset = load_preset(run.preset_name, [user_preset_dir()])
        except ConfigError:
            self.panel.show_preset(None, "(custom settings)")
            return
        # A preset is a recipe: the settings that do not change what is learned (seed, device, threads) leave it as is.
        differences = [n for n in preset.diff(run.config) if n not in NOT_LEARNING]
        self.panel.show_preset(run.preset_name, f"{run.preset_name} (modified)" if differences else "")
