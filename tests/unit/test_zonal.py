"""Per-feature statistics against a direct numpy computation on the same arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2parity_plugin.core.report.zonal import burn_features, feature_stats
from tests.geotiff import write_geotiff

GT = (500000.0, 10.0, 0.0, 4500000.0, 0.0, -10.0)


def _write(path: Path, array: np.ndarray, gdal_type: int, nodata: float | None) -> Path:
    return write_geotiff(path, array, GT, 32633, nodata, gdal_type)


def _box(col0: int, row0: int, col1: int, row1: int) -> str:
    x0, y0 = GT[0] + col0 * 10, GT[3] - row0 * 10
    x1, y1 = GT[0] + col1 * 10, GT[3] - row1 * 10
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def test_feature_stats_match_direct_numpy(tmp_path):
    rng = np.random.default_rng(3)
    a = rng.uniform(0.0, 0.9, (40, 50)).astype(np.float32)
    b = (a + rng.normal(0.01, 0.02, a.shape)).astype(np.float32)
    diff = b - a
    diff[5:8, 5:30] = -9999.0  # invalid pixels, must not count
    mismatch = rng.integers(0, 5, a.shape).astype(np.uint8)
    paths = {
        "a": _write(tmp_path / "a.tif", a, gdal.GDT_Float32, None),
        "b": _write(tmp_path / "b.tif", b, gdal.GDT_Float32, None),
        "d": _write(tmp_path / "d.tif", diff, gdal.GDT_Float32, -9999.0),
        "m": _write(tmp_path / "m.tif", mismatch, gdal.GDT_Byte, 0),
    }
    features = [(11, _box(2, 2, 20, 12)), (12, _box(25, 10, 45, 35))]
    zones = burn_features(paths["d"], features)
    assert (zones == 1).sum() == 18 * 10 and (zones == 2).sum() == 20 * 25

    rows = feature_stats(paths["a"], paths["b"], paths["d"], features, paths["m"], quantity="NDVI")
    for index, row in enumerate(rows, start=1):
        inside = zones == index
        ok = inside & (diff != -9999.0) & (mismatch == 1)  # SCL valid in both, like the report's stats
        assert row["feature_id"] == features[index - 1][0]
        assert row["pixels"] == ok.sum()
        assert row["mean_ndvi_a"] == pytest.approx(a[ok].astype(float).mean(), rel=1e-9)
        assert row["mean_ndvi_b"] == pytest.approx(b[ok].astype(float).mean(), rel=1e-9)
        assert row["mean_diff"] == pytest.approx(diff[ok].astype(float).mean(), rel=1e-9)
        classified = inside & (mismatch > 0)
        assert row["mismatch_share"] == pytest.approx(np.isin(mismatch[classified], (3, 4)).mean())
    assert rows[0]["pixels"] < 180  # the invalid strip was excluded


def test_feature_outside_grid_has_no_pixels(tmp_path):
    a = np.ones((10, 10), np.float32)
    path = _write(tmp_path / "a.tif", a, gdal.GDT_Float32, None)
    [row] = feature_stats(path, path, path, [("far", _box(100, 100, 110, 110))])
    assert row == {"feature_id": "far", "pixels": 0, "mean_a": None, "mean_b": None, "mean_diff": None}


def test_density_histogram_counts_only_valid_pixels(tmp_path):
    from s2parity_plugin.core.report.density import density_histogram

    a = np.tile(np.linspace(0, 1, 50, dtype=np.float32), (20, 1))
    b = a.copy()
    diff = np.zeros_like(a)
    diff[:5] = -9999.0
    pa = _write(tmp_path / "a.tif", a, gdal.GDT_Float32, None)
    pb = _write(tmp_path / "b.tif", b, gdal.GDT_Float32, None)
    pd = _write(tmp_path / "d.tif", diff, gdal.GDT_Float32, -9999.0)
    density = density_histogram(pa, pb, pd, bins=10)
    counts = np.array(density["counts"])
    lo, hi = np.percentile(np.concatenate([a[5:].ravel(), b[5:].ravel()]), (0.5, 99.5))
    inside = ((a[5:] >= lo) & (a[5:] <= hi)).sum()
    assert counts.sum() == inside  # 15 valid rows, values within the plotted range
    assert np.count_nonzero(counts - np.diag(np.diag(counts))) == 0  # A == B: all on the diagonal
    assert density["a_range"] == pytest.approx([lo, hi])
