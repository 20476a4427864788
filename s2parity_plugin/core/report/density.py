"""A-vs-B joint histogram for the density plot of the results panel and the HTML report.

Read decimated (at most ``max_side``² pixels) — it feeds a plot, not a statistic. Pixels count when A and B are
both valid (the difference raster is valid). Values in the inputs' units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from s2parity_plugin.core.report.raster_sample import read_band


def density_histogram(value_a: Path, value_b: Path, difference: Path, bins: int = 64, max_side: int = 1024) -> dict:
    """``{"a_range": [lo, hi], "b_range": [lo, hi], "counts": bins×bins (row = B bin, col = A bin), "bins"}``
    over the 0.5–99.5 percentile range of both sides (a common range, so the 1:1 line is the diagonal)."""
    a, va = read_band(value_a, max_side=max_side)
    b, vb = read_band(value_b, max_side=max_side)
    _, vd = read_band(difference, max_side=max_side)
    valid = va & vb & vd
    if not valid.any():
        return {"a_range": [0.0, 1.0], "b_range": [0.0, 1.0], "counts": [], "bins": bins}
    both = np.concatenate([a[valid], b[valid]])
    lo, hi = (float(v) for v in np.percentile(both, (0.5, 99.5)))
    if hi <= lo:
        hi = lo + 1.0
    counts, _, _ = np.histogram2d(b[valid], a[valid], bins=bins, range=[[lo, hi], [lo, hi]])
    return {"a_range": [lo, hi], "b_range": [lo, hi], "counts": counts.astype(int).tolist(), "bins": bins}
