"""The hyperparameter panel, generated from the engine's parameter spec: sliders with spin boxes, combos, switches."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRegularExpression, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence, QRegularExpressionValidator, QValidator
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget)

from dqn_core.config import GROUPS, PARAM_SPECS, ConfigError, ParamSpec, TrainConfig
from dqn_core.envs.families import FAMILIES, family_of
from dqn_core.presets import solve_time_where

SLIDER_STEPS = 1000
LOG_WINDOW = 10.0          # a logarithmic slider spans value / 10 … value × 10: ~2.3 % per pixel at 200 px


class _WindowUndo(QObject):
    """Lets Ctrl+Z / Ctrl+Shift+Z reach the window's Edit ▸ Undo / Redo from a focused spin box, whose text field
    would otherwise take them (and undo only its text)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and (
                event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)
                or event.keyCombination().toCombined() == QKeySequence("Ctrl+Shift+Z")[0].toCombined()):
            event.ignore()
            return True
        return False


WINDOW_UNDO = _WindowUndo()


class _WheelScrollsPanel(QObject):
    """The mouse wheel over a slider, spin box or list that the user has not clicked scrolls the panel (or, outside
    it, does nothing) instead of changing the setting: scrolling a long form would otherwise change whatever passes
    under the pointer (it switched a run's network to one its observation cannot feed). Once clicked or tabbed
    into, the wheel edits it."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = obj.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None:                # handed on explicitly: Qt propagates only the wheel events it made
            QApplication.sendEvent(area.verticalScrollBar(), event)
        return True


WHEEL_SCROLLS_PANEL = _WheelScrollsPanel()


def wheel_edits_only_when_focused(widget: QWidget) -> None:
    """Guard a value widget with WHEEL_SCROLLS_PANEL; a wheel turn no longer gives it focus either."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(WHEEL_SCROLLS_PANEL)


def _decimals(spec: ParamSpec) -> int:
    if spec.log:
        return max(2, int(math.ceil(-math.log10(spec.minimum))) + 2) if spec.minimum and spec.minimum > 0 else 4
    if spec.step:
        return max(0, int(math.ceil(-math.log10(spec.step))))
    return 3


class CompactSpinBox(QDoubleSpinBox):
    """Shows a small quantity in four significant digits ("1e-08", "0.00015") instead of a dozen fixed decimals,
    and takes what the user types in either form."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.4g}"

    def _number(self, text: str) -> str:
        return text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        return float(self._number(text))

    def validate(self, text: str, pos: int) -> object:
        number = self._number(text)
        try:
            value = float(number)
        except ValueError:                   # "", "1e", "1e-", "." on the way to a number
            partial = all(c in "0123456789.eE+-" for c in number)
            return QValidator.State.Intermediate if partial else QValidator.State.Invalid, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return QValidator.State.Acceptable if inside else QValidator.State.Intermediate, text, pos


class NumberControl(QWidget):
    """A slider and a spin box kept in sync; the slider is logarithmic where the spec says so."""

    valueEdited = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.is_int = spec.kind == "int"
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        if self.is_int:
            self.spin: QSpinBox | QDoubleSpinBox = QSpinBox()
            self.spin.setRange(int(spec.minimum), int(min(spec.maximum, 2**31 - 1)))
            self.spin.setSingleStep(int(spec.step or 1))
        else:
            small = spec.log and spec.maximum <= 1          # learning rates, Adam's ε: "1e-05", not "0.00001000"
            self.spin = CompactSpinBox() if small else QDoubleSpinBox()
            self.spin.setDecimals(_decimals(spec))
            self.spin.setRange(spec.minimum, spec.maximum)
            self.spin.setSingleStep(spec.step or (spec.maximum - spec.minimum) / 100)
            if spec.log:
                self.spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        if spec.optional:
            self.spin.setSpecialValueText("auto")
            self.spin.setMinimum(spec.minimum - (1 if self.is_int else 10 ** -self.spin.decimals()))
        if spec.zero_label and spec.minimum == 0:
            self.spin.setSpecialValueText(spec.zero_label)
        self.spin.setKeyboardTracking(False)          # one change when typing ends, not one per keystroke
        self.spin.setSuffix(f" {spec.unit}" if spec.unit else "")
        self.spin.setMinimumWidth(110)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self._centre = 0.0
        self.spin.lineEdit().installEventFilter(WINDOW_UNDO)        # Ctrl+Z is the window's Undo, not the text's
        for widget in (self.slider, self.spin):
            wheel_edits_only_when_focused(widget)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(self._slider_released)
        self.spin.valueChanged.connect(self._spin_changed)
        self._quiet = False

    # slider position <-> value
    def _span(self) -> tuple[float, float]:
        """The values the slider covers: the whole range, or for a logarithmic setting one decade either side of
        the value it was last set to (re-centred when a drag ends), so that a few pixels move it a few percent."""
        lo, hi = self.spec.minimum, self.spec.maximum
        if self.spec.log and lo > 0 and self._centre:
            lo, hi = max(lo, self._centre / LOG_WINDOW), min(hi, self._centre * LOG_WINDOW)
        return lo, hi

    def _to_pos(self, value: float) -> int:
        lo, hi = self._span()
        if self.spec.log and lo > 0:
            frac = (math.log(max(value, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            frac = (value - lo) / (hi - lo)
        return int(round(min(max(frac, 0.0), 1.0) * SLIDER_STEPS))

    def _from_pos(self, pos: int) -> float:
        lo, hi = self._span()
        frac = pos / SLIDER_STEPS
        value = math.exp(math.log(lo) + frac * (math.log(hi) - math.log(lo))) if self.spec.log and lo > 0 \
            else lo + frac * (hi - lo)
        if self.is_int:
            return int(round(value))
        digits = max(3, 3 - int(math.floor(math.log10(abs(value))))) if value else 3
        return round(value, min(digits, self.spin.decimals()))

    def value(self) -> Any:
        v = self.spin.value()
        if self.spec.optional and v < self.spec.minimum:
            return None
        return int(v) if self.is_int else float(v)

    def set_value(self, value: Any) -> None:
        self._quiet = True
        try:
            if value is None:
                self.spin.setValue(self.spin.minimum())
                self.slider.setValue(0)
            else:
                self._centre = float(value)
                self.spin.setValue(value)
                self.slider.setValue(self._to_pos(value))
        finally:
            self._quiet = False

    def _slider_moved(self, pos: int) -> None:
        if self._quiet:
            return
        value = self._from_pos(pos)
        self._quiet = True
        self.spin.setValue(value)
        self._quiet = False
        if not self.slider.isSliderDown():              # keyboard or click: final at once
            self.valueEdited.emit(self.value())
            self._recentre()

    def _slider_released(self) -> None:
        self.valueEdited.emit(self.value())
        self._recentre()

    def _recentre(self) -> None:
        value = self.value()
        if self.spec.log and value:
            self._centre = float(value)
            self._quiet = True
            self.slider.setValue(self._to_pos(value))
            self._quiet = False

    def _spin_changed(self, value: float) -> None:
        if self._quiet:
            return
        if self.spec.log and value:
            self._centre = float(value)
        self._quiet = True
        self.slider.setValue(self._to_pos(value))
        self._quiet = False
        self.valueEdited.emit(self.value())


class IntListControl(QLineEdit):
    """Comma-separated integers (hidden layer sizes)."""

    valueEdited = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setValidator(QRegularExpressionValidator(QRegularExpression(r"^\s*\d+(\s*,\s*\d+){0,7}\s*$")))
        self.editingFinished.connect(lambda: self.valueEdited.emit(self.text()))

    # Qt sends no editingFinished for a text its validator finds unfinished ("256," or nothing), so the field kept
    # showing it while the settings kept the old sizes. Sent anyway, the settings check takes it ("256," is 256) or
    # refuses it with the field's name and range, and the field shows the value in force again.
    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt override)
        super().focusOutEvent(event)
        self._send_unfinished()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._send_unfinished()

    def _send_unfinished(self) -> None:
        if not self.hasAcceptableInput():
            self.valueEdited.emit(self.text())

    def set_value(self, value: Any) -> None:
        self.setText(", ".join(str(v) for v in value))


class HyperparamPanel(QWidget):
    """Every TrainConfig field as a control, grouped as the spec says.

    Emits `edited(name, value)` when the user changes something; `set_config` shows a config without emitting.
    """

    edited = Signal(str, object)
    presetChosen = Signal(str)
    resetToPreset = Signal()

    def __init__(self, presets: dict[str, dict[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.tooltips: dict[str, str] = {}
        self._setting = False
        self._training: bool | None = None
        self._config: TrainConfig | None = None          # what the controls show, for settings that others decide
        self._notes: dict[str, str] = {}                  # why a control is disabled now ('' or absent: it is not)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.preset_box = QComboBox()
        self.preset_box.setToolTip("Start from a named configuration")
        self.preset_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.setMinimumContentsLength(18)
        wheel_edits_only_when_focused(self.preset_box)
        self.set_presets(presets)
        self.preset_box.activated.connect(lambda _: self.presetChosen.emit(self.preset_box.currentData()))
        self.reset_button = QPushButton("Reset to preset")
        self.reset_button.setToolTip("Put every setting back to the chosen preset's value")
        self.reset_button.clicked.connect(self.resetToPreset)
        top.addWidget(QLabel("Preset"))
        top.addWidget(self.preset_box, 1)
        top.addWidget(self.reset_button)
        outer.addLayout(top)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.message.hide()
        outer.addWidget(self.message)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        for group in GROUPS:
            box = QGroupBox(group)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for name, spec in PARAM_SPECS.items():
                if spec.group != group:
                    continue
                control = self._make_control(spec)
                label = QLabel(spec.label)
                tip = f"<b>{spec.label}</b> ({name})<br>{spec.help}<br><i>Allowed: {spec.allowed()}</i>" + \
                      ("<br>Changes take effect at the next step while training." if spec.live else "")
                control.setToolTip(tip)
                label.setToolTip(tip)
                self.tooltips[name] = tip
                self.controls[name] = control
                self.labels[name] = label
                form.addRow(label, control)
            body_layout.addWidget(box)
        body_layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

    def set_presets(self, presets: dict[str, dict[str, str]]) -> None:
        """Preset name → its description and typical time to solve; each item shows both (the time in the item,
        the description in its tooltip)."""
        current = self.preset_box.currentData()
        self.preset_box.clear()
        for name, info in presets.items():
            text = f"{name} — {info['solve_time']}" if info.get("solve_time") else name
            self.preset_box.addItem(text, name)
            tip = info.get("description", "") + (f"<br><i>Typically {solve_time_where(info)}.</i>"
                                                   if info.get("solve_time") else "")
            self.preset_box.setItemData(self.preset_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        if current is not None:
            self.show_preset(current)

    def show_preset(self, name: str | None, note: str = "") -> None:
        """Name where the settings came from: a preset's item; or, with `note`, e.g. 'zoo-state (modified)' or
        'from agent a.dqn', shown in the picker with no item chosen."""
        index = self.preset_box.findData(name) if name else -1
        if note or index < 0:
            self.preset_box.setCurrentIndex(-1)
            self.preset_box.setPlaceholderText(note or "(custom settings)")
            self.preset_box.setToolTip(f"These settings: {note or 'not a preset'}. Pick a preset to start from it.")
        else:
            self.preset_box.setCurrentIndex(index)
            self.preset_box.setToolTip(str(self.preset_box.itemData(index, Qt.ItemDataRole.ToolTipRole) or ""))

    def shown_preset(self) -> str:
        """What the picker says now (an item's text or its placeholder)."""
        return self.preset_box.currentText() or self.preset_box.placeholderText()

    def _make_control(self, spec: ParamSpec) -> QWidget:
        name = spec.name
        if spec.kind in ("int", "float"):
            control: QWidget = NumberControl(spec)
            control.valueEdited.connect(lambda v, n=name: self._emit(n, v))
        elif spec.kind == "bool":
            control = QCheckBox()
            control.toggled.connect(lambda v, n=name: self._emit(n, bool(v)))
        elif spec.kind == "choice":
            control = QComboBox()
            control.addItems(list(spec.choices))
            control.activated.connect(lambda _, n=name, c=control: self._emit(n, c.currentText()))
        elif spec.kind == "ints":
            control = IntListControl(spec)
            control.valueEdited.connect(lambda v, n=name: self._emit(n, v))
        else:
            control = QComboBox()
            control.setEditable(True)
            control.addItems(list(spec.suggestions))
            if name == "env_id":
                _list_env_families(control)
            control.lineEdit().editingFinished.connect(lambda n=name, c=control: self._emit(n, c.currentText()))
            control.activated.connect(lambda _, n=name, c=control: self._emit(n, c.currentText()))
        if isinstance(control, QComboBox):                # a NumberControl guards its own slider and spin box
            wheel_edits_only_when_focused(control)
        return control

    def _emit(self, name: str, value: Any) -> None:
        if not self._setting:
            self.edited.emit(name, value)

    # ---- showing values ------------------------------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        self._setting = True
        try:
            for name, control in self.controls.items():
                self._show(control, getattr(config, name))
        finally:
            self._setting = False
        self._config = config
        self._refresh_states()

    def set_value(self, name: str, value: Any) -> None:
        self._setting = True
        try:
            self._show(self.controls[name], value)
        finally:
            self._setting = False
        if self._config is not None:
            try:
                self._config = self._config.replace(**{name: value})
            except ConfigError:
                pass                                      # a rejected value is put back by the next call
            self._refresh_states()

    @staticmethod
    def _show(control: QWidget, value: Any) -> None:
        if isinstance(control, (NumberControl, IntListControl)):
            control.set_value(value)
        elif isinstance(control, QCheckBox):
            control.setChecked(bool(value))
        elif isinstance(control, QComboBox):
            control.setCurrentText(str(value))

    def value(self, name: str) -> Any:
        control = self.controls[name]
        if isinstance(control, NumberControl):
            return control.value()
        if isinstance(control, QCheckBox):
            return control.isChecked()
        if isinstance(control, IntListControl):
            return control.text()
        return control.currentText()

    def set_training(self, training: bool) -> None:
        """While training only live settings stay editable; the others say why they are locked."""
        if self._training == training:
            return
        self._training = training
        self._refresh_states()
        self.preset_box.setEnabled(not training)
        self.reset_button.setEnabled(not training)

    def _refresh_states(self) -> None:
        """Enable each control unless training locks it or it does nothing for the current config (the engine's
        `ParamSpec.applies`); its tooltip says which."""
        for name, control in self.controls.items():
            spec = PARAM_SPECS[name]
            locked = bool(self._training) and not spec.live
            note = "<br><b>Locked while training:</b> stop training to change this." if locked else ""
            unused = spec.applies(self._config) if self._config is not None else ""
            if unused:
                note += f"<br><b>Not used:</b> {unused}."
            if self._notes.get(name, "") != note:          # most calls change nothing: touch only what does
                self._notes[name] = note
                control.setEnabled(not note)
                self.labels[name].setEnabled(not note)
                control.setToolTip(self.tooltips[name] + note)

    def show_error(self, error: ConfigError | str | None) -> None:
        if not error:
            self.message.hide()
            return
        self.message.setText(str(error))
        self.message.show()


def _list_env_families(box: QComboBox) -> None:
    """The env picker offers what works and says what else exists: each family's installed games; a family (or an
    env) whose extra is missing stays listed, greyed, with the line that installs it."""
    model = box.model()
    for i in range(box.count()):
        extra = family_of(box.itemText(i)).extra_for(box.itemText(i))
        if extra is not None and not extra.installed:
            box.setItemText(i, f"{box.itemText(i)} — needs {extra.install}")
            model.item(i).setEnabled(False)
    for family in FAMILIES:
        if family.extra is None:
            continue
        box.insertSeparator(box.count())
        games = family.games()
        if games:
            box.addItems(games)
        else:
            box.addItem(f"{family.title} games — need {family.extra.install}")
            model.item(box.count() - 1).setEnabled(False)
    box.setMaxVisibleItems(20)
