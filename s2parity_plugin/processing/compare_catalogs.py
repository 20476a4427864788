"""``s2parity:comparecatalogs``: the archive parity timeline of an AOI and period, from both catalogs alone.

Main thread (:meth:`prepareAlgorithm`): the AOI layer and its selection, the authentication manager, proxies.
Any thread (:meth:`processAlgorithm`): the QGIS-free ``core.archive`` with plain values, then the table sink and
the JSON report. No processing units are used: only Catalog API searches.
"""

from __future__ import annotations

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from s2parity_plugin.adapters.compat import (
    FIELD_BOOL,
    FIELD_DOUBLE,
    FIELD_INT,
    FIELD_STRING,
    NUMBER_DOUBLE,
    SOURCE_VECTOR,
    SOURCE_VECTOR_POLYGON,
    WKB_NO_GEOMETRY,
)
from s2parity_plugin.core.errors import EndpointConfigError, S2ParityError
from s2parity_plugin.core.service.endpoints import Endpoint
from s2parity_plugin.i18n import tr
from s2parity_plugin.processing.base import EndpointPairAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread

_FIELD_TYPES = {"str": FIELD_STRING, "int": FIELD_INT, "float": FIELD_DOUBLE, "bool": FIELD_BOOL}


class CompareCatalogsAlgorithm(EndpointPairAlgorithm):
    """Which acquisitions of a period the two deployments will serve differently, and why."""

    NAME = "comparecatalogs"
    DISPLAY_NAME = tr("Compare catalogs (archive parity timeline)")
    GROUP = "Compare"
    HELP = tr(
        "Searches the Sentinel-2 L2A catalogs of endpoint A and endpoint B over the AOI for the whole period (years "
        "are fine; no processing units are used), matches the same acquisitions across both by tile and sensing "
        "time, and says for each what a pixel comparison will find: the same product, different processing "
        "baselines (with what that implies: BOA offset, GRI geolocation refinement, Sen2Cor/SCL version), or "
        "missing on one side.\n\nOUTPUT_TABLE: one row per acquisition (GeoPackage table or CSV). OUTPUT_REPORT: "
        "JSON with the periods (contiguous dates with the same baseline pair and expectation), the share expected "
        "to differ and a diagnosis in words.\nDates: YYYY-MM-DD (UTC, inclusive). Periods over 10 years are "
        "searched too, after the number of catalog requests is logged. An endpoint that cannot be reached gives "
        "an incomplete report with the other side's list."
    )

    AOI = "AOI"
    SELECTED_ONLY = "SELECTED_ONLY"
    DATE_FROM = "DATE_FROM"
    DATE_TO = "DATE_TO"
    MAX_CLOUD_COVERAGE = "MAX_CLOUD_COVERAGE"
    OUTPUT_TABLE = "OUTPUT_TABLE"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def initAlgorithm(self, config: dict | None = None) -> None:
        self.addParameter(
            QgsProcessingParameterVectorLayer(self.AOI, tr("AOI (polygon layer)"), [SOURCE_VECTOR_POLYGON])
        )
        self.addParameter(QgsProcessingParameterBoolean(self.SELECTED_ONLY, tr("Selected features only"), False))
        self.addParameter(QgsProcessingParameterString(self.DATE_FROM, tr("Start date (YYYY-MM-DD, UTC)")))
        self.addParameter(QgsProcessingParameterString(self.DATE_TO, tr("End date (YYYY-MM-DD, UTC, inclusive)")))
        self.add_endpoint_parameters()
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_CLOUD_COVERAGE,
                tr("Maximum cloud cover (%)"),
                NUMBER_DOUBLE,
                100.0,
                False,
                0.0,
                100.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT_TABLE, tr("Acquisitions (one row each)"), SOURCE_VECTOR)
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, tr("Timeline report (JSON)"), "JSON (*.json)")
        )

    # -- main thread ----------------------------------------------------------------------------------------------
    def prepareAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        from s2parity_plugin.adapters.aoi import aoi_from_layer
        from s2parity_plugin.adapters.auth import qgis_proxies

        try:
            layer = self.parameterAsVectorLayer(parameters, self.AOI, context)
            wkt, crs = aoi_from_layer(layer, self.parameterAsBoolean(parameters, self.SELECTED_ONLY, context))
            endpoints = [self._endpoint(parameters, context, side) for side in ("A", "B")]
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        self._prepared = {"aoi_wkt": wkt, "aoi_crs": crs, "endpoints": endpoints, "proxies": qgis_proxies()}
        return True

    def _endpoint(self, parameters: dict, context: QgsProcessingContext, side: str) -> Endpoint:
        """Resolve one side. ``custom`` takes its URLs from the sentinelhub-py profile named in AUTH_x."""
        from s2parity_plugin.core.service.endpoints import credentials_from_sh_profile, resolve_endpoint

        profile, reference = self.endpoint_choice(parameters, context, side)
        if profile != "custom":
            return self.resolve_side(parameters, context, side)
        try:
            creds, base_url, token_url = credentials_from_sh_profile(reference)
        except EndpointConfigError as exc:
            raise EndpointConfigError(
                f"Endpoint {side} is 'custom': name in AUTH_{side} a sentinelhub-py profile that holds sh_base_url "
                f"and sh_token_url besides the client id/secret. {exc}"
            ) from exc
        return resolve_endpoint(profile, creds, base_url=base_url, token_url=token_url)

    # -- any thread -----------------------------------------------------------------------------------------------
    @in_python_thread
    def processAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        from s2parity_plugin.core.archive import compare_catalogs
        from s2parity_plugin.core.archive.query import build_query
        from s2parity_plugin.core.archive.report import write_report
        from s2parity_plugin.core.errors import FetchCancelled

        prepared = self._prepared
        a, b = prepared["endpoints"]
        try:
            query = build_query(
                prepared["aoi_wkt"],
                prepared["aoi_crs"],
                self.parameterAsString(parameters, self.DATE_FROM, context),
                self.parameterAsString(parameters, self.DATE_TO, context),
                self.parameterAsDouble(parameters, self.MAX_CLOUD_COVERAGE, context),
            )
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        self._announce(query, feedback, a, b)
        try:
            timeline = compare_catalogs(
                query,
                a,
                b,
                proxies=prepared["proxies"],
                is_cancelled=feedback.isCanceled,
                progress=lambda f: feedback.setProgress(90.0 * f),
            )
        except FetchCancelled:
            return {}
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        sink, table_id = self._table_sink(parameters, context)
        for row in timeline.rows:
            if feedback.isCanceled():
                return {}
            sink.addFeature(self._feature(row), QgsFeatureSink.Flag.FastInsert)
        report_path = write_report(timeline, self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context))
        self._log_result(timeline, feedback)
        feedback.setProgress(100.0)
        return {self.OUTPUT_TABLE: table_id, self.OUTPUT_REPORT: str(report_path)}

    def _announce(self, query, feedback: QgsProcessingFeedback, a: Endpoint, b: Endpoint) -> None:
        chunks = len(query.chunks())
        text = tr(
            "Searching the catalogs of A = {a} and B = {b} from {start} to {end} ({years:.1f} years): at least {n} "
            "catalog requests ({chunks} yearly searches per endpoint, more pages where a year holds over 100 items)."
        ).format(
            a=a.profile_id,
            b=b.profile_id,
            start=query.date_from,
            end=query.date_to,
            years=query.years,
            n=2 * chunks,
            chunks=chunks,
        )
        if query.is_long:
            feedback.pushWarning(tr("The period is longer than 10 years. ") + text)
        else:
            feedback.pushInfo(text)

    def _table_sink(self, parameters: dict, context: QgsProcessingContext):
        from s2parity_plugin.core.archive.report import TABLE_FIELDS

        fields = QgsFields()
        for name, kind in TABLE_FIELDS:
            fields.append(QgsField(name, _FIELD_TYPES[kind]))
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT_TABLE, context, fields, WKB_NO_GEOMETRY)
        if sink is None:
            raise QgsProcessingException(
                tr("Cannot create the acquisitions table: choose a writable .gpkg or .csv file.")
            )
        self._fields = fields
        return sink, dest

    def _feature(self, row) -> QgsFeature:
        from s2parity_plugin.core.archive.report import table_values

        feature = QgsFeature(self._fields)
        feature.setAttributes(table_values(row))
        return feature

    def _log_result(self, timeline, feedback: QgsProcessingFeedback) -> None:
        for side in (timeline.listing_a, timeline.listing_b):
            feedback.pushInfo(
                tr("{side}: {n} acquisitions listed, {r} catalog requests, {c} yearly searches from the cache.").format(
                    side=side.side, n=len(side.items), r=side.requests, c=side.cached_chunks
                )
            )
        for statement in timeline.statements:
            feedback.pushWarning(statement)
        feedback.pushInfo(tr("Diagnosis: ") + timeline.diagnosis)
