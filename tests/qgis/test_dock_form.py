"""The dock's form and results panel, driven through their widgets (no network)."""

from __future__ import annotations

import numpy as np
import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsSettings, QgsVectorLayer
from qgis.PyQt.QtCore import QDate

from s2parity_plugin.core.model.seed import seed_aoi_wkt
from s2parity_plugin.gui import comparison_form
from s2parity_plugin.gui.comparison_form import SETTINGS_PREFIX, ComparisonForm
from s2parity_plugin.gui.flicker import Flicker
from s2parity_plugin.gui.pixel_inspector import describe_pixel
from s2parity_plugin.gui.results_panel import ResultsPanel


def polygon_layer(name: str = "aoi", n: int = 1) -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035&field=id:integer", name, "memory")
    features = []
    for i in range(n):
        f = QgsFeature(layer.fields())
        f.setAttributes([i + 1])
        f.setGeometry(QgsGeometry.fromWkt(seed_aoi_wkt()))
        features.append(f)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    return layer


@pytest.fixture
def form(iface, tmp_path, monkeypatch):
    monkeypatch.setattr(comparison_form, "_has_auth_configs", lambda: False)  # a new user: the offline pair
    QgsSettings().remove(SETTINGS_PREFIX.rstrip("/"))
    QgsProject.instance().clear()
    form = ComparisonForm(iface)
    form.output_folder.setFilePath(str(tmp_path / "runs"))
    yield form
    form.shutdown()
    QgsProject.instance().clear()


def test_form_follows_active_polygon_layer_and_ignores_points(form, iface):
    points = QgsVectorLayer("Point?crs=EPSG:4326", "points", "memory")
    aoi = polygon_layer("fields")
    QgsProject.instance().addMapLayers([points, aoi])
    form.follow_active_layer(aoi)
    assert form.aoi_layer.currentLayer() is aoi
    form.follow_active_layer(points)
    assert form.aoi_layer.currentLayer() is aoi


def test_every_field_is_validated_with_a_reason_beside_it(form, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    form.aoi_layer.setLayer(None)
    form.use_range.setChecked(True)
    form.date_from.setDate(QDate(2021, 5, 10))
    form.date_to.setDate(QDate(2021, 5, 1))
    form.preset.setCurrentIndex(form.preset.findData("CUSTOM"))
    form.evalscript.setText("return 1;")
    form.output_folder.setFilePath(str(blocker / "runs"))
    form.endpoint_a.set_profile("sentinelhub")
    problems = form.validate()
    assert len(problems) == 5
    assert "polygon layer" in form.aoi_error.text() and not form.aoi_error.isHidden()
    assert form.date_error.text() == "The end date is before the start date: swap them."
    assert "evaluatePixel" in form.evalscript_error.text()
    assert f"Cannot write in {blocker / 'runs'}" in form.output_error.text()
    assert "authentication configuration" in form.endpoint_a.error.text()

    form.date_from.setDate(QDate.currentDate().addDays(3))
    form.use_range.setChecked(False)
    form.validate()
    assert "future" in form.date_error.text()


def test_real_endpoints_by_default_once_an_auth_config_exists_offline_pair_one_click_away(iface, monkeypatch):
    monkeypatch.setattr(comparison_form, "_has_auth_configs", lambda: True)
    QgsSettings().remove(SETTINGS_PREFIX.rstrip("/"))
    form = ComparisonForm(iface)
    try:
        assert (form.endpoint_a.profile_id(), form.endpoint_b.profile_id()) == ("sentinelhub", "cdse")
        assert not form.endpoint_a.auth.isHidden()  # real endpoints ask for credentials
        form.use_offline.click()
        assert (form.endpoint_a.profile_id(), form.endpoint_b.profile_id()) == ("sample-sh", "sample-cdse")
        assert form.endpoint_a.auth.isHidden()  # the sample pair brings its own demo clients
    finally:
        form.shutdown()


def test_valid_form_gives_compareendpoints_parameters(form):
    layer = polygon_layer("seed", n=2)
    QgsProject.instance().addMapLayer(layer)
    form.aoi_layer.setLayer(layer)
    assert form.validate() == []
    assert all(label.isHidden() for label in (form.aoi_error, form.date_error, form.output_error))
    params = form.parameters()
    assert params["AOI"] is layer
    assert params["DATE_FROM"] == params["DATE_TO"] == "2020-10-04"
    assert params["PRESET"] == "B04" and params["UNITS"] == "DN" and params["RESOLUTION"] == 10.0
    assert params["ENDPOINT_A"] == "sample-sh" and params["ENDPOINT_B"] == "sample-cdse"
    assert params["MOSAICKING"] == "ORBIT" and params["HARMONIZE"] is True
    assert not params["CRS"].isValid()  # auto: UTM zone of the AOI

    form.selected_only.setChecked(True)
    assert "selected" in form.validate()[0]
    layer.selectByIds([1])
    assert form.validate() == []


def test_settings_remember_auth_ids_but_never_secrets(form, tmp_path):
    form.endpoint_a.set_profile("cdse")
    form.endpoint_a.sh_profile.setText("my-cdse-profile")
    form.resolution.setValue(20.0)
    form.save_settings()
    s = QgsSettings()
    keys = [k for k in s.allKeys() if k.startswith(SETTINGS_PREFIX)]
    assert s.value(SETTINGS_PREFIX + "endpoint_a") == "cdse"
    assert s.value(SETTINGS_PREFIX + "sh_profile_a") == "my-cdse-profile"
    assert not [k for k in keys if "secret" in k.lower() or "password" in k.lower()]
    again = ComparisonForm(None)
    try:
        assert again.endpoint_a.profile_id() == "cdse" and again.resolution.value() == 20.0
        assert again.output_folder.filePath() == str(tmp_path / "runs")
    finally:
        again.shutdown()


REPORT = {
    "units": "DN",
    "grid": {"crs": "EPSG:3035", "width": 505, "height": 447},
    "stats": {
        "n": 200000,
        "bias": 12.5,
        "rmse": 80.25,
        "pearson_r": 0.98,
        "fit_slope": 1.01,
        "fit_intercept": 3.0,
        "units": "DN",
        "histogram": {"bin_edges": [-2.0, -1.0, 0.0, 1.0, 2.0], "counts": [1, 5, 7, 2]},
    },
    "scl": {
        "shares": {"valid_only_a": 0.031, "valid_only_b": 0.012, "both_invalid": 0.2},
        "confusion": np.diag(np.arange(12)).tolist(),
    },
    "shift": {"dx_m": 3.2, "dy_m": -1.1, "magnitude_m": 3.38, "quality": 0.9},
    "diagnosis": {
        "explanation": "Endpoint A served baseline 02.14, B served 05.00.",
        "baseline_a": "02.14",
        "baseline_b": "05.00",
    },
    "density": {"a_range": [0, 10], "b_range": [0, 10], "counts": [[0, 3], [2, 9]]},
    "features": [{"feature_id": 1, "pixels": 10, "mean_a": 100.0, "mean_b": 110.0, "mean_diff": 10.0}],
}


def test_results_panel_shows_diagnosis_numbers_plots_and_tables(qgis_app):
    panel = ResultsPanel()
    panel.show_report(REPORT)
    assert panel.findings == ["Endpoint A served baseline 02.14, B served 05.00."]
    assert "<li>Endpoint A served baseline 02.14, B served 05.00.</li>" in panel.diagnosis.text()
    assert panel.number_labels["baselines"].text() == "02.14 / 05.00"
    assert panel.number_labels["bias"].text() == "12.5 DN"
    assert panel.number_labels["rmse"].text() == "80.25 DN"
    assert panel.number_labels["shift"].text().startswith("dx +3.20 m, dy -1.10 m, |3.38 m|")
    assert panel.number_labels["mismatch"].text() == "3.10% / 1.20%"
    assert not panel.histogram.pixmap().isNull() and not panel.density.pixmap().isNull()
    # classes present only (1..11: class 0 has no pixel), in % of the 66 classified pixels
    assert panel.confusion.rowCount() == 11 and panel.confusion.verticalHeaderItem(4).text() == "5 Not vegetated"
    assert panel.confusion.item(4, 4).text() == f"{100 * 5 / 66:.1f}"
    assert panel.features.rowCount() == 1 and panel.features.item(0, 3).text() == "110"
    headers = [panel.features.horizontalHeaderItem(c).text() for c in range(panel.features.columnCount())]
    assert headers == ["Feature", "Pixels", "Mean A (DN)", "Mean B (DN)", "Mean B − A (DN)"]
    panel.clear()
    assert panel.number_labels["bias"].text() == "–"


def test_pixel_description_names_scl_classes():
    text = describe_pixel({"value_a": 1234.0, "value_b": 1250.0, "difference": 16.0, "scl_a": 4.0, "scl_b": 8.0})
    assert text == "A 1234 · B 1250 · B − A +16 · SCL A 4 Vegetation · SCL B 8 Cloud medium"
    assert describe_pixel({"value_a": None}) == "A no data"
    assert describe_pixel({"value_a": "outside", "value_b": "outside"}) == "Outside the rasters of this comparison."


def test_flicker_alternates_hides_what_covers_and_restores(qgis_app):
    project = QgsProject.instance()
    cover, a, b = polygon_layer("difference"), polygon_layer("A"), polygon_layer("B")
    project.addMapLayers([cover, a, b], False)
    group = project.layerTreeRoot().addGroup("g")
    node_c, node_a, node_b = group.addLayer(cover), group.addLayer(a), group.addLayer(b)
    node_a.setItemVisibilityChecked(False)
    node_b.setItemVisibilityChecked(False)
    frames = []
    flicker = Flicker()
    flicker.frame_changed.connect(frames.append)
    flicker.set_layers(a, b, "A · one", "B · two")
    assert flicker.start()
    assert not node_c.itemVisibilityChecked()  # the layer above A/B is hidden while flickering
    assert (node_a.itemVisibilityChecked(), node_b.itemVisibilityChecked()) == (True, False)
    flicker.step()
    assert (node_a.itemVisibilityChecked(), node_b.itemVisibilityChecked()) == (False, True)
    flicker.step()
    assert frames == ["A · one", "B · two", "A · one"]
    flicker.stop()
    checked = [n.itemVisibilityChecked() for n in (node_c, node_a, node_b)]
    assert checked == [True, False, False]  # exactly as before
    assert flicker.start()
    project.removeMapLayer(b.id())  # the user removes B while it flickers
    assert not flicker.is_running() and node_c.itemVisibilityChecked()
    assert not flicker.start()
    flicker.shutdown()
    project.clear()


def test_plots_clip_the_histogram_and_tick_round_values(qgis_app):
    from s2parity_plugin.gui.plots import clip_range, histogram_pixmap, nice_ticks, viridis

    # 100 bins over −491…621 (as the seed report), the data concentrated in ±69 with long thin tails
    edges = [-491.4 + i * 11.128 for i in range(101)]
    counts = [1] * 100
    for i in range(38, 50):
        counts[i] = 5000
    first, last = clip_range(edges, counts, below=10, above=10)
    assert edges[first] >= -69 and edges[last + 1] <= 69
    assert nice_ticks(-55.3, 48.9) == [-40.0, -20.0, 0.0, 20.0, 40.0]
    assert 0.0 in nice_ticks(-0.21, 0.2)
    assert viridis(0).name() == "#440154" and viridis(1).name() == "#fde725"
    pixmap = histogram_pixmap(edges, counts, 360)
    assert pixmap.width() == 360 and not pixmap.isNull()


def test_units_and_findings_for_the_results(qgis_app):
    from s2parity_plugin.gui.results_panel import confusion_percent, display_units, findings

    assert display_units({"units": "REFLECTANCE"}, "NDVI") is None
    assert display_units({"units": "DN"}, "B04") == "DN"
    text = "A served 02.14. B − A averages 0.5 DN (RMSE 121). No offset."
    assert findings(text) == ["A served 02.14.", "B − A averages 0.5 DN (RMSE 121).", "No offset."]
    matrix = [[0] * 12 for _ in range(12)]
    matrix[4][4], matrix[4][8], matrix[8][8] = 6, 2, 2
    present, percent = confusion_percent(matrix)
    assert present == [4, 8] and percent == [[60.0, 20.0], [0.0, 20.0]]
