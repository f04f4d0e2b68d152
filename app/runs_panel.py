"""The Runs panel: every recorded run in a table; checked runs are drawn over the plots, one colour each, or grouped
by config as a mean line and a band over their seeds.

The panel reads the runs folder every two seconds (only what changed), so runs from the window, `dqn-train` and
sweeps appear the same way, and a running one updates live.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QLineEdit, QMenu, QMessageBox, QPushButton, QSlider, QTableWidget,
                               QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from dqn_core.experiments.compare import ema, group_band, group_runs, group_table_csv, series
from dqn_core.experiments.runs import Run, delete_run, list_runs, read_run, rename_run, settings_that_differ
from dqn_core.fileio import atomic_write_bytes

from .plots import Overlay, PlotsPanel

POLL_MS = 2000
# Distinct from the current run's own colours (light blue episodes, red 100-episode mean, green evaluations).
PALETTE = ["#1a73e8", "#e8710a", "#a142f4", "#12b5cb", "#b31412", "#0d652d", "#f29900", "#5f6368", "#c5221f",
           "#185abc"]
PLOT_SERIES = ("duration", "eval", "loss", "q", "epsilon")
FIXED_COLUMNS = ("", "name", "env", "preset")
TAIL_COLUMNS = ("steps", "best eval", "last eval", "status", "date")


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


class NumericItem(QTableWidgetItem):
    """A cell that sorts by its number (empty cells last)."""

    def __init__(self, value: float | None, text: str | None = None) -> None:
        super().__init__(text if text is not None else ("" if value is None else f"{value:,.1f}"))
        self.value = value

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, NumericItem):
            a = self.value if self.value is not None else float("inf")
            b = other.value if other.value is not None else float("inf")
            return a < b
        return super().__lt__(other)


class RunsPanel(QWidget):
    """Table of runs and the comparison controls. `openAgent(path)` asks the window to open a run's agent."""

    openAgent = Signal(str)
    exportPlots = Signal(str)          # "png" or "svg": File ▸ Export's own dialog and writer
    def __init__(self, plots: PlotsPanel, runs_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = plots
        self.runs_dir = Path(runs_dir)
        self.runs: dict[str, Run] = {}
        self.checked: set[str] = set()
        self.colours: dict[str, str] = {}
        self._columns: list[str] = []
        self._signature: tuple = ()
        self._filling = False
        self.auto_check_prefix: str | None = None   # a sweep started from the window: its runs check themselves
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs (name, env, preset, status, settings)…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.group_box = QCheckBox("Group by config")
        self.group_box.setToolTip("Runs whose settings are equal except the seed: one mean line and a band")
        self.group_box.toggled.connect(self.update_overlays)
        self.band_box = QComboBox()
        self.band_box.addItems(["std", "stderr", "min-max"])
        self.band_box.setToolTip("Band around a group's mean: standard deviation, standard error, or min–max")
        self.band_box.currentTextChanged.connect(self.update_overlays)
        self.smooth = QSlider(Qt.Orientation.Horizontal)
        self.smooth.setRange(0, 99)
        self.smooth.setToolTip("Smoothing of compared curves (TensorBoard's debiased exponential moving average)")
        self.smooth.valueChanged.connect(self._smoothing_changed)
        self.smooth_label = QLabel("smoothing 0.00")
        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Six rows at least, so that a comparison's runs are seen without scrolling (the dock can be made larger).
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 6 * rows + 4)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda item: self._toggle_row(item.row()))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        self.open_button = QPushButton("Open Agent")
        self.open_button.setToolTip("Open the run's final agent (or its best one) in the window")
        self.open_button.clicked.connect(self.open_selected)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Comparison as PNG…", lambda: self.export_plots("png"))
        menu.addAction("Comparison as SVG…", lambda: self.export_plots("svg"))
        menu.addAction("Groups as CSV…", self.export_groups_csv)
        self.export_button.setMenu(menu)
        self.folder_button = QPushButton("Runs Folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.group_box)
        top.addWidget(QLabel("band"))
        top.addWidget(self.band_box)
        top.addWidget(self.smooth_label)
        top.addWidget(self.smooth)
        buttons = QHBoxLayout()
        for widget in (self.open_button, self.rename_button, self.delete_button, self.export_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        plots.xUnitChanged.connect(lambda _: self.update_overlays())
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(POLL_MS)
        self.refresh()
        self._update_buttons()

    # ---- reading ---------------------------------------------------------------------------------------------------
    def set_runs_dir(self, folder: Path) -> None:
        self.runs_dir = Path(folder)
        self.runs, self.checked = {}, set()
        self._signature = ()
        self.refresh()
        self.update_overlays()

    def refresh(self) -> None:
        """Re-read the runs folder (incrementally) and redraw what changed."""
        self.runs = list_runs(self.runs_dir, self.runs, metrics=lambda run_id: run_id in self.checked)
        if self.auto_check_prefix:
            for run_id in self.runs:
                if run_id.startswith(self.auto_check_prefix) and not self.runs[run_id].error:
                    self.checked.add(run_id)
        self.checked &= set(self.runs)
        signature = tuple((r.id, r.name, r.status, r.info.get("counters", {}).get("steps"), r._offset, r.error)
                          for r in self.runs.values())
        if signature == self._signature:
            return
        self._signature = signature
        self._fill_table()
        self.update_overlays()

    def _colour(self, key: str) -> str:
        if key not in self.colours:
            self.colours[key] = PALETTE[len(self.colours) % len(PALETTE)]
        return self.colours[key]

    # ---- the table -------------------------------------------------------------------------------------------------
    def _fill_table(self) -> None:
        runs = list(self.runs.values())
        differing = [name for name in settings_that_differ(runs) if name not in ("seed", "env_id")]
        columns = [*FIXED_COLUMNS, *differing, "seed", *TAIL_COLUMNS]
        selected = {self.table.item(i.row(), 1).data(Qt.ItemDataRole.UserRole)
                    for i in self.table.selectionModel().selectedRows()} if self.table.rowCount() else set()
        self._filling = True
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        try:
            self._columns = columns
            self.table.setColumnCount(len(columns))
            self.table.setHorizontalHeaderLabels(columns)
            self.table.setRowCount(len(runs))
            for row, run in enumerate(sorted(runs, key=lambda r: str(r.info.get("created", "")), reverse=True)):
                self._fill_row(row, run, differing)
                if run.id in selected:
                    self.table.selectRow(row)
        finally:
            self.table.setSortingEnabled(sorting)
            self._filling = False
        self.table.resizeColumnsToContents()
        self._apply_filter()

    def _fill_row(self, row: int, run: Run, differing: list[str]) -> None:
        info, config = run.info, run.info.get("config") or {}
        check = QTableWidgetItem()
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not run.error:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
            check.setCheckState(Qt.CheckState.Checked if run.id in self.checked else Qt.CheckState.Unchecked)
        check.setFlags(flags)
        created = str(info.get("created", ""))
        try:
            date = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").strftime("%Y-%m-%d %H:%M")
        except ValueError:
            date = created
        counters = info.get("counters") or {}
        cells: list[QTableWidgetItem] = [check, QTableWidgetItem(run.name), QTableWidgetItem(str(config.get("env_id", ""))),
                                         QTableWidgetItem(str(info.get("preset") or ""))]
        cells += [QTableWidgetItem(_fmt(config.get(name))) for name in differing]
        cells += [NumericItem(info.get("seed"), _fmt(info.get("seed"))),
                  NumericItem(counters.get("steps"), f"{counters['steps']:,}" if counters.get("steps") is not None else ""),
                  NumericItem(run.best_eval()), NumericItem(run.final_eval()), QTableWidgetItem(run.status),
                  QTableWidgetItem(date)]
        tip = run.error or (f"{run.folder}\n{info.get('reason') or ''}".strip())
        for column, cell in enumerate(cells):
            if column:
                cell.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            cell.setToolTip(tip)
            self.table.setItem(row, column, cell)
        self.table.item(row, 1).setData(Qt.ItemDataRole.UserRole, run.id)
        if run.error:
            self.table.item(row, 1).setText(f"{run.id} (unreadable)")

    def _row_text(self, row: int) -> str:
        return " ".join(self.table.item(row, c).text() for c in range(1, self.table.columnCount())
                        if self.table.item(row, c) is not None).lower()

    def _apply_filter(self) -> None:
        words = self.filter.text().lower().split()
        for row in range(self.table.rowCount()):
            text = self._row_text(row)
            self.table.setRowHidden(row, not all(w in text for w in words))

    def visible_run_ids(self) -> list[str]:
        return [self.table.item(r, 1).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())
                if not self.table.isRowHidden(r)]

    def selected_runs(self) -> list[Run]:
        ids = [self.table.item(i.row(), 1).data(Qt.ItemDataRole.UserRole)
               for i in self.table.selectionModel().selectedRows()]
        return [self.runs[i] for i in ids if i in self.runs]

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        run_id = self.table.item(item.row(), 1).data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.checked.add(run_id)
        else:
            self.checked.discard(run_id)
        self._fill_table()
        self.update_overlays()

    def _toggle_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def set_checked(self, run_ids: list[str]) -> None:
        self.checked = {i for i in run_ids if i in self.runs and not self.runs[i].error}
        self._fill_table()
        self.update_overlays()

    def compare(self, run_id: str) -> None:
        """Check one more run (the window's previous run, when a new one replaces it)."""
        if run_id not in self.runs:
            self.refresh()
        self.set_checked(sorted(self.checked | {run_id}))

    def _update_buttons(self) -> None:
        runs = self.selected_runs()
        self.rename_button.setEnabled(len(runs) == 1 and not runs[0].error)
        self.delete_button.setEnabled(bool(runs) and all(r.status != "running" for r in runs))
        self.open_button.setEnabled(len(runs) == 1 and runs[0].agent_path() is not None)
        n = len(self.runs)
        self.summary.setText(f"{n} run{'s' if n != 1 else ''} in {self.runs_dir}" +
                             (f" · {len(self.checked)} compared" if self.checked else " · check runs to compare them"))

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction("Compare Selected", lambda: self.set_checked(
            sorted(self.checked | {r.id for r in self.selected_runs()})))
        menu.addAction("Compare None", lambda: self.set_checked([]))
        menu.addSeparator()
        for button in (self.open_button, self.rename_button, self.delete_button):
            action = menu.addAction(button.text(), button.click)
            action.setEnabled(button.isEnabled())
        menu.exec(self.table.viewport().mapToGlobal(pos))

    # ---- the comparison ------------------------------------------------------------------------------------------
    def _smoothing_changed(self, value: int) -> None:
        self.smooth_label.setText(f"smoothing {value / 100:.2f}")
        self.update_overlays()

    def overlays(self) -> list[Overlay]:
        runs = [self.runs[i] for i in sorted(self.checked) if i in self.runs and not self.runs[i].error]
        weight = self.smooth.value() / 100
        unit = self.plots.x_unit
        if self.group_box.isChecked():
            out = []
            for group in group_runs(runs):
                curves, bands = {}, {}
                for key in PLOT_SERIES:
                    b = group_band(group, key, unit, self.band_box.currentText(), weight)
                    if len(b.x):
                        curves[key] = (b.x, b.mean)
                        bands[key] = (b.x, b.low, b.high)
                label = f"{group.label()} ({group.count_text()})"
                out.append(Overlay(label, self._colour(group.key), curves, bands))
            return out
        out = []
        for run in runs:
            curves = {}
            for key in PLOT_SERIES:
                x, y = series(run, key, unit)
                curves[key] = (np.asarray(x, float), ema(y, weight))
            out.append(Overlay(run.name, self._colour(run.id), curves))
        return out

    def update_overlays(self) -> None:
        """Redraw the compared runs, and mark each checked row with the colour its curve (or group) has."""
        for run in self.runs.values():          # series are read for compared runs only, and dropped after
            if run.metrics_loaded != (run.id in self.checked) and not run.error:
                read_run(run.folder, run, run.id in self.checked)
        self.plots.set_overlays(self.overlays())
        colours = {}
        runs = [self.runs[i] for i in self.checked if i in self.runs and not self.runs[i].error]
        if self.group_box.isChecked():
            for group in group_runs(runs):
                colours.update({r.id: self._colour(group.key) for r in group.runs})
        else:
            colours = {r.id: self._colour(r.id) for r in runs}
        self._filling = True
        try:
            for row in range(self.table.rowCount()):
                run_id = self.table.item(row, 1).data(Qt.ItemDataRole.UserRole)
                colour = colours.get(run_id)
                self.table.item(row, 0).setData(Qt.ItemDataRole.DecorationRole,
                                                QColor(colour) if colour else None)
        finally:
            self._filling = False
        self._update_buttons()

    # ---- actions ---------------------------------------------------------------------------------------------------
    def rename_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) != 1:
            return
        run = runs[0]
        name, ok = QInputDialog.getText(self, "Rename Run", "New name:", text=run.name)
        if not ok:
            return
        try:
            rename_run(run.folder, name)
        except (OSError, ValueError) as exc:
            QMessageBox.critical(self, "Cannot rename run", f"{run.folder}: {exc}")
            return
        self.refresh()

    def delete_selected(self) -> None:
        runs = [r for r in self.selected_runs() if r.status != "running"]
        if not runs:
            return
        names = "\n".join(f"• {r.name}" for r in runs[:10]) + ("\n…" if len(runs) > 10 else "")
        answer = QMessageBox.question(self, "Delete runs",
                                      f"Delete {len(runs)} run{'s' if len(runs) != 1 else ''} and their files "
                                      f"(agents included)? This cannot be undone.\n\n{names}",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        for run in runs:
            try:
                delete_run(run.folder)
            except (OSError, ValueError) as exc:
                QMessageBox.critical(self, "Cannot delete run", f"{run.folder}: {exc}")
            self.checked.discard(run.id)
        self.refresh()

    def open_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and runs[0].agent_path() is not None:
            self.openAgent.emit(str(runs[0].agent_path()))

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs Folder", str(self.runs_dir))
        if folder:
            self.set_runs_dir(Path(folder))

    def export_plots(self, kind: str) -> None:
        """The comparison is what the plots show: the window's own export writes it."""
        self.exportPlots.emit(kind)

    def export_groups_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export Groups as CSV", str(Path.home() / "dqn-groups.csv"),
                                              "CSV files (*.csv)")
        if not path:
            return
        runs = [self.runs[i] for i in (sorted(self.checked) or self.visible_run_ids()) if i in self.runs]
        try:
            atomic_write_bytes(path, group_table_csv(group_runs(runs)).encode("utf-8"))
        except OSError as exc:
            QMessageBox.critical(self, "Cannot export", f"Could not write {path}: {exc}")
