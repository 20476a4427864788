"""Results panel: renders one comparison report (the JSON document of the compare engine) — the findings as short
bullets first, then key numbers, the acquisitions each side used, plots, the SCL confusion matrix (classes present,
in % of compared pixels) and the per-feature table. It computes nothing of its own beyond presentation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.core.model.scl import SCL_CLASSES
from s2parity_plugin.gui.plots import density_pixmap, histogram_pixmap
from s2parity_plugin.i18n import tr

#: Friendly headers of the per-feature table (the report's keys), and which columns are shares (shown in %).
FEATURE_HEADERS = {
    "feature_id": "Feature id",
    "pixels": "Pixels",
    "mean_a": "Mean A",
    "mean_b": "Mean B",
    "mean_ndvi_a": "NDVI A",
    "mean_ndvi_b": "NDVI B",
    "mean_diff": "Mean B − A",
    "mismatch_share": "SCL mismatch",
}
SHARE_COLUMNS = {"mismatch_share"}
PLOT_WIDTH_PX = 360
MAX_FEATURE_ROWS_SHOWN = 12  # taller tables scroll
OFF_DIAGONAL = QColor("#fff3b0")


def _num(value: Any, fmt: str = "{:.4g}", unit: str = "") -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value) + (f" {unit}" if unit else "")
    except (TypeError, ValueError):
        return str(value)


def baselines(report: dict) -> tuple[str, str]:
    """Processing baseline of side A and B as the diagnosis reports them ("02.14"), or "unknown"."""
    diag = report.get("diagnosis", {})
    return diag.get("baseline_a") or "unknown", diag.get("baseline_b") or "unknown"


def display_units(report: dict, quantity: str | None = None) -> str | None:
    """Units to show: "DN", "REFLECTANCE", or None for unitless quantities (NDVI, custom evalscripts)."""
    quantity = (quantity or report.get("quantity") or "").upper()
    if quantity in ("NDVI", "CUSTOM"):
        return None
    units = (report.get("units") or report.get("stats", {}).get("units") or "").upper()
    return units if units in ("DN", "REFLECTANCE") else None


def unit_label(units: str | None) -> str:
    """The unit appended to numbers: "DN", or "" (reflectance and NDVI are unitless)."""
    return "DN" if units == "DN" else ""


def findings(explanation: str) -> list[str]:
    """The diagnosis explanation split into one finding per sentence."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", (explanation or "").strip())
    return [p.strip() for p in parts if p.strip()]


def findings_html(items: list[str]) -> str:
    if not items:
        return tr("No diagnosis in this report.")
    return "<ul style='margin-left:-20px'>" + "".join(f"<li>{_escape(i)}</li>" for i in items) + "</ul>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def confusion_percent(matrix: list[list[int]]) -> tuple[list[int], list[list[float]]]:
    """Classes present in either side (rows/columns with any pixel) and the matrix in % of all classified pixels."""
    size = min(len(matrix), 12)
    total = sum(sum(row[:size]) for row in matrix[:size])
    present = [k for k in range(size) if sum(matrix[k][:size]) or sum(row[k] for row in matrix[:size])]
    if not total:
        return present, []
    return present, [[100.0 * matrix[r][c] / total for c in present] for r in present]


def acquisitions(run_folder: str | None) -> dict[str, list[dict]]:
    """Per side ("a", "b"), the acquisitions listed in the run folder's ``run.json`` (empty when unknown)."""
    if not run_folder:
        return {}
    try:
        manifest = json.loads((Path(run_folder) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    sides = manifest.get("sides", {})
    return {side: list((sides.get(side) or {}).get("acquisitions") or []) for side in ("a", "b")}


def run_quantity(run_folder: str | None) -> str | None:
    """What a run compared ("B04", "NDVI", "CUSTOM"), from its ``run.json``; None when unknown."""
    if not run_folder:
        return None
    try:
        manifest = json.loads((Path(run_folder) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (manifest.get("sides", {}).get("a") or {}).get("quantity")


def acquisition_rows(acqs: dict[str, list[dict]]) -> list[tuple[str, str, str, str, str]]:
    """Rows (side, date, baseline, cloud cover, product id) for the acquisitions table."""
    from s2parity_plugin.core.model.s2facts import parse_baseline

    rows = []
    for side in ("a", "b"):
        for acq in acqs.get(side, []):
            product = acq.get("product_id") or ""
            cloud = acq.get("cloud_cover")
            rows.append(
                (
                    side.upper(),
                    (acq.get("date") or "")[:10],
                    parse_baseline(product) or "?",
                    _num(cloud, "{:.0f} %") if cloud is not None else "–",
                    product,
                )
            )
    return rows


def _fit_height(table: QTableWidget) -> None:
    """Make ``table`` exactly as tall as its rows (no empty space, no vertical scrollbar)."""
    table.resizeRowsToContents()
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(table.horizontalHeader().height() + rows + 2 * table.frameWidth() + 2)


def write_features_csv(
    path: str | Path, rows: list[dict], field: str = "", names: dict[int, str] | None = None
) -> Path:
    """One row per AOI feature: ``feature_id`` (the QGIS feature id), the display ``field``'s value when one is
    chosen (the join key for the AOI layer), then the report's columns (shares as fractions, values in the units of
    the comparison). UTF-8, comma-separated."""
    import csv

    path = Path(path)
    names = names or {}
    columns = [k for k in (rows[0] if rows else {}) if k != "feature_id"]
    header = ["feature_id", *([field] if field else []), *columns]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            fid = int(row["feature_id"])
            key = [names.get(fid, "")] if field else []
            writer.writerow([fid, *key, *("" if row.get(c) is None else row.get(c) for c in columns)])
    return path


class _SortItem(QTableWidgetItem):
    """Table item that sorts by a number when it has one."""

    def __init__(self, text: str, key: float | None = None) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other) -> bool:  # Qt's sort
        if isinstance(other, _SortItem) and self.key is not None and other.key is not None:
            return self.key < other.key
        return super().__lt__(other)


class ResultsPanel(QWidget):
    """Shows a report; ``show_report(report)`` replaces what is shown, ``clear()`` empties it. Emits
    ``feature_clicked(feature_id)`` when a row of the per-feature table is clicked."""

    feature_clicked = pyqtSignal(int)
    display_field_changed = pyqtSignal(str)
    save_features_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.diagnosis = QLabel()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setWordWrap(True)
        self.diagnosis.setTextFormat(Qt.TextFormat.RichText)
        self.diagnosis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diagnosis.setStyleSheet("padding: 4px; background: #fff8dc;")
        self.findings: list[str] = []
        layout.addWidget(self.diagnosis)

        self.pixel_box = QGroupBox(tr("Pixel inspector"))
        pixel_layout = QVBoxLayout(self.pixel_box)
        self.inspector = QLabel(tr("Pick the pixel inspector and hover the map."))
        self.inspector.setObjectName("pixel_inspector_output")
        self.inspector.setWordWrap(True)
        self.inspector.setTextFormat(Qt.TextFormat.RichText)
        self.inspector.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pixel_layout.addWidget(self.inspector)
        layout.addWidget(self.pixel_box)

        layout.addWidget(self._numbers_box())
        layout.addWidget(self._acquisitions_box())

        plots_box = QGroupBox(tr("Distribution"))
        plots = QVBoxLayout(plots_box)
        self.histogram = QLabel()
        self.histogram.setObjectName("histogram_plot")
        self.density = QLabel()
        self.density.setObjectName("density_plot")
        for plot in (self.histogram, self.density):
            plot.setAlignment(Qt.AlignmentFlag.AlignCenter)
            plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            plot.setMinimumWidth(1)  # a narrower dock crops the plot's margin instead of widening the panel
            plots.addWidget(plot)
        layout.addWidget(plots_box)

        self.confusion = QTableWidget(0, 0)
        self.confusion.setObjectName("confusion_matrix")
        self.confusion.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion.horizontalHeader().setMinimumSectionSize(24)
        self.confusion.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.confusion.setMinimumWidth(1)
        self.confusion_box = QGroupBox(tr("SCL classes A → B (% of pixels)"))
        self.confusion_box.setToolTip(tr("Rows: SCL class in A; columns: SCL class in B; off-diagonal cells changed"))
        QVBoxLayout(self.confusion_box).addWidget(self.confusion)
        layout.addWidget(self.confusion_box)

        layout.addWidget(self._features_box())
        self.clear()

    def _numbers_box(self) -> QGroupBox:
        numbers_box = QGroupBox(tr("Key numbers"))
        self.numbers = QGridLayout(numbers_box)
        self.number_labels: dict[str, QLabel] = {}
        for row, (key, title, tip) in enumerate(
            (
                ("baselines", tr("Baselines A / B"), tr("ESA processing baseline of the products each side used")),
                ("bias", tr("Bias (mean B − A)"), tr("Mean difference over pixels valid on both sides")),
                ("rmse", tr("RMSE"), tr("Root mean square of B − A")),
                ("r", tr("Pearson r / fit"), tr("Correlation of A and B and the least-squares line B = a·A + b")),
                ("shift", tr("Shift B vs A"), tr("Sub-pixel geolocation shift estimated by phase correlation")),
                ("mismatch", tr("SCL valid only A / only B"), tr("Share of pixels valid on one side only")),
                ("both_invalid", tr("SCL invalid in both"), tr("Share of pixels invalid on both sides")),
                ("n", tr("Pixels compared"), tr("Pixels valid (SCL) and with data on both sides")),
            )
        ):
            value = QLabel("–")
            value.setObjectName(f"number_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label = QLabel(title)
            label.setToolTip(tip)
            self.numbers.addWidget(label, row, 0)
            self.numbers.addWidget(value, row, 1)
            self.number_labels[key] = value
        self.numbers.setColumnStretch(1, 1)
        return numbers_box

    def _acquisitions_box(self) -> QGroupBox:
        self.acquisitions_box = QGroupBox(tr("Acquisitions used"))
        box = QVBoxLayout(self.acquisitions_box)
        self.acquisitions_note = QLabel()
        self.acquisitions_note.setObjectName("acquisitions_note")
        self.acquisitions_note.setWordWrap(True)
        box.addWidget(self.acquisitions_note)
        self.acquisitions = QTableWidget(0, 5)
        self.acquisitions.setObjectName("acquisitions_table")
        self.acquisitions.setHorizontalHeaderLabels(
            [tr("Side"), tr("Date"), tr("Baseline"), tr("Cloud"), tr("Product id")]
        )
        self.acquisitions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.acquisitions.verticalHeader().hide()
        self.acquisitions.horizontalHeader().setStretchLastSection(True)
        box.addWidget(self.acquisitions)
        return self.acquisitions_box

    def _features_box(self) -> QGroupBox:
        self.features_box = QGroupBox(tr("Per feature"))
        box = QVBoxLayout(self.features_box)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Name features by")))
        self.display_field = QComboBox()
        self.display_field.setObjectName("feature_display_field")
        self.display_field.setToolTip(tr("The attribute shown as the feature's name (click a row to zoom to it)"))
        row.addWidget(self.display_field, 1)
        self.save_features = QPushButton(tr("CSV…"))
        self.save_features.setObjectName("save_features_csv")
        self.save_features.setToolTip(tr("Save the table, one row per feature, joinable to the AOI layer"))
        self.save_features.clicked.connect(self.save_features_requested)
        row.addWidget(self.save_features)
        box.addLayout(row)
        self.features = QTableWidget(0, 0)
        self.features.setObjectName("feature_table")
        self.features.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.features.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.features.setSortingEnabled(True)
        self.features.verticalHeader().hide()
        self.features.cellClicked.connect(self._feature_row_clicked)
        self.display_field.currentIndexChanged.connect(
            lambda *_: self.display_field_changed.emit(self.display_field.currentData() or "")
        )
        box.addWidget(self.features)
        self._feature_rows: list[dict] = []
        self._feature_names: dict[int, str] = {}
        self._units: str | None = None
        return self.features_box

    # ----------------------------------------------------------------------------------------------
    def clear(self) -> None:
        self.findings = []
        self.diagnosis.setText(tr("Run a comparison to see why the two endpoints differ."))
        for label in self.number_labels.values():
            label.setText("–")
        self.histogram.clear()
        self.density.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.acquisitions.setRowCount(0)
        self.acquisitions_note.clear()
        self.acquisitions_box.hide()
        self.features.setRowCount(0)
        self._feature_rows = []
        self.features_box.hide()
        self.inspector.setText(tr("Pick the pixel inspector and hover the map."))

    def show_report(self, report: dict, run_folder: str | None = None) -> None:
        """Render ``report`` (keys ``grid``, ``stats``, ``scl``, ``shift``, ``diagnosis``, optional ``features``);
        ``run_folder`` (its ``run.json``) gives the acquisitions each side used."""
        diag = report.get("diagnosis", {})
        self.findings = findings(diag.get("explanation") or "")
        self.diagnosis.setText(findings_html(self.findings))
        self._units = display_units(report, report.get("quantity") or run_quantity(run_folder))
        self._show_numbers(report)
        self._show_plots(report)
        self._show_confusion(report.get("scl", {}).get("confusion") or [])
        self._show_acquisitions(run_folder)
        self.set_features(report.get("features") or [])

    def _show_numbers(self, report: dict) -> None:
        stats = report.get("stats", {})
        unit = unit_label(self._units)
        shift = report.get("shift", {})
        shares = report.get("scl", {}).get("shares", {})
        base_a, base_b = baselines(report)
        values = {
            "baselines": f"{base_a} / {base_b}",
            "bias": _num(stats.get("bias"), unit=unit),
            "rmse": _num(stats.get("rmse"), unit=unit),
            "r": f"{_num(stats.get('pearson_r'), '{:.4f}')}  (B = {_num(stats.get('fit_slope'), '{:.4f}')}·A "
            f"{_num(stats.get('fit_intercept'), '{:+.4g}')})",
            "shift": f"dx {_num(shift.get('dx_m'), '{:+.2f}', 'm')}, dy {_num(shift.get('dy_m'), '{:+.2f}', 'm')}, "
            f"|{_num(shift.get('magnitude_m'), '{:.2f}', 'm')}| ({tr('confidence')} "
            f"{_num(shift.get('quality'), '{:.2f}')})",
            "mismatch": f"{_num(shares.get('valid_only_a'), '{:.2%}')} / {_num(shares.get('valid_only_b'), '{:.2%}')}",
            "both_invalid": _num(shares.get("both_invalid"), "{:.2%}"),
            "n": _num(stats.get("n"), "{:,}"),
        }
        for key, text in values.items():
            self.number_labels[key].setText(text)

    def _show_plots(self, report: dict) -> None:
        stats = report.get("stats", {})
        unit = unit_label(self._units)
        hist = stats.get("histogram") or {}
        if hist.get("bin_edges") and hist.get("counts"):
            title = tr("B − A ({0})").format(unit) if unit else tr("B − A")
            self.histogram.setPixmap(
                histogram_pixmap(
                    hist["bin_edges"],
                    hist["counts"],
                    PLOT_WIDTH_PX,
                    title=title,
                    below=int(hist.get("below") or 0),
                    above=int(hist.get("above") or 0),
                )
            )
        density = report.get("density") or {}
        if density.get("counts"):
            self.density.setPixmap(
                density_pixmap(density["counts"], tuple(density["a_range"]), tuple(density["b_range"]), PLOT_WIDTH_PX)
            )

    def _show_confusion(self, matrix: list[list[int]]) -> None:
        present, percent = confusion_percent(matrix)
        self.confusion.setRowCount(len(present))
        self.confusion.setColumnCount(len(present))
        self.confusion.setVerticalHeaderLabels([f"{k} {SCL_CLASSES[k][0]}" for k in present])
        self.confusion.setHorizontalHeaderLabels([str(k) for k in present])
        for c, k in enumerate(present):
            self.confusion.horizontalHeaderItem(c).setToolTip(tr("B: {0} {1}").format(k, SCL_CLASSES[k][0]))
        for r, row in enumerate(percent):
            for c, share in enumerate(row):
                text = "" if share == 0 else ("<.1" if share < 0.1 else f"{share:.1f}")
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r != c and share:
                    item.setBackground(OFF_DIAGONAL)
                self.confusion.setItem(r, c, item)
        _fit_height(self.confusion)
        self.confusion_box.setVisible(bool(present))

    def _show_acquisitions(self, run_folder: str | None) -> None:
        acqs = acquisitions(run_folder)
        rows = acquisition_rows(acqs)
        self.acquisitions.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.acquisitions.setItem(r, c, item)
        self.acquisitions.resizeColumnsToContents()
        self.acquisitions.horizontalHeader().setStretchLastSection(True)
        _fit_height(self.acquisitions)
        counts = {side: len(acqs.get(side, [])) for side in ("a", "b")}
        if max(counts.values(), default=0) > 1:
            self.acquisitions_note.setText(
                tr(
                    "A combined {0} and B {1} acquisitions into one value per pixel (the mosaicking option decides "
                    "how: ORBIT keeps the most recent valid acquisition, SIMPLE mosaics the most recent on top). "
                    "Tick 'One comparison per date' in Setup to compare each date separately."
                ).format(counts["a"], counts["b"])
            )
        else:
            self.acquisitions_note.clear()
        self.acquisitions_note.setVisible(bool(self.acquisitions_note.text()))
        self.acquisitions_box.setVisible(bool(rows))

    # -- per-feature table ----------------------------------------------------------------------------
    def set_display_fields(self, fields: list[str], current: str = "") -> None:
        """Attribute names offered as feature names (the AOI layer's fields)."""
        self.display_field.blockSignals(True)
        self.display_field.clear()
        self.display_field.addItem(tr("Feature id"), "")
        for name in fields:
            self.display_field.addItem(name, name)
        self.display_field.setCurrentIndex(max(0, self.display_field.findData(current)))
        self.display_field.blockSignals(False)

    def feature_rows(self) -> list[dict]:
        return list(self._feature_rows)

    def feature_names(self) -> dict[int, str]:
        return dict(self._feature_names)

    def set_feature_names(self, names: dict[int, str]) -> None:
        self._feature_names = dict(names)
        self.set_features(self._feature_rows)

    def set_features(self, rows: list[dict]) -> None:
        self._feature_rows = list(rows)
        if not rows:
            self.features_box.hide()
            return
        columns = [k for k in rows[0] if k != "feature_id"]
        unit = unit_label(self._units)
        headers = [tr("Feature")] + [tr(FEATURE_HEADERS.get(k, k)) for k in columns]
        headers = [h + (f" ({unit})" if unit and k.startswith("mean") else "") for h, k in zip(headers, ["", *columns])]
        headers = [h + (" (%)" if k in SHARE_COLUMNS else "") for h, k in zip(headers, ["", *columns])]
        self.features.setSortingEnabled(False)
        self.features.clear()
        self.features.setColumnCount(len(headers))
        self.features.setHorizontalHeaderLabels(headers)
        self.features.setRowCount(len(rows))
        for r, row in enumerate(rows):
            fid = int(row["feature_id"])
            name = self._feature_names.get(fid, str(fid))
            first = _SortItem(name, None if name != str(fid) else float(fid))
            first.setData(Qt.ItemDataRole.UserRole, fid)
            self.features.setItem(r, 0, first)
            for c, key in enumerate(columns, start=1):
                value = row.get(key)
                if key in SHARE_COLUMNS and value is not None:
                    text = f"{100 * value:.1f}"
                elif isinstance(value, float):
                    text = _num(value)
                else:
                    text = "–" if value is None else str(value)
                item = _SortItem(text, float(value) if isinstance(value, (int, float)) else None)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.features.setItem(r, c, item)
        self.features.setSortingEnabled(True)
        self.features.resizeColumnsToContents()
        if len(rows) <= MAX_FEATURE_ROWS_SHOWN:
            _fit_height(self.features)
        self.features_box.show()

    def _feature_row_clicked(self, row: int, _column: int) -> None:
        item = self.features.item(row, 0)
        if item is not None:
            self.feature_clicked.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def show_pixel(self, text: str) -> None:
        self.inspector.setText(text)
