"""Widget wrappers for S2 Parity's Processing parameters (see ``processing/dialog_widgets.py``): a date picker for
``YYYY-MM-DD`` strings, a preset drop-down and a QGIS auth-config selector (which also accepts a sentinelhub-py
profile name typed in). Batch and modeler dialogs get a plain text field with the same string value."""

from __future__ import annotations

from processing.gui.wrappers import DIALOG_STANDARD, WidgetWrapper
from qgis.gui import QgsAuthConfigSelect
from qgis.PyQt.QtCore import QDate
from qgis.PyQt.QtWidgets import QComboBox, QDateEdit, QLineEdit, QVBoxLayout, QWidget

from s2parity_plugin.i18n import tr

ISO = "yyyy-MM-dd"
PRESETS = (
    *(f"B{n:02d}" for n in range(1, 9)),
    "B8A",
    "B09",
    "B11",
    "B12",
    "NDVI",
    "CUSTOM",
)


class _TextFallback(WidgetWrapper):
    """A text field outside the standard dialog (batch, modeler)."""

    def createWidget(self, **kwargs):  # noqa: N802 (QGIS API)
        if self.dialogType == DIALOG_STANDARD:
            return self.create_standard()
        return QLineEdit()

    def create_standard(self) -> QWidget:
        raise NotImplementedError

    def setValue(self, value) -> None:  # noqa: N802 (QGIS API)
        text = "" if value is None else str(value)
        if isinstance(self.widget, QLineEdit):
            self.widget.setText(text)
        else:
            self.set_standard(text)

    def value(self):
        if isinstance(self.widget, QLineEdit):
            return self.widget.text().strip()
        return self.standard_value()


class DateWrapper(_TextFallback):
    """A calendar date picker; the value is the ISO date string."""

    def create_standard(self) -> QWidget:
        edit = QDateEdit(QDate(2020, 10, 4))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(ISO)
        edit.setToolTip(tr("Acquisition date (UTC)"))
        return edit

    def set_standard(self, text: str) -> None:
        date = QDate.fromString(text[:10], ISO)
        if date.isValid():
            self.widget.setDate(date)

    def standard_value(self) -> str:
        return self.widget.date().toString(ISO)


class PresetWrapper(_TextFallback):
    """The preset as a drop-down (B01…B12, B8A, NDVI, CUSTOM)."""

    def create_standard(self) -> QWidget:
        combo = QComboBox()
        for preset in PRESETS:
            combo.addItem(preset, preset)
        return combo

    def set_standard(self, text: str) -> None:
        index = self.widget.findData(text.upper())
        if index >= 0:
            self.widget.setCurrentIndex(index)

    def standard_value(self) -> str:
        return self.widget.currentData()


class AuthConfigWrapper(_TextFallback):
    """A QGIS auth-config selector, with a field for a sentinelhub-py profile name instead."""

    def create_standard(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        box.auth = QgsAuthConfigSelect(box)
        box.profile = QLineEdit()
        box.profile.setPlaceholderText(tr("or a sentinelhub-py profile name"))
        layout.addWidget(box.auth)
        layout.addWidget(box.profile)
        return box

    def set_standard(self, text: str) -> None:
        from qgis.core import QgsApplication

        if text in QgsApplication.authManager().configIds():
            self.widget.auth.setConfigId(text)
        else:
            self.widget.profile.setText(text)

    def standard_value(self) -> str:
        return self.widget.auth.configId() or self.widget.profile.text().strip()
