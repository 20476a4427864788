"""Report document, CSV and self-contained HTML renderings."""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from s2parity_plugin.core.report.document import Findings, build_report, load_json, render_csv, render_html, write_json
from tests.geotiff import compare_case, write_case

OLD_ID = "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001"
#: 10 m pixels in UTM 33N (EPSG:32633) with the origin at (600 km E, 5000 km N).
GT_REPORT = (600000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0)
NEW_ID = "S2B_MSIL2A_20201004T095029_N0500_R079_T33TVF_20230316T093516.SAFE"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:200, 0:220]
    a = (2000 + 500 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 20, (200, 220))).astype(np.float32)
    b = (a + 1000 + rng.normal(0, 10, a.shape)).astype(np.float32)
    scl_a = np.full(a.shape, 4, np.uint8)
    scl_a[50:90, 60:120] = 9
    scl_b = scl_a.copy()
    scl_b[50:92, 60:123] = 9
    paths = write_case(tmp, a, b, scl_a, scl_b, GT_REPORT)
    res = compare_case(
        paths,
        tmp / "out",
        metadata_a={"units": "DN", "endpoint_id": "sentinelhub", "acquisitions": [{"product_id": OLD_ID}]},
        metadata_b={"units": "DN", "endpoint_id": "cdse", "catalog_ids": [NEW_ID], "harmonize_values": False},
    )
    return res.report


def test_top_level_keys(report):
    assert {"grid", "stats", "scl", "shift", "diagnosis"} <= set(report)
    assert report["grid"]["crs"] == "EPSG:32633"
    assert report["grid"]["geotransform"] == [600000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0]
    assert (report["grid"]["width"], report["grid"]["height"]) == (220, 200)
    st = report["stats"]
    for key in ("n", "bias", "mae", "rmse", "std", "pearson_r", "fit_slope", "fit_intercept", "p50_abs", "p95_abs"):
        assert isinstance(st[key], (int, float)), key
    assert st["units"] == "DN" and report["units"] == "DN"
    assert set(st["histogram"]) >= {"bin_edges", "counts"}
    assert set(report["scl"]["counts"]) == {"nodata", "both_valid", "both_invalid", "valid_only_a", "valid_only_b"}
    assert len(report["scl"]["confusion"]) == 12 and all(len(r) == 12 for r in report["scl"]["confusion"])
    for key in ("dx_px", "dy_px", "dx_m", "dy_m", "magnitude_m", "quality", "confident", "method"):
        assert key in report["shift"]
    diag = report["diagnosis"]
    assert diag["baseline_a"] == "02.14" and diag["baseline_b"] == "05.00"
    assert diag["offset"]["explained_by_boa_add_offset"] is True
    assert diag["explanation"].startswith("Endpoint A served baseline 02.14, B served baseline 05.00")
    assert diag["claims"]
    json.dumps(report, allow_nan=False)  # strict JSON


def test_build_report_cleans_nan_and_numpy():
    rep = build_report(
        Findings(
            grid={"width": np.int64(3)},
            stats={"bias": float("nan"), "n": np.int32(0)},
            scl=None,
            shift={"dx_px": np.float64(0.5)},
            diagnosis={},
        )
    )
    assert rep["stats"]["bias"] is None and rep["stats"]["n"] == 0 and type(rep["stats"]["n"]) is int
    assert rep["scl"]["available"] is False and rep["scl"]["counts"] is None
    assert rep["shift"]["dx_px"] == 0.5 and rep["shift"]["corrected_stats"] is None


def test_write_and_load_json(tmp_path, report):
    path = write_json(report, tmp_path / "r.json")
    assert load_json(path) == report
    assert not list(tmp_path.glob("*.tmp"))


def test_render_csv(report):
    text = render_csv(report)
    rows = dict(csv.reader(io.StringIO(text)))
    assert rows["key"] == "value"
    assert float(rows["stats.bias"]) == pytest.approx(report["stats"]["bias"])
    assert int(rows["scl.counts.valid_only_a"]) == report["scl"]["counts"]["valid_only_a"]
    assert rows["scl.confusion.4"] == ";".join(str(v) for v in report["scl"]["confusion"][4])
    assert rows["diagnosis.baseline_b"] == "05.00"
    assert not any(k.startswith("shift.windows") for k in rows)


def test_render_html_self_contained(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == 2  # histogram + confusion matrix
    assert not re.search(r"(src|href)=['\"]https?:", page)  # nothing fetched from outside
    assert "baseline 02.14" in page and "05.00" in page
    assert f"{report['stats']['n']}" in page
    bias = report["stats"]["bias"]
    assert f"{bias:.6g}" in page
    assert math.isfinite(bias)


def test_render_html_has_the_per_feature_table(report):
    rows = [
        {"feature_id": 3, "pixels": 120, "mean_a": 1000.5, "mean_b": 1010.25, "mean_diff": 9.75},
        {"feature_id": 7, "pixels": 80, "mean_a": None, "mean_b": None, "mean_diff": None},
    ]
    page = render_html({**report, "features": rows})
    section = page[page.index("<h2>Per feature</h2>") :]
    assert "<th>feature_id</th><th>pixels</th><th>mean_a</th>" in section
    assert "<tr><td>3</td><td>120</td><td>1000.5</td><td>1010.25</td><td>9.75</td></tr>" in section
    assert "<tr><td>7</td><td>80</td><td>—</td>" in section
    assert "<h2>Per feature</h2>" not in render_html(report)
