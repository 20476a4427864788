"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock, switch to its Archive tab, check
the seed AOI's archive 2019-01-01..2024-12-31 against the offline sample endpoints, choose the 2021-06-06 row, save
a screenshot of the main window and quit. Findings go to $S2PARITY_E2E_RESULT."""

import tempfile
from pathlib import Path

from desktop_session import RESULT, elapsed, finish, guard, open_dock, poll_again, save, watch_run
from qgis.core import QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QTimer
from qgis.utils import iface

from s2parity_plugin.core.model.seed import write_seed_aoi_geojson

STATE: dict = {"dock": None, "view": None}


@guard
def _start() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="s2parity-e2e-"))
    layer = QgsVectorLayer(str(write_seed_aoi_geojson(tmp / "seed_aoi.geojson")), "Seed AOI", "ogr")
    dock = open_dock(layer)
    dock.setMinimumWidth(900)
    form = dock.form
    form.output_folder.setFilePath(str(tmp / "runs"))
    form.endpoint_a.set_profile("sample-sh")
    form.endpoint_b.set_profile("sample-cdse")
    titles = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
    RESULT["tabs"] = titles
    dock.tabs.setCurrentIndex(titles.index("Archive"))
    view = dock.tabs.currentWidget()
    view.date_from.setDate(QDate(2019, 1, 1))
    view.date_to.setDate(QDate(2024, 12, 31))
    STATE["dock"], STATE["view"] = dock, view
    view.check_button.click()
    watch_run("started", view.run is not None, _poll)


@guard
def _poll() -> None:
    dock, view = STATE["dock"], STATE["view"]
    if poll_again(view, 120, _poll):
        return
    RESULT["seconds"] = elapsed()
    RESULT["status"] = view.status.text()
    RESULT["rows"] = view.table.rowCount()
    RESULT["periods"] = len(view.report["periods"]) if view.report else 0
    RESULT["diagnosis_first_line"] = view.diagnosis.toPlainText().splitlines()[0] if view.report else ""
    rows = view.report["acquisitions"] if view.report else []
    pick = next((i for i, r in enumerate(rows) if r["date"] == "2021-06-06"), None)
    if pick is not None:
        view.table.selectRow(pick)
    RESULT["form_dates"] = list(dock.form.dates())
    RESULT["chart_height"] = view.chart.height()
    QTimer.singleShot(500, _shoot)


@guard
def _shoot() -> None:
    RESULT["main_png"] = save(iface.mainWindow(), "desktop_timeline_main.png")
    RESULT["dock_png"] = save(STATE["dock"], "desktop_timeline_dock.png")
    finish()


QTimer.singleShot(1500, _start)
