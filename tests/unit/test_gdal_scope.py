"""GDAL's error mode and block cache are changed only while the plugin's own calls run, then restored: QGIS and
other plugins in the same process keep theirs."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from osgeo import gdal

from s2parity_plugin.core.compare import compare_rasters
from s2parity_plugin.core.compare.engine import GDAL_CACHE_MB
from s2parity_plugin.core.errors import InputError
from s2parity_plugin.core.gdal_scope import gdal_cache_limit, gdal_exceptions
from s2parity_plugin.core.model.grid import read_grid
from tests.geotiff import write_geotiff


@pytest.fixture
def quiet_gdal():
    """GDAL as QGIS leaves it for plugins: no exceptions; a large cache."""
    before, cache = gdal.GetUseExceptions(), gdal.GetCacheMax()
    gdal.DontUseExceptions()
    gdal.SetCacheMax(512 * 1024 * 1024)
    yield
    (gdal.UseExceptions if before else gdal.DontUseExceptions)()
    gdal.SetCacheMax(cache)


def test_importing_the_plugin_changes_no_gdal_setting():
    code = (
        "import importlib, pkgutil\n"
        "from osgeo import gdal\n"
        "cache = gdal.GetCacheMax()\n"
        "import s2parity_plugin.core as core, s2parity_plugin.sample_endpoints as sample\n"
        "for pkg in (core, sample):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "print(gdal.GetUseExceptions(), gdal.GetCacheMax() == cache)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["0", "True"]


def test_compare_raises_gdal_errors_inside_and_restores_the_mode_and_cache(tmp_path, quiet_gdal):
    with pytest.raises(InputError, match="No such file or directory"):  # GDAL's exception inside, not None
        read_grid(tmp_path / "missing.tif")
    assert gdal.GetUseExceptions() == 0
    a = write_geotiff(tmp_path / "a.tif", np.arange(600, dtype=np.uint16).reshape(20, 30))
    b = write_geotiff(tmp_path / "b.tif", np.arange(600, dtype=np.uint16).reshape(20, 30) + 5)
    seen = {}

    def feedback(fraction: float) -> bool:
        seen.setdefault("mode", gdal.GetUseExceptions())
        seen.setdefault("cache", gdal.GetCacheMax())
        return True

    result = compare_rasters(a, b, tmp_path / "out", feedback=feedback)
    assert result.report["stats"]["bias"] == pytest.approx(5.0)
    assert seen == {"mode": 1, "cache": GDAL_CACHE_MB * 1024 * 1024}
    assert gdal.GetUseExceptions() == 0 and gdal.GetCacheMax() == 512 * 1024 * 1024


def test_overlapping_users_restore_once_the_last_one_leaves(quiet_gdal):
    first_inside, second_inside, release = threading.Event(), threading.Event(), threading.Event()
    modes = []

    def first():
        with gdal_exceptions(), gdal_cache_limit(8):
            first_inside.set()
            second_inside.wait(5)
        modes.append(("first left", gdal.GetUseExceptions(), gdal.GetCacheMax()))
        release.set()

    worker = threading.Thread(target=first)
    worker.start()
    first_inside.wait(5)
    with gdal_exceptions(), gdal_cache_limit(16):
        second_inside.set()
        release.wait(5)
        modes.append(("second inside", gdal.GetUseExceptions(), gdal.GetCacheMax()))
    worker.join()
    modes.append(("both left", gdal.GetUseExceptions(), gdal.GetCacheMax()))
    assert modes == [
        ("first left", 1, 8 * 1024 * 1024),
        ("second inside", 1, 8 * 1024 * 1024),
        ("both left", 0, 512 * 1024 * 1024),
    ]


def test_an_exception_mode_that_was_on_stays_on(quiet_gdal):
    gdal.UseExceptions()
    with gdal_exceptions():
        pass
    assert gdal.GetUseExceptions() == 1


def test_the_fetch_writes_zstd_level_1_where_gdal_has_it(tmp_path, quiet_gdal):
    """The fetch's codec decision (docs/performance.md): ZSTD level 1, DEFLATE where this GDAL lacks ZSTD."""
    from s2parity_plugin.core.fetch.mosaic import MosaicWriter
    from s2parity_plugin.core.model.spec import Grid

    writer = MosaicWriter(tmp_path / "value.tif", Grid(32633, 500000.0, 4000000.0, 10.0, 64, 48))
    writer.write(0, 0, np.arange(64 * 48, dtype=np.uint16).reshape(48, 64))
    writer.close()
    ds = gdal.Open(str(tmp_path / "value.tif"))
    has_zstd = "ZSTD" in gdal.GetDriverByName("GTiff").GetMetadataItem("DMD_CREATIONOPTIONLIST")
    assert ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") == ("ZSTD" if has_zstd else "DEFLATE")
    assert ds.GetRasterBand(1).GetBlockSize() == [256, 256]  # tiled
    np.testing.assert_array_equal(ds.GetRasterBand(1).ReadAsArray(), np.arange(64 * 48).reshape(48, 64))
