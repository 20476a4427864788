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
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import QgsAuthConfigSelect, QgsCodeEditorJavascript, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QDate, QStandardPaths, Qt, pyqtSignal
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
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.adapters.compat import GEOMETRY_POLYGON, LAYER_POLYGON
from s2parity_plugin.core.service.endpoints import default_pair, get_profile, profiles
from s2parity_plugin.gui.widgets import checkbox, combo
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


def needs_credentials(profile_id: str) -> bool:
    profile = get_profile(profile_id)
    return profile is None or profile.needs_credentials


def _has_auth_configs() -> bool:
    """The user has at least one QGIS authentication configuration (credentials for a real deployment)."""
    return bool(QgsApplication.authManager().availableAuthMethodConfigs())


#: Short endpoint names for layer titles ("A · Sentinel Hub · N0214 · B04").
ENDPOINT_SHORT = {
    "sentinelhub": "Sentinel Hub",
    "cdse": "CDSE",
    "sample-sh": "Sample SH",
    "sample-cdse": "Sample CDSE",
    "custom": "Custom",
}
#: Deployments whose accounts are separate: one auth config cannot serve both.
SEPARATE_ACCOUNTS = {"sentinelhub", "cdse"}
COMBO_MIN_CHARS = 14
SEED_DATE = QDate(2020, 10, 4)


def _compact(combo: QComboBox | None) -> None:
    """Let a combo box shrink to the dock's width (long items are elided, the full text is in the popup)."""
    if combo is not None:
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_MIN_CHARS)


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
        _compact(self.profile)
        for profile in profiles():
            label = tr(ENDPOINT_LABELS.get(profile.id, profile.label))
            self.profile.addItem(label, profile.id)
            self.profile.setItemData(self.profile.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        self.auth = QgsAuthConfigSelect(self)
        self.auth.setObjectName(f"auth_{side}")
        self.auth.setToolTip(
            tr("A QGIS authentication configuration holding this deployment's OAuth client id and secret")
        )
        _compact(self.auth.findChild(QComboBox, "cmbConfigSelect"))
        generic_add = self.auth.findChild(QToolButton, "btnConfigAdd")
        if generic_add is not None:
            generic_add.hide()
        self.new_credentials = QToolButton()
        self.new_credentials.setObjectName(f"new_credentials_{side}")
        self.new_credentials.setText("+")
        self.new_credentials.setToolTip(tr("Store a Sentinel Hub client id and secret for this endpoint"))
        self.new_credentials.clicked.connect(self.create_credentials)
        auth_row = QHBoxLayout()
        auth_row.addWidget(self.auth, 1)
        auth_row.addWidget(self.new_credentials)
        self.sh_profile = QLineEdit()
        self.sh_profile.setPlaceholderText(tr("or a sentinelhub-py profile name"))
        self.sh_profile.setToolTip(tr("A profile of ~/.config/sentinelhub/config.toml (sentinelhub-py)"))
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://…")
        self.token_url = QLineEdit()
        self.token_url.setPlaceholderText("https://…/protocol/openid-connect/token")
        layout.addRow(tr("Endpoint"), self.profile)
        layout.addRow(tr("Credentials"), auth_row)
        layout.addRow("", self.sh_profile)
        layout.addRow(tr("Base URL"), self.base_url)
        layout.addRow(tr("Token URL"), self.token_url)
        self.error = _error_label()
        layout.addRow(self.error)
        self.profile.currentIndexChanged.connect(self._update_visibility)
        self._update_visibility()

    def profile_id(self) -> str:
        return self.profile.currentData()

    def short_name(self) -> str:
        """Short endpoint name for layer titles: "Sentinel Hub", "CDSE", …"""
        return ENDPOINT_SHORT.get(self.profile_id(), self.profile_id())

    def create_credentials(self) -> None:
        """Open the "Sentinel Hub credentials" dialog and select the configuration it stores."""
        from s2parity_plugin.gui.credentials_dialog import CredentialsDialog

        dialog = CredentialsDialog(self.profile_id(), self, self.base_url.text().strip(), self.token_url.text().strip())
        if dialog.exec() and dialog.config_id:
            self.auth.setConfigId(dialog.config_id)

    def set_profile(self, pid: str) -> None:
        index = self.profile.findData(pid)
        if index >= 0:
            self.profile.setCurrentIndex(index)

    def auth_value(self) -> str:
        """Auth config id, else the sentinelhub-py profile name, else ''."""
        return self.auth.configId() or self.sh_profile.text().strip()

    def _update_visibility(self) -> None:
        pid = self.profile_id()
        needs_auth = needs_credentials(pid)
        for widget in (self.auth, self.new_credentials, self.sh_profile):
            widget.setVisible(needs_auth)
        for widget in (self.base_url, self.token_url):
            widget.setVisible(pid == "custom")
        form: QFormLayout = self.layout()
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is None or label.widget() is None or field is None:
                continue
            shown = field.widget().isVisibleTo(self) if field.widget() is not None else needs_auth
            label.widget().setVisible(shown)

    def validate(self) -> str | None:
        pid = self.profile_id()
        if needs_credentials(pid) and not self.auth_value():
            return tr(
                "Choose credentials (an authentication configuration; + stores a client id and secret) or a "
                "sentinelhub-py profile."
            )
        if pid == "custom":
            for what, edit in ((tr("base URL"), self.base_url), (tr("token URL"), self.token_url)):
                if not edit.text().strip().startswith(("https://", "http://127.", "http://localhost")):
                    return tr("Enter the {0} as a full https:// URL.").format(what)
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
        for box in (
            self._aoi_box(),
            self._date_box(),
            self._what_box(),
            self._grid_box(),
            self._endpoint_box(),
            self._output_box(),
        ):
            outer.addWidget(box)
        self._connect()
        self.load_settings()
        self._update_what()
        self.date_to.setEnabled(self.use_range.isChecked())
        self.per_date.setEnabled(self.use_range.isChecked())
        if iface is not None:
            iface.currentLayerChanged.connect(self.follow_active_layer)
            self.follow_active_layer(iface.activeLayer())

    def _aoi_box(self) -> QGroupBox:
        box = QGroupBox(tr("Area of interest"))
        aoi = QFormLayout(box)
        self.aoi_layer = QgsMapLayerComboBox()
        self.aoi_layer.setObjectName("aoi_layer")
        self.aoi_layer.setFilters(LAYER_POLYGON)
        self.aoi_layer.setAllowEmptyLayer(True)
        self.aoi_layer.setToolTip(tr("The polygons to compare; the active polygon layer is picked automatically"))
        _compact(self.aoi_layer)
        self.selected_only = checkbox(tr("Selected features only"), "selected_only")
        self.aoi_error = _error_label()
        aoi.addRow(tr("Polygon layer"), self.aoi_layer)
        aoi.addRow("", self.selected_only)
        aoi.addRow(self.aoi_error)
        return box

    def _date_box(self) -> QGroupBox:
        box = QGroupBox(tr("Acquisition date"))
        dates = QFormLayout(box)
        self.date_from = QDateEdit(SEED_DATE)
        self.date_from.setObjectName("date_from")
        self.use_range = QCheckBox(tr("Date range, until"))
        self.use_range.setToolTip(
            tr("Compare every acquisition between the two dates (combined as the mosaicking option says)")
        )
        self.date_to = QDateEdit(SEED_DATE)
        self.date_to.setObjectName("date_to")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        dates.addRow(tr("Date"), self.date_from)
        until = QHBoxLayout()
        until.addWidget(self.use_range)
        until.addWidget(self.date_to, 1)
        dates.addRow("", until)
        self.per_date = checkbox(
            tr("One comparison per date"),
            "per_date",
            tr(
                "Compare each acquisition date of the range on its own (dates both catalogs list) instead of one "
                "mosaic of the range; the Results tab then offers the dates."
            ),
        )
        dates.addRow("", self.per_date)
        self.date_error = _error_label()
        dates.addRow(self.date_error)
        return box

    def _what_box(self) -> QGroupBox:
        box = QGroupBox(tr("What to compare"))
        what = QFormLayout(box)
        presets = [(tr("Band {0}").format(band), band) for band in BANDS]
        presets += [(tr("NDVI (B04, B08)"), "NDVI"), (tr("Custom evalscript"), "CUSTOM")]
        self.preset = combo("preset", presets)
        self.units = combo("units", [(tr("DN (digital numbers)"), "DN"), (tr("Reflectance (0–1)"), "REFLECTANCE")])
        self.units.setToolTip(tr("NDVI and custom evalscripts define their own units"))
        self.evalscript = QgsCodeEditorJavascript()
        self.evalscript.setObjectName("evalscript")
        self.evalscript.setMinimumHeight(140)
        self.evalscript_error = _error_label()
        what.addRow(tr("Quantity"), self.preset)
        what.addRow(tr("Units"), self.units)
        what.addRow(self.evalscript)
        what.addRow(self.evalscript_error)
        return box

    def _grid_box(self) -> QGroupBox:
        box = QGroupBox(tr("Grid and options"))
        grid = QFormLayout(box)
        self.resolution = QDoubleSpinBox()
        self.resolution.setObjectName("resolution")
        self.resolution.setRange(10.0, 1000.0)
        self.resolution.setDecimals(1)
        self.resolution.setSuffix(" m")
        self.resolution.setValue(10.0)
        self.crs = combo(
            "crs",
            [
                (tr("Auto: UTM zone of the AOI"), ""),
                (tr("EPSG:3035 (ETRS89-extended / LAEA Europe)"), "EPSG:3035"),
                (tr("Project CRS"), "PROJECT"),
            ],
        )
        _compact(self.crs)
        self.mosaicking = combo(
            "mosaicking", [(tr("ORBIT (one value per orbit)"), "ORBIT"), (tr("SIMPLE (one mosaic)"), "SIMPLE")]
        )
        self.mosaicking.setToolTip(
            tr(
                "How the Process API combines acquisitions of the date range: ORBIT keeps one value per orbit "
                "(the evalscript picks the most recent valid one), SIMPLE lets the service mosaic all tiles "
                "(most recent on top). With a single date both give the same pixels."
            )
        )
        grid.addRow(tr("Resolution"), self.resolution)
        grid.addRow(tr("Request CRS"), self.crs)
        grid.addRow(tr("Mosaicking"), self.mosaicking)
        for option in self._option_checkboxes():
            grid.addRow(option)
        return box

    def _option_checkboxes(self) -> tuple[QCheckBox, ...]:
        """harmonizeValues, shift correction and SCL masking: the processing options shown as check boxes."""
        self.harmonize = checkbox(
            tr("harmonizeValues (no BOA offset)"),
            "harmonize",
            tr(
                "Process API option: subtract the BOA_ADD_OFFSET (−1000 DN) that processing baseline 04.00 and "
                "later add, so old and new baselines are on the same scale. Untick to see the raw offset."
            ),
            checked=True,
        )
        self.shift_correct = checkbox(
            tr("Also a shift-corrected difference"),
            "shift_correct",
            tr(
                "Estimate the geolocation shift of B relative to A (sub-pixel, by phase correlation) and add a "
                "difference layer with B moved back onto A, to separate misregistration from radiometry."
            ),
        )
        self.mask_invalid = checkbox(
            tr("Mask invalid SCL on the map"),
            "mask_invalid",
            tr(
                "Invalid SCL classes: 1 saturated/defective, 2 dark area, 3 cloud shadow, 7 unclassified, 8–9 "
                "cloud, 10 thin cirrus, 11 snow. The statistics always leave them out; ticked, the difference "
                "layer does too. Unticked, it keeps them and greys them out with the SCL mismatch overlay."
            ),
            checked=True,
        )
        return self.harmonize, self.shift_correct, self.mask_invalid

    def _endpoint_box(self) -> QGroupBox:
        box = QGroupBox(tr("Endpoints"))
        eps = QVBoxLayout(box)
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
        self.same_credentials = QLabel(
            tr(
                "Both endpoints use the same credentials, but Sentinel Hub and CDSE issue separate accounts: "
                "choose each deployment's own client."
            )
        )
        self.same_credentials.setObjectName("same_credentials_warning")
        self.same_credentials.setWordWrap(True)
        self.same_credentials.setStyleSheet("color: #b9770e;")
        self.same_credentials.hide()
        eps.addWidget(self.same_credentials)
        return box

    def _output_box(self) -> QGroupBox:
        box = QGroupBox(tr("Output"))
        out = QFormLayout(box)
        self.output_folder = QgsFileWidget()
        self.output_folder.setObjectName("output_folder")
        self.output_folder.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.output_folder.setToolTip(tr("Each run gets its own sub-folder here (rasters, run.json, report)"))
        self.output_error = _error_label()
        out.addRow(tr("Folder"), self.output_folder)
        out.addRow(self.output_error)
        return box

    def _connect(self) -> None:
        """Re-check the credentials when an endpoint changes; the range widgets follow the range check box; the
        units and evalscript follow the preset."""
        for picker in (self.endpoint_a, self.endpoint_b):
            picker.profile.currentIndexChanged.connect(self.check_credentials)
            picker.auth.selectedConfigIdChanged.connect(self.check_credentials)
            picker.sh_profile.textChanged.connect(self.check_credentials)
        self.use_range.toggled.connect(self.date_to.setEnabled)
        self.use_range.toggled.connect(self.per_date.setEnabled)
        self.preset.currentIndexChanged.connect(self._update_what)

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
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() == GEOMETRY_POLYGON:
            self.aoi_layer.setLayer(layer)

    def _update_what(self) -> None:
        preset = self.preset.currentData()
        self.evalscript.setVisible(preset == "CUSTOM")
        self.units.setEnabled(preset not in ("NDVI", "CUSTOM"))

    def quantity(self) -> str:
        """What is compared, for layer group titles: ``B04``, ``NDVI`` or ``Custom``."""
        preset = self.preset.currentData()
        return "Custom" if preset == "CUSTOM" else preset

    def set_dates(self, date_from: str, date_to: str) -> None:
        """Set the acquisition date (``date_from == date_to``) or range, ISO ``yyyy-MM-dd``."""
        self.date_from.setDate(QDate.fromString(date_from, "yyyy-MM-dd"))
        self.date_to.setDate(QDate.fromString(date_to, "yyyy-MM-dd"))
        self.use_range.setChecked(date_to != date_from)

    def check_credentials(self, *_args) -> bool:
        """Show a warning when one credential is chosen for two deployments with separate accounts; True if so."""
        a, b = self.endpoint_a, self.endpoint_b
        shared = (
            a.profile_id() != b.profile_id()
            and {a.profile_id(), b.profile_id()} <= SEPARATE_ACCOUNTS
            and bool(a.auth_value())
            and a.auth_value() == b.auth_value()
        )
        self.same_credentials.setVisible(shared)
        return shared

    def dates(self) -> tuple[str, str]:
        date_from = self.date_from.date().toString("yyyy-MM-dd")
        date_to = self.date_to.date().toString("yyyy-MM-dd") if self.use_range.isChecked() else date_from
        return date_from, date_to

    # ----------------------------------------------------------------------------------------------
    def validate(self) -> list[str]:
        """Check every field; show each reason next to its field and return them all (empty when valid)."""
        problems: dict[QLabel, str | None] = {}
        layer = self.aoi_layer.currentLayer()
        if layer is None:
            problems[self.aoi_error] = tr("Choose a polygon layer as the area of interest (add one to the project).")
        elif layer.featureCount() == 0:
            problems[self.aoi_error] = tr("Layer '{0}' has no features: draw or load the AOI polygons.").format(
                layer.name()
            )
        elif self.selected_only.isChecked() and layer.selectedFeatureCount() == 0:
            problems[self.aoi_error] = tr(
                "No feature of '{0}' is selected: select some or untick 'Selected features only'."
            ).format(layer.name())
        else:
            problems[self.aoi_error] = None

        date_from, date_to = self.date_from.date(), self.date_to.date()
        today = QDate.currentDate()
        if self.use_range.isChecked() and date_to < date_from:
            problems[self.date_error] = tr("The end date is before the start date: swap them.")
        elif date_from > today or (self.use_range.isChecked() and date_to > today):
            problems[self.date_error] = tr("The date is in the future: Sentinel-2 has no acquisition there yet.")
        elif date_from < QDate(2015, 6, 23):
            problems[self.date_error] = tr("Sentinel-2 data starts on 2015-06-23: choose a later date.")
        else:
            problems[self.date_error] = None

        if self.preset.currentData() == "CUSTOM" and "evaluatePixel" not in self.evalscript.text():
            problems[self.evalscript_error] = tr("Paste an Evalscript V3 (it must define setup() and evaluatePixel()).")
        else:
            problems[self.evalscript_error] = None

        folder = self.output_folder.filePath().strip()
        if not folder:
            problems[self.output_error] = tr("Choose a folder for the downloaded and compared rasters.")
        else:
            path = Path(folder)
            probe = path if path.exists() else next((p for p in path.parents if p.exists()), None)
            if path.exists() and not path.is_dir():
                problems[self.output_error] = tr("{0} is a file: choose a folder.").format(folder)
            elif probe is None or not probe.is_dir() or not _writable(probe):
                problems[self.output_error] = tr("Cannot write in {0}: choose a folder you can write to.").format(
                    folder
                )
            else:
                problems[self.output_error] = None

        for picker in (self.endpoint_a, self.endpoint_b):
            problems[picker.error] = picker.validate()
        if (
            self.endpoint_a.profile_id() == self.endpoint_b.profile_id() != "custom"
            and self.endpoint_a.auth_value() == self.endpoint_b.auth_value()
        ):
            problems[self.endpoint_b.error] = tr("Endpoint B is the same as endpoint A: choose another deployment.")

        self.check_credentials()
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
            "MASK_INVALID": self.mask_invalid.isChecked(),
            "PER_DATE": self.use_range.isChecked() and self.per_date.isChecked(),
            "OUTPUT_FOLDER": self.output_folder.filePath().strip(),
        }
        for side, picker in (("A", self.endpoint_a), ("B", self.endpoint_b)):
            params[f"ENDPOINT_{side}"] = picker.profile_id()
            # the sample pair uses its own demo credentials: a leftover profile name must not reach it
            params[f"AUTH_{side}"] = picker.auth_value() if needs_credentials(picker.profile_id()) else ""
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
        s.setValue(SETTINGS_PREFIX + "mask_invalid", self.mask_invalid.isChecked())
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
        self.mask_invalid.setChecked(value("mask_invalid", True) in (True, "true"))
        default_out = str(
            Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)) / "S2Parity"
        )
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
