"""The dock's Statistics view in QGIS: PU estimate and over-budget confirmation, a run of
``s2parity:comparestatistics`` through the dock's ProcessingRun against the offline sample pair, the graduated
summary layer, the worst-pairs table (click → select and zoom), the time-series chart, export."""

from __future__ import annotations

import time

import pytest
from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsGraduatedSymbolRenderer,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtWidgets import QTabWidget

import s2parity_plugin
from s2parity_plugin.adapters.compat import FIELD_STRING
from s2parity_plugin.gui.statistics_view import StatisticsView

X0, Y0, CELL = 4682000.0, 1982000.0, 200.0  # seed area, EPSG:3035


def wait_for(predicate, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the statistics task")
        QgsApplication.processEvents()
        time.sleep(0.01)


def grid_layer(n: int = 4) -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035", "cells", "memory")
    layer.dataProvider().addAttributes([QgsField("cell_id", FIELD_STRING)])
    layer.updateFields()
    feats = []
    for i in range(n):
        x, y = X0 + (i % 2) * CELL, Y0 + (i // 2) * CELL
        f = QgsFeature(layer.fields())
        f.setGeometry(
            QgsGeometry.fromWkt(f"POLYGON(({x} {y},{x + CELL} {y},{x + CELL} {y + CELL},{x} {y + CELL},{x} {y}))")
        )
        f.setAttributes([f"cell{i}"])
        feats.append(f)
    layer.dataProvider().addFeatures(feats)
    layer.updateExtents()
    QgsProject.instance().addMapLayer(layer)
    return layer


@pytest.fixture
def view(iface, qgis_processing, tmp_path):
    QgsProject.instance().clear()
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    plugin.action.trigger()
    dock = plugin.dock
    layer = grid_layer()
    dock.form.follow_active_layer(layer)
    dock.form.endpoint_a.set_profile("sample-sh")
    dock.form.endpoint_b.set_profile("sample-cdse")
    tabs = dock.findChild(QTabWidget, "views")
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Statistics")
    view = tabs.widget(index)
    assert isinstance(view, StatisticsView)
    view.id_field.setField("cell_id")
    view.output_folder.setText(str(tmp_path / "stats"))
    view.date_from.setDate(view.date_from.date().fromString("2020-09-01", "yyyy-MM-dd"))
    view.date_to.setDate(view.date_to.date().fromString("2020-09-30", "yyyy-MM-dd"))
    yield view
    plugin.unload()
    QgsProject.instance().clear()


def test_over_budget_asks_and_a_no_starts_nothing(view, tmp_path):
    view.max_pu.setValue(0.01)  # cap 0.6 PU
    # 61 days: up to 31 intervals with data x 4 cells x 0.01 PU (the area factor's minimum) = 1.24 PU
    view.date_to.setDate(view.date_to.date().fromString("2020-10-31", "yyyy-MM-dd"))
    asked = []
    started = view.start(confirm=lambda pu, cap: asked.append((pu, cap)) or False)
    assert not started and view.run is None
    assert asked and asked[0] == (pytest.approx(1.24), pytest.approx(0.6))
    assert "PU estimate" in view.estimate_label.text()
    assert not (tmp_path / "stats").exists()


def test_run_loads_layer_table_and_chart(view, tmp_path, artifacts_dir):
    assert view.start(confirm=lambda *_: pytest.fail("under budget: no confirmation expected"))
    assert "PU estimate: up to" in view.estimate_label.text()
    wait_for(lambda: view.run is None)
    assert view.rows, view.status.text()
    layer = view.summary_layer
    assert layer is not None and layer.featureCount() == 4
    assert isinstance(layer.renderer(), QgsGraduatedSymbolRenderer)
    assert layer.renderer().classAttribute() == "mean_abs_delta"
    assert "NDVI" in layer.renderer().ranges()[0].label()
    assert view.worst.rowCount() > 0
    deltas = [abs(float(view.worst.item(i, 4).text())) for i in range(view.worst.rowCount())]
    assert deltas == sorted(deltas, reverse=True)
    fid = view.worst.item(0, 0).text()
    view._worst_clicked(0, 0)
    selected = list(layer.getSelectedFeatures())
    assert [f["cell_id"] for f in selected] == [fid]
    series = view.chart.series
    assert series is not None and series.title.endswith(fid)
    assert any(v is not None for v in series.mean_a) and any(v is not None for v in series.delta)
    view.chart.resize(640, 360)
    assert view.chart.grab().save(str(artifacts_dir / "statistics_chart_offscreen.png"))
    out = view.export_table(str(tmp_path / "copy.csv"))
    assert out.read_text().splitlines()[0].startswith("feature_id,interval_from")


def test_cancel_stops_the_run_and_writes_no_table(view, tmp_path):
    view.max_requests.setValue(1)  # one request a minute per endpoint: the run waits in the limiter
    assert view.start(confirm=lambda *_: True)
    wait_for(lambda: view.progress.value() > 0 or (tmp_path / "stats" / "statistics_cache").exists(), 60)
    view.cancel_button.click()
    wait_for(lambda: view.run is None, 30)
    assert view.status.text() == "Cancelled."
    assert not (tmp_path / "stats" / "statistics.gpkg").exists()
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()


def test_chart_marks_baseline_changes_and_renders_without_a_display():
    from s2parity_plugin.gui.charts_timeseries import series_from_rows, timeseries_image

    def row(day, a, b, ba, bb):
        delta = None if a is None or b is None else b - a
        return {"feature_id": "f", "interval_from": f"{day}T00:00:00Z", "date": day, "mean_a": a, "mean_b": b,
                "delta_mean": delta, "baseline_a": ba, "baseline_b": bb}  # fmt: skip

    rows = [
        row("2022-01-10", 0.5, 0.52, "03.01", "05.10"),
        row("2022-01-20", None, 0.51, "", "05.10"),
        row("2022-01-30", 0.49, 0.49, "04.00", "05.10"),
        row("2022-02-09", 0.48, 0.47, "04.00", "05.10"),
        {**row("2022-02-19", 0.4, 0.4, "04.00", "05.10"), "feature_id": "other"},
    ]
    series = series_from_rows(rows, "f", 0.01)
    assert [d.isoformat() for d in series.days] == ["2022-01-10", "2022-01-20", "2022-01-30", "2022-02-09"]
    assert series.markers == [(series.days[2], "A 03.01→04.00")]  # B never changed; the gap is not a change
    assert series.mean_a[1] is None and series.delta[1] is None
    image = timeseries_image(series, 400, 240)
    assert (image.width(), image.height()) == (400, 240)
    colours = {image.pixel(x, y) for x in range(0, 400, 4) for y in range(0, 240, 4)}
    assert len(colours) > 5  # something was drawn besides the white background
