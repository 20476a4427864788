"""Write small single-band GeoTIFFs for tests, as a comparison case or a run folder, and compare a case (QGIS-free)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array, osr

#: 10 m pixels in UTM 33N (EPSG:32633).
GT_UTM33 = (500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    gt: tuple[float, ...] = GT_UTM33,
    epsg: int = 32633,
    nodata: float | None = None,
    gdal_type: int | None = None,
) -> Path:
    """Write ``array`` (rows, cols) as band 1 of a GeoTIFF with geotransform ``gt`` in EPSG ``epsg``; the GDAL
    type follows the array's dtype unless ``gdal_type`` is given."""
    if gdal_type is None:
        gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(array.dtype)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, gdal_type)
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    if nodata is not None:
        band.SetNoDataValue(nodata)
    band.WriteArray(array)
    del band, ds
    return Path(path)


def write_run_folder(run: Path, a: np.ndarray, b: np.ndarray, sides: dict, scl: np.ndarray | None = None) -> Path:
    """A minimal S2 Parity run folder ``run``: ``a/value.tif`` = ``a``, ``b/value.tif`` = ``b`` (and, with ``scl``,
    ``a/scl.tif`` = ``b/scl.tif`` = ``scl``) and a schema-1 ``run.json`` listing them with the ``sides`` metadata
    (``{"a": {...}, "b": {...}}``: units, product ids …)."""
    files = {"value_a": "a/value.tif", "value_b": "b/value.tif"}
    if scl is not None:
        files.update(scl_a="a/scl.tif", scl_b="b/scl.tif")
    arrays = {"value_a": a, "value_b": b, "scl_a": scl, "scl_b": scl}
    for key, rel in files.items():
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        write_geotiff(run / rel, arrays[key])
    manifest = {"schema": 1, "files": files, "sides": sides}
    (run / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


def write_case(
    folder: Path,
    a: np.ndarray,
    b: np.ndarray,
    scl_a: np.ndarray,
    scl_b: np.ndarray,
    gt: tuple[float, ...] = GT_UTM33,
    nodata_a: float | None = None,
) -> dict[str, Path]:
    """A, B (nodata ``nodata_a`` on A) and both SCL arrays as a.tif, b.tif, scl_a.tif, scl_b.tif in ``folder``
    (geotransform ``gt``, EPSG:32633); their paths keyed ``a``, ``b``, ``scl_a``, ``scl_b``."""
    return {
        "a": write_geotiff(folder / "a.tif", a, gt, nodata=nodata_a),
        "b": write_geotiff(folder / "b.tif", b, gt),
        "scl_a": write_geotiff(folder / "scl_a.tif", scl_a, gt),
        "scl_b": write_geotiff(folder / "scl_b.tif", scl_b, gt),
    }


def compare_case(
    paths: dict[str, Path],
    out: Path,
    *,
    metadata_a: dict | None = None,
    metadata_b: dict | None = None,
    feedback: Any = None,
    **options: Any,
) -> Any:
    """``compare_rasters`` of a :func:`write_case` case (A, B and both SCL rasters) into ``out`` with
    ``CompareOptions(**options)``, the sides' metadata and the progress callback ``feedback``."""
    from s2parity_plugin.core.compare import CompareOptions, compare_rasters

    return compare_rasters(
        paths["a"],
        paths["b"],
        out,
        scl_a=paths["scl_a"],
        scl_b=paths["scl_b"],
        metadata_a=metadata_a,
        metadata_b=metadata_b,
        options=CompareOptions(**options),
        feedback=feedback,
    )
