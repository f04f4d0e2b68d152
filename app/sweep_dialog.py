"""Training ▸ Sweep…: a sweep built from the window's current settings (one or two settings and their values, the
seeds, the budget), run locally by `dqn-sweep` in a separate process, with progress and Cancel; its trials appear
in the Runs panel as they start, grouped by config.

The sweep runs as its own process (Ray starts there, not in the window); `DQN_STUDIO_SWEEP_PREFIX` is an optional
command prefix for it, e.g. `nice -n 10`.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from dqn_core.config import NOT_LEARNING, PARAM_SPECS, ConfigError, TrainConfig, parse_values, save_config_file
from dqn_core.device import cpu_count
from dqn_core.extras import EXTRAS

NONE = "(none)"
SWEEPABLE = [name for name, spec in PARAM_SPECS.items()
             if spec.kind in ("int", "float", "bool", "choice") and name not in NOT_LEARNING]
PROGRESS = re.compile(r"(\d+)/(\d+) trials done")


def _default_values(config: TrainConfig, name: str) -> str:
    value = getattr(config, name)
    spec = PARAM_SPECS[name]
    if spec.kind == "bool":
        return "true, false"
    if spec.kind == "choice":
        return ", ".join(spec.choices)
    if spec.kind == "float" and value:
        return f"{value:g}, {value * 0.5:g}"
    if spec.kind == "int":
        return f"{value}, {max(int(spec.minimum or 0), value * 2)}"
    return str(value)


class SweepDialog(QDialog):
    """Asks for what to sweep; `arguments()` gives the dqn-sweep command line for it."""

    def __init__(self, config: TrainConfig, preset: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Sweep")
        self.config = config
        self.preset = preset
        self.settings: list[tuple[QComboBox, QLineEdit]] = []
        form = QFormLayout()
        base = QLabel(f"The current settings{f' (preset {preset})' if preset else ''}, on {config.env_id}")
        form.addRow("Start from", base)
        for i, default in enumerate(("lr", NONE)):
            box = QComboBox()
            for name in ([NONE] if i else []) + SWEEPABLE:
                box.addItem(name if name == NONE else f"{PARAM_SPECS[name].label} ({name})", name)
            box.setCurrentIndex(box.findData(default))
            values = QLineEdit(_default_values(config, default) if default != NONE else "")
            values.setPlaceholderText("values, separated by commas")
            box.currentIndexChanged.connect(lambda _, b=box, v=values: v.setText(
                "" if b.currentData() == NONE else _default_values(self.config, b.currentData())))
            row = QHBoxLayout()
            row.addWidget(box)
            row.addWidget(values, 1)
            form.addRow(f"Setting {i + 1}", row)
            self.settings.append((box, values))
            box.currentIndexChanged.connect(self._update_count)
            values.textChanged.connect(self._update_count)
        self.seeds = QLineEdit("0 1 2")
        self.seeds.setToolTip("Every setting runs on each of these seeds")
        self.seeds.textChanged.connect(self._update_count)
        form.addRow("Seeds", self.seeds)
        self.steps = QSpinBox()
        self.steps.setRange(100, 100_000_000)
        self.steps.setSingleStep(1000)
        self.steps.setValue(30_000)
        self.steps.setSuffix(" env steps")
        form.addRow("Budget per trial", self.steps)
        self.concurrent = QSpinBox()
        self.concurrent.setRange(1, 256)
        self.concurrent.setValue(max(1, cpu_count()))
        self.concurrent.setToolTip("Trials trained at once, each on one CPU core")
        form.addRow("Trials at once", self.concurrent)
        self.asha = QCheckBox("Stop weak trials early (ASHA)")
        form.addRow("", self.asha)
        self.name = QLineEdit(f"{preset or 'custom'}-{time.strftime('%Y%m%d-%H%M%S')}")
        form.addRow("Name", self.name)
        self.count = QLabel()
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.run_button = buttons.addButton("Run Sweep", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.count)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._update_count()

    def grid(self) -> dict[str, list]:
        """The settings and values asked for; raises ConfigError naming the setting and value."""
        grid = {}
        for box, values in self.settings:
            name = box.currentData()
            if name == NONE:
                continue
            texts = [v.strip() for v in values.text().split(",") if v.strip()]
            if not texts:
                raise ConfigError(name, values.text(), "at least one value, separated by commas")
            if name in grid:
                raise ConfigError(name, values.text(), "is chosen twice")
            grid[name] = [parse_values({name: t})[name] for t in texts]
            for value in grid[name]:
                self.config.replace(**{name: value})
        return grid

    def seed_list(self) -> list[int]:
        try:
            seeds = [int(s) for s in self.seeds.text().replace(",", " ").split()]
        except ValueError:
            raise ConfigError("seeds", self.seeds.text(), "whole numbers separated by spaces") from None
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ConfigError("seeds", self.seeds.text(), "distinct non-negative whole numbers")
        return seeds

    def _update_count(self) -> None:
        try:
            grid, seeds = self.grid(), self.seed_list()
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.run_button.setEnabled(False)
            self.count.setText("")
            return
        self.error.setText("")
        self.run_button.setEnabled(True)
        combos = 1
        for values in grid.values():
            combos *= len(values)
        self.count.setText(f"{combos * len(seeds)} trials: {combos} setting combination{'s' if combos != 1 else ''} "
                           f"× {len(seeds)} seed{'s' if len(seeds) != 1 else ''}")

    def _accept(self) -> None:
        if not self.name.text().strip():
            self.error.setText("The sweep needs a name")
            return
        self.accept()

    def arguments(self, runs_dir: Path) -> list[str]:
        """dqn-sweep's arguments; the current settings go in a config file in the runs folder's .sweeps."""
        name = self.name.text().strip()
        folder = runs_dir / ".sweeps"
        folder.mkdir(parents=True, exist_ok=True)
        config_path = folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}-config.toml"
        save_config_file(self.config, config_path, name=name, description="the window's settings for a sweep")
        args = ["--config", str(config_path), "--seeds", *map(str, self.seed_list()), "--steps",
                str(self.steps.value()), "--max-concurrent", str(self.concurrent.value()), "--runs-dir", str(runs_dir),
                "--name", name]
        if self.preset:
            args += ["--preset", self.preset]
        for setting, values in self.grid().items():
            args += ["--grid", f"{setting}=" + ",".join(str(v) for v in values)]
        if self.asha.isChecked():
            args.append("--asha")
        return args


class SweepMonitor(QWidget):
    """A running sweep in the status bar: progress, and Cancel (Ctrl+C to dqn-sweep: finished runs are kept)."""

    finished = Signal(int, str)           # exit code, the sweep's last lines

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.name = ""
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.cancel = QPushButton("Cancel Sweep")
        self.cancel.clicked.connect(self.stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.lines: list[str] = []
        self.hide()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, name: str, args: list[str]) -> None:
        prefix = shlex.split(os.environ.get("DQN_STUDIO_SWEEP_PREFIX", ""))
        command = [*prefix, sys.executable, "-m", "dqn_core.experiments.sweep", *args]
        self.name = name
        self.lines = []
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.setWorkingDirectory(str(Path(__file__).resolve().parent.parent))
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.label.setText(f"Sweep {name}: starting Ray…")
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)
        self.show()
        self.process.start(command[0], command[1:])

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.lines = (self.lines + [line])[-40:]
            match = PROGRESS.search(line)
            if match:
                done, total = int(match.group(1)), int(match.group(2))
                self.bar.setRange(0, total)
                self.bar.setValue(done)
                self.label.setText(f"Sweep {self.name}: {done} of {total} trials done")

    def stop(self) -> None:
        if self.running:
            self.cancel.setEnabled(False)
            self.label.setText(f"Sweep {self.name}: stopping (finished runs are kept)…")
            os.kill(int(self.process.processId()), signal.SIGINT)

    def wait(self, ms: int = 60_000) -> None:
        if self.running:
            self.stop()
            self.process.waitForFinished(ms)

    def _finished(self, code: int, status) -> None:
        self._read()
        self.hide()
        self.finished.emit(code, "\n".join(self.lines[-12:]))


class Sweeps(QObject):
    """Training ▸ Sweep…: the dialog from the current settings, then the sweep's runs shown grouped as they come."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.monitor = SweepMonitor(window)
        self.monitor.finished.connect(self._finished)

    def open_dialog(self) -> None:
        w = self.w
        if self.monitor.running:
            w.error("A sweep is running", f"Sweep {self.monitor.name} is still running; cancel it or wait for it to "
                    "finish before starting another.")
            return
        if not EXTRAS["sweep"].installed:                # said here; the sweep runs in its own process
            QMessageBox.information(w, "Sweeps need Ray Tune", "Sweeps need the optional 'sweep' extra, which is "
                                    f"not installed:\n{EXTRAS['sweep'].install}")
            return
        dialog = SweepDialog(w.run.config, w.run.preset_name, w)
        if dialog.exec() != SweepDialog.DialogCode.Accepted:
            return
        panel = w.runs_panel
        try:
            args = dialog.arguments(panel.runs_dir)
        except (OSError, ConfigError) as exc:
            w.error("Cannot start the sweep", str(exc))
            return
        name = dialog.name.text().strip()
        panel.auto_check_prefix = f"{name}-"
        panel.group_box.setChecked(True)
        panel.filter.setText(name)
        w.docks["Runs"].show()
        self.monitor.start(name, args)

    def _finished(self, code: int, tail: str) -> None:
        w, name = self.w, self.monitor.name
        w.runs_panel.stop_auto_check()
        if code == 0:
            w.statusBar().showMessage(f"Sweep {name} finished; its runs are compared in the Runs panel", 10000)
        elif code == 130:
            w.statusBar().showMessage(f"Sweep {name} cancelled; its finished runs are kept", 10000)
        elif code == 1:
            w.error("Sweep finished with failed trials", f"Some trials of {name} failed (the Runs panel shows "
                    f"why); the others finished.\n\n{tail}")
        else:
            w.error("Sweep failed", f"dqn-sweep ended with exit code {code}:\n\n{tail}")
