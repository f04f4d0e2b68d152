"""The live environment view: the rendered frame with an overlay, what the network sees, and its Q-values."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from dqn_core.config import TrainConfig
from dqn_core.envs.families import family_of
from dqn_core.envs.observations import grid_to_rgb
from dqn_core.training.events import Frame

ACTION_NAMES = {
    "CartPole": ["push left", "push right"],
    "Acrobot": ["torque −1", "torque 0", "torque +1"],
    "MountainCar": ["left", "coast", "right"],
    "LunarLander": ["noop", "left engine", "main engine", "right engine"],
}
DISPLAY_CHOICES = [("Every step (up to 30 fps)", 1), ("Every 10th step", 10), ("Every 100th step", 100),
                   ("Off — fast mode", 0)]


def action_names(env_id: str, n: int, known: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The env's own names (MinAtar, Atari), else ours for the classic-control envs, else numbers."""
    if known and len(known) == n:
        return list(known)
    names = ACTION_NAMES.get(env_id.split("-")[0])
    return names if names and len(names) == n else [f"action {i}" for i in range(n)]


def to_qimage(array: np.ndarray) -> QImage:
    """(H, W, 3) or (H, W) uint8 → QImage ready to draw.

    Colour frames are converted once to Qt's native 32-bit format: drawn scaled and smoothed from 24-bit RGB, Qt
    converts every time, which made drawing a 600×400 frame 3× slower (1.5 ms vs 0.5 ms). Grey frames share the
    array's memory (kept alive as the image's `array`)."""
    array = np.ascontiguousarray(array)
    h, w = array.shape[:2]
    if array.ndim == 3:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888).convertToFormat(
            QImage.Format.Format_RGB32)
    image = QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8)
    image.array = array          # the QImage does not own its pixels
    return image


def frame_to_display(frame: np.ndarray) -> np.ndarray:
    """One stored frame (C, H, W) uint8 or a state vector → an image array."""
    if frame.ndim == 3:
        if frame.shape[0] not in (1, 3):                  # on/off channels (MinAtar): coloured cells
            return grid_to_rgb(frame, cell=8)
        return frame[0] if frame.shape[0] == 1 else np.moveaxis(frame, 0, -1)
    values = np.asarray(frame, dtype=np.float64)   # a state vector: one grey cell per component
    scaled = np.clip(128 + 64 * values, 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(scaled[None, :], 8, axis=0), 16, axis=1)


class ImageView(QWidget):
    """An image drawn scaled to fit (aspect kept) straight from a QImage in paintEvent, with an optional overlay.

    Painting the QImage directly, rather than converting to a QPixmap and rescaling it smoothly for a QLabel, keeps
    the GUI thread's share of each frame small: at 30 fps that work competes with training for the GIL.
    """

    def __init__(self, placeholder: str, smooth: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.placeholder = placeholder
        self.smooth = smooth
        self.pixel_art = False         # whole-number scaling, hard edges: a game's own pixels (Atari, MinAtar)
        self.image: QImage | None = None
        self.overlay = ""
        self.setMinimumSize(120, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, image: QImage | None, overlay: str = "") -> None:
        self.image = image
        self.overlay = overlay
        self.update()

    def target_rect(self) -> QRectF:
        if self.image is None or self.image.isNull():
            return QRectF(self.rect())
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        if self.pixel_art and scale >= 2:
            scale = float(int(scale))                  # 210×160 Atari shown ×2 (or ×3…), every pixel the same size
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#20232a"))
        if self.image is None:
            painter.setPen(QColor("#9aa0a6"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and not self.pixel_art)
        painter.drawImage(self.target_rect(), self.image)
        if self.overlay:
            box = painter.fontMetrics().boundingRect(self.overlay).adjusted(-6, -3, 6, 3)
            box.moveTopLeft(QPoint(8, 8))          # the widget's corner: a narrow image would clip it
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor("white"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.overlay)


class QValueBars(QWidget):
    """One bar per action, scaled to the spread of the values; the chosen action is highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: np.ndarray | None = None
        self.names: list[str] = []
        self.chosen = -1
        self.setMinimumHeight(84)

    def set_values(self, values: np.ndarray | None, chosen: int, names: list[str]) -> None:
        self.values, self.chosen, self.names = values, chosen, names
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#20232a"))
        painter.setPen(QColor("#9aa0a6"))
        if self.values is None or len(self.values) == 0:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Q-values appear while the agent acts")
            return
        if not np.isfinite(self.values).all():
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Q-values are not finite (diverged)")
            return
        values = self.values
        n = len(values)
        lo, hi = float(min(values.min(), 0.0)), float(max(values.max(), 0.0))
        span = hi - lo or 1.0
        w, h = self.width(), self.height()
        label_h = 30                                  # two lines: the action's name, its value
        slot = w / n
        metrics = painter.fontMetrics()
        zero_y = 4 + (h - label_h - 8) * (hi / span)
        for i, v in enumerate(values):
            top = 4 + (h - label_h - 8) * ((hi - max(v, 0)) / span)
            bottom = 4 + (h - label_h - 8) * ((hi - min(v, 0)) / span)
            rect = QRectF(i * slot + slot * 0.15, top, slot * 0.7, max(bottom - top, 1))
            painter.fillRect(rect, QColor("#f9ab00") if i == self.chosen else QColor("#5f8dd3"))
            painter.setPen(QColor("white"))
            name = self.names[i] if i < len(self.names) else str(i)
            name = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(slot) - 2)   # 18 Atari actions fit
            value = f"{v:.2f}" + (" ◀" if i == self.chosen else "")
            painter.drawText(QRectF(i * slot, h - label_h, slot, label_h), Qt.AlignmentFlag.AlignCenter,
                             f"{name}\n{value}")
        painter.setPen(QColor("#9aa0a6"))
        painter.drawLine(0, int(zero_y), w, int(zero_y))


class EnvView(QWidget):
    """The environment panel: rendered screen, the network's input frames, Q-value bars and a display-rate control."""

    displayRateChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.env_id = "CartPole-v1"
        self.difference = False
        self.gap = 1                                   # steps between the frames the network sees
        self.game = False
        self.names: tuple[str, ...] = ()
        self.screen = ImageView("The environment appears here when training or watching starts.", smooth=True)
        self.inputs_row = QHBoxLayout()
        self.inputs_row.setSpacing(4)
        self.input_views: list[ImageView] = []
        self.input_caption = QLabel("What the network sees")
        self.input_caption.setWordWrap(True)               # a long state vector wraps instead of widening the dock
        self.input_caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bars = QValueBars()
        self.display = QComboBox()
        for text, every in DISPLAY_CHOICES:
            self.display.addItem(text, every)
        self.display.setToolTip("How often frames are drawn; 'Off' trains fastest")
        self.display.currentIndexChanged.connect(lambda _: self.displayRateChanged.emit(self.display.currentData()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.screen, 3)
        layout.addWidget(self.input_caption)
        layout.addLayout(self.inputs_row, 1)
        layout.addWidget(self.bars)
        rate = QHBoxLayout()
        rate.addWidget(QLabel("Display"))
        rate.addWidget(self.display, 1)
        layout.addLayout(rate)
        self.frames_shown = 0

    def display_every(self) -> int:
        return int(self.display.currentData())

    def set_display_every(self, every: int) -> None:
        index = self.display.findData(every)
        if index >= 0:
            self.display.setCurrentIndex(index)

    def configure(self, config: TrainConfig, names: tuple[str, ...] = ()) -> None:
        """Show what `config` trains on: the lecture's difference image, captions `frame_gap` steps apart, and for an
        arcade game (Atari, MinAtar) its own pixels unsmoothed with its score and lives in the overlay."""
        game = family_of(config.env_id).own_pixels
        self.env_id = config.env_id
        self.difference = config.obs == "pixels" and config.frame_op == "difference"
        self.gap = config.frame_gap
        self.names = tuple(names)
        self.game = game
        self.screen.pixel_art = game
        for view in self.input_views:
            view.pixel_art = game

    def clear(self) -> None:
        """No frame yet (a new agent, an opened one): nothing of the previous run stays on screen."""
        self.screen.set_image(None)
        self._ensure_inputs(0)
        self.input_caption.setText("What the network sees")
        self.input_caption.setToolTip("")
        self.bars.set_values(None, -1, [])

    def show_frame(self, frame: Frame) -> None:
        eps = f" · ε {frame.epsilon:.3f}" if frame.epsilon else " · greedy"
        if self.game:
            lives = f" · lives {frame.lives}" if frame.lives else ""
            overlay = f"game {frame.episode + 1} · score {frame.episode_return:g}{lives}{eps}"
        else:
            overlay = f"episode {frame.episode + 1} · step {frame.episode_step} · return {frame.episode_return:g}{eps}"
        self.screen.set_image(to_qimage(frame.screen) if frame.screen is not None else None, overlay)
        if frame.net_input.ndim == 2:                          # a state vector: its numbers say more than pixels
            self._ensure_inputs(0)
            values = ", ".join(f"{v:+.3f}" for v in frame.net_input[-1])
            text = f"What the network sees: state [{values}]"
            self.input_caption.setText(text)
            self.input_caption.setToolTip(text)
            names = action_names(self.env_id, len(frame.q_values) if frame.q_values is not None else 0, self.names)
            self.bars.set_values(frame.q_values, frame.action, names)
            self.frames_shown += 1
            return
        images = [frame_to_display(f) for f in frame.net_input]
        gap = self.gap
        captions = [f"t−{(len(images) - 1 - i) * gap}" if i < len(images) - 1 else "t" for i in range(len(images))]
        if self.difference and frame.net_input.ndim == 4 and len(images) == 2:
            diff = frame.net_input[1].astype(np.int16) - frame.net_input[0].astype(np.int16)
            images.append(frame_to_display(np.clip(128 + diff, 0, 255).astype(np.uint8)))
            captions.append(f"t − (t−{gap}): the input")
        self._ensure_inputs(len(images))
        for view, image, caption in zip(self.input_views, images, captions):
            view.set_image(to_qimage(image))
            view.setToolTip(caption)
        caption = "What the network sees: " + " | ".join(captions)
        if caption != self.input_caption.text():       # unchanged text: no relayout per frame
            self.input_caption.setText(caption)
        names = action_names(self.env_id, len(frame.q_values) if frame.q_values is not None else 0, self.names)
        self.bars.set_values(frame.q_values, frame.action, names)
        self.frames_shown += 1

    def _ensure_inputs(self, count: int) -> None:
        while len(self.input_views) < count:
            view = ImageView("")
            view.pixel_art = self.game
            view.setMinimumSize(60, 30)
            self.input_views.append(view)
            self.inputs_row.addWidget(view)
        while len(self.input_views) > count:
            view = self.input_views.pop()
            self.inputs_row.removeWidget(view)
            view.deleteLater()
