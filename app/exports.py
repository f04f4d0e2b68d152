"""File ▸ Export (plots as PNG/SVG, metrics as CSV) and File ▸ Record Video… (greedy episodes of the current agent
to an MP4 or GIF, written in a thread, with progress and Cancel). A failed export leaves the previous file as it was.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog

from dqn_core.extras import EXTRAS
from dqn_core.training.evaluation import RECORD_SEED_OFFSET, default_fps, greedy_frames
from dqn_core.video import RecordingCancelled, VideoError, check_video_path, write_video

from .background import run_with_progress


class Exports(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.run = window.run

    def _ask_path(self, title: str, name: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.w, title, str(Path(self.w.last_dir()) / name), filters)
        return path or None

    def export_plots(self, kind: str) -> None:
        filters = {"png": "PNG images (*.png)", "svg": "SVG drawings (*.svg)"}
        path = self._ask_path(f"Export Plots as {kind.upper()}", f"dqn-plots.{kind}", filters[kind])
        if not path:
            return
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        try:
            self.w.plots.export_image(path)
        except Exception as exc:  # pyqtgraph's exporters raise a variety of errors; the old file stays
            self.w.error("Cannot export plots", f"Could not write {path}: {exc}")
            return
        self.w.statusBar().showMessage(f"Exported {path}", 5000)

    def export_metrics(self) -> None:
        path = self._ask_path("Export Metrics as CSV", "dqn-metrics.csv", "CSV files (*.csv)")
        if not path:
            return
        m = self.run.metrics
        try:
            written = m.write_csv(path)
        except OSError as exc:
            self.w.error("Cannot export metrics", f"Could not write {path}: {exc}")
            return
        self.w.statusBar().showMessage(
            f"Exported {len(m.episodes['step'])} episodes, {len(m.evals['step'])} evaluations, "
            f"{len(m.stats['step'])} training rows and {len(m.changes)} changes to {len(written)} files: "
            f"{', '.join(Path(p).name for p in written)}", 8000)

    def record_video(self) -> bool:
        """Greedy episodes of the current agent to an MP4 or GIF (the previous file stays if cancelled)."""
        trainer = self.run.trainer
        if trainer is None or self.w.training.running:
            return False
        episodes, ok = QInputDialog.getInt(self.w, "Record Video", "Greedy episodes to record:", 1, 1, 100)
        if not ok:
            return False
        # The format that is installed comes first: MP4 needs the video extra (PyAV), a GIF needs nothing more.
        mp4 = EXTRAS["video"].installed
        stem = f"{self.run.config.env_id.replace('/', '-')}-{trainer.step}"
        filters = ["MP4 video (*.mp4)", "Animated GIF (*.gif)"]
        if not mp4:
            filters = [filters[1], f"MP4 video, needs {EXTRAS['video'].install} (*.mp4)"]
        path, chosen = QFileDialog.getSaveFileName(self.w, "Record Video",
                                                   str(Path(self.w.last_dir()) / f"{stem}.{'mp4' if mp4 else 'gif'}"),
                                                   ";;".join(filters))
        if not path:
            return False
        if Path(path).suffix.lower() not in (".mp4", ".gif"):
            path += ".gif" if "gif" in chosen.lower() else ".mp4"
        try:
            check_video_path(path)
        except VideoError as exc:
            self.w.error("Cannot record video", str(exc))
            return False
        seed = self.run.config.seed + RECORD_SEED_OFFSET
        plural = "s" if episodes != 1 else ""
        try:
            frames = run_with_progress(
                self.w, "Record Video", f"Recording {episodes} greedy episode{plural}…",
                lambda progress: write_video(path, greedy_frames(trainer, episodes, seed), default_fps(trainer),
                                             progress),
                describe=lambda n: f"Recording: {int(n):,} frames written", show_after_ms=500)
        except RecordingCancelled:
            self.w.statusBar().showMessage(f"Recording cancelled; {path} was not written", 6000)
            return False
        except Exception as exc:
            self.w.error("Cannot record video", f"Could not record {path}: {exc}")
            return False
        self.w.statusBar().showMessage(f"Recorded {episodes} episode{plural} ({frames:,} frames) in {path}", 8000)
        return True
