"""Reading a band with its validity mask, and quick statistics on a decimated read for display stretches (not for
the report).

Reads at most ``max_side`` × ``max_side`` pixels through GDAL's overview/decimation path, so a 10980² tile costs
about a megapixel of memory. Values are in the raster's own units (DN or reflectance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal

from s2parity_plugin.core.gdal_scope import gdal_exceptions


@gdal_exceptions()
def read_band(path: str | Path, band: int = 1, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64, valid mask) of ``band``; valid = finite and not the band's nodata. With ``max_side``,
    read decimated (nearest neighbour) to at most ``max_side`` pixels along the longer side."""
    ds = gdal.Open(str(path))
    if ds is None:
        raise FileNotFoundError(f"GDAL cannot open {path}")
    rb = ds.GetRasterBand(band)
    width, height = ds.RasterXSize, ds.RasterYSize
    scale = max(width, height) / max_side if max_side else 1.0
    if scale > 1:
        width, height = max(1, round(width / scale)), max(1, round(height / scale))
    data = rb.ReadAsArray(buf_xsize=width, buf_ysize=height, resample_alg=gdal.GRIORA_NearestNeighbour)
    data = data.astype(np.float64)
    valid = np.isfinite(data)
    nodata = rb.GetNoDataValue()
    if nodata is not None and not np.isnan(nodata):
        valid &= data != nodata
    del rb, ds
    return data, valid


def sample_valid(path: str | Path, band: int = 1, max_side: int = 1024) -> np.ndarray:
    """1-D float64 array of the valid (non-nodata, finite) values of ``band``, read decimated."""
    data, valid = read_band(path, band, max_side)
    return data[valid]


def percentiles(
    paths: list[str | Path], q: tuple[float, float] = (2.0, 98.0), max_side: int = 1024
) -> tuple[float, float]:
    """(low, high) percentiles over the valid pixels of all ``paths`` together — one common stretch for rasters
    that must look comparable. (0, 1) when there is no valid pixel."""
    values = np.concatenate([sample_valid(p, max_side=max_side) for p in paths])
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, q)
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def symmetric_abs_limit(path: str | Path, q: float = 98.0, max_side: int = 1024) -> float:
    """The ``q``-th percentile of |value| (e.g. of B−A), for a diverging ramp centred on 0 (> 0 always)."""
    values = np.abs(sample_valid(path, max_side=max_side))
    if values.size == 0:
        return 1.0
    limit = float(np.percentile(values, q))
    return limit if limit > 0 else float(values.max()) or 1.0
