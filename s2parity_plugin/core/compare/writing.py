"""The output rasters of a comparison: stripped GeoTIFFs written under temporary names and renamed when complete."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).
from s2parity_plugin.core.compare.options import CLASS_CHANGED_NODATA, MISMATCH_COLOURS, MISMATCH_NAMES, OUTPUT_NAMES
from s2parity_plugin.core.compare.stats import DiffStats
from s2parity_plugin.core.gdal_scope import FAST_COMPRESSION
from s2parity_plugin.core.model.grid import GridInfo
from s2parity_plugin.core.report import document as report_mod

#: Outputs are stripped GeoTIFFs whose strips are exactly the processing strips (every write covers whole
#: blocks: nothing is read back); the difference is uncompressed (fastest), class rasters ZSTD level 1
#: (DEFLATE level 1 when GDAL lacks ZSTD): the fastest of the codecs measured.
DIFF_CREATION = ["BIGTIFF=IF_SAFER"]


CLASS_CREATION = [*FAST_COMPRESSION, "BIGTIFF=IF_SAFER"]


def create_raster(path: Path, like: GridInfo, dtype: int, options: list[str], rows_per_strip: int) -> gdal.Dataset:
    drv = gdal.GetDriverByName("GTiff")
    options = [*options, f"BLOCKYSIZE={rows_per_strip}"]
    ds = drv.Create(str(path), like.width, like.height, 1, dtype, options=options)
    ds.SetGeoTransform(like.geotransform)
    if like.crs_wkt:
        ds.SetProjection(like.crs_wkt)
    return ds


def set_categories(
    band: gdal.Band, names: Iterable[str], colours: Iterable[tuple[int, int, int, int]], nodata: int
) -> None:
    """Nodata, colour table and category names of a class raster (keeps no reference to ``band``)."""
    band.SetNoDataValue(nodata)
    ct = gdal.ColorTable()
    for i, colour in enumerate(colours):
        ct.SetColorEntry(i, colour)
    if nodata > 0:
        ct.SetColorEntry(nodata, (0, 0, 0, 0))
    band.SetRasterColorTable(ct)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetCategoryNames(list(names))


@dataclass
class StripResult:
    r0: int
    difference: np.ndarray
    mismatch: np.ndarray | None
    class_changed: np.ndarray | None
    shift_corrected: np.ndarray | None
    stats: DiffStats
    stats_corrected: DiffStats | None
    confusion: np.ndarray | None
    edge_counts: np.ndarray | None  # [pixels, near edge, mismatch, mismatch near edge]


class Outputs:
    """The output rasters of one run: written under temporary names in ``out_dir``, renamed when complete."""

    def __init__(self, out_dir: Path, grid: GridInfo, rows_per_strip: int) -> None:
        self.out_dir, self.grid, self.rows_per_strip = out_dir, grid, rows_per_strip
        self.tag = uuid.uuid4().hex[:8]
        self.final = {k: out_dir / v for k, v in OUTPUT_NAMES.items()}
        self.temps: dict[str, Path] = {}
        self.datasets: dict[str, gdal.Dataset] = {}

    def temp(self, key: str) -> Path:
        path = self.out_dir / f".{self.final[key].stem}.{self.tag}.partial{self.final[key].suffix}"
        self.temps[key] = path
        return path

    def create(self, key: str, dtype: int, options: list[str]) -> gdal.Band:
        """Create output ``key``; returns its band."""
        self.datasets[key] = create_raster(self.temp(key), self.grid, dtype, options, self.rows_per_strip)
        return self.datasets[key].GetRasterBand(1)

    def create_all(self, has_scl: bool, class_changed: bool, shift_corrected: bool) -> None:
        band = self.create("difference", gdal.GDT_Float32, DIFF_CREATION)
        band.SetNoDataValue(float("nan"))
        band.SetDescription("B - A")
        if has_scl:
            band = self.create("mismatch", gdal.GDT_Byte, CLASS_CREATION)
            set_categories(band, MISMATCH_NAMES, MISMATCH_COLOURS, nodata=0)
            if class_changed:
                band = self.create("class_changed", gdal.GDT_Byte, CLASS_CREATION)
                names, colours = ("Same class", "Class changed"), ((190, 190, 190, 255), (220, 30, 30, 255))
                set_categories(band, names, colours, nodata=CLASS_CHANGED_NODATA)
        if shift_corrected:
            self.create("shift_corrected", gdal.GDT_Float32, DIFF_CREATION).SetNoDataValue(float("nan"))

    def write(self, res: StripResult) -> None:
        """Write one strip's rasters (writer thread: the only user of the datasets)."""
        for key, arr in (
            ("difference", res.difference),
            ("mismatch", res.mismatch),
            ("class_changed", res.class_changed),
            ("shift_corrected", res.shift_corrected),
        ):
            if arr is not None and key in self.datasets:
                self.datasets[key].GetRasterBand(1).WriteArray(arr, 0, res.r0)

    def close(self) -> None:
        for key in list(self.datasets):
            self.datasets[key].FlushCache()
            self.datasets[key] = None
        self.datasets.clear()

    def publish(self, report: dict[str, Any]) -> None:
        """Write the report, rename every temporary file to its final name, remove outputs an earlier run left."""
        report_tmp = self.out_dir / f".report.{self.tag}.partial.json"
        self.temps["report"] = report_tmp
        report_mod.write_json(report, report_tmp)
        for key, tmp in self.temps.items():
            aux, final_aux = Path(f"{tmp}.aux.xml"), Path(f"{self.final[key]}.aux.xml")
            tmp.replace(self.final[key])
            if aux.exists():  # GDAL PAM sidecar (category names)
                aux.replace(final_aux)
            elif final_aux.exists():
                final_aux.unlink()
        for key, path in self.final.items():  # outputs of an earlier run in out_dir that this run did not make
            if key not in self.temps:
                for stale in (path, Path(f"{path}.aux.xml")):
                    with contextlib.suppress(FileNotFoundError):
                        stale.unlink()
        self.temps.clear()

    def discard(self) -> None:
        """Drop open datasets and any temporary file left (failure or cancel)."""
        self.datasets.clear()
        for tmp in self.temps.values():
            for path in (tmp, tmp.with_name(tmp.name + ".aux.xml")):
                with contextlib.suppress(OSError):
                    path.unlink()
