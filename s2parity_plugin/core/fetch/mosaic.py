"""Windowed GeoTIFF writing: tiles of one grid written straight into one file per raster (GDAL).

The file is created on the first tile (its data type comes from the tile the service returned), filled with the
no-data value, and every tile is written at its pixel offset. Files are tiled GeoTIFFs compressed with
:data:`~s2parity_plugin.core.gdal_scope.FAST_COMPRESSION` (ZSTD level 1; DEFLATE where GDAL lacks ZSTD).
The writer keeps a reference to its dataset while bands are used and closes it (flushes) in :meth:`close`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from s2parity_plugin.core.gdal_scope import FAST_COMPRESSION, gdal_exceptions
from s2parity_plugin.core.model.spec import Grid

CREATION_OPTIONS = ["TILED=YES", *FAST_COMPRESSION, "BIGTIFF=IF_SAFER"]


def nodata_for(dtype: np.dtype) -> float:
    """No-data value per data type: NaN for floats, 0 for integers (Sentinel-2 DN 0 and SCL 0 are no data)."""
    return float("nan") if np.issubdtype(dtype, np.floating) else 0


class MosaicWriter:
    """Writes tiles of ``grid`` into ``path`` (a single-band GeoTIFF)."""

    def __init__(self, path: str | Path, grid: Grid) -> None:
        self.path = Path(path)
        self.grid = grid
        self._ds: gdal.Dataset | None = None
        self.dtype: np.dtype | None = None

    def _create(self, dtype: np.dtype) -> None:
        gdal_type = gdal.GetDataTypeByName(
            {
                "float32": "Float32",
                "float64": "Float64",
                "uint16": "UInt16",
                "uint8": "Byte",
                "int16": "Int16",
                "uint32": "UInt32",
                "int32": "Int32",
            }.get(np.dtype(dtype).name, "Float32")
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        driver = gdal.GetDriverByName("GTiff")
        ds = driver.Create(str(self.path), self.grid.width, self.grid.height, 1, gdal_type, CREATION_OPTIONS)
        ds.SetGeoTransform(self.grid.geotransform)
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(self.grid.epsg)
        ds.SetProjection(srs.ExportToWkt())
        band = ds.GetRasterBand(1)
        nodata = nodata_for(np.dtype(dtype))
        band.SetNoDataValue(nodata)
        band.Fill(nodata)
        self._ds = ds
        self.dtype = np.dtype(dtype)

    @gdal_exceptions()
    def write(self, col: int, row: int, array: np.ndarray) -> None:
        """Write a 2-D ``array`` with its upper-left pixel at ``(col, row)`` of the grid."""
        if array.ndim == 3:
            array = array[..., 0] if array.shape[-1] <= 4 else array[0]
        if self._ds is None:
            self._create(array.dtype)
        h, w = array.shape
        if col + w > self.grid.width or row + h > self.grid.height:
            raise ValueError(f"tile {w}×{h} at ({col}, {row}) exceeds the {self.grid.width}×{self.grid.height} grid")
        band = self._ds.GetRasterBand(1)
        band.WriteArray(array.astype(self.dtype, copy=False), col, row)

    @gdal_exceptions()
    def ensure_created(self, dtype: np.dtype) -> None:
        """Create the (all no-data) file even if no tile was written (e.g. every tile outside the AOI)."""
        if self._ds is None:
            self._create(dtype)

    @gdal_exceptions()
    def close(self) -> None:
        if self._ds is not None:
            self._ds.FlushCache()
            self._ds = None
