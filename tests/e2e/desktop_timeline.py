"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock, switch to its Archive tab, check
the seed AOI's archive 2019-01-01..2024-12-31 against the offline sample endpoints, choose the 2021-06-06 row, save
a screenshot of the main window and quit. Findings go to $S2PARITY_E2E_RESULT."""

import json
import os
import tempfile
import time
import traceback
from pathlib import Path

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar
from qgis.utils import iface

from s2parity_plugin.core.model.seed import write_seed_aoi_geojson

RESULT = os.environ["S2PARITY_E2E_RESULT"]
SHOTS = Path(os.environ["S2PARITY_E2E_SCREENSHOT_DIR"])
STATE: dict = {"result": {}, "dock": None, "view": None, "started": 0.0}


def _finish() -> None:
    with open(RESULT, "w", encoding="utf-8") as fh:
        json.dump(STATE["result"], fh)
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
        dock.setMinimumWidth(900)
        form = dock.form
        form.output_folder.setFilePath(str(tmp / "runs"))
        form.endpoint_a.set_profile("sample-sh")
        form.endpoint_b.set_profile("sample-cdse")
        titles = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
        result["tabs"] = titles
        dock.tabs.setCurrentIndex(titles.index("Archive"))
        view = dock.tabs.currentWidget()
        view.date_from.setDate(QDate(2019, 1, 1))
        view.date_to.setDate(QDate(2024, 12, 31))
        STATE["dock"], STATE["view"] = dock, view
        view.check_button.click()
        result["started"] = view.run is not None
        STATE["started"] = time.monotonic()
        QTimer.singleShot(250, _poll)
    except Exception:
        result["error"] = traceback.format_exc()
        _finish()


def _poll() -> None:
    result, dock, view = STATE["result"], STATE["dock"], STATE["view"]
    try:
        if view.run is not None and time.monotonic() - STATE["started"] < 120:
            QTimer.singleShot(250, _poll)
            return
        result["seconds"] = round(time.monotonic() - STATE["started"], 2)
        result["status"] = view.status.text()
        result["rows"] = view.table.rowCount()
        result["periods"] = len(view.report["periods"]) if view.report else 0
        result["diagnosis_first_line"] = view.diagnosis.toPlainText().splitlines()[0] if view.report else ""
        rows = view.report["acquisitions"] if view.report else []
        pick = next((i for i, r in enumerate(rows) if r["date"] == "2021-06-06"), None)
        if pick is not None:
            view.table.selectRow(pick)
        result["form_dates"] = list(dock.form.dates())
        result["chart_height"] = view.chart.height()
        QTimer.singleShot(500, _shoot)
    except Exception:
        result["error"] = traceback.format_exc()
        _finish()


def _shoot() -> None:
    result = STATE["result"]
    try:
        result["main_png"] = iface.mainWindow().grab().save(str(SHOTS / "desktop_timeline_main.png"))
        result["dock_png"] = STATE["dock"].grab().save(str(SHOTS / "desktop_timeline_dock.png"))
    except Exception:
        result["error"] = traceback.format_exc()
    _finish()


QTimer.singleShot(1500, _start)
