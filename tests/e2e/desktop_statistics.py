"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock, switch to its Statistics tab, run
statistics parity on a 2 × 2 grid over the seed area against the offline sample pair, click the worst pair, then
save screenshots (the time-series chart; the main window with the summary layer) and quit. Findings go to
$S2PARITY_E2E_RESULT."""

import json
import os
import tempfile
import time
import traceback
from pathlib import Path

from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QTabWidget, QToolBar
from qgis.utils import iface

from s2parity_plugin.adapters.compat import FIELD_STRING

RESULT = os.environ["S2PARITY_E2E_RESULT"]
SHOTS = Path(os.environ["S2PARITY_E2E_SCREENSHOT_DIR"])
STATE: dict = {"result": {}, "view": None, "started": 0.0}
X0, Y0, CELL = 4682000.0, 1982000.0, 400.0


def _finish() -> None:
    with open(RESULT, "w", encoding="utf-8") as fh:
        json.dump(STATE["result"], fh)
    iface.newProject(False)
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(0, iface.actionExit().trigger)


def _grid() -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035", "cells", "memory")
    layer.dataProvider().addAttributes([QgsField("cell_id", FIELD_STRING)])
    layer.updateFields()
    feats = []
    for i in range(4):
        x, y = X0 + (i % 2) * CELL, Y0 + (i // 2) * CELL
        f = QgsFeature(layer.fields())
        f.setGeometry(
            QgsGeometry.fromWkt(f"POLYGON(({x} {y},{x + CELL} {y},{x + CELL} {y + CELL},{x} {y + CELL},{x} {y}))")
        )
        f.setAttributes([f"cell{i}"])
        feats.append(f)
    layer.dataProvider().addFeatures(feats)
    layer.updateExtents()
    return layer


def _start() -> None:
    result = STATE["result"]
    try:
        window = iface.mainWindow()
        window.resize(1600, 1000)
        layer = _grid()
        QgsProject.instance().addMapLayer(layer)
        iface.setActiveLayer(layer)
        button = next(
            a for tb in window.findChildren(QToolBar) for a in tb.actions() if a.objectName() == "s2parity_toggle_dock"
        )
        button.trigger()
        dock = window.findChild(QDockWidget, "S2ParityDock")
        dock.form.endpoint_a.set_profile("sample-sh")
        dock.form.endpoint_b.set_profile("sample-cdse")
        tabs = dock.findChild(QTabWidget, "views")
        index = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Statistics")
        tabs.setCurrentIndex(index)
        view = tabs.widget(index)
        STATE["view"] = view
        view.id_field.setField("cell_id")
        view.date_from.setDate(QDate(2020, 9, 1))
        view.date_to.setDate(QDate(2020, 10, 31))
        view.output_folder.setText(tempfile.mkdtemp(prefix="s2parity-e2e-stats-"))
        result["started"] = view.start()
        result["estimate"] = view.estimate_label.text()
        STATE["started"] = time.monotonic()
        QTimer.singleShot(250, _poll)
    except Exception:
        result["error"] = traceback.format_exc()
        _finish()


def _poll() -> None:
    result, view = STATE["result"], STATE["view"]
    try:
        if view.run is not None and time.monotonic() - STATE["started"] < 200:
            QTimer.singleShot(250, _poll)
            return
        result["seconds"] = round(time.monotonic() - STATE["started"], 2)
        result["status"] = view.status.text()
        result["rows"] = len(view.rows)
        result["worst_rows"] = view.worst.rowCount()
        if view.worst.rowCount():
            view.worst.selectRow(0)
            view._worst_clicked(0, 0)
            result["worst_feature"] = view.worst.item(0, 0).text()
            result["selected"] = [f["cell_id"] for f in view.summary_layer.getSelectedFeatures()]
        result["chart_title"] = view.chart.series.title if view.chart.series else None
        result["markers"] = len(view.chart.series.markers) if view.chart.series else None
        QTimer.singleShot(1500, _shoot)
    except Exception:
        result["error"] = traceback.format_exc()
        _finish()


def _shoot() -> None:
    result, view = STATE["result"], STATE["view"]
    try:
        result["chart_png"] = view.chart.grab().save(str(SHOTS / "desktop_statistics_chart.png"))
        result["main_png"] = iface.mainWindow().grab().save(str(SHOTS / "desktop_statistics_main.png"))
    except Exception:
        result["error"] = traceback.format_exc()
    _finish()


QTimer.singleShot(1500, _start)
