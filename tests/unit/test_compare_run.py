"""core.compare_run: the compare step of ``s2parity:compareendpoints`` (compare, density, per-feature table, one
report rewrite) without QGIS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from s2parity_plugin.core.compare.run import compare_and_complete, run_grid_crs
from tests.geotiff import GT_UTM33, write_geotiff

H, W = 40, 50


def _run_folder(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    for side in ("a", "b"):
        (run / side).mkdir(parents=True)
    a = np.arange(H * W, dtype=np.uint16).reshape(H, W) % 3000
    b = a + np.where(np.arange(W) < W // 2, 100, 300).astype(np.uint16)  # left half +100, right half +300
    scl_b = np.full((H, W), 4, np.uint8)
    scl_b[:, W // 2 :][:10] = 9  # 10 rows of the right half cloudy in B only
    for path, arr in (
        ("a/value.tif", a),
        ("b/value.tif", b),
        ("a/scl.tif", np.full((H, W), 4, np.uint8)),
        ("b/scl.tif", scl_b),
    ):
        write_geotiff(run / path, arr, GT_UTM33)
    manifest = {
        "schema": 1,
        "grid": {"crs": "EPSG:32633"},
        "files": {"value_a": "a/value.tif", "value_b": "b/value.tif", "scl_a": "a/scl.tif", "scl_b": "b/scl.tif"},
        "sides": {"a": {"units": "DN"}, "b": {"units": "DN"}},
    }
    (run / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


def _box(x0: float, x1: float) -> str:
    """A polygon over columns x0..x1 (px) of the whole grid, in EPSG:32633 metres."""
    ox, px, _, oy, _, py = GT_UTM33
    left, right, top, bottom = ox + x0 * px, ox + x1 * px, oy, oy + H * py
    return f"POLYGON(({left} {top},{right} {top},{right} {bottom},{left} {bottom},{left} {top}))"


def test_report_gets_density_and_per_feature_table_once(tmp_path):
    run = _run_folder(tmp_path)
    assert run_grid_crs(run) == "EPSG:32633"
    zones = [(7, _box(0, W // 2)), (8, _box(W // 2, W))]
    done = compare_and_complete(run, zones=zones, quantity="B04")
    on_disk = json.loads(done.result.report_path.read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(done.result.report))  # the file is the completed report
    assert on_disk["density"]["bins"] == 64 and sum(map(sum, on_disk["density"]["counts"])) > 0
    left, right = on_disk["features"]
    assert (left["feature_id"], left["pixels"], left["mean_diff"]) == (7, H * W // 2, pytest.approx(100.0))
    assert (right["feature_id"], right["pixels"]) == (8, (H - 10) * W // 2)  # cloudy-in-B rows excluded
    assert right["mean_diff"] == pytest.approx(300.0)
    assert right["mismatch_share"] == pytest.approx(10 / H)
    assert done.inputs["value_a"] == run / "a" / "value.tif"
    assert not list(done.result.report_path.parent.glob("*.tmp"))


def test_single_feature_has_no_table(tmp_path):
    run = _run_folder(tmp_path)
    done = compare_and_complete(run, zones=[(1, _box(0, W))])
    assert "features" not in done.result.report and "density" in done.result.report
