"""Processing algorithm ``s2parity:fetchpair``: the same request to two endpoints → one run folder.

Thread safety: everything that touches QGIS objects (the AOI layer and its selection, the authentication manager,
proxy settings) happens in :meth:`prepareAlgorithm`, which QGIS runs in the main thread (also for
``QgsProcessingAlgRunnerTask``). :meth:`processAlgorithm` only calls the QGIS-free core with plain values, so it
can run in a background task; the algorithm does not claim ``FlagNoThreading``.

Dates are plain ``YYYY-MM-DD`` strings (easiest from ``qgis_process`` and scripts).
"""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFolder,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

import s2parity_plugin.core.service.endpoints  # noqa: F401  (needs sentinelhub: the provider hides this algorithm without it)
from s2parity_plugin.adapters.compat import (
    NUMBER_DOUBLE,
    NUMBER_INTEGER,
    PARAMETER_ADVANCED,
    SOURCE_VECTOR_ANY_GEOMETRY,
)
from s2parity_plugin.core.errors import S2ParityError
from s2parity_plugin.core.model.evalscripts import L2A_BANDS
from s2parity_plugin.core.model.spec import MOSAICKING_ORDERS, SNAP_MODES
from s2parity_plugin.processing.base import EndpointPairAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread

MOSAICKING = ("ORBIT", "SIMPLE")
DEFAULT_TIMEOUT_S = 60.0
UNITS = ("DEFAULT", "DN", "REFLECTANCE")  # DEFAULT: DN for bands, REFLECTANCE for NDVI, as declared by CUSTOM


def _units(value: str) -> str | None:
    return None if value in ("", "DEFAULT") else value


class FetchPairAlgorithm(EndpointPairAlgorithm):
    """Fetch one Sentinel-2 L2A Process API request from endpoint A and endpoint B into a run folder."""

    NAME = "fetchpair"
    DISPLAY_NAME = "Fetch the same request from two endpoints"
    GROUP = "Fetch"
    HELP = (
        "Sends one Sentinel-2 L2A Process API request (AOI, dates, band/NDVI/custom evalscript, snapped grid) "
        "unchanged to endpoint A and endpoint B and writes both answers (value + SCL GeoTIFFs on an identical "
        "grid, scene metadata, catalog ids) into a new run folder under OUTPUT_FOLDER.\n\n"
        "Endpoints: sentinelhub, cdse, sample-sh / sample-cdse (local demo pair, no credentials), custom "
        "(give base URL and token URL).\nAUTH_A/AUTH_B: a QGIS authentication configuration id (method Basic: "
        "username = OAuth client id, password = client secret) or a sentinelhub-py profile name.\n"
        f"PRESET: a band ({', '.join(L2A_BANDS)}), NDVI, or CUSTOM (with EVALSCRIPT). UNITS: DN (default for "
        "bands) or REFLECTANCE.\nDates: YYYY-MM-DD (UTC, inclusive). CRS empty = UTM zone of the AOI. "
        "SNAP outward (default) puts the grid on multiples of the resolution (= Sentinel-2's pixel grid in "
        "its UTM zone); nearest keeps the AOI's upper-left corner (as the Process API does with resx/resy)."
    )

    AOI = "AOI"
    SELECTED_ONLY = "SELECTED_ONLY"
    DATE_FROM = "DATE_FROM"
    DATE_TO = "DATE_TO"
    PRESET = "PRESET"
    UNITS = "UNITS"
    EVALSCRIPT = "EVALSCRIPT"
    BASE_URL_A = "BASE_URL_A"
    TOKEN_URL_A = "TOKEN_URL_A"
    BASE_URL_B = "BASE_URL_B"
    TOKEN_URL_B = "TOKEN_URL_B"
    RESOLUTION = "RESOLUTION"
    CRS = "CRS"
    SNAP = "SNAP"
    MOSAICKING = "MOSAICKING"
    MOSAICKING_ORDER = "MOSAICKING_ORDER"
    HARMONIZE = "HARMONIZE"
    MAX_CLOUD = "MAX_CLOUD"
    MAX_TILE_PX = "MAX_TILE_PX"
    MAX_WORKERS = "MAX_WORKERS"
    RUN_NAME = "RUN_NAME"
    PER_DATE = "PER_DATE"
    TIMEOUT = "TIMEOUT"
    RETRY_DEADLINE = "RETRY_DEADLINE"
    RUN_FOLDERS = "RUN_FOLDERS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    RUN_FOLDER = "RUN_FOLDER"

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._add_request_parameters()
        self.add_endpoint_parameters()
        self._add_grid_parameters()
        for param in self._advanced_parameters():
            param.setFlags(param.flags() | PARAMETER_ADVANCED)
            self.addParameter(param)
        from s2parity_plugin.processing.dialog_widgets import apply_dialog_widgets

        apply_dialog_widgets(self)
        self.addOutput(QgsProcessingOutputFolder(self.RUN_FOLDER, "Run folder"))
        self.addOutput(
            QgsProcessingOutputString(self.RUN_FOLDERS, "Run folders (JSON list; one per date with PER_DATE)")
        )

    def _add_request_parameters(self) -> None:
        """AOI, selection, dates, preset, units and custom evalscript: what is asked of both endpoints."""
        self.addParameter(
            QgsProcessingParameterVectorLayer(self.AOI, "AOI (polygon layer)", [SOURCE_VECTOR_ANY_GEOMETRY])
        )
        self.addParameter(QgsProcessingParameterBoolean(self.SELECTED_ONLY, "Selected features only", False))
        self.addParameter(QgsProcessingParameterString(self.DATE_FROM, "Start date (YYYY-MM-DD, UTC)"))
        self.addParameter(QgsProcessingParameterString(self.DATE_TO, "End date (YYYY-MM-DD, UTC, inclusive)"))
        self.addParameter(QgsProcessingParameterString(self.PRESET, "Preset (B01…B12, B8A, NDVI, CUSTOM)", "B04"))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.UNITS,
                "Units (DEFAULT = preset default)",
                list(UNITS),
                False,
                "DEFAULT",
                True,
                usesStaticStrings=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(self.EVALSCRIPT, "Custom evalscript (PRESET = CUSTOM)", "", True, True)
        )

    def _add_grid_parameters(self) -> None:
        """Resolution, CRS, mosaicking, harmonization and the output folder."""
        self.addParameter(
            QgsProcessingParameterNumber(self.RESOLUTION, "Resolution (m)", NUMBER_DOUBLE, 10.0, False, 0.5, 10000.0)
        )
        self.addParameter(QgsProcessingParameterCrs(self.CRS, "Request CRS (empty = UTM zone of the AOI)", None, True))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MOSAICKING, "Mosaicking", list(MOSAICKING), False, "ORBIT", usesStaticStrings=True
            )
        )
        self.addParameter(QgsProcessingParameterBoolean(self.HARMONIZE, "Harmonize values (harmonizeValues)", True))
        self.addParameter(
            QgsProcessingParameterFolderDestination(
                self.OUTPUT_FOLDER, "Output folder (run folders are created inside)"
            )
        )

    def _advanced_parameters(self) -> list:
        """Custom URLs, grid snapping, mosaicking order, cloud cap, tiling, workers, run name, per-date runs,
        timeouts: the parameters the dialog shows under "Advanced"."""
        return [
            QgsProcessingParameterString(self.BASE_URL_A, "Custom base URL A", "", False, True),
            QgsProcessingParameterString(self.TOKEN_URL_A, "Custom token URL A", "", False, True),
            QgsProcessingParameterString(self.BASE_URL_B, "Custom base URL B", "", False, True),
            QgsProcessingParameterString(self.TOKEN_URL_B, "Custom token URL B", "", False, True),
            QgsProcessingParameterEnum(
                self.SNAP, "Grid snapping", list(SNAP_MODES), False, "outward", usesStaticStrings=True
            ),
            QgsProcessingParameterEnum(
                self.MOSAICKING_ORDER,
                "Mosaicking order",
                list(MOSAICKING_ORDERS),
                False,
                "mostRecent",
                usesStaticStrings=True,
            ),
            QgsProcessingParameterNumber(
                self.MAX_CLOUD, "Maximum cloud cover (%)", NUMBER_DOUBLE, 100.0, False, 0.0, 100.0
            ),
            QgsProcessingParameterNumber(
                self.MAX_TILE_PX, "Maximum tile size (px)", NUMBER_INTEGER, 2500, False, 16, 2500
            ),
            QgsProcessingParameterNumber(
                self.MAX_WORKERS,
                "Parallel downloads per endpoint",
                NUMBER_INTEGER,
                4,
                False,
                1,
                16,
            ),
            QgsProcessingParameterString(
                self.RUN_NAME, "Run folder name (empty = time + preset + endpoints)", "", False, True
            ),
            QgsProcessingParameterBoolean(
                self.PER_DATE,
                "One run per acquisition date in the range (both catalogs list it), to compare over time",
                False,
            ),
            QgsProcessingParameterNumber(
                self.TIMEOUT,
                "Read timeout: longest wait for an answer to one HTTP request (s)",
                NUMBER_DOUBLE,
                DEFAULT_TIMEOUT_S,
                False,
                1.0,
                3600.0,
            ),
            QgsProcessingParameterNumber(
                self.RETRY_DEADLINE,
                "Retry deadline: how long one request is retried on errors and rate limits (s; empty = 300)",
                NUMBER_DOUBLE,
                None,
                True,
                0.0,
                86400.0,
            ),
        ]

    # -- main thread ----------------------------------------------------------------------------------------------
    def prepareAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        from s2parity_plugin.adapters.aoi import aoi_from_layer
        from s2parity_plugin.adapters.auth import qgis_proxies

        try:
            layer = self.parameterAsVectorLayer(parameters, self.AOI, context)
            selected_only = self.parameterAsBoolean(parameters, self.SELECTED_ONLY, context)
            wkt, crs = aoi_from_layer(layer, selected_only)
            endpoints = [
                self.resolve_side(parameters, context, side, self._custom_urls(parameters, context, side))
                for side in ("A", "B")
            ]
            request_crs = self.parameterAsCrs(parameters, self.CRS, context)
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        self._prepared = {
            "aoi_wkt": wkt,
            "aoi_crs": crs,
            "endpoints": endpoints,
            "proxies": qgis_proxies(),
            "crs": request_crs.authid() if request_crs.isValid() else None,
        }
        return True

    def _custom_urls(self, parameters: dict, context: QgsProcessingContext, side: str) -> tuple[str | None, str | None]:
        """``(base URL, token URL)`` of a custom deployment for ``side``; ``None`` where left empty."""
        base_url = self.parameterAsString(parameters, f"BASE_URL_{side}", context) or None
        return base_url, self.parameterAsString(parameters, f"TOKEN_URL_{side}", context) or None

    # -- any thread -----------------------------------------------------------------------------------------------
    @in_python_thread
    def processAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair, fetch_pair_per_date
        from s2parity_plugin.core.model.spec import GridChoice, Options, Preset, build_spec
        from s2parity_plugin.core.service.retry import default_policy

        prepared = self._prepared
        out_parent = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        try:
            spec = build_spec(
                prepared["aoi_wkt"],
                prepared["aoi_crs"],
                self.parameterAsString(parameters, self.DATE_FROM, context),
                self.parameterAsString(parameters, self.DATE_TO, context),
                preset=Preset(
                    quantity=self.parameterAsString(parameters, self.PRESET, context) or "B04",
                    units=_units(self.parameterAsEnumString(parameters, self.UNITS, context)),
                    evalscript=self.parameterAsString(parameters, self.EVALSCRIPT, context) or None,
                ),
                grid=GridChoice(
                    resolution_m=self.parameterAsDouble(parameters, self.RESOLUTION, context),
                    crs_epsg=prepared["crs"],
                    snap=self.parameterAsEnumString(parameters, self.SNAP, context) or "outward",
                ),
                options=Options(
                    mosaicking=self.parameterAsEnumString(parameters, self.MOSAICKING, context) or "ORBIT",
                    mosaicking_order=self.parameterAsEnumString(parameters, self.MOSAICKING_ORDER, context)
                    or "mostRecent",
                    harmonize_values=self.parameterAsBoolean(parameters, self.HARMONIZE, context),
                    max_cloud_coverage=self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
                ),
            )
            a, b = prepared["endpoints"]
            feedback.pushInfo(
                f"Grid: {spec.grid.width} × {spec.grid.height} px at {spec.grid.resolution_m:g} m in {spec.grid.crs}; "
                f"A = {a.profile_id} ({a.base_url}), B = {b.profile_id} ({b.base_url})"
            )
            for warning in spec.warnings:
                feedback.pushWarning(warning)

            def progress(done: int, total: int, message: str) -> None:
                feedback.setProgress(100.0 * done / max(total, 1))
                feedback.setProgressText(message)

            fetch = fetch_pair_per_date if self.parameterAsBoolean(parameters, self.PER_DATE, context) else fetch_pair
            options = FetchOptions(
                max_workers=self.parameterAsInt(parameters, self.MAX_WORKERS, context),
                max_tile_px=self.parameterAsInt(parameters, self.MAX_TILE_PX, context),
                timeout_s=self.parameterAsDouble(parameters, self.TIMEOUT, context),
                retry=default_policy(self.optional_double(parameters, self.RETRY_DEADLINE, context)),
                proxies=prepared["proxies"],
                notify=feedback.pushWarning,
            )
            fetched = fetch(
                spec,
                a,
                b,
                out_parent,
                options=options,
                run_name=self.parameterAsString(parameters, self.RUN_NAME, context) or None,
                progress=progress,
                is_cancelled=feedback.isCanceled,
            )
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        # PER_DATE: RUN_FOLDER is the series folder holding one run folder per date (<run name>/<YYYY-MM-DD>/).
        runs = fetched if isinstance(fetched, list) else [fetched]
        run_dir = (runs[0].parent if runs else Path(out_parent)) if isinstance(fetched, list) else fetched
        for run in runs:
            feedback.pushInfo(f"Run folder: {run}")
        return {self.RUN_FOLDER: str(run_dir), self.RUN_FOLDERS: json.dumps([str(r) for r in runs])}
