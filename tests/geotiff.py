"""Write small single-band GeoTIFFs for tests (QGIS-free)."""

from __future__ import annotations

from pathlib import Path

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
