"""The export dialog: where (starting in the run folder) and what (A, B, SCL A/B, difference, mismatch, report).

The difference, the mismatch and the report come from ``s2parity:exportcomparison`` (COG + QML + JSON/CSV/HTML); A,
B and the SCL rasters are written as Cloud-Optimized GeoTIFFs by :func:`copy_inputs` (with the dock's QML styles
beside them when the layers are loaded).
"""

from __future__ import annotations

from pathlib import Path

from osgeo import gdal
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from s2parity_plugin.i18n import tr

#: What can be exported: key → (label, output key of s2parity:compareendpoints, exported file stem).
KINDS = {
    "value_a": ("Raster A", "VALUE_A", "s2parity_a"),
    "value_b": ("Raster B", "VALUE_B", "s2parity_b"),
    "scl_a": ("SCL A", "SCL_A", "s2parity_scl_a"),
    "scl_b": ("SCL B", "SCL_B", "s2parity_scl_b"),
    "difference": ("Difference B − A", "OUTPUT_DIFFERENCE", "s2parity_difference"),
    "mismatch": ("SCL mismatch", "OUTPUT_MISMATCH", "s2parity_scl_mismatch"),
    "report": ("Report (JSON, CSV, HTML)", "OUTPUT_REPORT", "s2parity_report"),
}
#: Exported by the Processing algorithm itself (the rest are copied by copy_inputs).
ALGORITHM_KINDS = ("difference", "mismatch", "report")
DEFAULT_KINDS = ("difference", "mismatch", "report")


def default_folder(results: dict) -> str:
    """``<run folder>/export``: the export dialog starts there."""
    run = results.get("RUN_FOLDER") or str(Path(results.get("COMPARE_FOLDER", ".")).parent)
    return str(Path(run) / "export")


def copy_inputs(
    results: dict, folder: str, kinds: list[str] | None, styles: dict[str, str] | None = None
) -> list[Path]:
    """Write the chosen input rasters (A, B, SCL A/B) of a run into ``folder`` as COGs (+ ``.qml`` from ``styles``);
    remove algorithm outputs that were not chosen. Returns the files written. Raises OSError on failure."""
    if kinds is None:
        return []
    out = Path(folder)
    written = []
    for key in ("value_a", "value_b", "scl_a", "scl_b"):
        source = results.get(KINDS[key][1])
        if key not in kinds or not source or not Path(source).is_file():
            continue
        target = out / f"{KINDS[key][2]}.tif"
        if gdal.Translate(str(target), str(source), format="COG", creationOptions=["COMPRESS=DEFLATE"]) is None:
            raise OSError(gdal.GetLastErrorMsg() or f"GDAL could not write {target}")
        written.append(target)
        if styles and key in styles:
            target.with_suffix(".qml").write_text(styles[key], encoding="utf-8")
    for key in ALGORITHM_KINDS:
        if key not in kinds:
            for path in out.glob(f"{KINDS[key][2]}.*"):
                path.unlink()
    return written


class ExportDialog(QDialog):
    """Folder (default ``<run folder>/export``) and checkboxes of what to export."""

    def __init__(self, results: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("S2ParityExportDialog")
        self.setWindowTitle(tr("Export the comparison"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("Folder")))
        self.folder_widget = QgsFileWidget()
        self.folder_widget.setObjectName("export_folder")
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setFilePath(default_folder(results))
        self.folder_widget.setDefaultRoot(str(Path(default_folder(results)).parent))
        layout.addWidget(self.folder_widget)
        grid = QGridLayout()
        self.checks: dict[str, QCheckBox] = {}
        for i, (key, (label, output, _stem)) in enumerate(KINDS.items()):
            check = QCheckBox(tr(label))
            check.setObjectName(f"export_{key}")
            check.setChecked(key in DEFAULT_KINDS)
            check.setEnabled(bool(results.get(output)))
            grid.addWidget(check, i // 2, i % 2)
            self.checks[key] = check
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def folder(self) -> str:
        return self.folder_widget.filePath().strip()

    def kinds(self) -> list[str]:
        return [key for key, check in self.checks.items() if check.isChecked() and check.isEnabled()]
