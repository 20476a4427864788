"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock from its toolbar button, use the
seed AOI against the offline sample endpoints, press Compare, and take screenshots of what a user sees — the dock
before the run, during it (action bar with the stage), after it (Results tab and the main window), the map swipe,
the flicker and the credentials dialog — then quit. Findings go to $S2PARITY_E2E_RESULT."""

import json
import os
import tempfile
import time
import traceback
from pathlib import Path

from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar
from qgis.utils import iface

from s2parity_plugin.core.model.seed import write_seed_aoi_geojson
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

RESULT = os.environ["S2PARITY_E2E_RESULT"]
SHOTS = Path(os.environ["S2PARITY_E2E_SCREENSHOT_DIR"])
STATE: dict = {"result": {}, "dock": None, "started": 0.0}
SETTLE_MS = 1500


def _save(widget, name: str) -> bool:
    QgsApplication.processEvents()
    return widget.grab().save(str(SHOTS / name))


def _finish() -> None:
    with open(RESULT, "w", encoding="utf-8") as fh:
        json.dump(STATE["result"], fh)
    # Quit without QGIS's "save the project?" question.
    iface.newProject(False)
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(0, iface.actionExit().trigger)


def _guard(step):
    def run():
        try:
            step()
        except Exception:
            STATE["result"]["error"] = traceback.format_exc()
            _finish()

    return run


@_guard
def _start() -> None:
    result = STATE["result"]
    window = iface.mainWindow()
    window.resize(1600, 1000)
    tmp = Path(tempfile.mkdtemp(prefix="s2parity-e2e-"))
    layer = QgsVectorLayer(str(write_seed_aoi_geojson(tmp / "seed_aoi.geojson")), "Seed AOI", "ogr")
    QgsProject.instance().addMapLayer(layer)
    iface.setActiveLayer(layer)
    STATE["aoi"] = layer
    button = next(
        a for tb in window.findChildren(QToolBar) for a in tb.actions() if a.objectName() == "s2parity_toggle_dock"
    )
    button.trigger()
    dock = window.findChild(QDockWidget, "S2ParityDock")
    STATE["dock"] = dock
    form = dock.form
    result["aoi_follows_active_layer"] = form.aoi_layer.currentLayer() is layer
    form.output_folder.setFilePath(str(tmp / "runs"))
    form.crs.setCurrentIndex(form.crs.findData("EPSG:3035"))
    form.endpoint_a.set_profile("sample-sh")
    form.endpoint_b.set_profile("sample-cdse")
    iface.mapCanvas().setExtent(layer.extent().buffered(500))
    result["dock_width"] = dock.width()
    result["setup_hscroll"] = dock.tabs.widget(0).horizontalScrollBar().isVisible()
    result["before_png"] = _save(dock, "desktop_dock_before.png")
    # slow the sample pair down a little so the run is visible on screen while it fetches
    for deployment in ("sh", "cdse"):
        sample_endpoints().set_faults(deployment, latency_s=0.4)
    dock.compare_button.click()
    result["started"] = dock.run is not None
    STATE["started"] = time.monotonic()
    QTimer.singleShot(1200, _during)


@_guard
def _during() -> None:
    dock = STATE["dock"]
    result = STATE["result"]
    result["progress_during"] = dock.progress.text()
    result["compare_visible_during"] = dock.compare_button.isVisible() and dock.cancel_button.isEnabled()
    result["during_png"] = _save(dock, "desktop_dock_during.png")
    QTimer.singleShot(250, _poll)


@_guard
def _poll() -> None:
    result, dock = STATE["result"], STATE["dock"]
    if dock.run is not None and time.monotonic() - STATE["started"] < 120:
        QTimer.singleShot(250, _poll)
        return
    sample_endpoints().clear_faults()
    result["seconds"] = round(time.monotonic() - STATE["started"], 2)
    result["status"] = dock.status.text()
    result["tab_after"] = dock.tabs.tabText(dock.tabs.currentIndex())
    group = dock.group
    result["group"] = group.name() if group is not None else None
    result["layers"] = [n.name() for n in group.findLayers()] if group is not None else []
    result["visible"] = [n.name() for n in group.findLayers() if n.itemVisibilityChecked()] if group else []
    result["findings"] = dock.results.findings
    result["bias"] = dock.results.number_labels["bias"].text()
    result["results_hscroll"] = dock.tabs.widget(1).horizontalScrollBar().isVisible()
    if dock.layers:  # the report beside the difference raster names the strip engine that ran
        report = Path(dock.layers["difference"].source()).parent / "report.json"
        result["engine"] = json.loads(report.read_text())["options"]["engine"] if report.exists() else None
    QTimer.singleShot(SETTLE_MS, _after)


@_guard
def _after() -> None:
    result, dock = STATE["result"], STATE["dock"]
    result["main_png"] = _save(iface.mainWindow(), "desktop_compare_main.png")
    result["dock_png"] = _save(dock, "desktop_compare_results.png")
    result["results_full_png"] = _save(dock.tabs.widget(1).widget(), "desktop_results_full.png")
    result["aoi_checked"] = QgsProject.instance().layerTreeRoot().findLayer(STATE["aoi"].id()).itemVisibilityChecked()
    dock.swipe_button.setChecked(True)
    dock.swipe_tool.overlay.set_position(0.45)
    result["swipe_active"] = iface.mapCanvas().mapTool() is dock.swipe_tool
    QTimer.singleShot(SETTLE_MS, _swipe_shot)


@_guard
def _swipe_shot() -> None:
    result, dock = STATE["result"], STATE["dock"]
    dock.swipe_tool.overlay.wait()
    result["swipe_png"] = _save(iface.mainWindow(), "desktop_swipe.png")
    dock.swipe_button.setChecked(False)
    result["flicker_started"] = dock.flicker.start() if not dock.flicker.is_running() else True
    dock.flicker._timer.stop()  # hold one frame still for the screenshot
    dock.flicker.step()  # B
    QTimer.singleShot(SETTLE_MS, _flicker_shot)


@_guard
def _flicker_shot() -> None:
    result, dock = STATE["result"], STATE["dock"]
    result["flicker_label"] = dock.frame_label.text()
    result["flicker_png"] = _save(iface.mainWindow(), "desktop_flicker.png")
    dock.flicker.stop()
    result["visible_after_flicker"] = [n.name() for n in dock.group.findLayers() if n.itemVisibilityChecked()]
    from s2parity_plugin.gui.credentials_dialog import CredentialsDialog

    dialog = CredentialsDialog("cdse", dock)
    dialog.client_id.setText("sh-1a2b3c4d-example")
    dialog.secret.setText("not-a-real-secret")
    dialog.show()
    STATE["dialog"] = dialog
    QTimer.singleShot(800, _dialog_shot)


@_guard
def _dialog_shot() -> None:
    result = STATE["result"]
    dialog = STATE["dialog"]
    result["credentials_png"] = _save(dialog, "desktop_credentials.png")
    dialog.reject()
    # A second Compare in the same session, as an analyst does (it crashed QGIS 3.40 with pyproj 3.7).
    dock = STATE["dock"]
    dock.compare_button.click()
    result["second_started"] = dock.run is not None
    STATE["started"] = time.monotonic()
    QTimer.singleShot(250, _poll_second)


@_guard
def _poll_second() -> None:
    result, dock = STATE["result"], STATE["dock"]
    if dock.run is not None and time.monotonic() - STATE["started"] < 120:
        QTimer.singleShot(250, _poll_second)
        return
    result["second_status"] = dock.status.text()
    result["second_group"] = dock.group.name() if dock.group is not None else None
    result["second_png"] = _save(iface.mainWindow(), "desktop_compare_second.png")
    _finish()


QTimer.singleShot(1500, _start)
