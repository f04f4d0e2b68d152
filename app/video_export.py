"""File ▸ Record Video…: greedy episodes of the current agent to an MP4 or GIF, in a thread, with progress and Cancel.

A mixin of MainWindow, like the other menus' work.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from dqn_core.extras import EXTRAS
from dqn_core.training.evaluation import RECORD_SEED_OFFSET, default_fps, greedy_frames
from dqn_core.video import RecordingCancelled, VideoError, check_video_path, write_video

from .background import run_with_progress


class VideoExportActions:
    """Record Video… for MainWindow."""

    def record_video(self) -> bool:
        """File ▸ Record Video…: greedy episodes of the current agent to an MP4 or GIF, written frame by frame in a
        thread, with progress and Cancel (the previous file stays if cancelled)."""
        if self.trainer is None or (self.session is not None and self.session.running):
            return False
        episodes, ok = QInputDialog.getInt(self, "Record Video", "Greedy episodes to record:", 1, 1, 100)
        if not ok:
            return False
        # The format that is installed comes first: MP4 needs the video extra (PyAV), a GIF needs nothing more.
        mp4 = EXTRAS["video"].installed
        stem = Path(self._last_dir()) / f"{self.config.env_id.replace('/', '-')}-{self.trainer.step}"
        filters = ["MP4 video (*.mp4)", "Animated GIF (*.gif)"]
        if not mp4:
            filters = [filters[1], f"MP4 video, needs {EXTRAS['video'].install} (*.mp4)"]
        path, chosen = QFileDialog.getSaveFileName(self, "Record Video", f"{stem}.{'mp4' if mp4 else 'gif'}",
                                                   ";;".join(filters))
        if not path:
            return False
        if Path(path).suffix.lower() not in (".mp4", ".gif"):
            path += ".gif" if "gif" in chosen.lower() else ".mp4"
        try:
            check_video_path(path)
        except VideoError as exc:
            self._error("Cannot record video", str(exc))
            return False
        trainer, seed = self.trainer, self.config.seed + RECORD_SEED_OFFSET
        try:
            frames = run_with_progress(
                self, "Record Video", f"Recording {episodes} greedy episode{'s' if episodes != 1 else ''}…",
                lambda progress: write_video(path, greedy_frames(trainer, episodes, seed), default_fps(trainer),
                                             progress),
                describe=lambda n: f"Recording: {int(n):,} frames written", show_after_ms=500)
        except RecordingCancelled:
            self.statusBar().showMessage(f"Recording cancelled; {path} was not written", 6000)
            return False
        except Exception as exc:
            self._error("Cannot record video", f"Could not record {path}: {exc}")
            return False
        self.statusBar().showMessage(f"Recorded {episodes} episode{'s' if episodes != 1 else ''} "
                                     f"({frames:,} frames) in {path}", 8000)
        return True
