"""compare_rasters: outputs, stats and SCL counts against a plain-numpy computation on whole arrays."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2parity_plugin.core.compare import (
    CompareCancelled,
    CompareOptions,
    compare_rasters,
    compare_run_folder,
    masks,
    parse_invalid_classes,
    reading,
)
from s2parity_plugin.core.compare import engine as compare_mod
from s2parity_plugin.core.compare import kernel as compare_kernel
from s2parity_plugin.core.errors import InputError
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES
from tests.geotiff import GT_UTM33, compare_case, write_case, write_geotiff, write_run_folder

GT = GT_UTM33


def write(path: Path, arr: np.ndarray, nodata=None) -> Path:
    return write_geotiff(path, arr, GT, nodata=nodata)


def read(path: Path) -> np.ndarray:
    ds = gdal.Open(str(path))
    arr = ds.GetRasterBand(1).ReadAsArray()
    ds = None
    return arr


@pytest.fixture(autouse=True, params=["numba", "numpy"])
def engine(request, monkeypatch):
    """Every test here runs on both strip paths: the compiled kernel (skipped without numba) and numpy."""
    monkeypatch.setenv(compare_kernel.ENV_SWITCH, request.param)
    if request.param == "numba" and not compare_kernel.available():
        pytest.skip(f"compiled kernel unavailable: {compare_kernel.unavailable_reason()}")
    return request.param


@pytest.fixture
def small_strips(monkeypatch):
    """Force many strips (and so the thread pool, strip halos and merging) on small test rasters."""
    monkeypatch.setattr(compare_mod, "STRIP_PIXELS", 16 * 97)


def make_case(tmp_path: Path, *, h: int = 150, w: int = 97, seed: int = 1, reflectance: bool = True):
    """Random A/B (float32) with nodata, NaN and SCL-invalid pixels holding extreme values."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.0, 0.6, (h, w)).astype(np.float32)
    b = (0.97 * a + 0.012 + rng.normal(0, 0.01, (h, w))).astype(np.float32)
    if not reflectance:
        a = np.round(a * 10000).astype(np.float32)
        b = np.round(b * 10000 + 1000).astype(np.float32)
    scl_a = rng.choice(
        np.arange(12), size=(h, w), p=[0.03, 0.02, 0.03, 0.05, 0.3, 0.25, 0.1, 0.02, 0.08, 0.06, 0.04, 0.02]
    )
    scl_b = scl_a.copy()
    flip = rng.random((h, w)) < 0.15
    scl_b[flip] = rng.integers(0, 12, flip.sum())
    scl_a, scl_b = scl_a.astype(np.uint8), scl_b.astype(np.uint8)
    # nodata on A (value -9999), NaN on B; extreme values where SCL is invalid must not leak
    nod_a = rng.random((h, w)) < 0.05
    a[nod_a] = -9999.0
    b[rng.random((h, w)) < 0.05] = np.nan
    invalid_px = np.isin(scl_a, sorted(DEFAULT_INVALID_CLASSES))
    b[invalid_px] = 1e30
    return write_case(tmp_path, a, b, scl_a, scl_b, GT, nodata_a=-9999.0), a, b, scl_a, scl_b


def expected_stats(a, b, scl_a, scl_b, tolerance, invalid=DEFAULT_INVALID_CLASSES):
    valid = (a != -9999.0) & np.isfinite(a) & np.isfinite(b)
    for scl in (scl_a, scl_b):
        valid &= (scl != 0) & ~np.isin(scl, sorted(invalid))
    av, bv = a[valid].astype(np.float64), b[valid].astype(np.float64)
    d = bv - av
    slope, intercept = np.polyfit(av, bv, 1)
    return valid, {
        "n": int(valid.sum()),
        "bias": d.mean(),
        "mae": np.abs(d).mean(),
        "rmse": np.sqrt((d**2).mean()),
        "std": d.std(),
        "pearson_r": np.corrcoef(av, bv)[0, 1],
        "fit_slope": slope,
        "fit_intercept": intercept,
        "p50_abs": np.percentile(np.abs(d), 50, method="inverted_cdf"),
        "p95_abs": np.percentile(np.abs(d), 95, method="inverted_cdf"),
        "share_over_tolerance": float((np.abs(d) > tolerance).mean()),
    }


@pytest.mark.parametrize("strips", [False, True])
def test_stats_equal_plain_numpy(tmp_path, monkeypatch, strips):
    if strips:  # many strips, computed concurrently and merged
        monkeypatch.setattr(compare_mod, "STRIP_PIXELS", 16 * 97)
        monkeypatch.setattr(compare_mod, "WORKERS", 2)
    paths, a, b, scl_a, scl_b = make_case(tmp_path)
    res = compare_case(
        paths, tmp_path / "out", metadata_a={"units": "REFLECTANCE"}, metadata_b={"units": "REFLECTANCE"}
    )
    st = res.report["stats"]
    _, exp = expected_stats(a, b, scl_a, scl_b, 0.01)
    assert st["units"] == "REFLECTANCE" and st["tolerance"] == 0.01
    assert st["n"] == exp["n"] > 1000
    for key in ("bias", "mae", "rmse", "std", "pearson_r", "fit_slope", "fit_intercept"):
        assert st[key] == pytest.approx(exp[key], rel=2e-5, abs=1e-7), key
    # percentiles: lower edge of the float32 bin (12 mantissa bits) that holds the nearest-rank value
    for key in ("p50_abs", "p95_abs"):
        assert exp[key] * (1 - 2.0**-12) <= st[key] <= exp[key], key
        bits = np.array([exp[key]], np.float32).view(np.int32)
        assert st[key] == float((bits >> 11 << 11).view(np.float32)[0]), key
    assert st["share_over_tolerance"] == pytest.approx(exp["share_over_tolerance"], abs=0)
    hist = st["histogram"]
    assert len(hist["bin_edges"]) == len(hist["counts"]) + 1
    assert sum(hist["counts"]) + hist["below"] + hist["above"] == exp["n"]
    # no leak of the 1e30 / -9999 values: the histogram stays within the data range
    assert max(abs(hist["bin_edges"][0]), abs(hist["bin_edges"][-1])) < 1.0


def test_integer_dn_percentiles_exact(tmp_path, small_strips):
    rng = np.random.default_rng(5)
    a = rng.integers(100, 5000, (120, 97)).astype(np.uint16)
    b = (a.astype(np.int32) + rng.integers(-300, 1300, a.shape)).clip(0, 65535).astype(np.uint16)
    res = compare_rasters(
        write(tmp_path / "a.tif", a),
        write(tmp_path / "b.tif", b),
        tmp_path / "out",
        metadata_a={"units": "DN"},
        metadata_b={"units": "DN"},
    )
    d = b.astype(np.float64) - a
    st = res.report["stats"]
    assert st["tolerance"] == 100.0
    assert st["n"] == a.size
    assert st["p50_abs"] == np.percentile(np.abs(d), 50, method="inverted_cdf")
    assert st["p95_abs"] == np.percentile(np.abs(d), 95, method="inverted_cdf")
    assert st["bias"] == pytest.approx(d.mean(), rel=1e-7)  # float32 pairwise sums
    assert st["share_over_tolerance"] == pytest.approx((np.abs(d) > 100).mean(), abs=0)
    assert read(res.difference).dtype == np.float32
    np.testing.assert_array_equal(read(res.difference), d.astype(np.float32))


def test_difference_raster_and_nodata(tmp_path, small_strips):
    paths, a, b, scl_a, scl_b = make_case(tmp_path)
    res = compare_case(paths, tmp_path / "out")
    diff = read(res.difference)
    has_data = (a != -9999.0) & np.isfinite(b)
    np.testing.assert_array_equal(np.isnan(diff), ~has_data)
    np.testing.assert_array_equal(diff[has_data], (b - a)[has_data])
    ds = gdal.Open(str(res.difference))
    assert np.isnan(ds.GetRasterBand(1).GetNoDataValue())
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Float32
    ds = None
    # mask_invalid also blanks SCL-invalid pixels
    res2 = compare_case(paths, tmp_path / "out2", mask_invalid=True)
    valid, _ = expected_stats(a, b, scl_a, scl_b, 0.01)
    np.testing.assert_array_equal(~np.isnan(read(res2.difference)), valid)


def test_scl_mismatch_and_counts_equal_plain_numpy(tmp_path, small_strips):
    paths, _a, _b, scl_a, scl_b = make_case(tmp_path, seed=3)
    invalid = {1, 2, 3, 7, 8, 9, 10, 11}
    res = compare_case(paths, tmp_path / "out", class_changed=True)
    va = (scl_a != 0) & ~np.isin(scl_a, sorted(invalid))
    vb = (scl_b != 0) & ~np.isin(scl_b, sorted(invalid))
    nod = (scl_a == 0) | (scl_b == 0)
    expected = np.select([nod, va & vb, ~va & ~vb, va & ~vb, ~va & vb], [0, 1, 2, 3, 4]).astype(np.uint8)
    got = read(res.mismatch)
    np.testing.assert_array_equal(got, expected)
    counts = res.report["scl"]["counts"]
    for k, key in enumerate(("nodata", "both_valid", "both_invalid", "valid_only_a", "valid_only_b")):
        assert counts[key] == int((expected == k).sum()), key
        assert res.report["scl"]["shares"][key] == pytest.approx((expected == k).mean())
    conf = np.zeros((12, 12), dtype=np.int64)
    np.add.at(conf, (scl_a.ravel(), scl_b.ravel()), 1)
    assert res.report["scl"]["confusion"] == conf.tolist()
    assert len(res.report["scl"]["class_names"]) == 12
    changed = read(res.class_changed)
    np.testing.assert_array_equal(changed, np.where(nod, 255, (scl_a != scl_b).astype(np.uint8)))
    # colour table + category names on the mismatch raster
    # (GDAL 3.6's Band.GetCategoryNames returns None in exceptions mode: read them through gdal.Info)
    info = gdal.Info(str(res.mismatch), format="json")["bands"][0]
    assert info["categories"][:5] == [
        "No data",
        "Valid in both",
        "Invalid in both",
        "Valid only in A",
        "Valid only in B",
    ]
    ds = gdal.Open(str(res.mismatch))
    band = ds.GetRasterBand(1)
    ct = band.GetRasterColorTable()
    assert ct is not None and ct.GetCount() >= 5 and ct.GetColorEntry(0)[3] == 0
    assert band.GetNoDataValue() == 0
    ds = None


def test_scl_edges_counts(tmp_path):
    """Mismatch pixels on a cloud boundary vs pixels within 3 px of it, counted by hand."""
    h, w = 60, 80
    scl_a = np.full((h, w), 4, np.uint8)
    scl_a[20:40, 20:40] = 9  # a cloud
    scl_b = scl_a.copy()
    scl_b[20:40, 40:42] = 9  # cloud grew 2 px to the east in B
    scl_b[50:52, 5:7] = 8  # and a small cloud appeared in B (its own edge)
    a = np.ones((h, w), np.float32)
    res = compare_case(write_case(tmp_path, a, a, scl_a, scl_b, GT), tmp_path / "out", estimate_shift=False)
    edges = res.report["scl"]["edges"]
    cloud_a, cloud_b = scl_a == 9, (scl_b == 9) | (scl_b == 8)

    def boundary(m):
        e = np.zeros_like(m)
        e[:, 1:] |= m[:, 1:] != m[:, :-1]
        e[:, :-1] |= m[:, 1:] != m[:, :-1]
        e[1:, :] |= m[1:, :] != m[:-1, :]
        e[:-1, :] |= m[1:, :] != m[:-1, :]
        return e

    from scipy import ndimage

    near = ndimage.binary_dilation(boundary(cloud_a) | boundary(cloud_b), structure=np.ones((7, 7), bool))
    mism = cloud_a != cloud_b
    assert edges["pixels"] == h * w
    assert edges["pixels_near_edge"] == int(near.sum())
    assert edges["mismatch_pixels"] == int(mism.sum()) == 40 + 4
    assert edges["mismatch_near_edge"] == int((near & mism).sum()) == 44
    diag = res.report["diagnosis"]["scl_edges"]
    assert diag["concentrated_on_cloud_edges"] is True
    assert diag["concentration_ratio"] == pytest.approx(1.0 / (near.sum() / (h * w)))


def test_cancel_leaves_no_files(tmp_path, small_strips):
    paths, *_ = make_case(tmp_path)
    out = tmp_path / "out"
    calls = []

    def feedback(fraction: float) -> bool:
        calls.append(fraction)
        return fraction < 0.5

    with pytest.raises(CompareCancelled):
        compare_case(paths, out, feedback=feedback)
    assert calls and max(calls) >= 0.5
    assert list(out.iterdir()) == []


def test_progress_reaches_one_and_is_monotonic(tmp_path, small_strips):
    paths, *_ = make_case(tmp_path)
    seen = []
    compare_rasters(paths["a"], paths["b"], tmp_path / "out", feedback=lambda f: seen.append(f) or True)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert all(x <= y for x, y in zip(seen, seen[1:]))


def test_output_names_and_report_file(tmp_path):
    paths, *_ = make_case(tmp_path, h=80)
    out = tmp_path / "out"
    res = compare_case(paths, out, class_changed=True)
    names = sorted(p.name for p in out.iterdir() if not p.name.endswith(".aux.xml"))
    assert names == ["difference.tif", "report.json", "scl_class_changed.tif", "scl_mismatch.tif"]
    assert res.report_path == out / "report.json"
    on_disk = json.loads(res.report_path.read_text(encoding="utf-8"))
    assert on_disk == res.report
    for key in ("grid", "stats", "scl", "shift", "diagnosis"):
        assert key in on_disk
    assert res.shift_corrected is None


def test_without_scl_no_mismatch(tmp_path):
    paths, a, b, *_ = make_case(tmp_path, h=60)
    res = compare_rasters(paths["a"], paths["b"], tmp_path / "out")
    assert res.mismatch is None and res.class_changed is None
    assert res.report["scl"]["available"] is False
    valid = (a != -9999.0) & np.isfinite(b)
    assert res.report["stats"]["n"] == int(valid.sum())
    # the 1e30 values are on valid-data pixels here (no SCL): they are in the stats, as they should be
    assert res.report["stats"]["bias"] > 1e25


def test_units_and_default_tolerance(tmp_path):
    paths, *_ = make_case(tmp_path, h=40)
    with pytest.raises(InputError, match="same units"):
        compare_rasters(
            paths["a"], paths["b"], tmp_path / "o", metadata_a={"units": "DN"}, metadata_b={"units": "REFLECTANCE"}
        )
    r = compare_rasters(paths["a"], paths["b"], tmp_path / "o2", metadata_a={"units": "DN"})
    assert r.report["stats"]["tolerance"] == 100.0 and r.report["units"] == "DN"
    r = compare_rasters(paths["a"], paths["b"], tmp_path / "o3", options=CompareOptions(tolerance=0.05))
    assert r.report["stats"]["tolerance"] == 0.05
    with pytest.raises(InputError, match="Tolerance"):
        compare_rasters(paths["a"], paths["b"], tmp_path / "o4", options=CompareOptions(tolerance=-1))


def test_parse_invalid_classes():
    assert parse_invalid_classes("1,2,3,7,8,9,10,11") == DEFAULT_INVALID_CLASSES
    assert parse_invalid_classes(" 8 ; 9 ") == {8, 9}
    assert parse_invalid_classes([3]) == {3}
    with pytest.raises(InputError, match="0–11"):
        parse_invalid_classes("1,12")
    with pytest.raises(InputError, match="comma-separated"):
        parse_invalid_classes("cloud")


def test_custom_invalid_classes_change_counts(tmp_path):
    paths, a, b, scl_a, scl_b = make_case(tmp_path, h=60)
    res = compare_case(paths, tmp_path / "out", invalid_classes="9")
    _, exp = expected_stats(a, b, scl_a, scl_b, 0.01, invalid={9})
    assert res.report["stats"]["n"] == exp["n"]
    assert res.report["options"]["invalid_classes"] == [9]


def test_compare_run_folder(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3000, (40, 50)).astype(np.uint16)
    sides = {
        "a": {
            "units": "DN",
            "acquisitions": [{"product_id": "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001"}],
        },
        "b": {
            "units": "DN",
            "harmonize_values": False,
            "catalog_ids": ["S2B_MSIL2A_20201004T095029_N0500_R079_T33TVF_20230313T061230.SAFE"],
        },
    }
    run = write_run_folder(tmp_path / "run", a, (a + 1000).astype(np.uint16), sides, scl=np.full((40, 50), 4, np.uint8))
    res = compare_run_folder(run)
    assert res.report_path == run / "compare" / "report.json"
    assert res.report["stats"]["bias"] == pytest.approx(1000.0)
    assert res.report["scl"]["counts"]["both_valid"] == 2000
    diag = res.report["diagnosis"]
    assert diag["baseline_a"] == "02.14" and diag["baseline_b"] == "05.00"
    assert diag["offset"]["explained_by_boa_add_offset"] is True
    with pytest.raises(InputError, match=r"run\.json is missing"):
        compare_run_folder(tmp_path / "nothing")


def test_shift_corrected_difference_on_real_image(tmp_path, shared_data):
    """B = real B04 moved by (0.6, -0.4) px: the shift-corrected difference has a much smaller RMSE."""
    from scipy import ndimage

    ds = gdal.Open(str(shared_data / "s2l2a_T29RKH_20200219_N0214_decimated" / "B04.tif"))
    img = ds.GetRasterBand(1).ReadAsArray(300, 300, 360, 360).astype(np.float64)
    ds = None
    dx, dy = 0.6, -0.4
    moved = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(img), (dy, dx))))
    a, b = img[40:-40, 40:-40].astype(np.float32), (moved[40:-40, 40:-40] + 1000).astype(np.float32)
    res = compare_rasters(
        write(tmp_path / "a.tif", a),
        write(tmp_path / "b.tif", b),
        tmp_path / "out",
        options=CompareOptions(shift_correct=True),
    )
    shift = res.report["shift"]
    assert shift["confident"] is True
    assert shift["dx_px"] == pytest.approx(dx, abs=0.05) and shift["dy_px"] == pytest.approx(dy, abs=0.05)
    assert shift["dx_m"] == pytest.approx(10 * shift["dx_px"]) and shift["dy_m"] == pytest.approx(10 * shift["dy_px"])
    corrected = read(res.shift_corrected)
    assert res.shift_corrected.name == "difference_shift_corrected.tif"
    cs = shift["corrected_stats"]
    assert cs["n"] > 0.9 * a.size
    assert cs["bias"] == pytest.approx(1000.0, abs=2.0)
    assert cs["std"] < 0.3 * res.report["stats"]["std"]  # residual: cubic-spline vs exact Fourier resampling
    inner = corrected[5:-5, 5:-5]
    assert np.isfinite(inner).all()
    p95 = np.percentile(np.abs(inner - 1000), 95)
    assert p95 < 0.3 * np.percentile(np.abs(read(res.difference)[5:-5, 5:-5] - 1000), 95)


def test_rerun_in_same_folder_removes_stale_outputs(tmp_path):
    paths, *_ = make_case(tmp_path, h=50)
    out = tmp_path / "out"
    compare_case(paths, out, class_changed=True)
    assert (out / "scl_mismatch.tif").exists() and (out / "scl_class_changed.tif").exists()
    res = compare_rasters(paths["a"], paths["b"], out)  # no SCL this time
    assert res.mismatch is None
    assert sorted(p.name for p in out.iterdir()) == ["difference.tif", "report.json"]


def test_extreme_nodata_values_never_leak(tmp_path, small_strips):
    """Nodata = float32 lowest on A with float32 max on B there (B − A overflows to inf), NaN and ±inf on B:
    the statistics equal plain numpy on the valid pixels only."""
    rng = np.random.default_rng(8)
    h, w = 90, 97
    a = rng.uniform(0.0, 0.5, (h, w)).astype(np.float32)
    b = (a + rng.normal(0.02, 0.01, (h, w))).astype(np.float32)
    lowest, highest = np.finfo(np.float32).min, np.finfo(np.float32).max
    nod = rng.random((h, w)) < 0.1
    a[nod] = lowest
    b[nod] = highest
    b[rng.random((h, w)) < 0.03] = np.nan
    b[rng.random((h, w)) < 0.03] = np.inf
    b[rng.random((h, w)) < 0.03] = -np.inf
    res = compare_rasters(
        write(tmp_path / "a.tif", a, nodata=float(lowest)), write(tmp_path / "b.tif", b), tmp_path / "o"
    )
    valid = (a != lowest) & np.isfinite(b)
    d = b[valid].astype(np.float64) - a[valid]
    st = res.report["stats"]
    assert st["n"] == int(valid.sum()) < h * w
    assert st["bias"] == pytest.approx(d.mean(), rel=1e-6)
    assert st["rmse"] == pytest.approx(np.sqrt((d**2).mean()), rel=1e-6)
    assert st["std"] == pytest.approx(d.std(), rel=1e-5)
    assert st["pearson_r"] == pytest.approx(np.corrcoef(a[valid], b[valid])[0, 1], rel=1e-5)
    assert max(abs(st["histogram"]["bin_edges"][0]), abs(st["histogram"]["bin_edges"][-1])) < 1.0
    assert sum(st["histogram"]["counts"]) + st["histogram"]["below"] + st["histogram"]["above"] == st["n"]
    diff = read(res.difference)
    np.testing.assert_array_equal(np.isnan(diff), ~valid)


@pytest.mark.parametrize("shape", [(7, 9), (8, 10), (1, 1)])
def test_count_codes_pairs_and_fallback(shape):
    code = np.random.default_rng(3).integers(0, 144, shape).astype(np.uint8)
    np.testing.assert_array_equal(masks.count_codes(code), np.bincount(code.ravel(), minlength=144))


@pytest.mark.parametrize("dtype", ["float32", "uint16", "int16"])
@pytest.mark.parametrize("options", [{}, {"mask_invalid": True, "class_changed": True}, {"shift_correct": True}])
def test_compiled_kernel_equals_numpy_path(tmp_path, monkeypatch, engine, dtype, options):
    """The compiled kernel and the numpy path give the same rasters, counts and (to float rounding) statistics,
    for float and integer inputs with nodata, with each option; the report names the engine that ran."""
    if engine != "numba":
        pytest.skip("compares the compiled kernel with the numpy path")
    monkeypatch.setattr(compare_mod, "STRIP_PIXELS", 16 * 97)
    rng = np.random.default_rng(11)
    h, w = 120, 97
    if dtype == "float32":
        a = rng.uniform(0.0, 0.6, (h, w)).astype(np.float32)
        b = (a + rng.normal(0.01, 0.02, (h, w))).astype(np.float32)
        b[rng.random((h, w)) < 0.02] = np.nan
        nodata = -9999.0
    else:
        a = rng.integers(100, 6000, (h, w)).astype(dtype)
        b = (a + rng.integers(-300, 1300, (h, w))).clip(1, 30000).astype(dtype)
        nodata = 0.0
    a[rng.random((h, w)) < 0.05] = nodata
    b[:, :3] = nodata
    scl_a = rng.choice(np.arange(12, dtype=np.uint8), (h, w), p=[0.02] + [0.98 / 11] * 11)
    scl_b = scl_a.copy()
    flip = rng.random((h, w)) < 0.1
    scl_b[flip] = rng.integers(0, 12, int(flip.sum())).astype(np.uint8)
    paths = {
        "a": write(tmp_path / "a.tif", a, nodata=nodata),
        "b": write(tmp_path / "b.tif", b, nodata=nodata),
        "scl_a": write(tmp_path / "scl_a.tif", scl_a),
        "scl_b": write(tmp_path / "scl_b.tif", scl_b),
    }
    results = {}
    for name in ("numba", "numpy"):
        monkeypatch.setenv(compare_kernel.ENV_SWITCH, name)
        results[name] = compare_case(paths, tmp_path / name, **options)
        assert results[name].report["options"]["engine"] == name
    fast, ref = results["numba"], results["numpy"]
    for key in ("difference", "mismatch", "class_changed", "shift_corrected"):
        pf, pr = getattr(fast, key), getattr(ref, key)
        assert (pf is None) == (pr is None), key
        if pf is not None:
            np.testing.assert_array_equal(read(pf), read(pr), err_msg=key)
    sf, sr = fast.report["stats"], ref.report["stats"]
    assert sf["n"] == sr["n"] > 1000
    for key in ("p50_abs", "p95_abs", "share_over_tolerance", "histogram"):
        assert sf[key] == sr[key], key
    for key in ("bias", "mae", "rmse", "std", "pearson_r", "fit_slope", "fit_intercept"):
        assert sf[key] == pytest.approx(sr[key], rel=1e-6, abs=1e-9), key
    assert fast.report["scl"] == ref.report["scl"]
    cf, cr = fast.report["shift"]["corrected_stats"], ref.report["shift"]["corrected_stats"]
    assert (cf is None) == (cr is None)
    if cf is not None:  # (random test images may give no confident shift; the real-image test covers it too)
        assert cf["n"] == cr["n"] > 1000 and cf["bias"] == pytest.approx(cr["bias"], rel=1e-6)


def _translate(src: Path, dst: Path, options: list[str]) -> Path:
    gdal.Translate(str(dst), str(src), creationOptions=options)
    return dst


def test_input_layouts_give_the_same_results(tmp_path, monkeypatch, small_strips):
    """Stripped, tiled (a partial last tile column), compressed and mixed inputs give the same rasters and report;
    reads are chunked by whole block rows of the first input."""
    paths, *_ = make_case(tmp_path, h=150, w=97)
    tiled = {
        k: _translate(p, tmp_path / f"tiled_{k}.tif", ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"])
        for k, p in paths.items()
    }
    packed = _translate(
        paths["b"], tmp_path / "deflate_b.tif", ["TILED=YES", "COMPRESS=DEFLATE", "BLOCKYSIZE=48", "BLOCKXSIZE=48"]
    )

    r = reading.Raster(tiled["a"], "A", strip_reader=True)
    assert reading.chunk_rows([r], 16, 150) == 32
    assert reading.chunk_rows([reading.Raster(packed, "B", strip_reader=True), r], 16, 150) == 48

    def run(name: str, inputs: dict[str, Path]) -> tuple[dict, list[np.ndarray]]:
        monkeypatch.setattr(compare_mod, "WORKERS", 1)  # same summation order: the report must be equal exactly
        res = compare_case(inputs, tmp_path / name, class_changed=True)
        rasters = [read(res.difference), read(res.mismatch), read(res.class_changed)]
        return res.report, rasters

    plain_report, plain = run("plain", paths)
    for name, inputs in (("tiled", tiled), ("mixed", {**tiled, "b": packed})):
        report, rasters = run(name, inputs)
        assert report["stats"] == plain_report["stats"], name
        assert report["scl"] == plain_report["scl"], name
        for got, want in zip(rasters, plain):
            np.testing.assert_array_equal(got, want)


def test_input_truncated_during_the_compare_is_a_clear_error(tmp_path, small_strips):
    """An input that another program truncates while it is being read stops the comparison with a clear message,
    leaving no output behind."""
    paths, *_ = make_case(tmp_path, h=150, w=97)
    cut = []

    def progress(fraction: float) -> bool:
        if fraction > 0.3 and not cut:  # another program truncates B in place meanwhile
            os.truncate(paths["b"], Path(paths["b"]).stat().st_size // 3)
            cut.append(fraction)
        return True

    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"Raster B .*could not be read at rows"):
        compare_case(paths, out, feedback=progress)
    assert cut
    assert sorted(p.name for p in out.iterdir()) == []


def test_compressed_inputs_decode_on_threads(tmp_path, monkeypatch):
    """Compressed value rasters of the strip reader are opened with GTiff's NUM_THREADS (parallel block decoding)
    and give the same report as single-threaded decoding."""
    paths, *_ = make_case(tmp_path, h=300, w=260)
    options = ["TILED=YES", "COMPRESS=DEFLATE", "BLOCKXSIZE=32", "BLOCKYSIZE=32"]
    packed = {k: _translate(p, tmp_path / f"z_{k}.tif", options) for k, p in paths.items()}
    monkeypatch.setattr(compare_mod, "WORKERS", 1)  # same summation order: the reports must be equal exactly
    opened: list[int] = []
    real_open = reading.open_raster

    def spy(path, **kwargs):
        opened.append(kwargs.get("decode_threads", 0))
        return real_open(path, **kwargs)

    monkeypatch.setattr(reading, "open_raster", spy)
    reports = {}
    for threads in (0, 2):
        monkeypatch.setattr(reading, "DECODE_THREADS", threads)
        opened.clear()
        res = compare_case(packed, tmp_path / f"t{threads}")
        reports[threads] = (res.report["stats"], res.report["scl"], read(res.difference))
        assert opened.count(2) == (2 if threads else 0), opened  # A and B of the strip reader (not SCL, not shift)
    assert reports[0][0] == reports[2][0] and reports[0][1] == reports[2][1]
    np.testing.assert_array_equal(reports[0][2], reports[2][2])


def test_inputs_in_gdal_virtual_files_are_read_by_gdal(tmp_path, monkeypatch, small_strips):
    """/vsimem (and other /vsi) files are no operating-system files: the strip reader then reads them with GDAL's
    direct I/O, strip by strip, with the same results."""
    paths, *_ = make_case(tmp_path, h=120, w=90)
    options = ["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"]
    mem = {k: f"/vsimem/s2parity-test-{k}.tif" for k in paths}
    for k, p in paths.items():
        gdal.Translate(mem[k], str(p), creationOptions=options)
    monkeypatch.setattr(compare_mod, "WORKERS", 1)
    try:
        on_disk = compare_case(paths, tmp_path / "disk")
        in_mem = compare_rasters(mem["a"], mem["b"], tmp_path / "mem", scl_a=mem["scl_a"], scl_b=mem["scl_b"])
    finally:
        for p in mem.values():
            gdal.Unlink(p)
    assert in_mem.report["stats"] == on_disk.report["stats"]
    assert in_mem.report["scl"] == on_disk.report["scl"]
    np.testing.assert_array_equal(read(in_mem.difference), read(on_disk.difference))


def test_float32_overflow_of_the_difference_is_no_data(tmp_path):
    """Finite A and B whose B − A overflows float32 (|B − A| > 3.4e38): NaN in the difference and left out of the
    statistics, on both engines (not an infinite bias)."""
    a = np.full((20, 30), 100.0, dtype=np.float32)
    b = np.full((20, 30), 110.0, dtype=np.float32)
    a[3, 4], b[3, 4] = -3.0e38, 3.0e38
    a[5, 6], b[5, 6] = 3.0e38, -3.0e38
    paths = {"a": write(tmp_path / "a.tif", a), "b": write(tmp_path / "b.tif", b)}
    res = compare_rasters(paths["a"], paths["b"], tmp_path / "out", options=CompareOptions(estimate_shift=False))
    d = read(res.difference)
    assert np.isnan(d[3, 4]) and np.isnan(d[5, 6])
    assert np.count_nonzero(np.isnan(d)) == 2
    stats = res.report["stats"]
    assert stats["n"] == 20 * 30 - 2
    assert stats["bias"] == pytest.approx(10.0) and stats["rmse"] == pytest.approx(10.0)
