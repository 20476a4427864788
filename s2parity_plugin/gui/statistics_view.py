"""The dock's Statistics view: statistics parity of every polygon of the AOI layer over a date range.

It reads the AOI layer, selection choice, endpoints and credentials from the dock's comparison form
(``dock.form``), shows the processing-unit estimate before the run (and asks for confirmation when it exceeds the
per-minute PU budget × 60), runs ``s2parity:comparestatistics`` through the dock's :class:`ProcessingRun` (the
same algorithm as the toolbox), then loads the summary layer styled graduated by mean |Δ|, fills the worst
feature × date table (click → select and zoom to the feature) and charts the selected feature's series
(:mod:`.charts_timeseries`). Everything shown is read from the algorithm's outputs on disk.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsFeatureRequest,
    QgsGraduatedSymbolRenderer,
    QgsProject,
    QgsRendererRange,
    QgsSymbol,
    QgsVectorLayer,
)
from qgis.gui import QgsFieldComboBox
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QDate, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QPainter
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.adapters.compat import GEOMETRY_POLYGON
from s2parity_plugin.gui.charts_timeseries import Series, draw_timeseries, series_from_rows
from s2parity_plugin.gui.comparison_form import needs_credentials
from s2parity_plugin.i18n import tr

STATS_ALG = "s2parity:comparestatistics"
WORST_ROWS = 50
#: Classes of mean |Δ| for the summary layer (NDVI units for the NDVI preset): upper edges and colours.
DELTA_CLASSES = ((0.005, "#1a9641"), (0.01, "#a6d96a"), (0.02, "#ffffbf"), (0.05, "#fdae61"), (1e9, "#d7191c"))


class ChartWidget(QWidget):
    """Paints the current :class:`Series` (or a hint) with :func:`draw_timeseries`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: Series | None = None
        self.setMinimumHeight(240)

    def set_series(self, series: Series | None) -> None:
        self.series = series
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        rect = QRectF(0, 0, self.width(), self.height())
        if self.series is None:
            painter.fillRect(rect, QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, tr("Run, then pick a feature to see its series"))
        else:
            draw_timeseries(painter, rect, self.series)
        painter.end()


def graduated_renderer(field: str = "mean_abs_delta", unit: str = "NDVI") -> QgsGraduatedSymbolRenderer:
    """Graduated renderer of ``field`` with the fixed :data:`DELTA_CLASSES`, legend in ``unit``."""
    ranges = []
    low = 0.0
    for high, colour in DELTA_CLASSES:
        symbol = QgsSymbol.defaultSymbol(GEOMETRY_POLYGON)
        symbol.setColor(QColor(colour))
        label = f"≥ {low:g} {unit}" if high >= 1e9 else f"{low:g} – {high:g} {unit}"
        ranges.append(QgsRendererRange(low, high, symbol, label))
        low = high
    return QgsGraduatedSymbolRenderer(field, ranges)


def read_rows(csv_path: Path) -> list[dict[str, Any]]:
    """The statistics table rows from its CSV (text values; charts and the table convert)."""
    with open(csv_path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class StatisticsView(QWidget):
    """The Statistics tab (see the module docstring)."""

    def __init__(self, dock: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dock = dock
        self.run = None
        self.rows: list[dict[str, Any]] = []
        self.report: dict[str, Any] = {}
        self.summary_layer: QgsVectorLayer | None = None
        self.outputs: dict[str, Any] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        layout.addLayout(self._build_buttons())
        self.estimate_label = QLabel()
        self.estimate_label.setObjectName("stats_estimate")
        self.estimate_label.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("stats_status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.chart = ChartWidget(self)
        self.chart.setObjectName("stats_chart")
        self.worst = QTableWidget(0, 5)
        self.worst.setObjectName("stats_worst")
        self.worst.setHorizontalHeaderLabels([tr("Feature"), tr("Date"), tr("A"), tr("B"), tr("Δ")])
        self.worst.cellClicked.connect(self._worst_clicked)
        for w in (self.estimate_label, self.progress, self.status, self.chart, QLabel(tr("Worst feature × date")),
                  self.worst):  # fmt: skip
            layout.addWidget(w)
        self._layer_changed()

    # -- layout -------------------------------------------------------------------------------------------------
    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.id_field = QgsFieldComboBox()
        self.id_field.setObjectName("stats_id_field")
        self.date_from = QDateEdit(QDate(2020, 9, 1))
        self.date_to = QDateEdit(QDate(2020, 10, 31))
        for d in (self.date_from, self.date_to):
            d.setDisplayFormat("yyyy-MM-dd")
            d.setCalendarPopup(True)
        self.interval = QLineEdit("P1D")
        self.preset = QComboBox()
        for p in ("NDVI", "B04", "B08"):
            self.preset.addItem(p, p)
        self.max_requests = self._spin(300.0, 1.0, 100000.0, 0)
        self.max_pu = self._spin(300.0, 0.01, 100000.0, 2)
        self.tolerance = self._spin(0.01, 0.0, 10000.0, 4)
        self.output_folder = QLineEdit()
        self.output_folder.setPlaceholderText(tr("Folder for the table, summary layer, report and resume cache"))
        for label, widget in (
            (tr("Feature id field"), self.id_field),
            (tr("From"), self.date_from),
            (tr("To"), self.date_to),
            (tr("Interval (ISO-8601)"), self.interval),
            (tr("Value"), self.preset),
            (tr("Requests / minute"), self.max_requests),
            (tr("PU / minute"), self.max_pu),
            (tr("Tolerance |Δ|"), self.tolerance),
            (tr("Output folder"), self.output_folder),
        ):
            form.addRow(label, widget)
        combo = getattr(self.dock.form, "aoi_layer", None)
        if combo is not None:
            combo.layerChanged.connect(self._layer_changed)
        return form

    def _spin(self, value: float, low: float, high: float, decimals: int) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(decimals)
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.run_button = QPushButton(tr("Compare statistics"))
        self.run_button.setObjectName("stats_run")
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setObjectName("stats_cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton(tr("Export table…"))
        self.export_button.setObjectName("stats_export")
        self.export_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self.choose_export)
        for b in (self.run_button, self.cancel_button, self.export_button):
            row.addWidget(b)
        return row

    def _layer_changed(self, *_: Any) -> None:
        combo = getattr(self.dock.form, "aoi_layer", None)
        layer = combo.currentLayer() if combo is not None else None
        self.id_field.setLayer(layer if isinstance(layer, QgsVectorLayer) else None)
        if layer is not None and not self.id_field.currentField() and layer.fields().count():
            self.id_field.setField(layer.fields().names()[0])

    # -- run ----------------------------------------------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """The ``s2parity:comparestatistics`` parameters from this view and the dock's form."""
        form = self.dock.form
        folder = Path(self.output_folder.text().strip() or form.output_folder.filePath().strip() or ".")
        params: dict[str, Any] = {
            "INPUT": form.aoi_layer.currentLayer(),
            "FIELD_ID": self.id_field.currentField(),
            "SELECTED_ONLY": form.selected_only.isChecked(),
            "DATE_FROM": self.date_from.date().toString("yyyy-MM-dd"),
            "DATE_TO": self.date_to.date().toString("yyyy-MM-dd"),
            "INTERVAL": self.interval.text().strip() or "P1D",
            "PRESET": self.preset.currentData(),
            "RESOLUTION": form.resolution.value(),
            "MAX_REQUESTS_PER_MINUTE": self.max_requests.value(),
            "MAX_PU_PER_MINUTE": self.max_pu.value(),
            "TOLERANCE": self.tolerance.value(),
            "OUTPUT_TABLE": str(folder / "statistics.gpkg"),
            "OUTPUT_LAYER": str(folder / "statistics_summary.gpkg"),
            "OUTPUT_REPORT": str(folder / "statistics_report.json"),
        }
        for side, picker in (("A", form.endpoint_a), ("B", form.endpoint_b)):
            params[f"ENDPOINT_{side}"] = picker.profile_id()
            # no credentials for profiles that need none (their hidden fields may hold stale values)
            params[f"AUTH_{side}"] = picker.auth_value() if needs_credentials(picker.profile_id()) else ""
        return params

    def estimate(self, params: dict[str, Any]) -> float:
        """PU estimate per endpoint before the run (no request sent); raises an input error for bad input."""
        from s2parity_plugin.core.compare import parse_invalid_classes
        from s2parity_plugin.core.model.spec import date_range
        from s2parity_plugin.core.statistics import evalscripts, intervals
        from s2parity_plugin.core.statistics.requests import StatisticsSettings, build_requests, quick_pu_estimate
        from s2parity_plugin.processing.compare_statistics import snapshot_features

        layer = params["INPUT"]
        features, _ = snapshot_features(layer, params["FIELD_ID"], params["SELECTED_ONLY"])
        d0, d1 = date_range(params["DATE_FROM"], params["DATE_TO"])
        settings = StatisticsSettings(
            d0,
            d1,
            intervals.parse_interval(params["INTERVAL"]),
            evalscripts.preset_evalscript(params["PRESET"], parse_invalid_classes(None)),
            evalscripts.input_band_count(params["PRESET"]),
            resolution_m=params["RESOLUTION"],
        )
        requests = build_requests([(f, g.asWkt()) for f, g in features], layer.crs().authid(), settings)
        return quick_pu_estimate(requests, settings)

    def start(self, confirm: Any = None) -> bool:
        """Estimate, confirm when over the budget, then run; returns False when nothing was started."""
        from s2parity_plugin.core.errors import S2ParityError
        from s2parity_plugin.gui.dock import ProcessingRun

        if self.run is not None or self.dock.form is None:
            return False
        params = self.parameters()
        try:
            pu = self.estimate(params)
        except S2ParityError as exc:
            self._status(str(exc), error=True)
            return False
        cap = params["MAX_PU_PER_MINUTE"] * 60
        minutes = pu / max(params["MAX_PU_PER_MINUTE"], 1e-9)
        self.estimate_label.setText(
            tr("PU estimate: up to {pu:.2f} PU per endpoint (≥ {m:.1f} min at {b:g} PU/min).").format(
                pu=pu, m=minutes, b=params["MAX_PU_PER_MINUTE"]
            )
        )
        if pu > cap and not (confirm or self._confirm)(pu, cap):
            self._status(tr("Not started: the PU estimate exceeds the budget."))
            return False
        Path(params["OUTPUT_TABLE"]).parent.mkdir(parents=True, exist_ok=True)
        self._drop_summary_layer()  # its GeoPackage is about to be rewritten
        self.run = ProcessingRun(STATS_ALG, params, self._done, self._progress)
        self._run_field = params["FIELD_ID"]
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._status(tr("Running…"))
        self.run.start()
        return True

    def _progress(self, percent: float) -> None:
        if not sip.isdeleted(self):
            self.progress.setValue(int(percent))

    def _confirm(self, pu: float, cap: float) -> bool:
        answer = QMessageBox.question(
            self,
            tr("Statistics parity"),
            tr(
                "The estimate is {pu:.1f} PU per endpoint, more than {cap:.0f} PU (one hour at your PU/minute "
                "budget). Run anyway?"
            ).format(pu=pu, cap=cap),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self._status(tr("Cancelling… answers received so far stay in the cache for the next run."))

    def _done(self, run: Any, ok: bool, results: dict) -> None:
        if sip.isdeleted(self):
            return
        self.run = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if not ok:
            self._status(tr("Cancelled.") if run.cancelled else run.error_text(), error=not run.cancelled)
            return
        self.load_results(results)

    # -- results ------------------------------------------------------------------------------------------------
    def load_results(self, results: dict) -> None:
        """Show the outputs of a finished run (table CSV, report JSON, summary layer)."""
        self.outputs = {**results, "FIELD_ID": getattr(self, "_run_field", "")}
        table = Path(results["OUTPUT_TABLE"])
        self.rows = read_rows(table.with_suffix(".csv"))
        self.report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
        self._load_layer(results["OUTPUT_LAYER"])
        self._fill_worst()
        totals = self.report.get("totals", {})
        partial = (
            tr(" Partial: {n} features failed.").format(n=totals.get("features_failed"))
            if totals.get("features_failed")
            else ""
        )
        self._status(" ".join(self.report.get("diagnosis", [])[:2]) + partial, error=bool(partial))
        self.export_button.setEnabled(True)
        first = self.rows[0]["feature_id"] if self.rows else None
        if first is not None:
            self.show_feature(first)

    def _load_layer(self, source: str) -> None:
        layer = QgsVectorLayer(str(source), tr("Statistics parity (mean |Δ|)"), "ogr")
        if not layer.isValid():
            return
        layer.setRenderer(graduated_renderer(unit=self._unit()))
        iface = getattr(self.dock, "iface", None)
        previous = iface.activeLayer() if iface is not None else None
        QgsProject.instance().addMapLayer(layer)
        if iface is not None and previous is not None and not sip.isdeleted(previous):
            iface.setActiveLayer(previous)  # the form's AOI stays the input layer, not the summary
        layer.selectionChanged.connect(self._selection_changed)
        self.summary_layer = layer

    def _drop_summary_layer(self) -> None:
        layer, self.summary_layer = self.summary_layer, None
        if layer is not None and not sip.isdeleted(layer) and QgsProject.instance().mapLayer(layer.id()):
            QgsProject.instance().removeMapLayer(layer.id())

    def _fill_worst(self) -> None:
        rows = [r for r in self.rows if r.get("delta_mean") not in (None, "")]
        rows.sort(key=lambda r: -abs(float(r["delta_mean"])))
        rows = rows[:WORST_ROWS]
        self.worst.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (r["feature_id"], r["date"], r["mean_a"], r["mean_b"], r["delta_mean"])
            for j, value in enumerate(cells):
                text = f"{float(value):+.4f}" if j == 4 else (f"{float(value):.4f}" if j in (2, 3) else str(value))
                self.worst.setItem(i, j, QTableWidgetItem(text))

    def _worst_clicked(self, row: int, _column: int) -> None:
        item = self.worst.item(row, 0)
        if item is not None:
            self.select_and_zoom(item.text())

    def _id_field(self) -> str:
        """The id field of the run shown (the combo may follow another active layer meanwhile)."""
        return self.outputs.get("FIELD_ID") or self.id_field.currentField()

    def select_and_zoom(self, feature_id: str) -> None:
        """Select the feature in the summary layer, zoom the map to it and chart its series."""
        layer = self.summary_layer
        if layer is not None:
            expression = f"\"{self._id_field()}\" = '{feature_id}'"
            ids = [f.id() for f in layer.getFeatures(QgsFeatureRequest().setFilterExpression(expression))]
            layer.selectByIds(ids)
            canvas = self.dock.iface.mapCanvas() if self.dock.iface is not None else None
            if canvas is not None and ids:
                canvas.zoomToSelected(layer)
        self.show_feature(feature_id)

    def _selection_changed(self, *_: Any) -> None:
        layer = self.summary_layer
        if layer is None or not layer.selectedFeatureCount():
            return
        feat = next(layer.getSelectedFeatures())
        self.show_feature(str(feat[self._id_field()]))

    def show_feature(self, feature_id: str) -> None:
        """Chart the series of ``feature_id``."""
        self.chart.set_series(series_from_rows(self.rows, feature_id, self.tolerance.value(), self._unit()))

    def _unit(self) -> str:
        """Unit of the compared value, for the legend and the chart (NDVI, or reflectance for band presets)."""
        return "NDVI" if self.preset.currentData() == "NDVI" else tr("reflectance")

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export the statistics table"), "", "CSV (*.csv);;GeoPackage (*.gpkg)"
        )
        if path:
            self.export_table(path)

    def export_table(self, path: str) -> Path:
        """Copy the table (CSV or GeoPackage by the extension of ``path``) there."""
        source = Path(self.outputs["OUTPUT_TABLE"])
        target = Path(path)
        shutil.copyfile(source.with_suffix(".csv") if target.suffix.lower() == ".csv" else source, target)
        return target

    def _status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def shutdown(self) -> None:
        """Abandon a running run (the dock is going away)."""
        if self.run is not None:
            self.run.abandon()
            self.run = None
