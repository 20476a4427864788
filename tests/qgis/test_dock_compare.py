"""The dock end to end in QGIS: set the fields, click Compare, wait for the background task against the offline
sample endpoints, and check the layers it loaded, the results panel, cancel, and export."""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from sample_pair_support import open_seed_dock, seed_parameters, wait_for

import s2parity_plugin
from s2parity_plugin.core.model.scl import MISMATCH_CLASSES, SCL_CLASSES
from s2parity_plugin.core.model.seed import write_seed_aoi_geojson
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

GROUP = "S2 Parity · 2020-10-04 · B04"  # group titles start so (then the run's time)


def run_group(prefix: str = GROUP):
    """The S2 Parity run group whose title starts with ``prefix`` (None if there is none)."""
    groups = [g for g in QgsProject.instance().layerTreeRoot().findGroups(True) if g.name().startswith(prefix)]
    return groups[0] if groups else None


def test_compare_loads_the_run_group_and_the_report(dock, tmp_path):
    dock.compare_button.click()
    assert dock.run is not None and not dock.compare_button.isEnabled() and dock.cancel_button.isEnabled()
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()
    assert dock.progress.value() == 100

    group = run_group()
    assert group is not None and group is dock.group
    names = [node.name() for node in group.findLayers()]
    a_name, b_name = "A · Sample SH · N0214 · B04", "B · Sample CDSE · N0500 · B04"
    assert names == ["AOI outline", "Difference B − A", "SCL mismatch", a_name, b_name, "SCL A", "SCL B"]
    # The first view: only the difference and the AOI outline.
    assert [n.name() for n in group.findLayers() if n.itemVisibilityChecked()] == ["AOI outline", "Difference B − A"]
    aoi_node = QgsProject.instance().layerTreeRoot().findLayer(dock.form.aoi_layer.currentLayer().id())
    assert not aoi_node.itemVisibilityChecked()  # the outline replaces the AOI's fill
    layers = {node.name(): node.layer() for node in group.findLayers()}
    assert isinstance(layers["Difference B − A"].renderer(), QgsSingleBandPseudoColorRenderer)
    assert isinstance(layers[a_name].renderer(), QgsSingleBandPseudoColorRenderer)
    for name, classes in (("SCL mismatch", MISMATCH_CLASSES), ("SCL A", SCL_CLASSES), ("SCL B", SCL_CLASSES)):
        renderer = layers[name].renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        assert {c.value: (c.label, c.color.name()) for c in renderer.classes()} == classes
    for name, layer in layers.items():
        if name == "AOI outline":
            continue
        assert layer.crs().authid() == "EPSG:3035"
        assert (layer.width(), layer.height()) == (506, 449)  # seed bbox snapped outward to 10 m

    report = json.loads(Path(dock.last_results["OUTPUT_REPORT"]).read_text())
    assert " ".join(dock.results.findings) == report["diagnosis"]["explanation"]
    assert len(dock.results.findings) >= 4 and dock.results.diagnosis.text().count("<li>") == len(dock.results.findings)
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
    # Masked by default: the map shows exactly the pixels the statistics count, and with the same mean.
    assert report["stats"]["n"] == valid.sum()
    assert report["stats"]["bias"] == pytest.approx(values[valid].mean(), rel=1e-4, abs=1e-3)

    assert dock.inspect_button.isEnabled() and dock.flicker_button.isEnabled() and dock.export_button.isEnabled()
    centre = diff_layer.extent().center()
    crs = diff_layer.crs()
    text = dock.inspector_tool.inspect(centre, crs)
    assert text.startswith("A ") and " · B − A " in text and " · SCL B " in text
    QgsProject.instance().removeMapLayer(layers["SCL B"].id())  # the user deletes a layer of the group
    text = dock.inspector_tool.inspect(centre, crs)
    assert " · SCL A " in text and "SCL B" not in text


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
    assert run_group() is None
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
    group = run_group()
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


@pytest.fixture
def external_sample_pair():
    """The sample pair in its own process (``python -m s2parity_plugin.sample_endpoints serve``) with 300 ms
    latency per request: like a real remote service, it takes no CPU or GIL time from the QGIS process. (The
    in-process pair triggers ~50 ms cyclic-GC pauses in its request threads, which would be measured too.)"""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s2parity_plugin.sample_endpoints",
            "serve",
            "--faults-sh",
            "latency_s=0.3",
            "--faults-cdse",
            "latency_s=0.3",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _basic_auth_config(name: str, client_id: str, secret: str) -> str:
    from qgis.core import QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("s2parity-test-master", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName(name)
    config.setConfig("username", client_id)
    config.setConfig("password", secret)
    assert manager.storeAuthenticationConfig(config)
    return config.id()


# A real defect (the fetch on the main thread: ≥ 3 requests of 300 ms in a row) stalls ≥ 0.9 s. 250 ms was
# reached by noise: 282 and 369 ms in 2 of 15 runs with a load average of 12 on 2 CPUs (bench_gui: p99 ≈ 65 ms).
STALL_BOUND_S = 0.500
STALL_LOG_ENV = "S2PARITY_STALL_LOG"  # bench/bench_gui.py: where to write the heartbeat gaps for its percentiles
STALL_COLD_ENV = "S2PARITY_STALL_COLD"  # bench/bench_gui.py: measure with numba's import inside the run


def test_gui_thread_never_stalls_during_a_run(dock, external_sample_pair):
    """A 10 ms QTimer heartbeat on the main thread keeps ticking (no gap over 500 ms) while the comparison runs
    against the sample endpoints (custom profile + QGIS auth configs) with 300 ms injected latency per request.
    Only this generous bound is asserted: the gap percentiles are measured by ``make bench`` (bench_gui)."""
    from qgis.PyQt.QtCore import QTimer

    for picker, deployment in ((dock.form.endpoint_a, "sh"), (dock.form.endpoint_b, "cdse")):
        info = external_sample_pair[deployment]
        picker.set_profile("custom")
        picker.base_url.setText(info["base_url"])
        picker.token_url.setText(info["token_url"])
        picker.auth.setConfigId(_basic_auth_config(deployment, info["client_id"], info["client_secret"]))
    # Collect the garbage earlier tests left: a full cyclic-GC pass over it (~50–60 ms with QGIS loaded) could
    # otherwise fall inside the run, in whichever thread allocates, and be measured as a stall of ours.
    gc.collect()
    if not os.environ.get(STALL_COLD_ENV):
        # Load the compiled kernel first: importing numba and loading its compiled code hold the GIL for up to
        # ≈ 0.3 s once per process (measured by bench_gui, "cold"); this test is about the run, not that.
        from s2parity_plugin.core.compare import kernel as compare_kernel
        from s2parity_plugin.core.compare import warmup as compare_warmup

        compare_warmup.warm_up()
        compare_kernel.note_ran()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    dock.compare_button.click()  # validation and task creation happen before the run
    assert dock.run is not None, dock.status.text()
    ticks.clear()
    during: list[float] = []

    def running() -> bool:
        if dock.run is not None:
            during.extend(ticks)
            ticks.clear()
            return False
        return True

    wait_for(running)
    timer.stop()
    assert dock.status.text().startswith("Done"), dock.status.text()
    gaps = np.diff(np.array(during))
    if os.environ.get(STALL_LOG_ENV):
        Path(os.environ[STALL_LOG_ENV]).write_text(json.dumps(gaps.tolist()), encoding="utf-8")
    assert len(during) > 50  # the run lasted well over half a second of heartbeats
    assert gaps.max() < STALL_BOUND_S, f"main thread stalled {gaps.max() * 1000:.0f} ms"


def test_multi_feature_ndvi_fills_the_per_feature_table(dock, tmp_path):
    from qgis.core import QgsFeature, QgsGeometry

    from s2parity_plugin.core.model.seed import SEED_BBOX_3035

    x0, y0, x1, y1 = SEED_BBOX_3035
    xm = (x0 + x1) / 2
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035&field=name:string", "fields", "memory")
    features = []
    for name, (a, b) in (("west", (x0, xm)), ("east", (xm, x1))):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name])
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({a} {y0},{b} {y0},{b} {y1},{a} {y1},{a} {y0}))"))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    dock.form.aoi_layer.setLayer(layer)
    dock.form.preset.setCurrentIndex(dock.form.preset.findData("NDVI"))
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()
    report = json.loads(Path(dock.last_results["OUTPUT_REPORT"]).read_text())
    rows = report["features"]
    assert len(rows) == 2 and all(r["pixels"] > 1000 for r in rows)
    assert all(-1.0 <= r["mean_ndvi_a"] <= 1.0 and -1.0 <= r["mean_ndvi_b"] <= 1.0 for r in rows)
    # Same pixels as the report's statistics (SCL valid in both); the halves share no pixel.
    assert sum(r["pixels"] for r in rows) <= report["stats"]["n"]
    table = dock.results.features
    assert not dock.results.features_box.isHidden() and table.rowCount() == 2
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:4] == ["Feature", "Pixels", "NDVI A", "NDVI B"]  # NDVI is unitless
    assert run_group("S2 Parity · 2020-10-04 · NDVI") is not None


def test_endpoint_failure_reaches_the_user_with_its_reason(dock, monkeypatch):
    monkeypatch.setenv("S2PARITY_RETRY_DEADLINE_S", "1")  # retried for 1 s instead of 5 min
    # every attempt 503 (a schedule, not a rate: which of 500/503 came last would depend on how many retries fit)
    sample_endpoints().set_faults("cdse", schedule=("503",) * 1000)
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    status = dock.status.text()
    assert "There were errors" not in status
    assert status.startswith("endpoint 'sample-cdse'") and "HTTP 503 on every retry" in status, status
    assert "retry later" in status
    assert run_group() is None


def test_compareendpoints_runs_inside_a_processing_model(qgis_processing, tmp_path):
    """The whole workflow as a child of a Processing model (what the graphical modeler builds)."""
    import processing
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
    )

    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        aoi = write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")
        model = QgsProcessingModelAlgorithm("S2 Parity seed", "tests")
        child = QgsProcessingModelChildAlgorithm("s2parity:compareendpoints")
        child.setChildId("compare")
        static = {
            "AOI": str(aoi),
            "DATE_FROM": "2020-10-04",
            "DATE_TO": "2020-10-04",
            "PRESET": "B04",
            "UNITS": "DN",
            "ENDPOINT_A": "sample-sh",
            "ENDPOINT_B": "sample-cdse",
            "RESOLUTION": 10.0,
            "CRS": "EPSG:3035",
            "OUTPUT_FOLDER": str(tmp_path / "runs"),
        }
        for key, value in static.items():
            child.addParameterSources(key, [QgsProcessingModelChildParameterSource.fromStaticValue(value)])
        output = QgsProcessingModelOutput("report", "Report")
        output.setChildOutputName("OUTPUT_REPORT")
        child.setModelOutputs({"report": output})
        model.addChildAlgorithm(child)
        results = processing.run(model, {})
        # The child's own outputs, on every QGIS version (the model-output key's name changed between 3.22 and 3.40).
        report_path = results["CHILD_RESULTS"]["compare"]["OUTPUT_REPORT"]
        report = json.loads(Path(report_path).read_text())
        assert "02.14" in report["diagnosis"]["explanation"]
        assert report["grid"]["width"] == 506
    finally:
        plugin.unload()


def test_compareendpoints_per_date_compares_each_acquisition(qgis_processing, tmp_path, monkeypatch):
    """Also: the algorithm starts the compiled-kernel preload (before its fetch), so its comparisons do not wait
    for numba."""
    import processing

    from s2parity_plugin.core.compare import warmup as compare_warmup

    preloads = []
    real_preload = compare_warmup.preload_in_background
    monkeypatch.setattr(compare_warmup, "preload_in_background", lambda: preloads.append(1) or real_preload())
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        results = processing.run(
            "s2parity:compareendpoints",
            seed_parameters(
                str(write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")),
                tmp_path / "runs",
                DATE_FROM="2020-10-01",
                DATE_TO="2020-10-12",
                RESOLUTION=20.0,
                CRS="EPSG:3035",
                PER_DATE=True,
                RUN_NAME="series",
            ),
        )
    finally:
        plugin.unload()
    reports = [Path(p) for p in json.loads(results["REPORTS"])]
    assert len(reports) >= 2
    dates = [report.parent.parent.name for report in reports]
    assert dates == sorted(set(dates)) and all(d.startswith("2020-10-") for d in dates)
    assert Path(results["RUN_FOLDER"]) == tmp_path / "runs" / "series"
    assert results["OUTPUT_REPORT"] == str(reports[-1])
    for report in reports:
        assert "02.14" in json.loads(report.read_text())["diagnosis"]["explanation"]
    assert preloads == [1]


def test_unloading_during_a_run_cancels_it_without_touching_the_dock(iface, qgis_processing, tmp_path):
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QEvent

    plugin, dock = open_seed_dock(iface, tmp_path)
    sample_endpoints().set_faults("sh", latency_s=1.0)
    dock.compare_button.click()
    run = dock.run
    assert run is not None
    wait_for(lambda: run.task.status() == run.task.Running)
    time.sleep(0.3)  # inside the fetch
    plugin.unload()  # while the task runs
    # What QGIS's event loop does next with the dock's deleteLater(): its C++ side goes away mid-run.
    QgsApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if not sip.isdeleted(dock):
        sip.delete(dock)
    wait_for(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout_s=30)
    for _ in range(20):
        QgsApplication.processEvents()
    assert run.cancelled
    assert run_group() is None
    QgsProject.instance().clear()
