"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock from its toolbar button, use the
seed AOI against the offline sample endpoints, press Compare, and take screenshots of what a user sees — the dock
before the run, during it (action bar with the stage), after it (Results tab and the main window), the map swipe,
the flicker and the credentials dialog — then quit. Findings go to $S2PARITY_E2E_RESULT."""

import json
import tempfile
from pathlib import Path

from desktop_session import RESULT, elapsed, finish, guard, open_dock, poll_again, save, watch_run
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

from s2parity_plugin.core.model.seed import write_seed_aoi_geojson
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

STATE: dict = {"dock": None}
SETTLE_MS = 1500


@guard
def _start() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="s2parity-e2e-"))
    layer = QgsVectorLayer(str(write_seed_aoi_geojson(tmp / "seed_aoi.geojson")), "Seed AOI", "ogr")
    STATE["aoi"] = layer
    dock = open_dock(layer)
    STATE["dock"] = dock
    form = dock.form
    RESULT["aoi_follows_active_layer"] = form.aoi_layer.currentLayer() is layer
    form.output_folder.setFilePath(str(tmp / "runs"))
    form.crs.setCurrentIndex(form.crs.findData("EPSG:3035"))
    form.endpoint_a.set_profile("sample-sh")
    form.endpoint_b.set_profile("sample-cdse")
    iface.mapCanvas().setExtent(layer.extent().buffered(500))
    RESULT["dock_width"] = dock.width()
    RESULT["setup_hscroll"] = dock.tabs.widget(0).horizontalScrollBar().isVisible()
    RESULT["before_png"] = save(dock, "desktop_dock_before.png")
    # slow the sample pair down a little so the run is visible on screen while it fetches
    for deployment in ("sh", "cdse"):
        sample_endpoints().set_faults(deployment, latency_s=0.4)
    dock.compare_button.click()
    watch_run("started", dock.run is not None, _during, 1200)


@guard
def _during() -> None:
    dock = STATE["dock"]
    RESULT["progress_during"] = dock.progress.text()
    RESULT["compare_visible_during"] = dock.compare_button.isVisible() and dock.cancel_button.isEnabled()
    RESULT["during_png"] = save(dock, "desktop_dock_during.png")
    QTimer.singleShot(250, _poll)


@guard
def _poll() -> None:
    dock = STATE["dock"]
    if poll_again(dock, 120, _poll):
        return
    sample_endpoints().clear_faults()
    RESULT["seconds"] = elapsed()
    RESULT["status"] = dock.status.text()
    RESULT["tab_after"] = dock.tabs.tabText(dock.tabs.currentIndex())
    group = dock.group
    RESULT["group"] = group.name() if group is not None else None
    RESULT["layers"] = [n.name() for n in group.findLayers()] if group is not None else []
    RESULT["visible"] = [n.name() for n in group.findLayers() if n.itemVisibilityChecked()] if group else []
    RESULT["findings"] = dock.results.findings
    RESULT["bias"] = dock.results.number_labels["bias"].text()
    RESULT["results_hscroll"] = dock.tabs.widget(1).horizontalScrollBar().isVisible()
    if dock.layers:  # the report beside the difference raster names the strip engine that ran
        report = Path(dock.layers["difference"].source()).parent / "report.json"
        RESULT["engine"] = json.loads(report.read_text())["options"]["engine"] if report.exists() else None
    QTimer.singleShot(SETTLE_MS, _after)


@guard
def _after() -> None:
    dock = STATE["dock"]
    RESULT["main_png"] = save(iface.mainWindow(), "desktop_compare_main.png")
    RESULT["dock_png"] = save(dock, "desktop_compare_results.png")
    RESULT["results_full_png"] = save(dock.tabs.widget(1).widget(), "desktop_results_full.png")
    RESULT["aoi_checked"] = QgsProject.instance().layerTreeRoot().findLayer(STATE["aoi"].id()).itemVisibilityChecked()
    dock.swipe_button.setChecked(True)
    dock.swipe_tool.overlay.set_position(0.45)
    RESULT["swipe_active"] = iface.mapCanvas().mapTool() is dock.swipe_tool
    QTimer.singleShot(SETTLE_MS, _swipe_shot)


@guard
def _swipe_shot() -> None:
    dock = STATE["dock"]
    dock.swipe_tool.overlay.wait()
    RESULT["swipe_png"] = save(iface.mainWindow(), "desktop_swipe.png")
    dock.swipe_button.setChecked(False)
    RESULT["flicker_started"] = dock.flicker.start() if not dock.flicker.is_running() else True
    dock.flicker._timer.stop()  # hold one frame still for the screenshot
    dock.flicker.step()  # B
    QTimer.singleShot(SETTLE_MS, _flicker_shot)


@guard
def _flicker_shot() -> None:
    dock = STATE["dock"]
    RESULT["flicker_label"] = dock.frame_label.text()
    RESULT["flicker_png"] = save(iface.mainWindow(), "desktop_flicker.png")
    dock.flicker.stop()
    RESULT["visible_after_flicker"] = [n.name() for n in dock.group.findLayers() if n.itemVisibilityChecked()]
    from s2parity_plugin.gui.credentials_dialog import CredentialsDialog

    dialog = CredentialsDialog("cdse", dock)
    dialog.client_id.setText("sh-1a2b3c4d-example")
    dialog.secret.setText("not-a-real-secret")
    dialog.show()
    STATE["dialog"] = dialog
    QTimer.singleShot(800, _dialog_shot)


@guard
def _dialog_shot() -> None:
    dialog = STATE["dialog"]
    RESULT["credentials_png"] = save(dialog, "desktop_credentials.png")
    dialog.reject()
    # A second Compare in the same session, as an analyst does (it crashed QGIS 3.40 with pyproj 3.7).
    dock = STATE["dock"]
    dock.compare_button.click()
    watch_run("second_started", dock.run is not None, _poll_second)


@guard
def _poll_second() -> None:
    dock = STATE["dock"]
    if poll_again(dock, 120, _poll_second):
        return
    RESULT["second_status"] = dock.status.text()
    RESULT["second_group"] = dock.group.name() if dock.group is not None else None
    RESULT["second_png"] = save(iface.mainWindow(), "desktop_compare_second.png")
    finish()


QTimer.singleShot(1500, _start)
