"""``s2parity:comparecatalogs`` inside QGIS (pytest-qgis, headless) against the local sample endpoint pair."""

from __future__ import annotations

import csv
import json

import pytest
from processing_feedback import RecordingFeedback
from qgis.core import QgsFeature, QgsGeometry, QgsProcessingException, QgsProject, QgsVectorLayer

from s2parity_plugin.core.archive.report import TABLE_FIELDS
from s2parity_plugin.core.archive.search import CACHE

AOI_WKT = "POLYGON((14.27 40.85, 14.31 40.85, 14.31 40.88, 14.27 40.88, 14.27 40.85))"


def _layer(wkt: str = AOI_WKT) -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "aoi", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt(wkt))
    layer.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(layer)
    return layer


def _params(tmp_path, **extra) -> dict:
    return {
        "AOI": _layer(),
        "DATE_FROM": "2021-01-01",
        "DATE_TO": "2022-12-31",
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "MAX_CLOUD_COVERAGE": 100,
        "OUTPUT_TABLE": str(tmp_path / "acquisitions.csv"),
        "OUTPUT_REPORT": str(tmp_path / "timeline.json"),
        **extra,
    }


def test_registered_with_the_issue_parameters(provider):
    alg = provider.algorithm("comparecatalogs")
    assert alg is not None
    names = [p.name() for p in alg.parameterDefinitions()]
    assert names == [
        "AOI",
        "SELECTED_ONLY",
        "DATE_FROM",
        "DATE_TO",
        "ENDPOINT_A",
        "ENDPOINT_B",
        "AUTH_A",
        "AUTH_B",
        "MAX_CLOUD_COVERAGE",
        "OUTPUT_TABLE",
        "OUTPUT_REPORT",
    ]
    assert sorted(o.name() for o in alg.outputDefinitions()) == ["OUTPUT_REPORT", "OUTPUT_TABLE"]


def test_csv_table_and_report(provider, tmp_path):
    import processing

    CACHE.clear()
    feedback = RecordingFeedback()
    results = processing.run("s2parity:comparecatalogs", _params(tmp_path), feedback=feedback)
    report = json.loads((tmp_path / "timeline.json").read_text(encoding="utf-8"))
    with open(results["OUTPUT_TABLE"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [name for name, _ in TABLE_FIELDS]
    assert len(rows) == report["summary"]["acquisitions"] == len(report["acquisitions"]) > 100
    assert [(p["baseline_a"], p["baseline_b"]) for p in report["periods"]] == [
        ("02.14", "05.00"),
        ("03.00", "05.00"),
        ("03.01", "05.00"),
        ("03.01", "05.10"),
        ("04.00", "05.10"),
        ("05.09", "05.10"),
    ]
    assert rows[0]["date"] == report["acquisitions"][0]["date"] and rows[0]["baseline_b"] == "05.00"
    assert {r["presence"] for r in rows} == {"both", "a_only", "b_only"}
    assert (
        report["complete"] is True and report["sides"]["a"]["catalog_requests"] == 4
    )  # two years of > 100 items: two pages each
    assert any("at least 4 catalog requests" in line for line in feedback.textLog().splitlines())


def test_geopackage_table(provider, tmp_path):
    import processing

    results = processing.run(
        "s2parity:comparecatalogs",
        _params(tmp_path, DATE_FROM="2024-01-01", DATE_TO="2024-03-31", OUTPUT_TABLE=str(tmp_path / "t.gpkg")),
    )
    table = QgsVectorLayer(results["OUTPUT_TABLE"], "t", "ogr")
    assert table.isValid() and table.featureCount() == 36
    assert {f["parity"] for f in table.getFeatures()} <= {"identical", "only_a", "only_b"}
    assert table.fields().field("differs").typeName().lower() in ("boolean", "integer")


def test_reversed_period_is_a_clear_error(provider, tmp_path):
    import processing

    with pytest.raises(QgsProcessingException, match=r"reversed.*Swap the start and end dates"):
        processing.run("s2parity:comparecatalogs", _params(tmp_path, DATE_FROM="2023-01-01", DATE_TO="2022-01-01"))
    assert not (tmp_path / "timeline.json").exists()


def test_long_period_logs_the_request_count_first(provider, tmp_path):
    import processing

    feedback = RecordingFeedback()
    processing.run(
        "s2parity:comparecatalogs", _params(tmp_path, DATE_FROM="2013-01-01", DATE_TO="2024-12-31"), feedback=feedback
    )
    log = feedback.textLog()
    warning = log.index("longer than 10 years")
    assert "at least 24 catalog requests" in log[warning:] and warning < log.index("Diagnosis:")
