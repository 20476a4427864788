"""``s2parity:exportcomparison``: difference and mismatch as COGs with .qml styles, report as JSON/CSV/HTML."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFolder,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsRasterLayer,
)
from qgis.PyQt.QtXml import QDomDocument

from s2parity_plugin.adapters.compat import FILE_FOLDER
from s2parity_plugin.core.errors import S2ParityError
from s2parity_plugin.processing.base import S2ParityAlgorithm
from s2parity_plugin.processing.python_thread import in_python_thread


def style_qml(layer: QgsRasterLayer) -> str:
    """The layer's current style as QML text (what QGIS writes to a .qml file)."""
    doc = QDomDocument("qgis")
    error = layer.exportNamedStyle(doc)
    if error:
        raise QgsProcessingException(f"Could not export the style of {layer.name()}: {error}")
    return doc.toString()


def comparison_styles(compare_dir: Path) -> dict[str, str]:
    """QML styles for the rasters of a compare folder, styled exactly as the dock styles them."""
    from s2parity_plugin.adapters.layers import style_difference, style_mismatch
    from s2parity_plugin.core.report.raster_sample import symmetric_abs_limit

    styles = {}
    limit = None
    for name in ("difference.tif", "difference_shift_corrected.tif", "scl_mismatch.tif"):
        path = compare_dir / name
        if not path.is_file():
            continue
        layer = QgsRasterLayer(str(path), name, "gdal")
        if not layer.isValid():
            raise QgsProcessingException(f"QGIS cannot open {path}.")
        if name == "scl_mismatch.tif":
            style_mismatch(layer)
        else:
            limit = limit or symmetric_abs_limit(compare_dir / "difference.tif")
            style_difference(layer, limit)
        styles[name] = style_qml(layer)
    return styles


class ExportComparisonAlgorithm(S2ParityAlgorithm):
    """Export a comparison folder (output of ``s2parity:comparerasters`` / ``compareendpoints``)."""

    NAME = "exportcomparison"
    DISPLAY_NAME = "Export comparison (COG + styles + report)"
    GROUP = "Compare"
    HELP = (
        "Writes the difference and SCL-mismatch rasters of a comparison as Cloud-Optimized GeoTIFFs with their "
        "QGIS styles (.qml beside them; the mismatch colour table and category names inside the GeoTIFF), and "
        "the report as JSON, CSV and a self-contained HTML page. Writes atomically and refuses to overwrite "
        "existing files unless Overwrite is ticked."
    )

    COMPARISON = "COMPARISON"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    OVERWRITE = "OVERWRITE"
    FILES = "FILES"

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.COMPARISON,
                "Comparison folder (holds difference.tif and report.json)",
                FILE_FOLDER,
            )
        )
        self.addParameter(QgsProcessingParameterBoolean(self.OVERWRITE, "Overwrite existing files", defaultValue=False))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, "Export folder"))
        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT_FOLDER, "Export folder"))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.FILES, "Exported files"))

    @in_python_thread
    def processAlgorithm(self, parameters, context, feedback) -> dict:
        from s2parity_plugin.core.report.document import render_csv, render_html
        from s2parity_plugin.core.report.export import export_comparison

        compare_dir = Path(self.parameterAsFile(parameters, self.COMPARISON, context))
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))
        overwrite = self.parameterAsBoolean(parameters, self.OVERWRITE, context)
        try:
            written = export_comparison(
                compare_dir,
                out_dir,
                comparison_styles(compare_dir),
                render_csv=render_csv,
                render_html=render_html,
                overwrite=overwrite,
            )
        except S2ParityError as exc:
            raise QgsProcessingException(str(exc)) from exc
        for path in written:
            feedback.pushInfo(f"wrote {path}")
        return {self.OUTPUT_FOLDER: str(out_dir), self.FILES: [str(p) for p in written]}
