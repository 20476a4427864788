"""Per-feature statistics of a comparison (for multi-feature AOIs): mean A, mean B, mean B − A, SCL-mismatch share.

Features are burnt into the comparison grid with GDAL (a pixel belongs to a feature when its centre is inside;
GDAL's default rasterisation rule). Means are over pixels where the difference is valid (both sides valid), in
the units of the inputs (DN, reflectance or NDVI) — with an SCL-mismatch raster, only over pixels whose SCL is valid
in both (mismatch class 1), the same pixels as the report's statistics. Later features win where features overlap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.core.report.raster_sample import read_band


@gdal_exceptions()
def burn_features(grid_like: Path, features: list[tuple[int | str, str]]) -> np.ndarray:
    """Raster of feature indices (1-based; 0 outside) on the grid of ``grid_like``. ``features`` are
    ``(feature id, WKT geometry in the raster's CRS)``."""
    ref = gdal.Open(str(grid_like))
    mem = gdal.GetDriverByName("MEM").Create("", ref.RasterXSize, ref.RasterYSize, 1, gdal.GDT_UInt32)
    mem.SetGeoTransform(ref.GetGeoTransform())
    mem.SetProjection(ref.GetProjection())
    srs = osr.SpatialReference(wkt=ref.GetProjection())
    vector = ogr.GetDriverByName("Memory").CreateDataSource("zones")
    layer = vector.CreateLayer("zones", srs, ogr.wkbUnknown)
    layer.CreateField(ogr.FieldDefn("idx", ogr.OFTInteger))
    for index, (_fid, wkt) in enumerate(features, start=1):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("idx", index)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    gdal.RasterizeLayer(mem, [1], layer, options=["ATTRIBUTE=idx"])
    zones = mem.GetRasterBand(1).ReadAsArray()
    del layer, vector, mem, ref
    return zones


def feature_stats(
    value_a: Path,
    value_b: Path,
    difference: Path,
    features: list[tuple[int | str, str]],
    mismatch: Path | None = None,
    quantity: str = "",
) -> list[dict]:
    """One row per feature: ``feature_id``, ``pixels``, ``mean_a``, ``mean_b``, ``mean_diff``, ``mismatch_share``
    (share of the feature's SCL-classified pixels valid on one side only). For NDVI the means are named
    ``mean_ndvi_a``/``mean_ndvi_b``."""
    zones = burn_features(difference, features).ravel()
    a, _ = read_band(value_a)
    b, _ = read_band(value_b)
    diff, valid = read_band(difference)
    n = len(features) + 1
    valid = valid.ravel()
    if mismatch is not None:
        m, _ = read_band(mismatch)
        m = m.ravel()
        valid &= m == 1
    zone_valid = np.where(valid, zones, 0)
    counts = np.bincount(zone_valid, minlength=n)
    sum_a = np.bincount(zone_valid, weights=np.where(valid, a.ravel(), 0.0), minlength=n)
    sum_b = np.bincount(zone_valid, weights=np.where(valid, b.ravel(), 0.0), minlength=n)
    sum_d = np.bincount(zone_valid, weights=np.where(valid, diff.ravel(), 0.0), minlength=n)
    if mismatch is not None:
        classified = np.bincount(zones, weights=(m > 0).astype(float), minlength=n)
        one_sided = np.bincount(zones, weights=np.isin(m, (3, 4)).astype(float), minlength=n)
    prefix = "mean_ndvi_" if quantity.upper() == "NDVI" else "mean_"
    rows = []
    for index, (fid, _wkt) in enumerate(features, start=1):
        c = counts[index]
        row: dict = {"feature_id": fid, "pixels": int(c)}
        row[f"{prefix}a"] = float(sum_a[index] / c) if c else None
        row[f"{prefix}b"] = float(sum_b[index] / c) if c else None
        row["mean_diff"] = float(sum_d[index] / c) if c else None
        if mismatch is not None:
            row["mismatch_share"] = float(one_sided[index] / classified[index]) if classified[index] else None
        rows.append(row)
    return rows
