"""``s2parity:comparestatistics`` inside QGIS (pytest-qgis, headless) against the local sample endpoint pair:
outputs, and every bad input of the issue refused with a clear message and nothing written."""

from __future__ import annotations

import json
import sqlite3

import pytest
from processing_feedback import RecordingFeedback
from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsProcessingException,
    QgsProject,
    QgsVectorLayer,
)
from sample_pair_support import add_features, wait_for

from s2parity_plugin.adapters.compat import FIELD_INT, FIELD_STRING

X0, Y0, CELL = 4682000.0, 1982000.0, 200.0  # seed area, EPSG:3035
NO_MASK = (
    '//VERSION=3\nfunction setup(){return {input:["B04"], output:[{id:"v", bands:1, sampleType:"FLOAT32"}]};}\n'
    "function evaluatePixel(s){return {v:[s.B04]};}"
)


def grid_layer(n: int = 3, ids: list | None = None, kind: str = "Polygon") -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{kind}?crs=EPSG:3035", "cells", "memory")
    layer.dataProvider().addAttributes([QgsField("cell_id", FIELD_STRING), QgsField("dup", FIELD_INT)])
    layer.updateFields()
    feats = []
    for i in range(n):
        x = X0 + i * CELL
        f = QgsFeature(layer.fields())
        wkt = (
            f"POLYGON(({x} {Y0},{x + CELL} {Y0},{x + CELL} {Y0 + CELL},{x} {Y0 + CELL},{x} {Y0}))"
            if kind == "Polygon"
            else f"POINT({x} {Y0})"
        )
        f.setGeometry(QgsGeometry.fromWkt(wkt))
        f.setAttributes([(ids or [f"cell{k}" for k in range(n)])[i], 1])
        feats.append(f)
    return add_features(layer, feats)


def params(layer, tmp_path, **extra) -> dict:
    p = {
        "INPUT": layer,
        "FIELD_ID": "cell_id",
        "DATE_FROM": "2020-09-01",
        "DATE_TO": "2020-09-12",
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "OUTPUT_TABLE": str(tmp_path / "stats.gpkg"),
        "OUTPUT_LAYER": "memory:summary",
        "OUTPUT_REPORT": str(tmp_path / "report.json"),
    }
    p.update(extra)
    return p


def failing(p: dict) -> str:
    import processing

    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as info:
        processing.run("s2parity:comparestatistics", p, feedback=feedback)
    return "\n".join([*feedback.errors, str(info.value)])


def test_registered_with_the_parameters_of_the_issue(provider):
    alg = QgsApplication.processingRegistry().algorithmById("s2parity:comparestatistics")
    assert alg is not None
    names = [p.name() for p in alg.parameterDefinitions()]
    for name in ("INPUT", "FIELD_ID", "SELECTED_ONLY", "DATE_FROM", "DATE_TO", "INTERVAL", "PRESET",
                 "INVALID_CLASSES", "ENDPOINT_A", "ENDPOINT_B", "AUTH_A", "AUTH_B", "RESOLUTION",
                 "MAX_REQUESTS_PER_MINUTE", "MAX_PU_PER_MINUTE", "TOLERANCE", "OUTPUT_TABLE", "OUTPUT_LAYER",
                 "OUTPUT_REPORT"):  # fmt: skip
        assert name in names
    assert alg.parameterDefinition("INTERVAL").defaultValue() == "P1D"
    assert alg.parameterDefinition("PRESET").defaultValue() == "NDVI"
    assert alg.parameterDefinition("MAX_REQUESTS_PER_MINUTE").defaultValue() == 300
    assert alg.parameterDefinition("MAX_PU_PER_MINUTE").defaultValue() == 300


def test_runs_against_the_sample_pair(provider, tmp_path):
    import processing

    layer = grid_layer(3)
    feedback = RecordingFeedback()
    out = processing.run("s2parity:comparestatistics", params(layer, tmp_path), feedback=feedback)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["totals"]["features"] == 3 and report["totals"]["features_failed"] == 0
    assert report["totals"]["intervals_compared"] > 0
    assert "02.14 → 05.00" in report["by_baseline_pair"]
    assert report["diagnosis"]
    with sqlite3.connect(out["OUTPUT_TABLE"]) as db:
        n_rows = db.execute("select count(*) from statistics").fetchone()[0]
        ids = {r[0] for r in db.execute("select distinct feature_id from statistics")}
    assert n_rows == report["totals"]["rows"] and ids == {"cell0", "cell1", "cell2"}
    assert (tmp_path / "stats.csv").is_file()
    summary = out["OUTPUT_LAYER"]
    summary = summary if isinstance(summary, QgsVectorLayer) else QgsVectorLayer(summary)
    assert summary.featureCount() == 3
    feat = next(summary.getFeatures())
    assert feat["cell_id"] == "cell0" and feat["intervals_compared"] > 0 and feat["status"] == "ok"
    assert feat["mean_abs_delta"] >= 0 and feat["worst_date"].startswith("2020-09")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"layer": "Point"}, "point layer"),
        ({"layer": "empty"}, "has no features"),
        ({"SELECTED_ONLY": True}, "No feature"),
        ({"FIELD_ID": "nope"}, "is not a field"),
        ({"FIELD_ID": "dup"}, "not unique"),
        ({"DATE_FROM": "2020-09-20", "DATE_TO": "2020-09-01"}, "reversed"),
        ({"INTERVAL": "PT12H"}, "shorter than a day"),
        ({"PRESET": "CUSTOM", "EVALSCRIPT": NO_MASK}, "dataMask"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(provider, tmp_path, change, expected):
    change = dict(change)
    kind = change.pop("layer", "Polygon")
    layer = grid_layer(0 if kind == "empty" else 3, kind="Polygon" if kind == "empty" else kind)
    n_layers = len(QgsProject.instance().mapLayers())
    message = failing(params(layer, tmp_path, **change))
    assert expected in message
    assert not (tmp_path / "stats.gpkg").exists() and not (tmp_path / "report.json").exists()
    assert not (tmp_path / "statistics_cache").exists()
    assert len(QgsProject.instance().mapLayers()) == n_layers


def test_pu_over_budget_logs_a_warning(provider, tmp_path):
    import processing

    warnings = []

    class Feedback(RecordingFeedback):
        def pushWarning(self, warning):  # noqa: N802
            warnings.append(warning)
            super().pushWarning(warning)
            self.cancel()  # at 0.01 PU/min the run would take hours: stop it, the warning is what is tested

    layer = grid_layer(1)
    # 1 m pixels: 200 x 200 px = 0.15 PU per interval x 15 intervals with data (of 30 days) > 0.01 PU/min x 60
    p = params(layer, tmp_path, MAX_PU_PER_MINUTE=0.01, RESOLUTION=1, DATE_TO="2020-09-30")
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("s2parity:comparestatistics", p, feedback=Feedback())
    assert any("exceeds MAX_PU_PER_MINUTE" in w for w in warnings)
    assert not (tmp_path / "stats.gpkg").exists()


def test_a_dock_run_refused_by_prepare_reports_its_reason_at_once(provider, tmp_path):
    """QGIS never runs nor reports a task whose prepareAlgorithm refused the parameters: the dock's ProcessingRun
    reports the refusal itself (a view waiting for it would wait forever)."""
    from s2parity_plugin.gui.dock import ProcessingRun

    done: list = []
    p = params(grid_layer(), tmp_path, DATE_FROM="2020-09-20", DATE_TO="2020-09-01")
    run = ProcessingRun("s2parity:comparestatistics", p, lambda r, ok, res: done.append((ok, r.error_text())))
    assert run.refused
    run.start()
    wait_for(lambda: done, timeout_s=30, what="the refused run's report")
    [(ok, reason)] = done
    assert ok is False and "reversed" in reason
