"""The dock end to end in QGIS: set the fields, click Compare, wait for the background task against the offline
sample endpoints, and check the layers it loaded, the results panel, cancel, and export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)

import s2parity_plugin
from s2parity_plugin.core.sample_service import sample_endpoints
from s2parity_plugin.core.scl import MISMATCH_CLASSES, SCL_CLASSES
from s2parity_plugin.core.seed import write_seed_aoi_geojson

GROUP = "S2 Parity · 2020-10-04 · B04"


def wait_for(predicate, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the S2 Parity task")
        QgsApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture
def dock(iface, qgis_processing, tmp_path):
    QgsProject.instance().clear()
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    plugin.action.trigger()
    dock = plugin.dock
    aoi = QgsVectorLayer(str(write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")), "Seed AOI", "ogr")
    QgsProject.instance().addMapLayer(aoi)
    dock.form.follow_active_layer(aoi)
    dock.form.output_folder.setFilePath(str(tmp_path / "runs"))
    dock.form.crs.setCurrentIndex(dock.form.crs.findData("EPSG:3035"))
    dock.form.endpoint_a.set_profile("sample-sh")
    dock.form.endpoint_b.set_profile("sample-cdse")
    yield dock
    sample_endpoints().clear_faults()
    plugin.unload()
    QgsProject.instance().clear()


def test_compare_loads_the_run_group_and_the_report(dock, tmp_path):
    dock.compare_button.click()
    assert dock.run is not None and not dock.compare_button.isEnabled() and dock.cancel_button.isEnabled()
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()
    assert dock.progress.value() == 100

    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP)
    assert group is not None
    names = [node.name() for node in group.findLayers()]
    assert names == ["Difference B − A", "SCL mismatch", "Raster A", "Raster B", "SCL A", "SCL B"]
    layers = {node.name(): node.layer() for node in group.findLayers()}
    assert isinstance(layers["Difference B − A"].renderer(), QgsSingleBandPseudoColorRenderer)
    assert isinstance(layers["Raster A"].renderer(), QgsSingleBandGrayRenderer)
    for name, classes in (("SCL mismatch", MISMATCH_CLASSES), ("SCL A", SCL_CLASSES), ("SCL B", SCL_CLASSES)):
        renderer = layers[name].renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        assert {c.value: (c.label, c.color.name()) for c in renderer.classes()} == classes
    for layer in layers.values():
        assert layer.crs().authid() == "EPSG:3035"
        assert (layer.width(), layer.height()) == (506, 449)  # seed bbox snapped outward to 10 m

    report = json.loads(Path(dock.last_results["OUTPUT_REPORT"]).read_text())
    assert dock.results.diagnosis.text() == report["diagnosis"]["explanation"]
    assert "02.14" in report["diagnosis"]["explanation"] and "05.00" in report["diagnosis"]["explanation"]
    assert dock.results.number_labels["n"].text() == f"{report['stats']['n']:,}"
    # The loaded difference layer holds exactly the engine's numbers: QGIS's own band statistics of the layer
    # agree with a direct numpy read of the same file.
    diff_layer = layers["Difference B − A"]
    ds = gdal.Open(diff_layer.source())
    band = ds.GetRasterBand(1)
    values = band.ReadAsArray().astype(float)
    nodata = band.GetNoDataValue()
    valid = np.isfinite(values) if nodata is None or np.isnan(nodata) else values != nodata
    qgis_stats = diff_layer.dataProvider().bandStatistics(1)
    assert qgis_stats.mean == pytest.approx(values[valid].mean(), rel=1e-6)
    assert report["stats"]["n"] <= valid.sum()

    assert dock.inspect_button.isEnabled() and dock.flicker_button.isEnabled() and dock.export_button.isEnabled()
    centre = diff_layer.extent().center()
    text = dock.inspector_tool.inspect(centre, diff_layer.crs())
    assert text.startswith("A ") and " · B − A " in text and " · SCL B " in text


def test_cancel_leaves_nothing_behind(dock, tmp_path):
    sample_endpoints().set_faults("sh", latency_s=1.5)
    sample_endpoints().set_faults("cdse", latency_s=1.5)
    dock.compare_button.click()
    time.sleep(0.3)
    t0 = time.monotonic()
    dock.cancel_button.click()
    wait_for(lambda: dock.run is None, timeout_s=30)
    assert time.monotonic() - t0 < 5.0
    assert dock.status.text() == "Cancelled: nothing was added to the project."
    assert QgsProject.instance().layerTreeRoot().findGroup(GROUP) is None
    runs = tmp_path / "runs"
    leftovers = [p for p in runs.rglob("*.tif")] if runs.exists() else []
    assert leftovers == []


def test_invalid_form_does_not_start(dock):
    dock.form.output_folder.setFilePath("")
    dock.compare_button.click()
    assert dock.run is None
    assert dock.status.text().startswith("Fix 1 field(s) first: Choose a folder")
    assert not dock.form.output_error.isHidden()


def test_export_writes_cogs_styles_and_report_and_asks_before_overwrite(dock, tmp_path):
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    out = tmp_path / "export"
    dock.export_to(str(out))
    wait_for(lambda: dock.export_run is None)
    assert dock.status.text() == f"Exported to {out}.", dock.status.text()
    names = sorted(p.name for p in out.iterdir())
    assert "s2parity_difference.tif" in names and "s2parity_difference.qml" in names
    assert "s2parity_scl_mismatch.tif" in names and "s2parity_report.html" in names
    assert not [n for n in names if n.startswith(".")]  # no staging folder left

    # Round trip: the exported COG holds the same pixels as the in-project layer.
    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP)
    layers = {node.name(): node.layer() for node in group.findLayers()}
    for exported, name in (
        ("s2parity_difference.tif", "Difference B − A"),
        ("s2parity_scl_mismatch.tif", "SCL mismatch"),
    ):
        cog = gdal.Open(str(out / exported))
        assert cog.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        src = gdal.Open(layers[name].source())
        assert np.array_equal(cog.ReadAsArray(), src.ReadAsArray(), equal_nan=True)
        assert cog.GetGeoTransform() == src.GetGeoTransform()
    mismatch_ds = gdal.Open(str(out / "s2parity_scl_mismatch.tif"))  # keep the dataset alive while using its band
    mismatch = mismatch_ds.GetRasterBand(1)
    assert mismatch.GetColorTable().GetColorEntry(3)[:3] == (0x2B, 0x83, 0xBA)
    assert mismatch.GetMetadataItem("CATEGORY_4") == "Valid only in B"

    asked = []
    before = (out / "s2parity_report.json").stat().st_mtime_ns
    dock.export_to(str(out), confirm=lambda existing: asked.append(existing) or False)
    assert asked and "s2parity_report.json" in asked[0]
    assert dock.status.text() == "Export cancelled: nothing was overwritten."
    assert (out / "s2parity_report.json").stat().st_mtime_ns == before
