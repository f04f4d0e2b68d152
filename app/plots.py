"""Training curves (pyqtgraph): episode duration with its 100-episode mean, evaluation return, loss, max-Q, ε.

The window feeds the run's `Metrics` from events; a 20 Hz timer redraws whatever changed with `setData`, so the
whole run stays on the plot (peak downsampling and clipping to the view keep it cheap).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from dqn_core.fileio import atomic_write_bytes
from dqn_core.training.metrics import Metrics, headline, running_mean

from .banner import Banner

# Antialiased lines cost the GUI thread (and so, through the GIL, the training thread) ~12 % of training speed.
pg.setConfigOptions(antialias=False, background="w", foreground="#202124")

REDRAW_MS = 50           # idle or paused: responsive
REDRAW_BUSY_MS = 1000    # while training: curves move slowly, and every redraw holds the GIL the trainer needs


def eval_title(epsilon: float) -> str:
    """The evaluation plot's title, by the ε its games are played at (as `evaluation_words`)."""
    return "Greedy evaluation return" if not epsilon else f"Evaluation return (ε {epsilon:g})"


def evaluation_words(epsilon: float) -> str:
    """What an evaluation is called where the user reads it: greedy, or at the small ε of the Atari papers' games."""
    return "greedy evaluation" if not epsilon else f"evaluation (ε {epsilon:g})"


HEADLINE_TITLES = {"duration": "Episode duration (steps)", "return": "Episode return (score)"}
X_UNITS = {"episode": "episode", "step": "step", "wall": "training time (s)"}
LEGEND_SAMPLE_PX = 40    # a legend entry's line sample and the gap before its text
LEGEND_MARGIN_PX = 24    # the plot layout's margins and spacing either side of the legend
EXPORT_MIN_WIDTH = 1200  # pixels: an exported image is laid out at least this wide


@dataclass
class Overlay:
    """A compared run (or group of runs) to draw over the plots: a curve per plot key, and optionally a band."""

    label: str
    colour: str
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    bands: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)


class CompactAxis(pg.AxisItem):
    """A value axis for plots a few tens of pixels high (five stacked in a small window): it labels at most one
    tick per LABEL_PX pixels, and only ticks whose label fits inside the axis, so there is always at least one.
    pyqtgraph labels at least 2.25 intervals (drawn over each other on a short plot), and hides a label that would
    stick out past the axis' end: with round ticks only at the ends (0 and 500 on a 40 px plot) it showed none.

    The axes of one stack (`peers`) share a width: the plots' x axes are linked, and an axis wider than
    its neighbours' (labels of 0.005 beside labels of 50) shifted its plot, so one episode was drawn at two
    different places in one column."""

    LABEL_PX = 22
    LABEL_HALF_PX = 7     # half a label's height: a tick nearer the end than this has its label cut off

    def __init__(self, orientation: str, peers: list[CompactAxis] | None = None) -> None:
        super().__init__(orientation)
        self.setStyle(maxTextLevel=0)         # text only on the ticks chosen here, never on the grid's finer ones
        self.peers = peers if peers is not None else [self]
        if self not in self.peers:
            self.peers.append(self)
        self.natural_width = 0

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels = super().tickValues(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))
        if not levels or self._tickSpacing is not None or self.logMode or size <= 0 or hi <= lo:
            return levels
        inset = self.LABEL_HALF_PX * (hi - lo) / size
        fits = max(1, int(size // self.LABEL_PX))
        chosen: tuple[float, list[float]] | None = None
        interval = levels[-1][0]                       # from the finest ticks, coarser until the labels fit
        while interval > 0:
            first, last = math.ceil((lo + inset) / interval), math.floor((hi - inset) / interval)
            if last < first:
                break                                  # coarser still has no tick inside: thin the last ones
            if last - first < 1000:
                chosen = (interval, [k * interval for k in range(first, last + 1)])
                if len(chosen[1]) <= fits:
                    break
            interval = _next_round(interval)
        if chosen is None:
            return levels
        interval, values = chosen
        if len(values) > fits:                         # evenly spread, the middle one when only one fits
            values = [values[round(i * (len(values) - 1) / (fits - 1))] for i in range(fits)] if fits > 1 \
                else [values[(len(values) - 1) // 2]]
        return [(interval, values)] + [(spacing, ticks) for spacing, ticks in levels if spacing < interval]

    # pyqtgraph sizes an axis to its own labels in _updateWidth (each time their widest text changes); every axis
    # of the stack then takes the widest of them.
    def _updateWidth(self) -> None:
        super()._updateWidth()
        self.natural_width = self.minimumWidth()
        if not hasattr(self, "peers"):
            return                                     # called from pyqtgraph's __init__, before ours has run
        width = max(axis.natural_width for axis in self.peers)
        for axis in self.peers:
            if axis.minimumWidth() != width or axis.maximumWidth() != width:
                axis.setMinimumWidth(width)
                axis.setMaximumWidth(width)
                axis.picture = None


def _next_round(interval: float) -> float:
    """The next tick interval up in the 1–2–5 series (0.2 → 0.5 → 1 → 2)."""
    power = 10.0 ** math.floor(math.log10(interval) + 1e-9)
    mantissa = interval / power
    return power * (2.0 if mantissa < 1.5 else 5.0 if mantissa < 3.5 else 10.0)


def build_plots(layout_widget: pg.GraphicsLayoutWidget) -> dict[str, pg.PlotItem]:
    """The five plots, one above the other with their x axes linked, and the legend above them all."""
    plots: dict[str, pg.PlotItem] = {}
    specs = [("duration", HEADLINE_TITLES["duration"], 3), ("eval", eval_title(0.0), 1),
             ("loss", "TD loss", 1), ("q", "Mean max-Q", 1), ("epsilon", "ε (exploration)", 1)]
    first = None
    value_axes: list[CompactAxis] = []
    # The legend sits above the plots, not over the curves: it lists the current run's curves and every run
    # compared with it, in columns, however many there are.
    legend = pg.LegendItem(brush=pg.mkBrush(255, 255, 255, 0), colCount=4)
    layout_widget.addItem(legend, row=0, col=0)
    layout_widget.ci.layout.setRowStretchFactor(0, 0)
    for row, (key, title, stretch) in enumerate(specs, start=1):
        plot = layout_widget.addPlot(row=row, col=0, title=title, axisItems={"left": CompactAxis("left", value_axes)})
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setDownsampling(mode="peak", auto=True)
        plot.setClipToView(True)
        if first is None:
            first = plot
            plot.legend = legend             # PlotItem.addItem(name=...) lists the item there
        else:
            plot.setXLink(first)
        layout_widget.ci.layout.setRowStretchFactor(row, stretch)
        # Axis text is most of a repaint's cost: cache each axis as a pixmap (redrawn only when its range
        # changes), and label the shared x axis once, on the bottom plot.
        for name in ("left", "bottom"):
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if row < len(specs):
            plot.getAxis("bottom").setStyle(showValues=False)
        plots[key] = plot
    return plots


def fit_legend(legend: pg.LegendItem | None, view: QWidget) -> None:
    """Lay the legend out in as many columns (up to four) as its widest entry allows in `view`'s width, and elide
    in the middle an entry wider than all of it (its curve keeps the full name): a legend wider than the panel
    pushed the plots, their titles and their right side out of sight. An entry elided in a narrow view gets its
    full name back when the view is wide enough (an export lays the plots out at its own width)."""
    room = view.width() - LEGEND_MARGIN_PX
    if legend is None or not legend.items or room < 2 * LEGEND_SAMPLE_PX:
        return                                      # not laid out yet: the first resize fits it
    font = QFont(view.font())
    size = str(legend.opts.get("labelTextSize") or "")
    if size.endswith("pt"):
        font.setPointSizeF(float(size[:-2]))
    metrics = QFontMetrics(font)
    widest = 0
    for sample, label in legend.items:
        full = (sample.item.name() if hasattr(sample.item, "name") else None) or label.text
        text = metrics.elidedText(full, Qt.TextElideMode.ElideMiddle, room - LEGEND_SAMPLE_PX)
        if text != label.text:
            label.setText(text)
        widest = max(widest, metrics.horizontalAdvance(text) + LEGEND_SAMPLE_PX)
    legend.setColumnCount(max(1, min(4, room // max(widest, 1))))


class PlotsPanel(QWidget):
    """Five linked plots over episodes, steps or training time, with a labelled marker at every live hyperparameter
    change, and the runs compared in the Runs panel drawn over them."""

    xUnitChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metrics = Metrics()
        self.headline = "duration"
        self.x_unit = "episode"
        self._dirty = True
        self._marker_count = -1
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.plots = build_plots(self.layout_widget)
        self.curves = {
            "duration": self.plots["duration"].plot(pen=pg.mkPen("#8ab4f8", width=1), name="each episode"),
            "mean100": self.plots["duration"].plot(pen=pg.mkPen("#d93025", width=2.5), name="100-episode mean"),
            "eval": self.plots["eval"].plot(pen=pg.mkPen("#188038", width=2), symbol="o", symbolSize=5,
                                            symbolBrush="#188038"),
            "loss": self.plots["loss"].plot(pen=pg.mkPen("#a142f4", width=1)),
            "q": self.plots["q"].plot(pen=pg.mkPen("#e37400", width=1.5)),
            "epsilon": self.plots["epsilon"].plot(pen=pg.mkPen("#5f6368", width=1.5)),
        }
        self.markers: list[pg.InfiniteLine] = []
        self.marker_rects: list[QRectF] = []         # where the change labels were placed (scene coordinates)
        box = self.plots["duration"].getViewBox()
        box.sigRangeChanged.connect(lambda *_: self.layout_marker_labels())
        box.sigResized.connect(lambda *_: self.layout_marker_labels())
        self._overlay_items: list[tuple[str, pg.GraphicsObject]] = []
        self.overlay_labels: list[str] = []
        self.unit_box = QComboBox()
        self.unit_box.addItems(list(X_UNITS.values()))
        self.unit_box.setToolTip("x axis of every plot (compared runs too)")
        self.unit_box.currentTextChanged.connect(self.set_x_unit)
        self.summary = QLabel("No episodes yet")
        # Its text changes every redraw; a size hint that followed it would relayout (and fully repaint) the plots.
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(QLabel("x axis"))
        bar.addWidget(self.unit_box)
        self.banner = Banner()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.layout_widget, 1)
        self._milestones: list[pg.InfiniteLine] = []
        self._milestone_samples: list[pg.PlotDataItem] = []   # their entries in the legend
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(REDRAW_MS)

    # ---- feeding --------------------------------------------------------------------------------------------------
    def set_metrics(self, metrics: Metrics) -> None:
        """Show a run's metrics so far (an opened agent); later events append to them."""
        self.metrics = metrics
        self._marker_count = -1
        self._dirty = True
        self.redraw()

    def mark_dirty(self) -> None:
        self._dirty = True

    def set_eval_epsilon(self, epsilon: float) -> None:
        """The evaluation plot says how its games were played: an Atari preset's are at ε 0.05, not greedy."""
        title = eval_title(epsilon)
        if self.plots["eval"].titleLabel.text != title:
            self.plots["eval"].setTitle(title)

    def set_busy(self, busy: bool) -> None:
        """Redraw less often while training runs (measured in benchmarks/gui.py)."""
        self.timer.setInterval(REDRAW_BUSY_MS if busy else REDRAW_MS)

    def set_x_unit(self, unit: str) -> None:
        if unit not in X_UNITS:
            unit = next((k for k, text in X_UNITS.items() if text == unit), "episode")
        changed = unit != self.x_unit
        self.x_unit = unit
        self.unit_box.setCurrentText(X_UNITS[unit])
        self.plots["epsilon"].setLabel("bottom", X_UNITS[unit])
        self._marker_count = -1
        self._dirty = True
        self.redraw()
        if getattr(self, "_milestone_args", None):
            self.set_milestones(*self._milestone_args)
        if changed:
            self.xUnitChanged.emit(unit)

    # ---- overlays (runs compared from the Runs panel) ---------------------------------------------------------------
    def set_overlays(self, overlays: list[Overlay]) -> None:
        """Replace the compared runs drawn over the plots: each one colour on every plot, named in the legend."""
        if not overlays and not self._overlay_items:
            return                                  # nothing drawn, nothing to draw: no relayout of the legend
        for plot_key, item in self._overlay_items:
            self.plots[plot_key].removeItem(item)
            if plot_key == "duration" and isinstance(item, pg.PlotDataItem) and self.plots["duration"].legend:
                self.plots["duration"].legend.removeItem(item)
        self._overlay_items = []
        for overlay in overlays:
            colour = pg.mkColor(overlay.colour)
            fill = pg.mkColor(overlay.colour)
            fill.setAlpha(55)
            for key, (x, low, high) in overlay.bands.items():
                ok = np.isfinite(low) & np.isfinite(high)
                if ok.sum() < 2:
                    continue
                # Curve items, not data items: a data item without a pen has no path to fill between.
                lower = pg.PlotCurveItem(x[ok], low[ok], pen=pg.mkPen(None))
                upper = pg.PlotCurveItem(x[ok], high[ok], pen=pg.mkPen(None))
                area = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(fill))
                for item in (lower, upper, area):
                    self.plots[key].addItem(item)
                    self._overlay_items.append((key, item))
            for key, (x, y) in overlay.curves.items():
                ok = np.isfinite(x) & np.isfinite(y)
                item = pg.PlotDataItem(x[ok], y[ok], pen=pg.mkPen(colour, width=2),
                                       name=overlay.label if key == "duration" else None)
                self.plots[key].addItem(item)
                self._overlay_items.append((key, item))
        self.overlay_labels = [o.label for o in overlays]
        fit_legend(self.plots["duration"].legend, self.layout_widget)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        fit_legend(self.plots["duration"].legend, self.layout_widget)

    # ---- drawing --------------------------------------------------------------------------------------------------
    def _x_of_steps(self, steps: np.ndarray) -> np.ndarray:
        """Map env steps to the chosen unit (the episode a step falls in, counting from 1; or training seconds)."""
        if self.x_unit == "step":
            return steps.astype(float)
        ends = np.asarray(self.metrics.episodes["step"], dtype=float)
        if self.x_unit == "wall":
            walls = np.asarray(self.metrics.episodes["wall_seconds"], dtype=float)
            if len(ends) < 2:
                return np.full(len(steps), np.nan)
            return np.interp(steps.astype(float), ends, walls)
        return np.searchsorted(ends, steps, side="left").astype(float) + 1.0

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        m = self.metrics
        # The top plot shows what a run is judged by: episode length where every step pays 1 (CartPole), else the
        # return (a game's score).
        durations = np.asarray(m.episodes["duration"], dtype=float)
        returns = np.asarray(m.episodes["total_return"], dtype=float)
        kind = headline(durations, returns)
        if kind != self.headline:
            self.headline = kind
            self.plots["duration"].setTitle(HEADLINE_TITLES[kind])
        if kind == "return":
            durations = returns
        if self.x_unit == "episode":
            x_ep = np.arange(1, len(durations) + 1, dtype=float)
        elif self.x_unit == "wall":
            x_ep = np.asarray(m.episodes["wall_seconds"], dtype=float)
        else:
            x_ep = np.asarray(m.episodes["step"], dtype=float)
        self.curves["duration"].setData(x_ep, durations)
        self.curves["mean100"].setData(x_ep, running_mean(durations))
        steps = np.asarray(m.stats["step"], dtype=float)
        xs = self._x_of_steps(steps)
        for key, column in (("loss", "loss"), ("q", "q_mean"), ("epsilon", "epsilon")):
            y = np.asarray(m.stats[column], dtype=float)
            ok = np.isfinite(y)
            self.curves[key].setData(xs[ok], y[ok])
        ex = np.asarray(m.evals["step"], dtype=float)
        ex = np.asarray(m.evals["episode"], dtype=float) if self.x_unit == "episode" else self._x_of_steps(ex)
        self.curves["eval"].setData(ex, np.asarray(m.evals["mean_return"], dtype=float))
        if len(m.changes) != self._marker_count:
            self._draw_markers()
        if len(durations):
            last100 = durations[-100:].mean()
            best = f" · best eval {max(m.evals['mean_return']):g}" if m.evals["mean_return"] else ""
            self.summary.setText(f"{len(durations)} episodes · last {durations[-1]:g} · 100-episode mean "
                                 f"{last100:.1f}{best}")
        else:
            self.summary.setText("No episodes yet")

    def _draw_markers(self) -> None:
        remove_lines(self.plots, self.markers)
        at_step: dict[int, list[str]] = {}          # changes made together share one marker and one label
        for change in self.metrics.changes:
            at_step.setdefault(int(change["step"]), []).append(
                f"{change['field']} {_short(change['old'])}→{_short(change['new'])}")
        for step, texts in at_step.items():
            x = float(self._x_of_steps(np.array([step]))[0])
            text = "\n".join(texts)
            for key, plot in self.plots.items():
                line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pg.mkPen("#f29900", width=1, style=Qt.PenStyle.DashLine),
                                       label=text if key == "duration" else None,
                                       labelOpts={"position": 0.9, "color": "#b06000", "anchors": [(1, 0), (1, 0)],
                                                  "fill": pg.mkBrush(255, 255, 255, 200)})
                line.setToolTip(f"step {step}: {', '.join(texts)}")
                plot.addItem(line, ignoreBounds=True)
                self.markers.append(line)
        self._marker_count = len(self.metrics.changes)
        self.layout_marker_labels()

    def layout_marker_labels(self) -> None:
        """Stack the change markers' labels so that none overlaps another: each goes as high as it can without
        touching a label placed before it (left to right); one that fits nowhere is hidden (its marker's tooltip
        still names the change). Run again whenever the view's range or size changes."""
        plot = self.plots["duration"]
        box = plot.getViewBox()
        view = box.sceneBoundingRect()
        labelled = sorted((m for m in self.markers if getattr(m, "label", None) is not None), key=lambda m: m.value())
        legend = plot.legend
        placed: list[QRectF] = [legend.sceneBoundingRect()] if legend is not None and legend.isVisible() else []
        for line in labelled:
            label = line.label
            size = label.boundingRect().size()
            x = box.mapViewToScene(QPointF(float(line.value()), 0.0)).x()
            if not view.left() <= x <= view.right():
                label.setVisible(False)
                continue
            right_side = x + size.width() + 4 <= view.right()      # beside the line, on whichever side has room
            label.anchors = [(0, 0), (0, 0)] if right_side else [(1, 0), (1, 0)]
            top = view.top() + 2
            rect = QRectF(x if right_side else x - size.width(), top, size.width(), size.height())
            while True:
                hit = next((r for r in placed if r.intersects(rect)), None)
                if hit is None:
                    break
                rect.moveTop(hit.bottom() + 2)
            if rect.bottom() > view.bottom():
                label.setVisible(False)
                continue
            label.setVisible(True)
            placed.append(QRectF(rect))
            label.setPosition(max(0.0, min(1.0, 1.0 - (rect.top() - view.top()) / max(view.height(), 1.0))))
        self.marker_rects = placed[1:] if legend is not None and legend.isVisible() else placed

    def set_milestones(self, solved_step: int | None, best: tuple[int, float] | None) -> None:
        """Lasting dotted lines on every plot where the run was solved and where its best evaluation is, named in
        the legend (which fits any width): a label beside the line covered the very climb it marks."""
        legend = self.plots["duration"].legend
        remove_lines(self.plots, self._milestones)
        for sample in self._milestone_samples:
            legend.removeItem(sample)
        self._milestone_samples = []
        marks = []
        if solved_step is not None:
            marks.append((solved_step, f"solved (step {solved_step:,})", "#188038"))
        if best is not None:
            marks.append((best[0], f"best evaluation {best[1]:.1f}", "#a142f4"))
        for step, text, colour in marks:
            pen = pg.mkPen(colour, width=2, style=Qt.PenStyle.DotLine)
            x = float(self._x_of_steps(np.array([step]))[0])
            for plot in self.plots.values():
                line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pen)
                line.setToolTip(text)
                plot.addItem(line, ignoreBounds=True)
                self._milestones.append(line)
            sample = pg.PlotDataItem(pen=pen, name=text)     # drawn only in the legend, as the line's sample
            legend.addItem(sample, text)
            self._milestone_samples.append(sample)
        fit_legend(legend, self.layout_widget)
        self._milestone_args = (solved_step, best)

    @property
    def milestone_labels(self) -> list[str]:
        """What the solved and best-evaluation lines are called in the legend."""
        return [sample.name() for sample in self._milestone_samples]

    def marker_labels(self) -> list[str]:
        return [m.label.toPlainText() for m in self.markers if getattr(m, "label", None) is not None]

    # ---- export ---------------------------------------------------------------------------------------------------
    def export_image(self, path: str) -> None:
        """PNG (or another raster format, by suffix) or SVG of all plots, written as every file the app writes is
        (`atomic_write_bytes`): a failure (pyqtgraph's exporters raise a variety of errors) leaves an existing file
        intact, and raises; a new file gets the user's usual permissions."""
        view = self.layout_widget
        shown = view.size()
        try:
            # Laid out at the export's own width, not scaled up from the window's: a legend elided to fit a
            # narrow window is written with its full names, and markers' labels get the room the image has.
            view.resize(max(EXPORT_MIN_WIDTH, shown.width()), shown.height())
            self._relayout()
            data = render_view(view, Path(path).suffix.lstrip(".") or "png")
        finally:
            view.resize(shown)
            self._relayout()
        atomic_write_bytes(path, data)

    def _relayout(self) -> None:
        """Fit the legend and the markers' labels to the plots' current size, now (not at the next paint)."""
        layout = self.layout_widget.ci.layout
        layout.activate()                       # the plots take the new width…
        fit_legend(self.plots["duration"].legend, self.layout_widget)
        layout.activate()                       # …and then the legend's new column count and height
        self._dirty = True
        self.redraw()
        self.layout_marker_labels()


def remove_lines(plots: dict[str, pg.PlotItem], lines: list[pg.InfiniteLine]) -> None:
    """Take marker lines off their plots, through the plot: a plot lists what it was given and kept a line taken off
    its view box alone (every redraw of the markers added to that list)."""
    for plot in plots.values():
        for line in [item for item in plot.items if item in lines]:
            plot.removeItem(line)
    lines.clear()


def render_view(view: pg.GraphicsView, kind: str) -> bytes:
    """What `view` shows, as an SVG drawing (`kind` "svg") or a raster image of the view's size in the format
    `kind` names (png, jpg, …)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if kind.lower() == "svg":
        # Qt's own SVG writer: pyqtgraph's SVGExporter cannot parse the path syntax of current Qt
        # (pyqtgraph issue #3485). The view's rect, not the scene's: a scene's own rect only grows, to every item
        # it ever held (marker lines, labels), and made a drawing metres wide with the plots in one corner.
        rect = view.sceneRect()
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(rect.size().toSize())
        generator.setViewBox(rect)
        generator.setTitle("DQN Studio training curves")
        painter = QPainter(generator)
        view.scene().render(painter, rect, rect)
        if not painter.end():
            raise OSError("the SVG drawing could not be made")
    else:
        exporter = exporters.ImageExporter(view.scene())
        exporter.parameters()["width"] = view.width()
        image = exporter.export(toBytes=True)
        if not image.save(buffer, kind.upper()):
            raise OSError(f"Qt cannot write .{kind} images (try .png)")
    return bytes(buffer.data())


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
