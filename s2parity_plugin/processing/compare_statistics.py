"""``s2parity:comparestatistics``: per-feature, per-interval statistics from both Statistical APIs, compared.

Thin: parameters are checked and the features snapshotted in ``prepareAlgorithm`` (main thread; every bad input is
refused there with a message saying what to change, before anything is sent or written); ``processAlgorithm``
runs :func:`s2parity_plugin.core.statistics.job.run_job` and writes the summary layer.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)

import s2parity_plugin.core.service.endpoints  # noqa: F401  (needs sentinelhub: the provider hides this algorithm without it)
from s2parity_plugin.adapters.compat import (
    FIELD_DOUBLE,
    FIELD_INT,
    FIELD_STRING,
    GEOMETRY_POLYGON,
    NUMBER_DOUBLE,
    SOURCE_VECTOR_ANY_GEOMETRY,
    SOURCE_VECTOR_POLYGON,
)
from s2parity_plugin.core.errors import S2ParityError
from s2parity_plugin.i18n import tr
from s2parity_plugin.processing.base import EndpointPairAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread

PRESETS = ("NDVI", "B04", "B08", "CUSTOM")
DEFAULT_INVALID = "1,2,3,7,8,9,10,11"
SUMMARY_TYPES = {
    "intervals_compared": FIELD_INT,
    "only_a": FIELD_INT,
    "only_b": FIELD_INT,
    "mean_delta": FIELD_DOUBLE,
    "mean_abs_delta": FIELD_DOUBLE,
    "max_abs_delta": FIELD_DOUBLE,
    "share_over_tolerance": FIELD_DOUBLE,
    "worst_date": FIELD_STRING,
    "baselines_seen": FIELD_STRING,
    "status": FIELD_STRING,
}


class CompareStatisticsAlgorithm(EndpointPairAlgorithm):
    """Statistical API of endpoint A and B per feature and interval → table, summary layer, report."""

    NAME = "comparestatistics"
    DISPLAY_NAME = "Compare statistics (Statistical API of A and B per feature and date)"
    GROUP = "Compare"
    HELP = (
        "Asks the Statistical API of endpoint A and endpoint B for the statistics of every polygon of INPUT "
        "(one request per feature per side over the whole date range; the API aggregates per INTERVAL, default "
        "P1D = one row per acquisition day) and compares them: OUTPUT_TABLE has one row per feature × interval "
        "with A beside B, Δmean = B − A, relative Δ, ΔstDev, ΔsampleCount, ΔnoDataCount (the mask changed) and "
        "the processing baselines each side served (one catalog search per side); intervals present on one "
        "side only are rows of their own. OUTPUT_LAYER holds the polygons with summary fields, OUTPUT_REPORT a "
        "JSON report with a diagnosis. PRESET: NDVI, B04 or B08 (reflectance; SCL classes in INVALID_CLASSES "
        "are masked through dataMask) or CUSTOM with EVALSCRIPT, which must have a dataMask output. Requests "
        "are paced to MAX_REQUESTS_PER_MINUTE and MAX_PU_PER_MINUTE per endpoint (CDSE free tier: 300 / 300). "
        "Answers are kept next to OUTPUT_TABLE (statistics_cache/), so a rerun after a cancel or an outage only "
        "fetches what is missing."
    )

    INPUT = "INPUT"
    FIELD_ID = "FIELD_ID"
    SELECTED_ONLY = "SELECTED_ONLY"
    DATE_FROM = "DATE_FROM"
    DATE_TO = "DATE_TO"
    INTERVAL = "INTERVAL"
    PRESET = "PRESET"
    EVALSCRIPT = "EVALSCRIPT"
    INVALID_CLASSES = "INVALID_CLASSES"
    RESOLUTION = "RESOLUTION"
    MAX_REQUESTS_PER_MINUTE = "MAX_REQUESTS_PER_MINUTE"
    MAX_PU_PER_MINUTE = "MAX_PU_PER_MINUTE"
    TOLERANCE = "TOLERANCE"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_LAYER = "OUTPUT_LAYER"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def initAlgorithm(self, config: dict | None = None) -> None:
        self.addParameter(
            QgsProcessingParameterVectorLayer(self.INPUT, tr("Polygon layer"), [SOURCE_VECTOR_ANY_GEOMETRY])
        )
        self.addParameter(
            QgsProcessingParameterField(self.FIELD_ID, tr("Feature id field (unique values)"), None, self.INPUT)
        )
        self.addParameter(QgsProcessingParameterBoolean(self.SELECTED_ONLY, tr("Selected features only"), False))
        self.addParameter(QgsProcessingParameterString(self.DATE_FROM, tr("Start date (YYYY-MM-DD, UTC)")))
        self.addParameter(QgsProcessingParameterString(self.DATE_TO, tr("End date (YYYY-MM-DD, UTC, inclusive)")))
        self.addParameter(
            QgsProcessingParameterString(self.INTERVAL, tr("Aggregation interval (ISO-8601, ≥ 1 day)"), "P1D")
        )
        self.addParameter(
            QgsProcessingParameterEnum(self.PRESET, tr("Preset"), list(PRESETS), False, "NDVI", usesStaticStrings=True)
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.EVALSCRIPT, tr("Custom evalscript (PRESET = CUSTOM; needs a dataMask output)"), "", True, True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.INVALID_CLASSES, tr("SCL classes masked through dataMask (comma-separated, 0–11)"), DEFAULT_INVALID
            )
        )
        self.add_endpoint_parameters()
        self._numbers()
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_TABLE,
                tr("Statistics table (GeoPackage; a CSV is written beside it)"),
                "GeoPackage (*.gpkg)",
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT_LAYER, tr("Summary layer"), SOURCE_VECTOR_POLYGON)
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, tr("Report (JSON)"), "JSON (*.json)")
        )

    def _numbers(self) -> None:
        double = NUMBER_DOUBLE
        for key, label, default, minimum in (
            (self.RESOLUTION, tr("Resolution (m)"), 10.0, 1.0),
            (self.MAX_REQUESTS_PER_MINUTE, tr("Maximum requests per minute per endpoint"), 300.0, 1.0),
            (self.MAX_PU_PER_MINUTE, tr("Maximum processing units per minute per endpoint"), 300.0, 0.01),
            (self.TOLERANCE, tr("Tolerance for |Δmean| (units of the value; NDVI)"), 0.01, 0.0),
        ):
            self.addParameter(QgsProcessingParameterNumber(key, label, double, default, False, minimum))

    # -- main thread ----------------------------------------------------------------------------------------------
    def prepareAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        try:
            self._prepared = self._prepare(parameters, context, feedback)
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        return True

    def _prepare(self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> dict:
        from s2parity_plugin.core.service.rate_limit import Budget
        from s2parity_plugin.core.statistics.job import StatisticsJob, prepare
        from s2parity_plugin.core.statistics.requests import quick_pu_estimate
        from s2parity_plugin.core.statistics.runner import Side

        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        field = self.parameterAsString(parameters, self.FIELD_ID, context)
        selected = self.parameterAsBoolean(parameters, self.SELECTED_ONLY, context)
        features, attributes = snapshot_features(layer, field, selected)
        settings, value_output = self._settings(parameters, context)
        budget = Budget(
            self.parameterAsDouble(parameters, self.MAX_REQUESTS_PER_MINUTE, context),
            self.parameterAsDouble(parameters, self.MAX_PU_PER_MINUTE, context),
        )
        side_a, side_b = (Side(s, self.resolve_side(parameters, context, s), budget) for s in ("A", "B"))
        job = StatisticsJob(
            features=[(fid, geom.asWkt()) for fid, geom in features],
            layer_epsg=layer.crs().authid() or layer.crs().toWkt(),
            settings=settings,
            side_a=side_a,
            side_b=side_b,
            folder=Path(),
            value_output=value_output,
            tolerance=self.parameterAsDouble(parameters, self.TOLERANCE, context),
        )
        requests = prepare(job)
        estimate = quick_pu_estimate(requests, settings)
        feedback.pushInfo(
            tr("{n} features; PU estimate before the catalog search: up to {pu:.2f} PU per endpoint.").format(
                n=len(requests), pu=estimate
            )
        )
        if budget.pu_per_minute and estimate > budget.pu_per_minute * 60:
            feedback.pushWarning(
                tr(
                    "The PU estimate ({pu:.1f}) exceeds MAX_PU_PER_MINUTE × 60 ({cap:.0f}): the run will take more "
                    "than an hour at that budget and spend that many processing units; narrow the dates, the "
                    "features or the resolution to use less."
                ).format(pu=estimate, cap=budget.pu_per_minute * 60)
            )
        return {"job": job, "requests": requests, "features": features, "attributes": attributes, "layer": layer}

    def _settings(self, parameters: dict, context: QgsProcessingContext) -> tuple[Any, str]:
        from s2parity_plugin.core.compare import parse_invalid_classes
        from s2parity_plugin.core.model.spec import date_range
        from s2parity_plugin.core.statistics import evalscripts, intervals
        from s2parity_plugin.core.statistics.requests import StatisticsSettings

        d0, d1 = date_range(
            self.parameterAsString(parameters, self.DATE_FROM, context),
            self.parameterAsString(parameters, self.DATE_TO, context),
        )
        interval = intervals.parse_interval(self.parameterAsString(parameters, self.INTERVAL, context) or "P1D")
        preset = self.parameterAsEnumString(parameters, self.PRESET, context) or "NDVI"
        if preset == "CUSTOM":
            script = evalscripts.check_custom(self.parameterAsString(parameters, self.EVALSCRIPT, context))
            output = evalscripts.value_output(script)
        else:
            invalid = parse_invalid_classes(self.parameterAsString(parameters, self.INVALID_CLASSES, context))
            script, output = evalscripts.preset_evalscript(preset, invalid), evalscripts.VALUE_OUTPUT
        settings = StatisticsSettings(
            date_from=d0,
            date_to=d1,
            interval=interval,
            evalscript=script,
            input_bands=evalscripts.input_band_count(preset),
            resolution_m=self.parameterAsDouble(parameters, self.RESOLUTION, context),
        )
        return settings, output

    # -- any thread -----------------------------------------------------------------------------------------------
    @in_python_thread
    def processAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        from s2parity_plugin.adapters.auth import qgis_proxies
        from s2parity_plugin.core.statistics.job import run_job
        from s2parity_plugin.core.statistics.runner import RunControl

        prepared = self._prepared
        job = prepared["job"]
        table_path = Path(self.parameterAsFileOutput(parameters, self.OUTPUT_TABLE, context))
        report_path = Path(self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context))
        job.folder, job.table_path, job.report_path = table_path.parent, table_path, report_path
        job.proxies = qgis_proxies()
        cancel = threading.Event()
        if feedback.isCanceled():
            cancel.set()

        def progress(done: int, total: int) -> None:
            feedback.setProgress(100.0 * done / max(total, 1))

        try:
            control = RunControl(
                cancel=cancel, is_cancelled=feedback.isCanceled, progress=progress, log=feedback.pushInfo
            )
            outcome = run_job(job, prepared["requests"], control)
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        if outcome.result.cancelled:
            raise QgsProcessingException(
                tr(
                    "Cancelled. The answers received so far are kept in {folder}: run again to fetch only the rest."
                ).format(folder=table_path.parent / "statistics_cache")
            )
        dest = self._write_layer(parameters, context, outcome.summaries)
        self._log(feedback, outcome)
        return {self.OUTPUT_TABLE: str(table_path), self.OUTPUT_LAYER: dest, self.OUTPUT_REPORT: str(report_path)}

    def _write_layer(self, parameters: dict, context: QgsProcessingContext, summaries: dict) -> str:
        prepared = self._prepared
        layer = prepared["layer"]
        fields = QgsFields(layer.fields())
        for name, kind in SUMMARY_TYPES.items():
            fields.append(QgsField(name, kind))
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT_LAYER, context, fields, layer.wkbType(), layer.crs())
        if sink is None:
            raise QgsProcessingException(tr("Could not create the summary layer: choose another output."))
        for fid, geom in prepared["features"]:
            feat = QgsFeature(fields)
            feat.setGeometry(geom)
            summary = summaries.get(fid, {})
            feat.setAttributes(list(prepared["attributes"][fid]) + [summary.get(n) for n in SUMMARY_TYPES])
            sink.addFeature(feat, QgsFeatureSink.Flag.FastInsert)
        return dest

    def _log(self, feedback: QgsProcessingFeedback, outcome: Any) -> None:
        report = outcome.report
        totals = report["totals"]
        feedback.pushInfo(
            tr("{rows} rows, {n} intervals compared, {over} over the tolerance; PU spent {pu}; {f} from cache.").format(
                rows=totals["rows"],
                n=totals["intervals_compared"],
                over=totals["over_tolerance"],
                pu=", ".join(f"{k} {v:.2f}" for k, v in totals["pu_spent"].items()),
                f=totals["requests_from_cache"],
            )
        )
        for fid, error in report["failures"].items():
            feedback.reportError(tr("Feature {fid} failed: {error}").format(fid=fid, error=error), False)
        if report["failures"]:
            feedback.pushWarning(
                tr("Partial result: {n} features failed (listed above).").format(n=len(report["failures"]))
            )
        for line in report["diagnosis"]:
            feedback.pushInfo(line)


def snapshot_features(
    layer: QgsVectorLayer | None, field: str, selected_only: bool
) -> tuple[list[tuple[str, QgsGeometry]], dict[str, list]]:
    """``[(id as text, geometry)]`` and ``{id: attributes}`` of the features to compare; raises an input error
    naming what to change (layer type, empty layer/selection, id field missing or not unique)."""
    from s2parity_plugin.core.errors import AoiError

    if layer is None or not layer.isValid():
        raise AoiError(tr("Choose a polygon layer as INPUT."))
    if layer.geometryType() != GEOMETRY_POLYGON:
        kind = QgsWkbTypes.geometryDisplayString(layer.geometryType()).lower()
        raise AoiError(
            tr("The layer '{name}' is a {kind} layer: choose a polygon layer (fields, grid cells).").format(
                name=layer.name(), kind=kind
            )
        )
    if layer.featureCount() == 0:
        raise AoiError(
            tr("The layer '{name}' has no features: choose a layer with polygons.").format(name=layer.name())
        )
    if selected_only and layer.selectedFeatureCount() == 0:
        raise AoiError(
            tr("No feature of '{name}' is selected: select the polygons or untick 'Selected features only'.").format(
                name=layer.name()
            )
        )
    index = layer.fields().indexOf(field or "")
    if index < 0:
        raise AoiError(
            tr("The id field '{field}' is not a field of '{name}': choose one of {fields}.").format(
                field=field, name=layer.name(), fields=", ".join(layer.fields().names())
            )
        )
    request = QgsFeatureRequest()
    features = layer.getSelectedFeatures(request) if selected_only else layer.getFeatures(request)
    out, attributes = [], {}
    for feat in features:
        value = feat.attribute(index)
        key = "" if value is None else str(value)
        if key in ("", "NULL") or key in attributes:
            raise AoiError(
                tr(
                    "The id field '{field}' is not unique (value {value!r} appears twice or is empty): choose a field "
                    "with one distinct value per feature, e.g. 'fid'."
                ).format(field=field, value=key)
            )
        if not feat.hasGeometry():
            continue
        attributes[key] = feat.attributes()
        out.append((key, QgsGeometry(feat.geometry())))
    if not out:
        raise AoiError(tr("The features have no geometry: choose a layer with polygons."))
    return out, attributes
