"""The Runs panel's table: a model over rows built off the GUI thread (`build_table`), so that ten thousand runs cost
the view only the rows on screen. Column 0 is the compare check box with the run's curve colour; the other columns
are the run's name, env, preset, the settings that differ between runs, its seed, steps, evaluations, status and
date."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from dqn_core.experiments.compare import short_value
from dqn_core.experiments.runs import Run

FIXED_COLUMNS = ("", "name", "env", "preset")
TAIL_COLUMNS = ("steps", "best eval", "last eval", "status", "date")
RUN_ID_ROLE = Qt.ItemDataRole.UserRole


def _fmt(value) -> str:
    return "" if value is None else short_value(value, brackets=False)


@dataclass
class Row:
    run: Run
    cells: list[str]          # the text of every column (column 0 has none)
    keys: list[Any]           # what each column sorts by
    text: str                 # what the filter searches: every cell, lower case
    tip: str


def build_row(run: Run, differing: list[str]) -> Row:
    """One run's cells (called in the loader's thread: nothing here may touch Qt widgets)."""
    info, config = run.info, run.info.get("config") or {}
    created, started = str(info.get("created", "")), run.created()
    date = started.strftime("%Y-%m-%d %H:%M") if started else created
    steps = (info.get("counters") or {}).get("steps")
    best, last = run.best_eval(), run.final_eval()
    name = f"{run.id} (unreadable)" if run.error else run.name
    cells = ["", name, str(config.get("env_id", "")), str(info.get("preset") or ""),
             *(_fmt(config.get(n)) for n in differing), _fmt(info.get("seed")),
             f"{steps:,}" if isinstance(steps, int) else "", "" if best is None else f"{best:,.1f}",
             "" if last is None else f"{last:,.1f}", run.status, date]
    numbers = {len(cells) - 6: info.get("seed"), len(cells) - 5: steps, len(cells) - 4: best, len(cells) - 3: last}
    keys = [(0, numbers[i]) if isinstance(numbers.get(i), (int, float)) else (1, 0) if i in numbers else cell.lower()
            for i, cell in enumerate(cells)]
    keys[-1] = created
    tip = run.error or f"{run.folder}\n{info.get('reason') or ''}".strip()
    return Row(run, cells, keys, " ".join(cells[1:]).lower(), tip)


class RunsTableModel(QAbstractTableModel):
    """Rows of runs; the check boxes are the panel's `checked` set, the colours its curves'."""

    checkToggled = Signal(str, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.columns: list[str] = [*FIXED_COLUMNS, "seed", *TAIL_COLUMNS]
        self.rows: list[Row] = []
        self.checked: set[str] = set()
        self.colours: dict[str, str] = {}
        self.sort_column, self.sort_order = -1, Qt.SortOrder.AscendingOrder

    # ---- filling -----------------------------------------------------------------------------------------------------
    def set_rows(self, columns: list[str], rows: list[Row]) -> None:
        """New rows from the loader; rows whose runs stayed the same and in the same places only repaint."""
        same_shape = columns == self.columns and [r.run.id for r in rows] == [r.run.id for r in self.rows]
        if same_shape and self.sort_column < 0:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(columns) - 1))
            return
        self.beginResetModel()
        self.columns, self.rows = columns, rows
        self._sort_rows()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # noqa: A003 (Qt)
        self.layoutAboutToBeChanged.emit()
        self.sort_column, self.sort_order = column, order
        self._sort_rows()
        self.layoutChanged.emit()

    def _sort_rows(self) -> None:
        c = self.sort_column
        if 0 < c < len(self.columns):
            self.rows.sort(key=lambda r: r.keys[c], reverse=self.sort_order == Qt.SortOrder.DescendingOrder)

    def run_id(self, row: int) -> str:
        return self.rows[row].run.id

    def row_of(self, run_id: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.run.id == run_id), -1)

    def repaint_checks(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    # ---- Qt's side ---------------------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 (Qt override)
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section] if section < len(self.columns) else None
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row, column = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[column] if column < len(row.cells) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tip
        if role == RUN_ID_ROLE:
            return row.run.id
        if column == 0 and role == Qt.ItemDataRole.CheckStateRole and not row.run.error:
            return Qt.CheckState.Checked if row.run.id in self.checked else Qt.CheckState.Unchecked
        if column == 0 and role == Qt.ItemDataRole.DecorationRole:
            colour = self.colours.get(row.run.id)
            return QColor(colour) if colour else None
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid() and index.column() == 0 and not self.rows[index.row()].run.error:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802 (Qt override)
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0 or self.rows[index.row()].run.error:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        self.checkToggled.emit(self.rows[index.row()].run.id, checked)
        return True
