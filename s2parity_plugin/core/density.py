"""A-vs-B joint histogram for the density plot of the results panel and the HTML report.

Read decimated (at most ``max_side``² pixels) — it feeds a plot, not a statistic. Pixels count when A and B are
both valid (the difference raster is valid). Values in the inputs' units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal


def _read_decimated(path: Path, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    scale = max(1.0, max(ds.RasterXSize, ds.RasterYSize) / max_side)
    bx, by = max(1, round(ds.RasterXSize / scale)), max(1, round(ds.RasterYSize / scale))
    data = band.ReadAsArray(buf_xsize=bx, buf_ysize=by).astype(np.float64)
    valid = np.isfinite(data)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        valid &= data != nodata
    del band, ds
    return data, valid


def density_histogram(value_a: Path, value_b: Path, difference: Path, bins: int = 64, max_side: int = 1024) -> dict:
    """``{"a_range": [lo, hi], "b_range": [lo, hi], "counts": bins×bins (row = B bin, col = A bin), "bins"}``
    over the 0.5–99.5 percentile range of both sides (a common range, so the 1:1 line is the diagonal)."""
    a, va = _read_decimated(value_a, max_side)
    b, vb = _read_decimated(value_b, max_side)
    _, vd = _read_decimated(difference, max_side)
    valid = va & vb & vd
    if not valid.any():
        return {"a_range": [0.0, 1.0], "b_range": [0.0, 1.0], "counts": [], "bins": bins}
    both = np.concatenate([a[valid], b[valid]])
    lo, hi = (float(v) for v in np.percentile(both, (0.5, 99.5)))
    if hi <= lo:
        hi = lo + 1.0
    counts, _, _ = np.histogram2d(b[valid], a[valid], bins=bins, range=[[lo, hi], [lo, hi]])
    return {"a_range": [lo, hi], "b_range": [lo, hi], "counts": counts.astype(int).tolist(), "bins": bins}
