"""File ▸ Record Video…: greedy episodes of the current agent to an MP4 or GIF, in a thread, with progress and Cancel.

A mixin of MainWindow, like the other menus' work.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QProgressDialog


class RecordingActions:
    """Record Video… for MainWindow."""

    def record_video(self) -> bool:
        """File ▸ Record Video…: greedy episodes of the current agent to an MP4 or GIF, written frame by frame in a
        thread, with progress and Cancel (the previous file stays if cancelled)."""
        if self.trainer is None or (self.session is not None and self.session.running):
            return False
        from dqn_core.video import (RecordingCancelled, VideoError, check_video_path, default_fps, greedy_frames,
                                    write_video)

        episodes, ok = QInputDialog.getInt(self, "Record Video", "Greedy episodes to record:", 1, 1, 100)
        if not ok:
            return False
        start = str(Path(self._last_dir()) / f"{self.config.env_id.replace('/', '-')}-{self.trainer.step}.mp4")
        path, chosen = QFileDialog.getSaveFileName(self, "Record Video", start,
                                                   "MP4 video (*.mp4);;Animated GIF (*.gif)")
        if not path:
            return False
        if Path(path).suffix.lower() not in (".mp4", ".gif"):
            path += ".gif" if "gif" in chosen.lower() else ".mp4"
        try:
            check_video_path(path)
        except VideoError as exc:
            self._error("Cannot record video", str(exc))
            return False
        trainer, seed = self.trainer, self.config.seed + 3_000_000
        state = {"frames": 0, "cancel": False}
        result: dict[str, object] = {}

        def progress(frames: int) -> bool:
            state["frames"] = frames
            return not state["cancel"]

        def work() -> None:
            try:
                result["frames"] = write_video(path, greedy_frames(trainer, episodes, seed), default_fps(trainer),
                                               progress)
            except BaseException as exc:      # shown by the GUI thread
                result["error"] = exc

        dialog = QProgressDialog(f"Recording {episodes} greedy episode{'s' if episodes != 1 else ''}…", "Cancel",
                                 0, 0, self)
        dialog.setWindowTitle("Record Video")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(500)
        dialog.canceled.connect(lambda: state.__setitem__("cancel", True))
        thread = threading.Thread(target=work, name="dqn-record", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.03)
            dialog.setLabelText(f"Recording: {state['frames']:,} frames written")
            QApplication.processEvents()
        dialog.close()
        dialog.deleteLater()
        error = result.get("error")
        if isinstance(error, RecordingCancelled):
            self.statusBar().showMessage(f"Recording cancelled; {path} was not written", 6000)
            return False
        if error is not None:
            self._error("Cannot record video", f"Could not record {path}: {error}")
            return False
        self.statusBar().showMessage(f"Recorded {episodes} episode{'s' if episodes != 1 else ''} "
                                     f"({result['frames']:,} frames) in {path}", 8000)
        return True
