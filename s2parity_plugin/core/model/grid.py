"""Raster grids: read, check that two rasters share one, and (explicitly) put one raster onto another's grid.

A *grid* is a CRS, a GDAL geotransform (x0, pixel width, row rotation, y0, column rotation, pixel height; units of
the CRS, usually metres) and a size in pixels. Comparing two rasters pixel by pixel only makes sense on the same
grid, so :func:`check_same_grid` raises :class:`GridMismatchError` saying exactly what differs; nothing here ever
resamples silently. :func:`align_to_grid` is the explicit escape hatch (gdal.Warp onto the reference grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osgeo import gdal, osr

from s2parity_plugin.core.errors import GridMismatchError, InputError
from s2parity_plugin.core.gdal_scope import gdal_exceptions

#: Geotransform terms may differ by this fraction of a pixel and still count as the same grid (float noise).
GEOTRANSFORM_TOLERANCE_PX = 1e-6


@dataclass(frozen=True)
class GridInfo:
    """The grid of one raster: CRS as WKT, geotransform (CRS units, usually m) and size (px)."""

    crs_wkt: str
    geotransform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(x size, y size) of one pixel in CRS units (m for projected CRSs), both positive."""
        gt = self.geotransform
        return (float(abs(complex(gt[1], gt[4]))), float(abs(complex(gt[2], gt[5]))))

    @property
    def crs_label(self) -> str:
        """``EPSG:<code>`` when the CRS has one, else its WKT (empty when the raster has no CRS)."""
        return crs_label(self.crs_wkt)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``grid`` section: crs (EPSG string or WKT), geotransform, width, height."""
        return {
            "crs": self.crs_label,
            "crs_wkt": self.crs_wkt,
            "geotransform": [float(v) for v in self.geotransform],
            "width": int(self.width),
            "height": int(self.height),
        }


def crs_label(wkt: str) -> str:
    """``EPSG:<code>`` for a WKT that identifies as an EPSG CRS, else the WKT itself."""
    if not wkt:
        return ""
    srs = osr.SpatialReference()
    try:
        srs.ImportFromWkt(wkt)
        srs.AutoIdentifyEPSG()
    except RuntimeError:
        pass
    code = srs.GetAuthorityCode(None)
    name = srs.GetAuthorityName(None)
    if code and name and name.upper() == "EPSG":
        return f"EPSG:{code}"
    return wkt


@gdal_exceptions()
def open_raster(path: str | Path, *, direct_io: bool = False, decode_threads: int = 0) -> gdal.Dataset:
    """Open ``path`` read-only with GDAL; :class:`InputError` naming the file when it cannot be read.

    ``direct_io``: uncompressed GeoTIFFs are read straight into the caller's arrays instead of through GDAL's
    block cache (``GTIFF_DIRECT_IO``, set for this open only): no cached copy, no tile read twice by requests
    that cover half a tile. Other formats and compressed GeoTIFFs ignore it. ``decode_threads`` > 1: compressed
    GeoTIFF blocks of one read request are decoded on that many threads (GTiff open option ``NUM_THREADS``,
    GDAL ≥ 3.6; ignored elsewhere)."""
    old = gdal.GetThreadLocalConfigOption("GTIFF_DIRECT_IO", None)
    if direct_io:
        gdal.SetThreadLocalConfigOption("GTIFF_DIRECT_IO", "YES")
    try:
        if decode_threads > 1:
            ds = gdal.OpenEx(str(path), gdal.OF_RASTER, open_options=[f"NUM_THREADS={decode_threads}"])
        else:
            ds = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise InputError(f"Cannot open raster {path}: {exc}. Choose a GeoTIFF (or other GDAL raster).") from exc
    finally:
        if direct_io:
            gdal.SetThreadLocalConfigOption("GTIFF_DIRECT_IO", old)
    if ds is None:  # pragma: no cover - gdal_exceptions makes this unreachable
        raise InputError(f"Cannot open raster {path}.")
    return ds


def grid_of(ds: gdal.Dataset) -> GridInfo:
    """The :class:`GridInfo` of an open dataset."""
    gt = ds.GetGeoTransform(can_return_null=True)
    if gt is None:
        gt = (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    return GridInfo(ds.GetProjection() or "", tuple(float(v) for v in gt), ds.RasterXSize, ds.RasterYSize)


@gdal_exceptions()
def read_grid(path: str | Path) -> GridInfo:
    """The :class:`GridInfo` of the raster at ``path``."""
    ds = open_raster(path)
    return grid_of(ds)


def _same_crs(wkt_a: str, wkt_b: str) -> bool:
    if wkt_a == wkt_b:
        return True
    if not wkt_a or not wkt_b:
        return False
    a, b = osr.SpatialReference(), osr.SpatialReference()
    a.ImportFromWkt(wkt_a)
    b.ImportFromWkt(wkt_b)
    return bool(a.IsSame(b))


def grid_differences(a: GridInfo, b: GridInfo, names: tuple[str, str] = ("A", "B")) -> list[str]:
    """Human-readable list of what differs between two grids (empty when they are the same grid)."""
    na, nb = names
    diffs: list[str] = []
    if not _same_crs(a.crs_wkt, b.crs_wkt):
        diffs.append(f"CRS differs ({na}: {a.crs_label or 'none'}, {nb}: {b.crs_label or 'none'})")
    if (a.width, a.height) != (b.width, b.height):
        diffs.append(f"size differs ({na}: {a.width}×{a.height} px, {nb}: {b.width}×{b.height} px)")
    px = max(min(a.pixel_size), 1e-12)
    labels = ("origin x", "pixel width", "row rotation", "origin y", "column rotation", "pixel height")
    for i, label in enumerate(labels):
        if abs(a.geotransform[i] - b.geotransform[i]) > GEOTRANSFORM_TOLERANCE_PX * px:
            diffs.append(f"{label} differs ({na}: {a.geotransform[i]!r}, {nb}: {b.geotransform[i]!r})")
    return diffs


def check_same_grid(a: GridInfo, b: GridInfo, names: tuple[str, str] = ("A", "B")) -> None:
    """Raise :class:`GridMismatchError` listing every difference unless ``a`` and ``b`` are the same grid."""
    diffs = grid_differences(a, b, names)
    if diffs:
        raise GridMismatchError(
            f"Rasters {names[0]} and {names[1]} are not on the same grid: "
            + "; ".join(diffs)
            + f". Put {names[1]} onto {names[0]}'s grid first with the QGIS tool Raster ‣ Align Rasters (or "
            f"Raster ‣ Projections ‣ Warp (Reproject) with {names[0]}'s CRS, extent and pixel size), or fetch both "
            "with the same request."
        )


# -- the Process API's output grid ---------------------------------------------------------------------------------
# One derivation of a request's output grid, used by the plugin (core.spec) and by the local endpoint pair, so the
# two cannot disagree. Assumptions that only a live run can confirm are marked ASSUMED.


def coerce_output_size(value: float) -> int:
    """Pixel count the service uses for an ``output.width``/``height`` of ``value``.

    The OpenAPI reference types them ``integer``, yet the Request Builder emits fractional sizes (the seed's
    501.2608 × 420.7543) and the live service answers them. ASSUMED: it truncates (Jackson's default
    ``ACCEPT_FLOAT_AS_INT`` coercion casts a JSON float to int by truncation): 501.2608 → 501, 420.7543 → 420.
    """
    return math.trunc(float(value))


def is_fractional_size(value: Any) -> bool:
    """True for a finite number with a fractional part (``501.26``); ``501``/``501.0`` are whole."""
    return (
        isinstance(value, float) and math.isfinite(value) and value != math.floor(value) and not isinstance(value, bool)
    )


def size_for_resolution(extent: float, resolution: float) -> int:
    """Pixels along one axis for ``resx``/``resy``: the bbox extent (CRS units) over the resolution, rounded half up
    (``floor(x + 0.5)``), at least 1. ASSUMED rounding (the reference says only "used to calculate the width")."""
    return max(1, math.floor(extent / resolution + 0.5))


def bbox_geotransform(
    bbox: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float, float, float]:
    """GDAL geotransform of a Process API output: the image covers the request bbox exactly, so a pixel is
    ``extent / size`` (CRS units) — with ``resx``/``resy`` slightly stretched from the requested resolution when the
    extent is not a multiple of it (the bbox is kept, the resolution is not)."""
    minx, miny, maxx, maxy = bbox
    return (minx, (maxx - minx) / width, 0.0, maxy, 0.0, -(maxy - miny) / height)


RESAMPLING = {
    "nearest": gdal.GRA_NearestNeighbour,
    "bilinear": gdal.GRA_Bilinear,
    "cubic": gdal.GRA_Cubic,
    "cubicspline": gdal.GRA_CubicSpline,
    "lanczos": gdal.GRA_Lanczos,
    "average": gdal.GRA_Average,
    "mode": gdal.GRA_Mode,
}


@gdal_exceptions()
def align_to_grid(
    source: str | Path, reference: str | Path | GridInfo, out_path: str | Path, *, resampling: str = "bilinear"
) -> Path:
    """Resample ``source`` onto the grid of ``reference`` with gdal.Warp; write a GeoTIFF at ``out_path``.

    This is the only place S2 Parity resamples a value raster to another grid, and only when called explicitly.
    Use ``resampling="nearest"`` (or ``"mode"``) for class rasters such as SCL. Nodata is carried over.
    """
    if resampling not in RESAMPLING:
        raise InputError(f"Unknown resampling {resampling!r}; choose one of {', '.join(RESAMPLING)}.")
    ref = reference if isinstance(reference, GridInfo) else read_grid(reference)
    if ref.geotransform[2] != 0 or ref.geotransform[4] != 0:
        raise InputError("The reference grid is rotated; align_to_grid supports north-up grids only.")
    src = open_raster(source)
    gt = ref.geotransform
    x0, y0 = gt[0], gt[3]
    x1, y1 = x0 + gt[1] * ref.width, y0 + gt[5] * ref.height
    out_path = Path(out_path)
    band = src.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    options = gdal.WarpOptions(
        format="GTiff",
        outputBounds=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
        width=ref.width,
        height=ref.height,
        dstSRS=ref.crs_wkt or None,
        resampleAlg=RESAMPLING[resampling],
        srcNodata=nodata,
        dstNodata=nodata,
        creationOptions=["TILED=YES", "COMPRESS=DEFLATE"],
    )
    out = gdal.Warp(str(out_path), src, options=options)
    if out is None:  # pragma: no cover
        raise InputError(f"gdal.Warp could not resample {source} onto the reference grid.")
    out.FlushCache()
    out = None
    return out_path
