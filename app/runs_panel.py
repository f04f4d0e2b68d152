"""The Runs panel: every recorded run in a table; checked runs are drawn over the plots, one colour each, or grouped
by config as a mean line and a band over their seeds.

The runs folder is read off the GUI thread every two seconds (only what changed; `RunsLoader`): run.json of every
run for the table, metric series only for the runs compared. Runs from the window, `dqn-train` and sweeps appear the
same way, and a running one updates live. The table is a model over rows built by the loader, so ten thousand runs
cost the GUI only the rows on screen.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMenu, QPushButton, QSlider, QTableView, QToolButton, QVBoxLayout, QWidget)

from dqn_core.experiments.runs import Run

from .comparison import compared_overlays, curve_colours
from .plots import Overlay, PlotsPanel
from .runs_files import delete_dialog, export_groups_dialog, rename_dialog
from .runs_loader import Listing, RunsLoader
from .runs_table import RunsTableModel

POLL_MS = 2000
# Distinct from every colour the current run's own curves have on any plot (light blue episodes, red mean, green
# evaluations, purple loss, orange Q, grey ε), so a compared run is never taken for the live one.
PALETTE = ["#1a237e", "#00838f", "#c2185b", "#795548", "#827717", "#0288d1", "#f9a825", "#000000"]


class RunsPanel(QWidget):
    """Table of runs and the comparison controls. `openAgent(path)` asks the window to open a run's agent."""

    openAgent = Signal(str)
    exportPlots = Signal(str)          # "png" or "svg": File ▸ Export's own dialog and writer
    loaded = Signal()                  # a read of the runs folder is shown

    def __init__(self, plots: PlotsPanel, runs_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = plots
        self.runs_dir = Path(runs_dir)
        self.runs: dict[str, Run] = {}
        self.model = RunsTableModel(self)
        self.checked = self.model.checked          # one set: the model draws the check boxes from it
        self.colours: dict[str, str] = {}
        self.auto_check_prefix: str | None = None   # a sweep started from the window: its runs check themselves
        self._auto_check_until: int | None = None   # ... up to the read with this number
        self.reads = 0                               # reads of the runs folder shown so far
        self.reference: dict | None = None           # the current run's config (set_reference)
        self._rows_hidden = False                    # the filter hides some rows
        self._build_controls()
        self._build_layout()
        self.loader = RunsLoader(self)
        self.loader.loaded.connect(self._show_listing)
        plots.xUnitChanged.connect(lambda _: self.update_overlays())
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(POLL_MS)
        self.refresh()
        self._update_buttons()

    def _build_controls(self) -> None:
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs (name, env, preset, status, settings)…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.group_box = QCheckBox("Group by config")
        self.group_box.setToolTip("Runs whose settings and budget are equal except the seed: one mean line and a band")
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
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Six rows at least, so that a comparison's runs are seen without scrolling (the dock can be made larger).
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 6 * rows + 4)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(False)     # newest first until a header is clicked
        self.table.horizontalHeader().sortIndicatorChanged.connect(
            lambda *_: self.table.horizontalHeader().setSortIndicatorShown(True))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.model.checkToggled.connect(self._check_toggled)
        self.model.modelReset.connect(self._apply_filter)
        self.model.layoutChanged.connect(self._apply_filter)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.table.doubleClicked.connect(lambda index: self._toggle_row(index.row()))
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
        menu.addAction("Comparison as PNG…", lambda: self.exportPlots.emit("png"))
        menu.addAction("Comparison as SVG…", lambda: self.exportPlots.emit("svg"))
        menu.addAction("Groups as CSV…", self.export_groups_csv)
        self.export_button.setMenu(menu)
        self.folder_button = QPushButton("Runs Folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.summary = QLabel("Reading the runs folder…")
        self.summary.setWordWrap(True)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        for widget in (self.group_box, QLabel("band"), self.band_box, self.smooth_label, self.smooth):
            top.addWidget(widget)
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

    # ---- reading ---------------------------------------------------------------------------------------------------
    def set_runs_dir(self, folder: Path) -> None:
        self.runs_dir = Path(folder)
        self.runs = {}
        self.checked.clear()
        self.model.set_rows(self.model.columns, [])
        self.summary.setText(f"Reading {self.runs_dir}…")
        self.refresh()
        self.update_overlays()

    def refresh(self) -> int:
        """Ask for a read of the runs folder (incremental, in the loader's thread); shown when it arrives."""
        return self.loader.request(self.runs_dir, self.checked)

    def stop_auto_check(self) -> None:
        """A sweep ended: its runs found by the next read still check themselves, later ones not."""
        self._auto_check_until = self.refresh()

    def _show_listing(self, listing: Listing) -> None:
        if listing.runs_dir != self.runs_dir:
            return                                   # a read of the folder shown before
        old = self.runs
        self.runs = listing.runs
        if self.auto_check_prefix:
            self.checked.update(i for i, r in self.runs.items() if i.startswith(self.auto_check_prefix)
                                and not r.error)
            if self._auto_check_until is not None and listing.seq >= self._auto_check_until:
                self.auto_check_prefix = self._auto_check_until = None
                self.refresh()                        # the series of the runs just checked
        self.checked.intersection_update(self.runs)
        selected = {r.id for r in self.selected_runs(old)}
        columns_changed = listing.columns != self.model.columns or not old
        self.model.set_rows(listing.columns, listing.rows)
        self._select(selected)
        if columns_changed:
            self._size_columns(listing.widths)
        if len(old) != len(self.runs) or any(old.get(i) is not r for i, r in self.runs.items()):
            self.update_overlays()
        self.reads += 1
        self.loaded.emit()

    def _size_columns(self, widths: list[int]) -> None:
        """Columns as wide as their longest text (counted by the loader: Qt's resizeColumnsToContents asks the model
        for every cell, a third of a second for 1,000 runs); the user's own resizing is kept until the columns
        change."""
        char = self.table.fontMetrics().horizontalAdvance("0")
        for column, width in enumerate(widths):
            extra = 28 if column == 0 else 14                     # the check box; the cell's margins
            self.table.setColumnWidth(column, min(char * width + extra, 40 * char))

    def _colour(self, key: str) -> str:
        if key not in self.colours:
            self.colours[key] = PALETTE[len(self.colours) % len(PALETTE)]
        return self.colours[key]

    # ---- the table -------------------------------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        words = self.filter.text().lower().split()
        if not words and not self._rows_hidden:
            return                                  # nothing to show or hide: no call per row (10,000 runs)
        hidden = False
        for row, item in enumerate(self.model.rows):
            hide = bool(words) and not all(w in item.text for w in words)
            self.table.setRowHidden(row, hide)
            hidden |= hide
        self._rows_hidden = hidden

    def visible_run_ids(self) -> list[str]:
        return [r.run.id for i, r in enumerate(self.model.rows) if not self.table.isRowHidden(i)]

    def selected_runs(self, runs: dict[str, Run] | None = None) -> list[Run]:
        runs = self.runs if runs is None else runs
        ids = [self.model.run_id(i.row()) for i in self.table.selectionModel().selectedRows()
               if i.row() < len(self.model.rows)]
        return [runs[i] for i in ids if i in runs]

    def _select(self, run_ids: set[str]) -> None:
        selection = self.table.selectionModel()
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row >= 0:
                selection.select(self.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)

    def _check_toggled(self, run_id: str, checked: bool) -> None:
        (self.checked.add if checked else self.checked.discard)(run_id)
        self.model.repaint_checks()
        self.update_overlays()              # at once without the series it still needs; again when they are read
        self.refresh()

    def _toggle_row(self, row: int) -> None:
        if 0 <= row < len(self.model.rows) and not self.model.rows[row].run.error:
            run_id = self.model.run_id(row)
            self._check_toggled(run_id, run_id not in self.checked)

    def set_checked(self, run_ids: list[str]) -> None:
        self.checked.clear()
        self.checked.update(i for i in run_ids if i in self.runs and not self.runs[i].error)
        self.model.repaint_checks()
        self.update_overlays()
        self.refresh()

    def compare(self, run_id: str) -> None:
        """Check one more run (the window's previous run, when a new one replaces it)."""
        self.checked.add(run_id)              # kept when the next read finds it (a new run's first read)
        self.model.repaint_checks()
        self.refresh()

    def _update_buttons(self) -> None:
        runs = self.selected_runs()
        self.rename_button.setEnabled(len(runs) == 1 and not runs[0].error)
        self.delete_button.setEnabled(bool(runs) and all(r.status != "running" for r in runs))
        self.open_button.setEnabled(len(runs) == 1 and runs[0].agent_path() is not None)
        n = len(self.runs)
        self.summary.setText(f"{n:,} run{'s' if n != 1 else ''} in {self.runs_dir}" +
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
        """What the plots draw for the compared runs whose series are read."""
        runs = [self.runs[i] for i in sorted(self.checked)
                if i in self.runs and not self.runs[i].error and self.runs[i].metrics_loaded]
        return compared_overlays(runs, self.group_box.isChecked(), self.band_box.currentText(),
                                 self.smooth.value() / 100, self.plots.x_unit, self._colour, self.reference)

    def set_reference(self, config: dict | None) -> None:
        """The current run's settings: a compared run's legend names what differs from them too."""
        if config != self.reference:
            self.reference = config
            if self.checked:
                self.update_overlays()

    def update_overlays(self) -> None:
        """Redraw the compared runs, and mark each checked row with the colour its curve (or group) has."""
        self.plots.set_overlays(self.overlays())
        runs = [self.runs[i] for i in self.checked if i in self.runs and not self.runs[i].error]
        self.model.colours.clear()
        self.model.colours.update(curve_colours(runs, self.group_box.isChecked(), self._colour))
        self.model.repaint_checks()
        self._update_buttons()

    # ---- actions ---------------------------------------------------------------------------------------------------
    def rename_selected(self) -> None:
        rename_dialog(self)

    def delete_selected(self) -> None:
        delete_dialog(self)

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
        export_groups_dialog(self)
