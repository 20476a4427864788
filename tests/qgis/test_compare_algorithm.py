"""``s2parity:comparerasters`` inside QGIS (pytest-qgis, headless)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from processing_feedback import RecordingFeedback
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingException,
)

from tests.geotiff import GT_UTM33, write_geotiff, write_run_folder

GT = GT_UTM33
OLD_ID = "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001"
NEW_ID = "S2B_MSIL2A_20201004T095029_N0500_R079_T33TVF_20230316T093516.SAFE"


def write(path: Path, arr: np.ndarray, gt=GT, nodata=None) -> str:
    return str(write_geotiff(path, arr, gt, nodata=nodata))


def read(path: str) -> np.ndarray:
    ds = gdal.Open(path)
    arr = ds.GetRasterBand(1).ReadAsArray()
    ds = None
    return arr


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:160, 0:180]
    a = (3000 + 800 * np.sin(xx / 6.3) * np.cos(yy / 9.1) + rng.normal(0, 30, (160, 180))).astype(np.uint16)
    b = (a.astype(np.int32) + 1000 + rng.integers(-20, 21, a.shape)).astype(np.uint16)
    a[:3, :] = 0  # nodata rows on A
    scl_a = np.full(a.shape, 4, np.uint8)
    scl_a[40:80, 50:100] = 9
    scl_b = scl_a.copy()
    scl_b[40:82, 50:102] = 9
    return {
        "a": write(tmp_path / "a.tif", a, nodata=0),
        "b": write(tmp_path / "b.tif", b, nodata=0),
        "scl_a": write(tmp_path / "scl_a.tif", scl_a),
        "scl_b": write(tmp_path / "scl_b.tif", scl_b),
        "arrays": (a, b, scl_a, scl_b),
    }


def test_registered(provider):
    alg = QgsApplication.processingRegistry().algorithmById("s2parity:comparerasters")
    assert alg is not None
    names = {p.name() for p in alg.parameterDefinitions()}
    assert {
        "RASTER_A",
        "RASTER_B",
        "SCL_A",
        "SCL_B",
        "INVALID_CLASSES",
        "TOLERANCE",
        "SHIFT_CORRECT",
        "OUTPUT_DIFFERENCE",
        "OUTPUT_MISMATCH",
        "OUTPUT_REPORT",
    } <= names
    assert alg.parameterDefinition("SCL_A").flags() & alg.parameterDefinition("SCL_A").FlagOptional
    assert alg.parameterDefinition("TOLERANCE").flags() & alg.parameterDefinition("TOLERANCE").FlagOptional
    assert alg.parameterDefinition("INVALID_CLASSES").defaultValue() == "1,2,3,7,8,9,10,11"


def test_opening_the_dialog_preloads_the_kernel(provider, monkeypatch):
    """QGIS asks the algorithm for a custom dialog when the user opens it: the kernel preload starts then and the
    standard dialog is kept (None)."""
    from s2parity_plugin.core.compare import warmup as compare_warmup

    started = []
    monkeypatch.setattr(compare_warmup, "preload_in_background", lambda: started.append(True))
    alg = QgsApplication.processingRegistry().createAlgorithmById("s2parity:comparerasters")
    assert alg.createCustomParametersWidget(None) is None
    assert started == [True]


def test_run_writes_difference_mismatch_and_report(provider, pair, tmp_path):
    import processing

    feedback = RecordingFeedback()
    out = tmp_path / "results"
    res = processing.run(
        "s2parity:comparerasters",
        {
            "RASTER_A": pair["a"],
            "RASTER_B": pair["b"],
            "SCL_A": pair["scl_a"],
            "SCL_B": pair["scl_b"],
            "INVALID_CLASSES": "3,8,9,10",
            "TOLERANCE": 50,
            "SHIFT_CORRECT": False,
            "UNITS": "DN",
            "OUTPUT_DIFFERENCE": str(out / "diff.tif"),
            "OUTPUT_MISMATCH": str(out / "mismatch.tif"),
            "OUTPUT_REPORT": str(out / "report.json"),
        },
        feedback=feedback,
    )
    a, b, scl_a, scl_b = pair["arrays"]
    assert res["OUTPUT_DIFFERENCE"] == str(out / "diff.tif")
    diff = read(res["OUTPUT_DIFFERENCE"])
    has_data = (a != 0) & (b != 0)
    np.testing.assert_array_equal(np.isnan(diff), ~has_data)
    np.testing.assert_array_equal(diff[has_data], (b.astype(np.float32) - a)[has_data])
    mismatch = read(res["OUTPUT_MISMATCH"])
    assert mismatch[60, 60] == 2 and mismatch[120, 20] == 1 and mismatch[81, 60] == 3 and mismatch[60, 101] == 3
    report = json.loads(Path(res["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    assert {"grid", "stats", "scl", "shift", "diagnosis"} <= set(report)
    valid = has_data & ~np.isin(scl_a, [3, 8, 9, 10]) & ~np.isin(scl_b, [3, 8, 9, 10])
    d = b.astype(np.float64)[valid] - a[valid]
    assert report["stats"]["n"] == int(valid.sum())
    assert report["stats"]["bias"] == pytest.approx(d.mean(), rel=1e-7)
    assert report["stats"]["tolerance"] == 50 and report["stats"]["units"] == "DN"
    assert report["scl"]["counts"]["valid_only_a"] == int((mismatch == 3).sum()) == 2 * 52 + 2 * 40
    assert res["BIAS"] == pytest.approx(report["stats"]["bias"])
    assert res["EXPLANATION"] == report["diagnosis"]["explanation"]
    assert feedback.progress and max(feedback.progress) == pytest.approx(100.0)
    assert not feedback.errors


def test_run_folder_metadata_feeds_the_diagnosis(provider, tmp_path):
    import processing

    rng = np.random.default_rng(2)
    a = rng.integers(500, 3000, (90, 100)).astype(np.uint16)
    sides = {
        "a": {"units": "DN", "acquisitions": [{"product_id": OLD_ID}]},
        "b": {"units": "DN", "catalog_ids": [NEW_ID], "harmonize_values": False},
    }
    run = write_run_folder(tmp_path / "run", a, (a + 1000).astype(np.uint16), sides)
    res = processing.run(
        "s2parity:comparerasters",
        {
            "RASTER_A": str(run / "a" / "value.tif"),
            "RASTER_B": str(run / "b" / "value.tif"),
            "OUTPUT_DIFFERENCE": "TEMPORARY_OUTPUT",
            "OUTPUT_REPORT": str(tmp_path / "r.json"),
        },
    )
    report = json.loads(Path(res["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    assert report["diagnosis"]["baseline_a"] == "02.14" and report["diagnosis"]["baseline_b"] == "05.00"
    assert report["diagnosis"]["offset"]["explained_by_boa_add_offset"] is True
    assert res["EXPLANATION"].startswith("Endpoint A served baseline 02.14, B served baseline 05.00")
    assert res["OUTPUT_MISMATCH"] is None  # no SCL given
    assert Path(res["OUTPUT_DIFFERENCE"]).is_file()


def _run_failing(params: dict) -> str:
    """Run expecting failure; return every error message reported or raised."""
    import processing

    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as exc:
        processing.run("s2parity:comparerasters", params, feedback=feedback)
    return " ".join([str(exc.value), *feedback.errors])


def test_grid_mismatch_is_a_clear_processing_error(provider, pair, tmp_path):
    other = write(
        tmp_path / "other.tif", np.ones((160, 180), np.uint16), gt=(500020.0, 10.0, 0.0, 4000000.0, 0.0, -10.0)
    )
    text = _run_failing(
        {
            "RASTER_A": pair["a"],
            "RASTER_B": other,
            "OUTPUT_DIFFERENCE": str(tmp_path / "d.tif"),
            "OUTPUT_REPORT": str(tmp_path / "r.json"),
        }
    )
    assert "not on the same grid" in text and "origin x differs (A: 500000.0, B: 500020.0)" in text
    assert "Traceback" not in text
    assert not (tmp_path / "d.tif").exists()


def test_bad_invalid_classes_message(provider, pair, tmp_path):
    text = _run_failing(
        {
            "RASTER_A": pair["a"],
            "RASTER_B": pair["b"],
            "INVALID_CLASSES": "8,nine",
            "OUTPUT_DIFFERENCE": str(tmp_path / "d.tif"),
            "OUTPUT_REPORT": str(tmp_path / "r.json"),
        }
    )
    assert "Invalid SCL classes '8,nine'" in text and "Traceback" not in text


def test_cancel_writes_nothing(provider, pair, tmp_path):
    registry = QgsApplication.processingRegistry()
    alg = registry.createAlgorithmById("s2parity:comparerasters")
    context = QgsProcessingContext()
    feedback = RecordingFeedback()
    feedback.cancel()
    params = {
        "RASTER_A": pair["a"],
        "RASTER_B": pair["b"],
        "OUTPUT_DIFFERENCE": str(tmp_path / "d.tif"),
        "OUTPUT_REPORT": str(tmp_path / "r.json"),
    }
    results, _ok = alg.run(params, context, feedback)
    assert not (tmp_path / "d.tif").exists() and not (tmp_path / "r.json").exists()
    assert results == {}


def test_shift_corrected_output(provider, tmp_path):
    import processing
    from scipy import ndimage

    rng = np.random.default_rng(9)
    base = ndimage.gaussian_filter(rng.normal(size=(260, 260)), 2.0) * 3000 + 3000
    moved = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(base), (-0.3, 0.6))))
    a, b = base[30:-30, 30:-30].astype(np.float32), moved[30:-30, 30:-30].astype(np.float32)
    res = processing.run(
        "s2parity:comparerasters",
        {
            "RASTER_A": write(tmp_path / "a.tif", a),
            "RASTER_B": write(tmp_path / "b.tif", b),
            "SHIFT_CORRECT": True,
            "OUTPUT_DIFFERENCE": str(tmp_path / "d.tif"),
            "OUTPUT_SHIFT_CORRECTED": str(tmp_path / "dc.tif"),
            "OUTPUT_REPORT": str(tmp_path / "r.json"),
        },
    )
    report = json.loads(Path(res["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    assert report["shift"]["confident"] is True
    assert report["shift"]["dx_px"] == pytest.approx(0.6, abs=0.05)
    assert report["shift"]["dy_px"] == pytest.approx(-0.3, abs=0.05)
    assert res["SHIFT_M"] == pytest.approx(10 * np.hypot(0.6, 0.3), abs=0.5)
    corrected = read(res["OUTPUT_SHIFT_CORRECTED"])
    assert np.nanstd(corrected) < 0.2 * np.nanstd(read(res["OUTPUT_DIFFERENCE"]))
