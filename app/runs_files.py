"""The Runs panel's file commands: rename a run, delete runs (never a running one), export the groups as CSV. Each
failure names the folder or file and leaves everything else as it was."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from dqn_core.experiments.compare import group_runs, group_table_csv
from dqn_core.experiments.runs import delete_run, rename_run
from dqn_core.fileio import atomic_write_bytes


def rename_dialog(panel) -> None:
    """Rename the selected run (its folder keeps its id)."""
    runs = panel.selected_runs()
    if len(runs) != 1:
        return
    run = runs[0]
    name, ok = QInputDialog.getText(panel, "Rename Run", "New name:", text=run.name)
    if not ok:
        return
    try:
        rename_run(run.folder, name)
    except (OSError, ValueError) as exc:
        QMessageBox.critical(panel, "Cannot rename run", f"{run.folder}: {exc}")
        return
    panel.refresh()


def delete_dialog(panel) -> None:
    """Delete the selected runs that are not running, after a question that names them."""
    runs = [r for r in panel.selected_runs() if r.status != "running"]
    if not runs:
        return
    names = "\n".join(f"• {r.name}" for r in runs[:10]) + ("\n…" if len(runs) > 10 else "")
    answer = QMessageBox.question(panel, "Delete runs",
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
            QMessageBox.critical(panel, "Cannot delete run", f"{run.folder}: {exc}")
        panel.checked.discard(run.id)
    panel.refresh()


def export_groups_dialog(panel) -> None:
    """The groups of the compared runs (or of the runs shown) as CSV."""
    path, _ = QFileDialog.getSaveFileName(panel, "Export Groups as CSV", str(Path.home() / "dqn-groups.csv"),
                                          "CSV files (*.csv)")
    if not path:
        return
    runs = [panel.runs[i] for i in (sorted(panel.checked) or panel.visible_run_ids()) if i in panel.runs]
    try:
        atomic_write_bytes(path, group_table_csv(group_runs(runs)).encode("utf-8"))
    except OSError as exc:
        QMessageBox.critical(panel, "Cannot export", f"Could not write {path}: {exc}")
