"""core.block_reader: full-width row ranges read block by block from uncompressed GeoTIFFs equal GDAL's reads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2parity_plugin.core.block_reader import BlockReadError, open_block_reader

gdal.UseExceptions()


def _write(path: Path, arr: np.ndarray, options: list[str]) -> gdal.Dataset:
    gdal_type = {np.uint8: gdal.GDT_Byte, np.uint16: gdal.GDT_UInt16, np.float32: gdal.GDT_Float32}[arr.dtype.type]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr.shape[1], arr.shape[0], 1, gdal_type, options)
    ds.GetRasterBand(1).WriteArray(arr)
    ds = None
    return gdal.Open(str(path))


@pytest.mark.parametrize(
    "options",
    [
        ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=16"],  # partial last tile column and row
        ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "BIGTIFF=YES"],  # one tile column, wider than the raster
        ["BLOCKYSIZE=7"],  # strips; the last one shorter
        [],  # GDAL's default strips
    ],
    ids=["tiled", "one-tile-bigtiff", "strips-7", "strips-default"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.uint8])
def test_row_ranges_equal_gdal_reads(tmp_path, options, dtype):
    rng = np.random.default_rng(4)
    arr = (rng.random((61, 45)) * 5000).astype(dtype)
    path = tmp_path / "r.tif"
    ds = _write(path, arr, options)
    reader = open_block_reader(ds, path)
    assert reader is not None
    out = np.empty((20, 45), dtype=dtype)
    for r0, rows in ((0, 61), (0, 1), (5, 20), (15, 2), (40, 21), (60, 1)):
        got = reader.read(r0, rows, out=out[:rows] if rows <= 20 else None)
        np.testing.assert_array_equal(got, arr[r0 : r0 + rows], err_msg=f"{r0}+{rows}")
        if rows <= 20:
            assert np.shares_memory(got, out), "read into the caller's buffer"
    reader.close()


@pytest.mark.parametrize(
    "options",
    [["COMPRESS=DEFLATE"], ["ENDIANNESS=BIG"], ["NBITS=12"], ["TILED=YES", "SPARSE_OK=TRUE"]],
    ids=["compressed", "big-endian", "12-bit", "sparse"],
)
def test_files_it_cannot_read_are_left_to_gdal(tmp_path, options):
    arr = np.arange(40 * 30, dtype=np.uint16).reshape(40, 30)
    path = tmp_path / "r.tif"
    if "SPARSE_OK=TRUE" in options:  # one block written, the others never
        ds = gdal.GetDriverByName("GTiff").Create(str(path), 600, 600, 1, gdal.GDT_UInt16, options)
        ds.GetRasterBand(1).WriteArray(arr, 0, 0)
        ds = None
        ds = gdal.Open(str(path))
    else:
        ds = _write(path, arr, options)
    assert open_block_reader(ds, path) is None


def test_two_bands_or_other_formats_are_left_to_gdal(tmp_path):
    gdal.GetDriverByName("GTiff").Create(str(tmp_path / "two.tif"), 10, 10, 2, gdal.GDT_Byte)  # closed at once
    assert open_block_reader(gdal.Open(str(tmp_path / "two.tif")), tmp_path / "two.tif") is None
    gdal.GetDriverByName("HFA").Create(str(tmp_path / "r.img"), 10, 10, 1, gdal.GDT_Byte)
    assert open_block_reader(gdal.Open(str(tmp_path / "r.img")), tmp_path / "r.img") is None


def test_a_file_truncated_meanwhile_is_an_error_not_a_crash(tmp_path):
    arr = np.ones((64, 64), np.float32)
    path = tmp_path / "r.tif"
    ds = _write(path, arr, ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"])
    reader = open_block_reader(ds, path)
    assert reader.read(0, 8).shape == (8, 64)
    os.truncate(path, 1000)
    with pytest.raises(BlockReadError, match="ended"):
        reader.read(40, 8)
    reader.close()
