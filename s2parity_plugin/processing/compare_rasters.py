"""Processing algorithm ``s2parity:comparerasters``: compare two rasters of one quantity (B − A) on one grid.

Thin: parameters → :func:`s2parity_plugin.core.compare.compare_rasters` → outputs. The core writes into a fresh
temporary folder; the files are then moved (or converted, for a non-GeoTIFF destination) to the requested
destinations. Bad input (different grids, bad class list, …) becomes a :class:`QgsProcessingException` carrying the
core's message. ``processAlgorithm`` only reads layer sources and calls the QGIS-free core, so it can run in a
background task.

When RASTER_A / RASTER_B are the value rasters of an S2 Parity run folder (``<run>/a/value.tif`` …), the run's
side metadata (units, product ids → processing baselines) is used for the report's diagnosis.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsRasterFileWriter,
)

from s2parity_plugin.adapters.compat import NUMBER_DOUBLE, PARAMETER_ADVANCED
from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.processing.base import S2ParityAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread

DEFAULT_INVALID = "1,2,3,7,8,9,10,11"
UNITS = ("FROM_RUN", "DN", "REFLECTANCE")


def run_folder_metadata(value_path: Path) -> tuple[dict, dict] | None:
    """(metadata_a, metadata_b) when ``value_path`` is value_a or value_b of an S2 Parity run folder, else None."""
    from s2parity_plugin.core.fetch import run_folder

    for run_dir in (value_path.parent.parent, value_path.parent):
        if not (run_dir / run_folder.RUN_MANIFEST).is_file():
            continue
        try:
            manifest = run_folder.load_manifest(run_dir)
        except run_folder.RunFolderError:
            continue
        files = {run_folder.file_path(run_dir, manifest, k) for k in ("value_a", "value_b")}
        if any(f is not None and f.resolve() == value_path.resolve() for f in files):
            return dict(run_folder.side_metadata(manifest, "a")), dict(run_folder.side_metadata(manifest, "b"))
    return None


class CompareRastersAlgorithm(S2ParityAlgorithm):
    """B − A difference, SCL validity mismatch, statistics, sub-pixel shift and a diagnosis report."""

    NAME = "comparerasters"
    DISPLAY_NAME = "Compare two rasters (B − A, SCL mismatch, shift)"
    GROUP = "Compare"
    HELP = (
        "Compares raster B (endpoint B) with raster A (endpoint A) of the same quantity on the same grid "
        "(same CRS, geotransform and size; nothing is resampled).\n\n"
        "OUTPUT_DIFFERENCE: float32 B − A in the units of the inputs, nodata where either side has no data.\n"
        "OUTPUT_MISMATCH (needs SCL_A and SCL_B): 0 nodata, 1 valid in both, 2 invalid in both, 3 valid only "
        "in A, 4 valid only in B. INVALID_CLASSES: SCL classes counted as invalid (default 1,2,3,7,8,9,10,11: "
        "saturated, dark, cloud shadow, unclassified, cloud medium/high, cirrus, snow).\n"
        "Statistics (bias, MAE, RMSE, Pearson r, fit, percentiles, share over TOLERANCE) use pixels valid on "
        "both sides. TOLERANCE is in the units of the rasters (default 0.01 reflectance or 100 DN).\n"
        "The sub-pixel shift of B relative to A is always estimated (dx, dy in px and m: a feature at A(x, y) "
        "is at B(x + dx, y + dy), x east, y south); SHIFT_CORRECT also writes B − A with B resampled by it.\n"
        "OUTPUT_REPORT: JSON with grid, stats, scl, shift and a plain-language diagnosis (processing "
        "baselines, BOA_ADD_OFFSET, Collection-1 geometric refinement, cloud-edge SCL changes)."
    )

    RASTER_A = "RASTER_A"
    RASTER_B = "RASTER_B"
    SCL_A = "SCL_A"
    SCL_B = "SCL_B"
    INVALID_CLASSES = "INVALID_CLASSES"
    TOLERANCE = "TOLERANCE"
    SHIFT_CORRECT = "SHIFT_CORRECT"
    UNITS = "UNITS"
    OUTPUT_DIFFERENCE = "OUTPUT_DIFFERENCE"
    OUTPUT_MISMATCH = "OUTPUT_MISMATCH"
    OUTPUT_SHIFT_CORRECTED = "OUTPUT_SHIFT_CORRECTED"
    OUTPUT_REPORT = "OUTPUT_REPORT"

    def createCustomParametersWidget(self, parent=None) -> None:
        """Called by QGIS when it opens this algorithm's dialog: starts loading the compiled compare kernel
        (numba import and cached code, ≈ 0.2 s once per session) in the background while the user fills in the
        form, so the comparison does not wait for it. Returns None: QGIS shows its standard dialog."""
        from s2parity_plugin.core.compare import warmup as compare_warmup

        compare_warmup.preload_in_background()
        return None

    def initAlgorithm(self, config: dict | None = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.RASTER_A, "Raster A (endpoint A)"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.RASTER_B, "Raster B (endpoint B)"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.SCL_A, "SCL of A", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.SCL_B, "SCL of B", optional=True))
        self.addParameter(
            QgsProcessingParameterString(
                self.INVALID_CLASSES, "Invalid SCL classes (comma-separated, 0–11)", DEFAULT_INVALID
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.TOLERANCE,
                "Tolerance (units of the rasters; empty = 0.01 reflectance / 100 DN)",
                NUMBER_DOUBLE,
                None,
                True,
                0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.SHIFT_CORRECT, "Also write the shift-corrected difference", False)
        )
        units = QgsProcessingParameterEnum(
            self.UNITS,
            "Units of the rasters (FROM_RUN = from the run folder, if any)",
            list(UNITS),
            False,
            "FROM_RUN",
            True,
            usesStaticStrings=True,
        )
        units.setFlags(units.flags() | PARAMETER_ADVANCED)
        self.addParameter(units)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_DIFFERENCE, "Difference B − A"))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.OUTPUT_MISMATCH, "SCL validity mismatch", optional=True, createByDefault=True
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.OUTPUT_SHIFT_CORRECTED, "Shift-corrected difference", optional=True, createByDefault=False
            )
        )
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT_REPORT, "Report", "JSON files (*.json)"))
        self.addOutput(QgsProcessingOutputNumber("BIAS", "Bias (mean B − A)"))
        self.addOutput(QgsProcessingOutputNumber("RMSE", "RMSE"))
        self.addOutput(QgsProcessingOutputNumber("SHIFT_M", "Shift magnitude (m)"))
        self.addOutput(QgsProcessingOutputString("EXPLANATION", "Diagnosis"))

    # ------------------------------------------------------------------------------------------------------------
    def _source(self, parameters: dict, name: str, context: QgsProcessingContext) -> Path | None:
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            return None
        source = layer.source().split("|")[0]
        if not Path(source).is_file():
            raise QgsProcessingException(f"{name}: {source} is not a raster file on disk (save it as GeoTIFF first).")
        return Path(source)

    @in_python_thread
    def processAlgorithm(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        from s2parity_plugin.core.compare.scl_check import annotate

        inputs = self._inputs(parameters, context)
        work = Path(tempfile.mkdtemp(prefix="comparerasters_", dir=QgsProcessingUtils.tempFolder()))
        result = self._compare(parameters, context, feedback, inputs, work)
        if result is None:
            return {}
        scl_note = annotate(result.report, inputs["scl_a"], inputs["scl_b"])
        if scl_note:
            feedback.pushWarning(scl_note)
        outputs = self._deliver_rasters(parameters, context, feedback, result, work)
        return self._finish_report(parameters, context, feedback, result.report, outputs)

    def _inputs(self, parameters: dict, context: QgsProcessingContext) -> dict[str, Any]:
        """The raster files (value and SCL of A and B) and the metadata of each side (from the run folder, with
        UNITS applied)."""
        value_a = self._source(parameters, self.RASTER_A, context)
        value_b = self._source(parameters, self.RASTER_B, context)
        if value_a is None or value_b is None:
            raise QgsProcessingException("Choose both raster A and raster B.")
        metadata = run_folder_metadata(value_a) or ({}, {})
        meta_a, meta_b = dict(metadata[0]), dict(metadata[1])
        units = self.parameterAsEnumString(parameters, self.UNITS, context) or "FROM_RUN"
        if units != "FROM_RUN":
            meta_a["units"] = meta_b["units"] = units
        return {
            "value_a": value_a,
            "value_b": value_b,
            "scl_a": self._source(parameters, self.SCL_A, context),
            "scl_b": self._source(parameters, self.SCL_B, context),
            "metadata_a": meta_a,
            "metadata_b": meta_b,
        }

    def _compare(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        inputs: dict[str, Any],
        work: Path,
    ) -> Any:
        """Run the core comparison into ``work``; ``None`` when cancelled. On cancel or error ``work`` is removed."""
        from s2parity_plugin.core.compare import CompareCancelled, CompareOptions, compare_rasters
        from s2parity_plugin.core.errors import S2ParityError

        def progress(fraction: float) -> bool:
            feedback.setProgress(100.0 * fraction)
            return not feedback.isCanceled()

        try:
            return compare_rasters(
                inputs["value_a"],
                inputs["value_b"],
                work,
                scl_a=inputs["scl_a"],
                scl_b=inputs["scl_b"],
                metadata_a=inputs["metadata_a"],
                metadata_b=inputs["metadata_b"],
                options=CompareOptions(
                    invalid_classes=self.parameterAsString(parameters, self.INVALID_CLASSES, context)
                    or DEFAULT_INVALID,
                    tolerance=self.optional_double(parameters, self.TOLERANCE, context),
                    shift_correct=self.parameterAsBoolean(parameters, self.SHIFT_CORRECT, context),
                ),
                feedback=progress,
            )
        except CompareCancelled:
            shutil.rmtree(work, ignore_errors=True)
            feedback.pushInfo("Comparison cancelled; no output was written.")
            return None
        except S2ParityError as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise QgsProcessingException(str(exc)) from exc
        except RuntimeError as exc:  # GDAL (disk full, unreadable block, …)
            shutil.rmtree(work, ignore_errors=True)
            raise QgsProcessingException(f"GDAL could not complete the comparison: {exc}") from exc

    def _deliver_rasters(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        result: Any,
        work: Path,
    ) -> dict[str, Any]:
        """Move the difference, mismatch and shift-corrected rasters to their destinations; their paths (or None)."""
        diff_dest = self.parameterAsOutputLayer(parameters, self.OUTPUT_DIFFERENCE, context)
        mismatch_dest = self.parameterAsOutputLayer(parameters, self.OUTPUT_MISMATCH, context)
        corrected_dest = self.parameterAsOutputLayer(parameters, self.OUTPUT_SHIFT_CORRECTED, context)
        outputs: dict[str, Any] = {
            self.OUTPUT_DIFFERENCE: _deliver(result.difference, diff_dest),
            self.OUTPUT_MISMATCH: None,
            self.OUTPUT_SHIFT_CORRECTED: None,
        }
        if result.mismatch is not None:
            outputs[self.OUTPUT_MISMATCH] = _deliver(result.mismatch, mismatch_dest) if mismatch_dest else None
        elif mismatch_dest:
            feedback.pushInfo("No SCL mismatch raster: give both SCL_A and SCL_B to get one.")
        if result.shift_corrected is not None:
            outputs[self.OUTPUT_SHIFT_CORRECTED] = _deliver(
                result.shift_corrected, corrected_dest or str(work / result.shift_corrected.name)
            )
        elif self.parameterAsBoolean(parameters, self.SHIFT_CORRECT, context):
            note = result.report["shift"].get("note") or "no shift"
            feedback.pushWarning(f"No shift-corrected difference: {note}.")
        return outputs

    def _finish_report(
        self,
        parameters: dict,
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
        report: dict[str, Any],
        outputs: dict[str, Any],
    ) -> dict[str, Any]:
        """Write the JSON report (with the delivered outputs in it), log its summary, add the number outputs."""
        report_path = Path(self.parameterAsFileOutput(parameters, self.OUTPUT_REPORT, context))
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report["outputs"] = {k: v for k, v in outputs.items() if v}
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        outputs[self.OUTPUT_REPORT] = str(report_path)
        stats, shift = report["stats"], report["shift"]
        outputs.update(
            BIAS=stats.get("bias"),
            RMSE=stats.get("rmse"),
            SHIFT_M=shift.get("magnitude_m"),
            EXPLANATION=report["diagnosis"]["explanation"],
        )
        feedback.pushInfo(f"{stats['n']} pixels valid in both; bias {stats.get('bias')} {stats.get('units')}.")
        feedback.pushInfo(f"Diagnosis: {report['diagnosis']['explanation']}")
        feedback.pushInfo(engine_note(report))
        return outputs


def engine_note(report: dict[str, Any]) -> str:
    """One log line naming the strip engine that ran (and, for numpy, how to get the compiled one)."""
    from s2parity_plugin.core.compare import kernel as compare_kernel

    if report.get("options", {}).get("engine") == "numba":
        return "Compare engine: compiled kernel (numba)."
    reason = compare_kernel.unavailable_reason() or "not requested"
    return f"Compare engine: numpy ({reason}). {compare_kernel.hint()}"


def _deliver(src: Path, dest: str) -> str:
    """Move the GeoTIFF ``src`` (and its .aux.xml) to ``dest``; convert with GDAL when dest is another format."""
    dest_path = Path(dest)
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    if dest_path.suffix.lower() in (".tif", ".tiff"):
        for suffix in ("", ".aux.xml"):
            s = Path(f"{src}{suffix}")
            d = Path(f"{dest_path}{suffix}")
            if d.exists():
                d.unlink()
            if s.exists():
                shutil.move(str(s), str(d))
        return str(dest_path)
    from osgeo import gdal

    driver = QgsRasterFileWriter.driverForExtension(dest_path.suffix.lstrip(".")) or "GTiff"
    with gdal_exceptions():
        gdal.Translate(str(dest_path), str(src), format=driver)
    return str(dest_path)
