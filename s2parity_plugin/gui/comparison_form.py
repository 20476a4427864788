"""The comparison form of the dock: AOI, dates, what to compare, grid, endpoints, output folder.

It validates every field before a run (the reason shown next to the field), remembers plain preferences in
QgsSettings (auth config ids, never secrets) and produces the parameter dict of ``s2parity:compareendpoints``.
"""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsAuthConfigSelect, QgsCodeEditorJavascript, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QDate, QStandardPaths, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.core.endpoints import default_pair, get_profile, profiles
from s2parity_plugin.i18n import tr

SETTINGS_PREFIX = "s2parity/form/"
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
#: Short labels of known profiles; other registered profiles show their own label.
ENDPOINT_LABELS = {
    "sentinelhub": "Sentinel Hub (services.sentinel-hub.com)",
    "cdse": "Copernicus Data Space Ecosystem",
    "sample-sh": "Sample endpoints (offline) · Sentinel Hub-like",
    "sample-cdse": "Sample endpoints (offline) · CDSE-like",
    "custom": "Custom…",
}


def _needs_credentials(profile_id: str) -> bool:
    profile = get_profile(profile_id)
    return profile is None or profile.needs_credentials


def _has_auth_configs() -> bool:
    """The user has at least one QGIS authentication configuration (credentials for a real deployment)."""
    return bool(QgsApplication.authManager().availableAuthMethodConfigs())


SEED_DATE = QDate(2020, 10, 4)


def _error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet("color: #c0392b;")
    label.setWordWrap(True)
    label.hide()
    return label


class EndpointPicker(QWidget):
    """Profile choice + auth configuration (or sentinelhub-py profile name) + custom URLs for one endpoint."""

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.profile = QComboBox()
        self.profile.setObjectName(f"endpoint_{side}")
        for profile in profiles():
            self.profile.addItem(ENDPOINT_LABELS.get(profile.id, profile.label), profile.id)
        self.auth = QgsAuthConfigSelect(self)
        self.auth.setObjectName(f"auth_{side}")
        self.sh_profile = QLineEdit()
        self.sh_profile.setPlaceholderText("or a sentinelhub-py profile name")
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://…")
        self.token_url = QLineEdit()
        self.token_url.setPlaceholderText("https://…/protocol/openid-connect/token")
        layout.addRow("Endpoint", self.profile)
        layout.addRow("Credentials", self.auth)
        layout.addRow("", self.sh_profile)
        layout.addRow("Base URL", self.base_url)
        layout.addRow("Token URL", self.token_url)
        self.error = _error_label()
        layout.addRow(self.error)
        self.profile.currentIndexChanged.connect(self._update_visibility)
        self._update_visibility()

    def profile_id(self) -> str:
        return self.profile.currentData()

    def set_profile(self, pid: str) -> None:
        index = self.profile.findData(pid)
        if index >= 0:
            self.profile.setCurrentIndex(index)

    def auth_value(self) -> str:
        """Auth config id, else the sentinelhub-py profile name, else ''."""
        return self.auth.configId() or self.sh_profile.text().strip()

    def _update_visibility(self) -> None:
        pid = self.profile_id()
        needs_auth = _needs_credentials(pid)
        for widget in (self.auth, self.sh_profile):
            widget.setVisible(needs_auth)
        for widget in (self.base_url, self.token_url):
            widget.setVisible(pid == "custom")
        form: QFormLayout = self.layout()
        for widget in (self.auth, self.sh_profile, self.base_url, self.token_url):
            label = form.labelForField(widget)
            if label is not None:
                label.setVisible(widget.isVisibleTo(self))

    def validate(self) -> str | None:
        pid = self.profile_id()
        if _needs_credentials(pid) and not self.auth_value():
            return "Choose an authentication configuration (Basic: client id / secret) or a sentinelhub-py profile."
        if pid == "custom":
            for what, edit in (("base URL", self.base_url), ("token URL", self.token_url)):
                if not edit.text().strip().startswith(("https://", "http://127.", "http://localhost")):
                    return f"Enter the {what} as a full https:// URL."
        return None


class ComparisonForm(QWidget):
    """All inputs of one comparison. ``validate()`` shows reasons beside the fields; ``parameters()`` returns the
    ``s2parity:compareendpoints`` parameter dict."""

    changed = pyqtSignal()

    def __init__(self, iface, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.iface = iface
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        # --- Area of interest ---
        aoi_box = QGroupBox("Area of interest")
        aoi = QFormLayout(aoi_box)
        self.aoi_layer = QgsMapLayerComboBox()
        self.aoi_layer.setObjectName("aoi_layer")
        self.aoi_layer.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.aoi_layer.setAllowEmptyLayer(True)
        self.selected_only = QCheckBox("Selected features only")
        self.selected_only.setObjectName("selected_only")
        self.aoi_error = _error_label()
        aoi.addRow("Polygon layer", self.aoi_layer)
        aoi.addRow("", self.selected_only)
        aoi.addRow(self.aoi_error)
        outer.addWidget(aoi_box)

        # --- Dates ---
        date_box = QGroupBox("Acquisition date")
        dates = QFormLayout(date_box)
        self.date_from = QDateEdit(SEED_DATE)
        self.date_from.setObjectName("date_from")
        self.use_range = QCheckBox("Date range")
        self.date_to = QDateEdit(SEED_DATE)
        self.date_to.setObjectName("date_to")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        row = QHBoxLayout()
        row.addWidget(self.date_from)
        row.addWidget(self.use_range)
        row.addWidget(self.date_to)
        dates.addRow("Date", row)
        self.date_error = _error_label()
        dates.addRow(self.date_error)
        outer.addWidget(date_box)

        # --- What to compare ---
        what_box = QGroupBox("What to compare")
        what = QFormLayout(what_box)
        self.preset = QComboBox()
        self.preset.setObjectName("preset")
        for band in BANDS:
            self.preset.addItem(f"Band {band}", band)
        self.preset.addItem("NDVI (B04, B08)", "NDVI")
        self.preset.addItem("Custom evalscript", "CUSTOM")
        self.units = QComboBox()
        self.units.setObjectName("units")
        self.units.addItem("DN (digital numbers)", "DN")
        self.units.addItem("Reflectance (0–1)", "REFLECTANCE")
        self.evalscript = QgsCodeEditorJavascript()
        self.evalscript.setObjectName("evalscript")
        self.evalscript.setMinimumHeight(140)
        self.evalscript_error = _error_label()
        what.addRow("Quantity", self.preset)
        what.addRow("Units", self.units)
        what.addRow(self.evalscript)
        what.addRow(self.evalscript_error)
        outer.addWidget(what_box)

        # --- Grid and processing options ---
        grid_box = QGroupBox("Grid and options")
        grid = QFormLayout(grid_box)
        self.resolution = QDoubleSpinBox()
        self.resolution.setObjectName("resolution")
        self.resolution.setRange(10.0, 1000.0)
        self.resolution.setDecimals(1)
        self.resolution.setSuffix(" m")
        self.resolution.setValue(10.0)
        self.crs = QComboBox()
        self.crs.setObjectName("crs")
        self.crs.addItem("Auto: UTM zone of the AOI", "")
        self.crs.addItem("EPSG:3035 (ETRS89-extended / LAEA Europe)", "EPSG:3035")
        self.crs.addItem("Project CRS", "PROJECT")
        self.mosaicking = QComboBox()
        self.mosaicking.setObjectName("mosaicking")
        self.mosaicking.addItem("ORBIT (one value per orbit)", "ORBIT")
        self.mosaicking.addItem("SIMPLE (one mosaic)", "SIMPLE")
        self.harmonize = QCheckBox("harmonizeValues (remove BOA offset of baseline ≥ 04.00)")
        self.harmonize.setObjectName("harmonize")
        self.harmonize.setChecked(True)
        self.shift_correct = QCheckBox("Also compute a shift-corrected difference")
        self.shift_correct.setObjectName("shift_correct")
        grid.addRow("Resolution", self.resolution)
        grid.addRow("Request CRS", self.crs)
        grid.addRow("Mosaicking", self.mosaicking)
        grid.addRow(self.harmonize)
        grid.addRow(self.shift_correct)
        outer.addWidget(grid_box)

        # --- Endpoints ---
        ep_box = QGroupBox("Endpoints")
        eps = QVBoxLayout(ep_box)
        self.endpoint_a = EndpointPicker("a")
        self.endpoint_b = EndpointPicker("b")
        eps.addWidget(QLabel("<b>A</b>"))
        eps.addWidget(self.endpoint_a)
        eps.addWidget(QLabel("<b>B</b>"))
        eps.addWidget(self.endpoint_b)
        offline = [p.id for p in profiles() if not p.needs_credentials]
        if len(offline) >= 2:  # the sample pair (optional extra) is installed: one click away
            self.use_offline = QPushButton(tr("Try the offline sample pair (no account needed)"))
            self.use_offline.setObjectName("use_offline_pair")
            self.use_offline.clicked.connect(lambda: self.set_endpoints(offline[0], offline[1]))
            eps.addWidget(self.use_offline)
        outer.addWidget(ep_box)

        # --- Output ---
        out_box = QGroupBox("Output")
        out = QFormLayout(out_box)
        self.output_folder = QgsFileWidget()
        self.output_folder.setObjectName("output_folder")
        self.output_folder.setStorageMode(QgsFileWidget.GetDirectory)
        self.output_error = _error_label()
        out.addRow("Folder", self.output_folder)
        out.addRow(self.output_error)
        outer.addWidget(out_box)

        self.use_range.toggled.connect(self.date_to.setEnabled)
        self.preset.currentIndexChanged.connect(self._update_what)
        self.load_settings()
        self._update_what()
        self.date_to.setEnabled(self.use_range.isChecked())
        if iface is not None:
            iface.currentLayerChanged.connect(self.follow_active_layer)
            self.follow_active_layer(iface.activeLayer())

    # ----------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Disconnect from ``iface`` (called before the plugin unloads)."""
        if self.iface is not None:
            self.iface.currentLayerChanged.disconnect(self.follow_active_layer)

    def set_endpoints(self, profile_a: str, profile_b: str) -> None:
        """Choose the endpoint profiles of A and B."""
        self.endpoint_a.set_profile(profile_a)
        self.endpoint_b.set_profile(profile_b)

    def follow_active_layer(self, layer) -> None:
        """Use the active layer as AOI when it is a polygon layer."""
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() == QgsWkbTypes.PolygonGeometry:
            self.aoi_layer.setLayer(layer)

    def _update_what(self) -> None:
        preset = self.preset.currentData()
        self.evalscript.setVisible(preset == "CUSTOM")
        self.units.setEnabled(preset not in ("NDVI", "CUSTOM"))

    def quantity(self) -> str:
        """What is compared, for layer group titles: ``B04``, ``NDVI`` or ``Custom``."""
        preset = self.preset.currentData()
        return "Custom" if preset == "CUSTOM" else preset

    def dates(self) -> tuple[str, str]:
        date_from = self.date_from.date().toString("yyyy-MM-dd")
        date_to = self.date_to.date().toString("yyyy-MM-dd") if self.use_range.isChecked() else date_from
        return date_from, date_to

    def set_dates(self, date_from: str, date_to: str) -> None:
        """Set the acquisition date (``YYYY-MM-DD``), or a range when ``date_to`` differs (other views use it)."""
        start, end = QDate.fromString(date_from, "yyyy-MM-dd"), QDate.fromString(date_to, "yyyy-MM-dd")
        self.date_from.setDate(start)
        self.date_to.setDate(end)
        self.use_range.setChecked(end != start)

    # ----------------------------------------------------------------------------------------------
    def validate(self) -> list[str]:
        """Check every field; show each reason next to its field and return them all (empty when valid)."""
        problems: dict[QLabel, str | None] = {}
        layer = self.aoi_layer.currentLayer()
        if layer is None:
            problems[self.aoi_error] = "Choose a polygon layer as the area of interest (add one to the project)."
        elif layer.featureCount() == 0:
            problems[self.aoi_error] = f"Layer '{layer.name()}' has no features: draw or load the AOI polygons."
        elif self.selected_only.isChecked() and layer.selectedFeatureCount() == 0:
            problems[self.aoi_error] = (
                f"No feature of '{layer.name()}' is selected: select some or untick 'Selected features only'."
            )
        else:
            problems[self.aoi_error] = None

        date_from, date_to = self.date_from.date(), self.date_to.date()
        today = QDate.currentDate()
        if self.use_range.isChecked() and date_to < date_from:
            problems[self.date_error] = "The end date is before the start date: swap them."
        elif date_from > today or (self.use_range.isChecked() and date_to > today):
            problems[self.date_error] = "The date is in the future: Sentinel-2 has no acquisition there yet."
        elif date_from < QDate(2015, 6, 23):
            problems[self.date_error] = "Sentinel-2 data starts on 2015-06-23: choose a later date."
        else:
            problems[self.date_error] = None

        if self.preset.currentData() == "CUSTOM" and "evaluatePixel" not in self.evalscript.text():
            problems[self.evalscript_error] = "Paste an Evalscript V3 (it must define setup() and evaluatePixel())."
        else:
            problems[self.evalscript_error] = None

        folder = self.output_folder.filePath().strip()
        if not folder:
            problems[self.output_error] = "Choose a folder for the downloaded and compared rasters."
        else:
            path = Path(folder)
            probe = path if path.exists() else next((p for p in path.parents if p.exists()), None)
            if path.exists() and not path.is_dir():
                problems[self.output_error] = f"{folder} is a file: choose a folder."
            elif probe is None or not probe.is_dir() or not _writable(probe):
                problems[self.output_error] = f"Cannot write in {folder}: choose a folder you can write to."
            else:
                problems[self.output_error] = None

        for picker in (self.endpoint_a, self.endpoint_b):
            problems[picker.error] = picker.validate()
        if (
            self.endpoint_a.profile_id() == self.endpoint_b.profile_id() != "custom"
            and self.endpoint_a.auth_value() == self.endpoint_b.auth_value()
        ):
            problems[self.endpoint_b.error] = "Endpoint B is the same as endpoint A: choose another deployment."

        messages = []
        for label, message in problems.items():
            label.setText(message or "")
            label.setVisible(bool(message))
            if message:
                messages.append(message)
        return messages

    def parameters(self) -> dict:
        """The ``s2parity:compareendpoints`` parameters for the current form (call ``validate()`` first)."""
        date_from, date_to = self.dates()
        crs = self.crs.currentData()
        if crs == "PROJECT":
            crs = QgsProject.instance().crs().authid()
        params = {
            "AOI": self.aoi_layer.currentLayer(),
            "SELECTED_ONLY": self.selected_only.isChecked(),
            "DATE_FROM": date_from,
            "DATE_TO": date_to,
            "PRESET": self.preset.currentData(),
            # NDVI and custom evalscripts define their own units (the preset's default).
            "UNITS": self.units.currentData() if self.units.isEnabled() else "DEFAULT",
            "EVALSCRIPT": self.evalscript.text() if self.preset.currentData() == "CUSTOM" else "",
            "RESOLUTION": self.resolution.value(),
            "CRS": QgsCoordinateReferenceSystem(crs) if crs else QgsCoordinateReferenceSystem(),
            "MOSAICKING": self.mosaicking.currentData(),
            "HARMONIZE": self.harmonize.isChecked(),
            "SHIFT_CORRECT": self.shift_correct.isChecked(),
            "OUTPUT_FOLDER": self.output_folder.filePath().strip(),
        }
        for side, picker in (("A", self.endpoint_a), ("B", self.endpoint_b)):
            params[f"ENDPOINT_{side}"] = picker.profile_id()
            params[f"AUTH_{side}"] = picker.auth_value()
            if picker.profile_id() == "custom":
                params[f"BASE_URL_{side}"] = picker.base_url.text().strip()
                params[f"TOKEN_URL_{side}"] = picker.token_url.text().strip()
        return params

    # ----------------------------------------------------------------------------------------------
    def save_settings(self) -> None:
        """Remember plain preferences (auth config ids and profile names only — never secrets)."""
        s = QgsSettings()
        s.setValue(SETTINGS_PREFIX + "preset", self.preset.currentData())
        s.setValue(SETTINGS_PREFIX + "units", self.units.currentData())
        s.setValue(SETTINGS_PREFIX + "date_from", self.date_from.date().toString("yyyy-MM-dd"))
        s.setValue(SETTINGS_PREFIX + "date_to", self.date_to.date().toString("yyyy-MM-dd"))
        s.setValue(SETTINGS_PREFIX + "use_range", self.use_range.isChecked())
        s.setValue(SETTINGS_PREFIX + "resolution", self.resolution.value())
        s.setValue(SETTINGS_PREFIX + "crs", self.crs.currentData())
        s.setValue(SETTINGS_PREFIX + "mosaicking", self.mosaicking.currentData())
        s.setValue(SETTINGS_PREFIX + "harmonize", self.harmonize.isChecked())
        s.setValue(SETTINGS_PREFIX + "output_folder", self.output_folder.filePath())
        for side, picker in (("a", self.endpoint_a), ("b", self.endpoint_b)):
            s.setValue(SETTINGS_PREFIX + f"endpoint_{side}", picker.profile_id())
            s.setValue(SETTINGS_PREFIX + f"authcfg_{side}", picker.auth.configId())
            s.setValue(SETTINGS_PREFIX + f"sh_profile_{side}", picker.sh_profile.text())
            s.setValue(SETTINGS_PREFIX + f"base_url_{side}", picker.base_url.text())
            s.setValue(SETTINGS_PREFIX + f"token_url_{side}", picker.token_url.text())

    def load_settings(self) -> None:
        s = QgsSettings()

        def value(key: str, default):
            return s.value(SETTINGS_PREFIX + key, default)

        _select(self.preset, value("preset", "B04"))
        _select(self.units, value("units", "DN"))
        self.date_from.setDate(QDate.fromString(value("date_from", "2020-10-04"), "yyyy-MM-dd"))
        self.date_to.setDate(QDate.fromString(value("date_to", "2020-10-04"), "yyyy-MM-dd"))
        self.use_range.setChecked(value("use_range", False) in (True, "true"))
        self.resolution.setValue(float(value("resolution", 10.0)))
        _select(self.crs, value("crs", ""))
        _select(self.mosaicking, value("mosaicking", "ORBIT"))
        self.harmonize.setChecked(value("harmonize", True) in (True, "true"))
        default_out = str(Path(QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)) / "S2Parity")
        self.output_folder.setFilePath(value("output_folder", default_out))
        defaults = default_pair(_has_auth_configs())
        for side, picker, default in (("a", self.endpoint_a, defaults[0]), ("b", self.endpoint_b, defaults[1])):
            picker.set_profile(value(f"endpoint_{side}", default))
            picker.auth.setConfigId(value(f"authcfg_{side}", ""))
            picker.sh_profile.setText(value(f"sh_profile_{side}", ""))
            picker.base_url.setText(value(f"base_url_{side}", ""))
            picker.token_url.setText(value(f"token_url_{side}", ""))


def _select(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)
