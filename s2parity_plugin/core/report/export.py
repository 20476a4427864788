"""Export a comparison: Cloud-Optimized GeoTIFFs with their QGIS styles, and the report as JSON, CSV and HTML.

Atomic and careful: everything is written into a hidden temporary folder inside the destination, then moved into
place file by file; a failure leaves the destination as it was (the temporary folder is removed). Existing files
are never replaced unless ``overwrite=True`` — the GUI asks the user first.

Rasters keep the inputs' units (DN or reflectance) and CRS. The SCL-mismatch COG carries its colour table (the
colours of the QGIS style) and its category names inside the TIFF (band metadata ``CATEGORY_<value>``), plus the
usual GDAL ``.aux.xml`` sidecar that exposes them through ``GetCategoryNames()``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from osgeo import gdal

from s2parity_plugin.core.errors import S2ParityError
from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.core.model.scl import MISMATCH_CLASSES, hex_to_rgb

#: compare-folder file -> exported base name
RASTERS = {
    "difference.tif": "s2parity_difference",
    "scl_mismatch.tif": "s2parity_scl_mismatch",
    "difference_shift_corrected.tif": "s2parity_difference_shift_corrected",
}
REPORT_NAMES = ("s2parity_report.json", "s2parity_report.csv", "s2parity_report.html")
COG_OPTIONS = ["COMPRESS=DEFLATE", "PREDICTOR=YES", "OVERVIEWS=AUTO", "BLOCKSIZE=512"]


class ExportError(S2ParityError):
    """The export could not be written; the message says what to change."""


def planned_outputs(compare_dir: str | Path) -> list[str]:
    """File names an export of ``compare_dir`` writes."""
    compare_dir = Path(compare_dir)
    names: list[str] = []
    for source, base in RASTERS.items():
        if (compare_dir / source).is_file():
            names += [f"{base}.tif", f"{base}.qml"]
            if source == "scl_mismatch.tif":
                names.append(f"{base}.tif.aux.xml")
    return names + list(REPORT_NAMES)


def existing_outputs(out_dir: str | Path, compare_dir: str | Path | None = None) -> list[str]:
    """Names an export into ``out_dir`` would overwrite (all known export names when ``compare_dir`` is None)."""
    out_dir = Path(out_dir)
    if compare_dir is not None:
        names = planned_outputs(compare_dir)
    else:
        names = [f"{b}.{ext}" for b in RASTERS.values() for ext in ("tif", "qml")] + list(REPORT_NAMES)
    return [name for name in names if (out_dir / name).exists()]


def _write_cog(source: Path, target: Path, mismatch: bool) -> None:
    src = gdal.Open(str(source))
    if src is None:
        raise ExportError(f"Cannot read {source}: run the comparison again.")
    vrt = gdal.Translate("", src, format="VRT")
    if mismatch:
        band = vrt.GetRasterBand(1)
        table = gdal.ColorTable()
        table.SetColorEntry(0, (0, 0, 0, 0))
        for value, (_name, colour) in MISMATCH_CLASSES.items():
            table.SetColorEntry(value, (*hex_to_rgb(colour), 255))
        band.SetRasterColorTable(table)
        names = ["No data"] + [MISMATCH_CLASSES[v][0] for v in sorted(MISMATCH_CLASSES)]
        band.SetCategoryNames(names)
        for value, name in enumerate(names):
            band.SetMetadataItem(f"CATEGORY_{value}", name)
    out = gdal.GetDriverByName("COG").CreateCopy(str(target), vrt, strict=0, options=COG_OPTIONS)
    if out is None:
        raise ExportError(f"GDAL could not write {target.name}: {gdal.GetLastErrorMsg()}")
    out.FlushCache()
    del out, vrt, src


@gdal_exceptions()
def export_comparison(
    compare_dir: str | Path,
    out_dir: str | Path,
    styles: dict[str, str],
    *,
    render_csv: Callable[[dict], str],
    render_html: Callable[[dict], str],
    overwrite: bool = False,
) -> list[Path]:
    """Export the comparison in ``compare_dir`` (``difference.tif``, ``scl_mismatch.tif``, ``report.json``…) to
    ``out_dir``; return the written paths.

    ``styles`` maps a compare-folder raster name (``"difference.tif"``) to its QGIS style (.qml XML text).
    Raises :class:`ExportError` when ``out_dir`` cannot be written, the comparison is incomplete, or files exist
    and ``overwrite`` is False.
    """
    compare_dir, out_dir = Path(compare_dir), Path(out_dir)
    report_path = compare_dir / "report.json"
    if not (compare_dir / "difference.tif").is_file() or not report_path.is_file():
        raise ExportError(f"{compare_dir} holds no complete comparison (difference.tif and report.json): run it again.")
    existing = existing_outputs(out_dir, compare_dir)
    if existing and not overwrite:
        raise ExportError(f"{out_dir} already holds {', '.join(existing)}: choose another folder or allow overwriting.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".s2parity-export-", dir=out_dir))
    except OSError as exc:
        raise ExportError(f"Cannot write in {out_dir} ({exc.strerror}): choose a folder you can write to.") from exc
    try:
        for source, base in RASTERS.items():
            if not (compare_dir / source).is_file():
                continue
            _write_cog(compare_dir / source, staging / f"{base}.tif", mismatch=source == "scl_mismatch.tif")
            if source in styles:
                (staging / f"{base}.qml").write_text(styles[source], encoding="utf-8")
        report = json.loads(report_path.read_text(encoding="utf-8"))
        (staging / REPORT_NAMES[0]).write_text(json.dumps(report, indent=2), encoding="utf-8")
        (staging / REPORT_NAMES[1]).write_text(render_csv(report), encoding="utf-8")
        (staging / REPORT_NAMES[2]).write_text(render_html(report), encoding="utf-8")
        written = []
        for path in sorted(staging.iterdir()):
            target = out_dir / path.name
            path.replace(target)
            written.append(target)
        return written
    except OSError as exc:
        raise ExportError(
            f"Writing the export to {out_dir} failed ({exc}): free some space or choose another folder."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
