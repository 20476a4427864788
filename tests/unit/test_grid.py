"""Grid read / check / explicit alignment (core.grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2parity_plugin.core.compare import compare_rasters
from s2parity_plugin.core.errors import GridMismatchError, InputError
from s2parity_plugin.core.model.grid import align_to_grid, check_same_grid, read_grid
from tests.geotiff import GT_UTM33, write_geotiff

GT = GT_UTM33


def write(path: Path, arr: np.ndarray, gt=GT, epsg: int = 32633, nodata=None) -> Path:
    return write_geotiff(path, arr, gt, epsg, nodata)


def test_read_grid(tmp_path):
    g = read_grid(write(tmp_path / "a.tif", np.zeros((30, 40), np.float32)))
    assert (g.width, g.height) == (40, 30)
    assert g.geotransform == GT
    assert g.crs_label == "EPSG:32633"
    assert g.pixel_size == (10.0, 10.0)
    d = g.to_dict()
    assert d["crs"] == "EPSG:32633" and d["geotransform"] == list(GT) and d["width"] == 40 and d["height"] == 30


def test_same_grid_passes(tmp_path):
    a = read_grid(write(tmp_path / "a.tif", np.zeros((30, 40), np.float32)))
    b = read_grid(write(tmp_path / "b.tif", np.ones((30, 40), np.uint16)))
    check_same_grid(a, b)  # no exception


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"epsg": 32634}, "CRS differs (A: EPSG:32633, B: EPSG:32634)"),
        ({"shape": (31, 40)}, "size differs (A: 40×30 px, B: 40×31 px)"),
        ({"gt": (500005.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)}, "origin x differs (A: 500000.0, B: 500005.0)"),
        ({"gt": (500000.0, 20.0, 0.0, 4000000.0, 0.0, -10.0)}, "pixel width differs"),
    ],
)
def test_mismatch_says_what_differs(tmp_path, kwargs, fragment):
    a = read_grid(write(tmp_path / "a.tif", np.zeros((30, 40), np.float32)))
    shape = kwargs.pop("shape", (30, 40))
    b = read_grid(write(tmp_path / "b.tif", np.zeros(shape, np.float32), **kwargs))
    with pytest.raises(GridMismatchError) as exc:
        check_same_grid(a, b)
    assert fragment in str(exc.value)
    assert "Align Rasters" in str(exc.value) and "Warp (Reproject)" in str(exc.value)
    assert "align_to_grid" not in str(exc.value) and "_" not in str(exc.value).split("grid first")[1]


def test_compare_refuses_other_grid_and_writes_nothing(tmp_path):
    a = write(tmp_path / "a.tif", np.zeros((30, 40), np.float32))
    b = write(tmp_path / "b.tif", np.zeros((30, 40), np.float32), gt=(500010.0, 10.0, 0.0, 4000000.0, 0.0, -10.0))
    out = tmp_path / "out"
    with pytest.raises(GridMismatchError, match="origin x differs"):
        compare_rasters(a, b, out)
    assert not out.exists() or list(out.iterdir()) == []


def test_compare_refuses_scl_on_other_grid(tmp_path):
    a = write(tmp_path / "a.tif", np.zeros((30, 40), np.float32))
    b = write(tmp_path / "b.tif", np.zeros((30, 40), np.float32))
    scl = write(tmp_path / "scl.tif", np.zeros((30, 41), np.uint8))
    with pytest.raises(GridMismatchError, match="SCL A"):
        compare_rasters(a, b, tmp_path / "out", scl_a=scl)


def test_align_to_grid_shifts_by_whole_pixels(tmp_path):
    arr = np.arange(30 * 40, dtype=np.float32).reshape(30, 40)
    ref = write(tmp_path / "ref.tif", np.zeros((30, 40), np.float32))
    # source origin one pixel east and two pixels south of the reference
    src = write(tmp_path / "src.tif", arr, gt=(500010.0, 10.0, 0.0, 3999980.0, 0.0, -10.0), nodata=-1)
    out = align_to_grid(src, ref, tmp_path / "aligned.tif", resampling="nearest")
    check_same_grid(read_grid(ref), read_grid(out))
    ds = gdal.Open(str(out))
    got = ds.GetRasterBand(1).ReadAsArray()
    ds = None
    # reference pixel (row r, col c) is source pixel (r - 2, c - 1)
    np.testing.assert_array_equal(got[2:, 1:], arr[:-2, :-1])
    assert (got[:2, :] == -1).all() and (got[:, 0] == -1).all()


def test_align_to_grid_unknown_resampling(tmp_path):
    a = write(tmp_path / "a.tif", np.zeros((3, 4), np.float32))
    with pytest.raises(InputError, match="Unknown resampling"):
        align_to_grid(a, a, tmp_path / "o.tif", resampling="magic")


def test_unreadable_raster_is_input_error(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputError, match="Cannot open raster"):
        read_grid(bad)
