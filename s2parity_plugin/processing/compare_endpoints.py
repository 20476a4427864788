"""``s2parity:compareendpoints``: the whole dock workflow as one algorithm.

It composes ``s2parity:fetchpair`` (run as a child algorithm with the same parameters) and the compare engine
behind ``s2parity:comparerasters`` (``core.compare.compare_run_folder`` on the run folder, so the diagnosis sees
each side's metadata) — no second implementation of either. It adds what only a whole-workflow run knows: the
per-feature table of the AOI and the A-vs-B density used by the results plot, both stored in the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import Qt

from s2parity_plugin.adapters.compat import NUMBER_DOUBLE
from s2parity_plugin.core.errors import S2ParityError
from s2parity_plugin.processing.base import S2ParityAlgorithm
from s2parity_plugin.processing.fetch_pair import FetchPairAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread

DEFAULT_INVALID = "1,2,3,7,8,9,10,11"
GENERIC_FAILURE = "There were errors executing the algorithm."


class CompareEndpointsAlgorithm(S2ParityAlgorithm):
    """Fetch the same request from endpoints A and B, compare, report."""

    NAME = "compareendpoints"
    DISPLAY_NAME = "Compare endpoints (fetch A and B, compare, explain)"
    GROUP = "Compare"
    HELP = (
        "The whole S2 Parity workflow: sends the same Process API request (AOI, dates, what to compare) to "
        "endpoint A and endpoint B (Sentinel Hub, CDSE, the offline sample pair or a custom deployment), lands "
        "both answers on an identical grid in a run folder, then computes the difference B − A, the SCL "
        "mismatch, statistics, the geolocation shift and a plain-language diagnosis (processing baselines, BOA "
        "offset, shift, SCL changes). Parameters are those of 'Fetch pair' plus those of 'Compare rasters'."
    )

    INVALID_CLASSES = "INVALID_CLASSES"
    TOLERANCE = "TOLERANCE"
    SHIFT_CORRECT = "SHIFT_CORRECT"
    MASK_INVALID = "MASK_INVALID"
    OUTPUTS: ClassVar[dict[str, str]] = {
        "RUN_FOLDER": "Run folder",
        "COMPARE_FOLDER": "Comparison folder",
        "VALUE_A": "Raster A",
        "VALUE_B": "Raster B",
        "SCL_A": "SCL A",
        "SCL_B": "SCL B",
        "OUTPUT_DIFFERENCE": "Difference B − A",
        "OUTPUT_MISMATCH": "SCL mismatch",
        "OUTPUT_SHIFT_CORRECTED": "Difference B − A (shift corrected)",
        "OUTPUT_REPORT": "Report (JSON)",
        "DIAGNOSIS": "Diagnosis",
        "REPORTS": "Reports (JSON list; one per date with PER_DATE)",
    }

    def initAlgorithm(self, config: dict | None = None) -> None:
        fetch = FetchPairAlgorithm()
        fetch.initAlgorithm()
        self._fetch_names = [p.name() for p in fetch.parameterDefinitions()]
        for param in fetch.parameterDefinitions():
            self.addParameter(param.clone())
        self.addParameter(
            QgsProcessingParameterString(self.INVALID_CLASSES, "SCL classes treated as invalid", DEFAULT_INVALID)
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TOLERANCE,
                "Tolerance for |B − A| (units of the inputs; empty = 100 DN / 0.01 reflectance)",
                NUMBER_DOUBLE,
                None,
                True,
                0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.SHIFT_CORRECT, "Also compute a shift-corrected difference", False)
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.MASK_INVALID, "Mask the difference where either side's SCL class is invalid", True
            )
        )
        for key, label in self.OUTPUTS.items():
            if key in ("RUN_FOLDER", "COMPARE_FOLDER"):
                self.addOutput(QgsProcessingOutputFolder(key, label))
            elif key == "OUTPUT_REPORT":
                self.addOutput(QgsProcessingOutputFile(key, label))
            elif key in ("DIAGNOSIS", "REPORTS"):
                self.addOutput(QgsProcessingOutputString(key, label))
            else:
                self.addOutput(QgsProcessingOutputRasterLayer(key, label))

    # -- main thread ----------------------------------------------------------------------------------------------
    def prepareAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        """Snapshot the AOI features (id, geometry, CRS) for the per-feature table while in the main thread."""
        layer = self.parameterAsVectorLayer(parameters, "AOI", context)
        if layer is None:
            raise QgsProcessingException("Choose a polygon layer as AOI.")
        selected = self.parameterAsBoolean(parameters, "SELECTED_ONLY", context) and layer.selectedFeatureCount() > 0
        request = QgsFeatureRequest().setNoAttributes()
        features = layer.getSelectedFeatures(request) if selected else layer.getFeatures(request)
        self._features = [(f.id(), QgsGeometry(f.geometry())) for f in features if f.hasGeometry()]
        self._aoi_crs = QgsCoordinateReferenceSystem(layer.crs())
        self._quantity = self.parameterAsString(parameters, "PRESET", context) or "B04"
        return True

    # -- any thread -----------------------------------------------------------------------------------------------
    @in_python_thread
    def processAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        from s2parity_plugin.core.compare import warmup as compare_warmup

        # The compiled compare kernel loads while the fetch runs; the algorithm waits for that thread before it
        # returns (also on error or cancel), so no thread of it is still inside numba/GDAL when QGIS tears down.
        preload = compare_warmup.preload_in_background()
        try:
            return self._fetch_and_compare(parameters, context, feedback)
        finally:
            if preload is not None:
                preload.join()

    def _fetch_and_compare(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict:
        import processing

        steps = QgsProcessingMultiStepFeedback(2, feedback)
        fetch_params = {k: v for k, v in parameters.items() if k in self._fetch_names}
        fetch_params["OUTPUT_FOLDER"] = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        steps.setCurrentStep(0)
        steps.pushInfo("Fetching the same request from endpoint A and endpoint B…")
        child_feedback = ErrorRecordingFeedback(steps)
        try:
            fetched = processing.run(
                "s2parity:fetchpair", fetch_params, context=context, feedback=child_feedback, is_child_algorithm=True
            )
        except QgsProcessingException as exc:
            # processing.run only says "There were errors executing the algorithm."; pass the real reason on.
            # The child's errors were recorded, not shown: raise its first real reason, once.
            reasons = [e for e in child_feedback.errors if e != GENERIC_FAILURE]
            raise QgsProcessingException(reasons[0] if reasons else str(exc)) from exc
        if feedback.isCanceled():
            return {}
        # One run folder, or one per acquisition date with PER_DATE (the single-valued outputs are the last date's).
        run_dirs = [Path(p) for p in json.loads(fetched["RUN_FOLDERS"])]
        steps.setCurrentStep(1)
        outputs: dict = {}
        reports = []
        for index, run_dir in enumerate(run_dirs):
            steps.pushInfo(f"Comparing B with A in {run_dir.name}…")

            def progress(fraction: float, index: int = index) -> bool:
                steps.setProgress(100.0 * (index + fraction) / len(run_dirs))
                return not steps.isCanceled()

            outputs = self._compare_run(run_dir, parameters, context, progress)
            if not outputs:  # cancelled
                return {}
            reports.append(outputs["OUTPUT_REPORT"])
            steps.pushInfo(f"Diagnosis: {outputs['DIAGNOSIS']}")
        outputs["RUN_FOLDER"] = fetched["RUN_FOLDER"]
        outputs["REPORTS"] = json.dumps(reports)
        return outputs

    def _compare_run(self, run_dir: Path, parameters: dict, context: QgsProcessingContext, progress) -> dict:
        """Compare one run folder (core: compare, density, per-feature table, report); return the outputs
        (empty when cancelled). A failure to write (full disk) is a clear message and leaves no debris."""
        from s2parity_plugin.core.compare import CompareCancelled, CompareOptions
        from s2parity_plugin.core.compare import output as compare_output
        from s2parity_plugin.core.compare.run import compare_and_complete, run_grid_crs

        options = CompareOptions(
            invalid_classes=self.parameterAsString(parameters, self.INVALID_CLASSES, context) or DEFAULT_INVALID,
            tolerance=self.optional_double(parameters, self.TOLERANCE, context),
            shift_correct=self.parameterAsBoolean(parameters, self.SHIFT_CORRECT, context),
            mask_invalid=self.parameterAsBoolean(parameters, self.MASK_INVALID, context),
        )
        zones = self._zones(QgsCoordinateReferenceSystem(run_grid_crs(run_dir)), context)
        try:
            with compare_output.guarded(run_dir / "compare"):
                run = compare_and_complete(
                    run_dir, zones=zones, quantity=self._quantity, options=options, feedback=progress
                )
        except CompareCancelled:
            return {}
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        result, paths = run.result, run.inputs
        return {
            "RUN_FOLDER": str(run_dir),
            "COMPARE_FOLDER": str(result.report_path.parent),
            "VALUE_A": str(paths["value_a"]),
            "VALUE_B": str(paths["value_b"]),
            "SCL_A": str(paths["scl_a"]) if paths["scl_a"] else None,
            "SCL_B": str(paths["scl_b"]) if paths["scl_b"] else None,
            "OUTPUT_DIFFERENCE": str(result.difference),
            "OUTPUT_MISMATCH": str(result.mismatch) if result.mismatch else None,
            "OUTPUT_SHIFT_CORRECTED": str(result.shift_corrected) if result.shift_corrected else None,
            "OUTPUT_REPORT": str(result.report_path),
            "DIAGNOSIS": result.report.get("diagnosis", {}).get("explanation", ""),
        }

    def _zones(self, grid_crs: QgsCoordinateReferenceSystem, context: QgsProcessingContext) -> list | None:
        """The AOI features as (feature id, WKT in the grid's CRS), transformed with the context's transform
        context (never the global project's: this runs in the task's thread); None for a single feature."""
        if len(self._features) < 2 or not grid_crs.isValid():
            return None
        transform = QgsCoordinateTransform(self._aoi_crs, grid_crs, context.transformContext())
        zones = []
        for fid, geometry in self._features:
            geometry = QgsGeometry(geometry)
            geometry.transform(transform)
            zones.append((fid, geometry.asWkt()))
        return zones


class ErrorRecordingFeedback(QgsProcessingFeedback):
    """Feedback for a child algorithm: forwards everything but errors to ``parent``; keeps the errors."""

    def __init__(self, parent: QgsProcessingFeedback) -> None:
        super().__init__(False)  # no logging of its own: the parent logs what is forwarded (once)
        self.parent = parent
        self.errors: list[str] = []
        # Direct connections: these objects live in the task's thread, which runs no event loop.
        self.progressChanged.connect(parent.setProgress, Qt.ConnectionType.DirectConnection)
        parent.canceled.connect(self.cancel, Qt.ConnectionType.DirectConnection)
        if parent.isCanceled():
            self.cancel()

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802,N803 (QGIS API)
        """Record only: the parent algorithm raises the first error, so the user sees each failure once."""
        if error not in self.errors:
            self.errors.append(error)

    def pushInfo(self, info: str) -> None:  # noqa: N802 (QGIS API)
        self.parent.pushInfo(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802 (QGIS API)
        self.parent.pushWarning(warning)

    def setProgressText(self, text: str) -> None:  # noqa: N802 (QGIS API)
        self.parent.setProgressText(text)
