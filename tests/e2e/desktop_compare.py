"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock from its toolbar button, use the
seed AOI against the offline sample endpoints, press Compare and wait for the background task — twice in a row, as
an analyst does (the second run crashed QGIS 3.40 with pyproj 3.7) — then save screenshots of the second run (main
window with layers; the dock) and quit. Findings go to $S2PARITY_E2E_RESULT: one entry per run in "runs"."""

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

from s2parity_plugin.core.seed import write_seed_aoi_geojson

RESULT = os.environ["S2PARITY_E2E_RESULT"]
SHOTS = Path(os.environ["S2PARITY_E2E_SCREENSHOT_DIR"])
RUNS = 2
STATE: dict = {"result": {"runs": []}, "dock": None, "started": 0.0}


def _finish() -> None:
    with open(RESULT, "w", encoding="utf-8") as fh:
        json.dump(STATE["result"], fh)
    # Quit without QGIS's "save the project?" question.
    iface.newProject(False)
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(0, iface.actionExit().trigger)


def _start() -> None:
    result = STATE["result"]
    try:
        window = iface.mainWindow()
        window.resize(1600, 1000)
        tmp = Path(tempfile.mkdtemp(prefix="s2parity-e2e-"))
        layer = QgsVectorLayer(str(write_seed_aoi_geojson(tmp / "seed_aoi.geojson")), "Seed AOI", "ogr")
        QgsProject.instance().addMapLayer(layer)
        iface.setActiveLayer(layer)
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
        _compare()
    except Exception:
        result["error"] = traceback.format_exc()
        _finish()


def _compare() -> None:
    """Press Compare; ``_poll`` records the run when its task is done."""
    dock = STATE["dock"]
    try:
        dock.compare_button.click()
        STATE["result"]["runs"].append({"started": dock.run is not None, "status_after_click": dock.status.text()})
        STATE["started"] = time.monotonic()
        QTimer.singleShot(250, _poll)
    except Exception:
        STATE["result"]["error"] = traceback.format_exc()
        _finish()


def _poll() -> None:
    dock = STATE["dock"]
    result = STATE["result"]["runs"][-1]
    try:
        if dock.run is not None and time.monotonic() - STATE["started"] < 120:
            QTimer.singleShot(250, _poll)
            return
        result["seconds"] = round(time.monotonic() - STATE["started"], 2)
        result["status"] = dock.status.text()
        group = dock.group
        result["group"] = group.name() if group is not None else None
        result["layers"] = [n.name() for n in group.findLayers()] if group is not None else []
        result["diagnosis"] = dock.results.diagnosis.text()
        result["bias"] = dock.results.number_labels["bias"].text()
        if dock.layers:  # the report beside the difference raster names the strip engine that ran
            report = Path(dock.layers["difference"].source()).parent / "report.json"
            result["engine"] = json.loads(report.read_text())["options"]["engine"] if report.exists() else None
        if len(STATE["result"]["runs"]) < RUNS:
            QTimer.singleShot(500, _compare)
            return
        if dock.layers:
            iface.mapCanvas().setExtent(dock.layers["difference"].extent())
        iface.mapCanvas().refresh()
        QTimer.singleShot(1500, _shoot)
    except Exception:
        STATE["result"]["error"] = traceback.format_exc()
        _finish()


def _shoot() -> None:
    result, dock = STATE["result"], STATE["dock"]
    try:
        QgsApplication.processEvents()
        result["main_png"] = iface.mainWindow().grab().save(str(SHOTS / "desktop_compare_main.png"))
        result["dock_png"] = dock.grab().save(str(SHOTS / "desktop_compare_results.png"))
    except Exception:
        result["error"] = traceback.format_exc()
    _finish()


QTimer.singleShot(1500, _start)
