"""Recording an agent: greedy episodes written frame by frame to an MP4 (PyAV, the optional `video` extra) or an
animated GIF (Pillow), never holding an episode in memory (500 CartPole frames are ~360 MB).

The file is written beside its target and renamed over it when complete, like every other output: a cancelled or
failed recording leaves the previous file as it was.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from dqn_core.fileio import atomic_writer

FORMATS = (".mp4", ".gif")


class VideoError(ValueError):
    """A recording cannot be made; the message says why (and which extra is missing, if one is)."""


def check_video_path(path: str | Path) -> str:
    """The format ('mp4' or 'gif') of a target, or VideoError naming what is allowed and what is missing."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise VideoError(f"--video = {str(path)!r} is invalid: the file must end in .mp4 or .gif")
    if suffix == ".mp4":
        try:
            import av  # noqa: F401  (only whether the extra is there)
        except ImportError:
            raise VideoError("MP4 needs the optional 'video' extra (PyAV): pip install 'dqn-studio[video]'; a .gif "
                             "needs nothing more") from None
    else:
        try:
            import PIL  # noqa: F401  (only whether it is there)
        except ImportError:
            raise VideoError("a GIF needs Pillow: pip install pillow") from None
    return suffix[1:]


class _GifStream:
    """An animated GIF written frame by frame (Pillow's frame encoder, one frame in memory at a time)."""

    def __init__(self, handle, fps: float) -> None:
        self.handle = handle
        self.duration = max(20, int(round(1000 / fps)))     # GIF delays are in hundredths of a second: ≥ 20 ms
        self.started = False

    def add(self, frame: np.ndarray) -> None:
        from PIL import GifImagePlugin, Image

        image = Image.fromarray(frame, "RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        if not self.started:
            header, _ = GifImagePlugin.getheader(image, info={"loop": 0})
            for chunk in header:
                self.handle.write(chunk)
            self.handle.write(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")     # loop forever
            self.started = True
        # Each frame carries its own colour table: frames quantized one by one have palettes of their own.
        for chunk in GifImagePlugin.getdata(image, duration=self.duration, include_color_table=True):
            self.handle.write(chunk)

    def close(self) -> None:
        self.handle.write(b";")


class _Mp4Stream:
    """H.264 in an MP4 through PyAV: each frame encoded and muxed as it comes."""

    def __init__(self, handle, fps: float, size: tuple[int, int]) -> None:
        import av

        self.container = av.open(handle, mode="w", format="mp4")
        self.stream = self.container.add_stream("h264", rate=int(round(fps)))
        width, height = size
        self.stream.width, self.stream.height = width - width % 2, height - height % 2      # H.264 wants even sizes
        self.stream.pix_fmt = "yuv420p"

    def add(self, frame: np.ndarray) -> None:
        import av

        frame = frame[: self.stream.height, : self.stream.width]
        for packet in self.stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def write_video(path: str | Path, frames: Iterator[np.ndarray], fps: float = 30.0,
                progress: Callable[[int], bool] | None = None) -> int:
    """Write `frames` ((H, W, 3) uint8) to `path` (.mp4 or .gif) as they come; returns how many were written.
    `progress(frames so far)` returning False cancels: nothing is written and the previous file stays."""
    kind = check_video_path(path)
    count = 0
    with atomic_writer(path) as handle:
        writer = None
        for frame in frames:
            frame = np.asarray(frame, dtype=np.uint8)
            if frame.ndim == 2:
                frame = np.repeat(frame[..., None], 3, axis=2)
            if writer is None:
                writer = _GifStream(handle, fps) if kind == "gif" else _Mp4Stream(handle, fps, frame.shape[1::-1])
            writer.add(frame)
            count += 1
            if progress is not None and not progress(count):
                raise RecordingCancelled(f"recording {path} was cancelled after {count} frames")
        if writer is None:
            raise VideoError("there was no frame to record: the environment renders nothing")
        writer.close()
    return count


class RecordingCancelled(Exception):
    """The user stopped a recording; the previous file (if any) is unchanged."""
