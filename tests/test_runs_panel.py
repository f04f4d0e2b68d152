"""The Runs panel, driven as a user would: real runs recorded by dqn-train, checked, grouped, renamed, deleted,
exported, and the window's own run appearing and updating while it trains."""
from __future__ import annotations

import json

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from conftest import WAIT
from dqn_core.cli.main import train_main


@pytest.fixture(autouse=True)
def _isolated(isolated_settings):
    yield


@pytest.fixture(scope="module")
def recorded_runs(tmp_path_factory):
    """Two learning rates × two seeds of a short tutorial-state run, recorded by dqn-train."""
    runs = tmp_path_factory.mktemp("runs")
    for lr in ("0.001", "0.0003"):
        for seed in ("0", "1"):
            assert train_main(["--preset", "tutorial-state", "--steps", "600", "--seed", seed, "--set", f"lr={lr}",
                               "--set", "eval_every=200", "--set", "eval_unit=steps", "--set", "eval_episodes=2",
                               "--runs-dir", str(runs), "--quiet", "--name", f"lr {lr} seed {seed}"]) == 0
    return runs


@pytest.fixture
def window(make_window, recorded_runs, tmp_path, qtbot):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded_runs, runs)
    w = make_window()
    w.runs_panel.set_runs_dir(runs)
    settle(w.runs_panel, qtbot)
    return w


def settle(panel, qtbot) -> None:
    """Wait until the panel shows a read of the runs folder made after now (reads run in the loader's thread)."""
    panel.refresh()
    reads = panel.reads
    qtbot.waitUntil(lambda: panel.reads > reads and not panel.loader.busy, timeout=WAIT)


def rows(panel) -> dict[str, int]:
    return {row.cells[1]: r for r, row in enumerate(panel.model.rows)}


def column(panel, name: str) -> int:
    return panel.model.columns.index(name)


def cell(panel, row: int, name: str) -> str:
    return panel.model.index(row, column(panel, name)).data()


def check(panel, qtbot, names) -> None:
    """Tick the rows' compare boxes as a click does, and wait for their series to be read and drawn."""
    for name in names:
        panel.model.setData(panel.model.index(rows(panel)[name], 0), Qt.CheckState.Checked,
                            Qt.ItemDataRole.CheckStateRole)
    settle(panel, qtbot)


def colour(panel, name: str):
    return panel.model.index(rows(panel)[name], 0).data(Qt.ItemDataRole.DecorationRole)


@pytest.mark.slow
def test_the_table_lists_runs_with_the_settings_that_differ(window):
    panel = window.runs_panel
    table = rows(panel)
    assert set(table) == {"lr 0.001 seed 0", "lr 0.001 seed 1", "lr 0.0003 seed 0", "lr 0.0003 seed 1"}
    assert "lr" in panel.model.columns and "seed" in panel.model.columns
    row = table["lr 0.0003 seed 1"]
    assert cell(panel, row, "lr") == "0.0003"
    assert cell(panel, row, "status") == "finished"
    assert cell(panel, row, "steps") == "600"
    panel.filter.setText("0.0003")
    assert sorted(cell(panel, r, "name") for r in range(4) if not panel.table.isRowHidden(r)) == \
        ["lr 0.0003 seed 0", "lr 0.0003 seed 1"]
    panel.table.horizontalHeader().setSortIndicator(column(panel, "lr"), Qt.SortOrder.AscendingOrder)
    assert [float(cell(panel, r, "lr")) for r in range(4)] == [0.0003, 0.0003, 0.001, 0.001]


def test_runs_that_differ_only_in_their_seed_are_named_by_it(window, qtbot):
    check(window.runs_panel, qtbot, ("lr 0.001 seed 0", "lr 0.001 seed 1"))
    assert sorted(window.plots.overlay_labels) == ["seed 0", "seed 1"]


def test_runs_trained_twice_alike_are_told_apart_in_the_legend(window, qtbot):
    import json

    panel = window.runs_panel
    assert train_main(["--preset", "tutorial-state", "--steps", "600", "--seed", "0", "--set", "lr=0.001",
                       "--set", "eval_every=200", "--set", "eval_unit=steps", "--set", "eval_episodes=2",
                       "--runs-dir", str(panel.runs_dir), "--quiet", "--name", "lr 0.001 seed 0 again"]) == 0
    settle(panel, qtbot)
    check(panel, qtbot, ("lr 0.001 seed 0", "lr 0.001 seed 0 again", "lr 0.001 seed 1"))
    labels = sorted(window.plots.overlay_labels)             # the same settings and seed: when each started says which
    assert len(set(labels)) == 3 and labels[2] == "seed 1" and all(x.startswith("seed 0 (") for x in labels[:2])
    alike = [panel.runs[panel.model.run_id(rows(panel)[name])] for name in ("lr 0.001 seed 0", "lr 0.001 seed 0 again")]
    for run, created in zip(alike, ("2026-01-01T10:00:00+0000", "2026-01-01T11:30:00+0000")):
        info = json.loads((run.folder / "run.json").read_text())
        info["created"] = created
        (run.folder / "run.json").write_text(json.dumps(info))
    settle(panel, qtbot)
    assert sorted(window.plots.overlay_labels) == ["seed 0 (10:00)", "seed 0 (11:30)", "seed 1"]   # as in the table
    for run in alike:                                        # started in the same minute: their names
        info = json.loads((run.folder / "run.json").read_text())
        info["created"] = "2026-01-01T10:00:00+0000"
        (run.folder / "run.json").write_text(json.dumps(info))
    settle(panel, qtbot)
    assert sorted(window.plots.overlay_labels) == ["seed 0 (lr 0.001 seed 0 again)", "seed 0 (lr 0.001 seed 0)", "seed 1"]


def test_a_run_that_differs_from_the_current_one_only_in_its_seed_is_named_by_it(window, qtbot):
    panel = window.runs_panel
    panel.table.selectRow(rows(panel)["lr 0.001 seed 1"])
    panel.open_button.click()                                        # seed 1's agent is now the current run
    check(panel, qtbot, ("lr 0.001 seed 0",))
    assert window.plots.overlay_labels == ["seed 0"]


def test_a_live_change_renames_compared_runs_by_what_now_differs(window, qtbot):
    panel = window.runs_panel
    panel.table.selectRow(rows(panel)["lr 0.001 seed 1"])
    panel.open_button.click()                                        # lr 0.001, seed 1: the current run
    check(panel, qtbot, ("lr 0.001 seed 0",))
    assert window.plots.overlay_labels == ["seed 0"]
    window.training.start()
    qtbot.waitUntil(lambda: window.training.session is not None and not window.training.paused, timeout=WAIT)
    window.panel.controls["lr"].spin.setValue(0.0003)              # while it trains: a live change
    qtbot.waitUntil(lambda: bool(window.run.metrics.changes), timeout=WAIT)
    window.training.stop()
    qtbot.waitUntil(lambda: window.training.session is None, timeout=WAIT)
    assert window.plots.overlay_labels == ["lr=0.001, seed 0"]     # the compared run's rate is no longer the current


def test_a_live_change_to_an_idle_agent_renames_compared_runs_too(window, qtbot):
    panel = window.runs_panel
    panel.table.selectRow(rows(panel)["lr 0.001 seed 1"])
    panel.open_button.click()                                        # an opened agent, not training
    check(panel, qtbot, ("lr 0.001 seed 0",))
    window.panel.controls["lr"].spin.setValue(0.0003)              # applied to the idle agent at once
    assert window.run.trainer.config.lr == 0.0003
    assert window.plots.overlay_labels == ["lr=0.001, seed 0"]
    window.panel.controls["eval_epsilon"].spin.setValue(0.05)      # a second live change (the agent is unsaved now)
    assert window.run.trainer.config.eval_epsilon == 0.05
    assert window.plots.plots["eval"].titleLabel.text == "Evaluation return (ε 0.05)"


def test_runs_of_different_experiments_are_named_by_their_names_and_the_legend_fits(window, qtbot):
    runs = window.runs_panel.runs_dir
    assert train_main(["--preset", "zoo-state", "--steps", "300", "--runs-dir", str(runs), "--quiet",
                       "--name", "cartpole from its state"]) == 0
    window.resize(1200, 700)                                         # a small window: the plots get ~420 px
    settle(window.runs_panel, qtbot)
    check(window.runs_panel, qtbot, ("lr 0.001 seed 0", "cartpole from its state"))
    # They differ in a dozen settings: each is named by its run name, not by a list of them.
    assert sorted(window.plots.overlay_labels) == ["cartpole from its state", "lr 0.001 seed 0"]
    view = window.plots.layout_widget
    qtbot.waitUntil(lambda: window.plots.plots["duration"].legend.sceneBoundingRect().right() <= view.width(),
                    timeout=WAIT)
    for plot in window.plots.plots.values():                         # no plot pushed out of the panel
        assert plot.sceneBoundingRect().right() <= view.width() + 1
    window.resize(1100, 700)                                         # narrower: fewer columns, elided names
    qtbot.waitUntil(lambda: window.plots.plots["duration"].legend.sceneBoundingRect().right() <= view.width(),
                    timeout=WAIT)


def test_checked_runs_are_drawn_on_every_plot_and_grouped_with_a_band(window, qtbot):
    panel = window.runs_panel
    check(panel, qtbot, ("lr 0.001 seed 0", "lr 0.001 seed 1", "lr 0.0003 seed 0"))
    # The legend names what differs between the compared runs, and the seed.
    assert sorted(window.plots.overlay_labels) == ["lr=0.0003, seed 0", "lr=0.001, seed 0", "lr=0.001, seed 1"]
    for key in ("duration", "eval", "loss", "q", "epsilon"):
        assert sum(1 for k, _ in window.plots._overlay_items if k == key) == 3      # one curve per run
    legend = [label.text for _, label in window.plots.plots["duration"].legend.items]
    assert "lr=0.001, seed 1" in legend
    assert colour(panel, "lr 0.001 seed 0") is not None
    panel.group_box.setChecked(True)
    assert window.plots.overlay_labels == ["lr=0.001 (2 runs, 2 seeds)", "lr=0.0003 (1 run, 1 seed)"]
    fills = [item for key, item in window.plots._overlay_items if isinstance(item, pg.FillBetweenItem)]
    assert fills, "a group of two seeds draws its band"
    same = {colour(panel, n).name() for n in ("lr 0.001 seed 0", "lr 0.001 seed 1")}
    assert len(same) == 1                                   # one colour for the group's runs
    panel.band_box.setCurrentText("min-max")
    panel.smooth.setValue(60)
    assert panel.smooth_label.text() == "smoothing 0.60"
    window.plots.set_x_unit("wall")
    assert window.plots.overlay_labels == ["lr=0.001 (2 runs, 2 seeds)", "lr=0.0003 (1 run, 1 seed)"]


def test_rename_delete_and_open_a_runs_agent(window, monkeypatch, dialogs, qtbot):
    panel = window.runs_panel
    panel.table.selectRow(rows(panel)["lr 0.001 seed 0"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("baseline", True))
    panel.rename_button.click()
    settle(panel, qtbot)
    assert "baseline" in rows(panel)
    panel.table.clearSelection()
    panel.table.selectRow(rows(panel)["baseline"])
    dialogs["answer"] = QMessageBox.StandardButton.Cancel
    panel.delete_button.click()
    assert "baseline" in rows(panel)
    dialogs["answer"] = QMessageBox.StandardButton.Yes
    folder = panel.selected_runs()[0].folder
    panel.delete_button.click()
    settle(panel, qtbot)
    assert "baseline" not in rows(panel) and not folder.exists()
    assert "Delete 1 run and their files" in dialogs["question"][-1][1]
    panel.table.clearSelection()
    panel.table.selectRow(rows(panel)["lr 0.0003 seed 1"])
    panel.open_button.click()
    assert window.run.trainer is not None and window.run.trainer.step == 600 and window.run.trainer.config.lr == 0.0003


def test_export_the_comparison_and_the_table_of_groups(window, monkeypatch, tmp_path, qtbot):
    panel = window.runs_panel
    check(panel, qtbot, list(rows(panel)))
    panel.group_box.setChecked(True)
    target = {"path": str(tmp_path / "cmp.png")}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target["path"], ""))
    panel.export_plots("png")
    assert (tmp_path / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target["path"] = str(tmp_path / "cmp.svg")
    panel.export_plots("svg")
    assert "<svg" in (tmp_path / "cmp.svg").read_text()
    target["path"] = str(tmp_path / "groups.csv")
    panel.export_groups_csv()
    lines = (tmp_path / "groups.csv").read_text().splitlines()
    assert lines[0].startswith("group,runs,seeds,final_eval_mean") and len(lines) == 3
    assert lines[1].startswith("lr=0.0003,2,0 1,") or lines[1].startswith("lr=0.001,2,0 1,")


def test_an_unreadable_run_is_shown_as_such(window, qtbot):
    panel = window.runs_panel
    bad = panel.runs_dir / "from-a-newer-version"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"format": "dqn-studio-run", "version": 7}))
    settle(panel, qtbot)
    row = rows(panel)["from-a-newer-version (unreadable)"]
    assert cell(panel, row, "status") == "unreadable"
    assert "newer DQN Studio" in panel.model.index(row, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert not panel.model.flags(panel.model.index(row, 0)) & Qt.ItemFlag.ItemIsUserCheckable


@pytest.mark.slow
def test_the_window_records_its_run_and_the_panel_follows_it_live(make_window, qtbot, tmp_path):
    w = make_window()
    w.runs_panel.set_runs_dir(tmp_path / "runs")
    w.training.start()
    qtbot.waitUntil(lambda: len(w.runs_panel.runs) == 1, timeout=WAIT)
    run_id = next(iter(w.runs_panel.runs))
    qtbot.waitUntil(lambda: w.runs_panel.runs[run_id].status == "running"
                    and (w.runs_panel.runs[run_id].info.get("counters") or {}).get("steps", 0) > 0, timeout=WAIT)
    check(w.runs_panel, qtbot, [w.runs_panel.runs[run_id].name])
    first = len(w.runs_panel.runs[run_id].episodes["step"])
    qtbot.waitUntil(lambda: len(w.runs_panel.runs[run_id].episodes.get("step", ())) > first + 5, timeout=WAIT)
    assert w.plots.overlay_labels == [w.runs_panel.runs[run_id].name]
    w.training.stop()
    qtbot.waitUntil(lambda: w.training.session is None, timeout=WAIT)
    settle(w.runs_panel, qtbot)
    run = w.runs_panel.runs[run_id]
    assert run.status == "stopped" and run.info["source"] == "window" and run.info["preset"] == "tutorial-state"
    assert run.agent_path() is not None and run.info["counters"]["steps"] == w.run.trainer.step
    w.training.start()                                         # the same agent trains on: the same run, running
    qtbot.waitUntil(lambda: (w.runs_panel.refresh() or True) and w.runs_panel.runs[run_id].status == "running",
                    timeout=WAIT)
    assert len(w.runs_panel.runs) == 1


def test_the_table_comes_from_run_json_and_series_are_read_only_for_compared_runs(window, qtbot):
    panel = window.runs_panel
    assert not any(run.metrics_loaded for run in panel.runs.values())          # nothing compared: no series read
    assert all(len(run.evals) == 0 and run.final_eval() is not None for run in panel.runs.values())
    first = sorted(panel.runs)[0]
    shown = cell(panel, rows(panel)[panel.runs[first].name], "last eval")
    assert shown == f"{panel.runs[first].final_eval():.1f}"                      # the table from run.json alone
    panel.set_checked([first])
    settle(panel, qtbot)
    run = panel.runs[first]
    assert run.metrics_loaded and isinstance(run.evals["mean"], type(run.episodes["step"]))
    assert len(run.episodes["step"]) > 0 and run.final_eval() == float(run.evals["mean"][-1])
    panel.set_checked([])
    settle(panel, qtbot)
    run = panel.runs[first]
    assert not run.metrics_loaded and run.episodes == {}                         # dropped when unchecked


def test_the_runs_table_shows_six_rows_at_least(make_window):
    w = make_window()
    table = w.runs_panel.table
    assert table.height() >= table.horizontalHeader().height() + 6 * table.verticalHeader().defaultSectionSize()
