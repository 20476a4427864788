"""Runs inside the real QGIS desktop (``qgis --code``): open the S2 Parity dock, switch to its Statistics tab, run
statistics parity on a 2 × 2 grid over the seed area against the offline sample pair, click the worst pair, then
save screenshots (the time-series chart; the main window with the summary layer) and quit. Findings go to
$S2PARITY_E2E_RESULT."""

import tempfile

from desktop_session import RESULT, elapsed, finish, grid_layer, guard, open_dock, poll_again, save, watch_run
from qgis.PyQt.QtCore import QDate, QTimer
from qgis.PyQt.QtWidgets import QTabWidget
from qgis.utils import iface

STATE: dict = {"view": None}
X0, Y0, CELL = 4682000.0, 1982000.0, 400.0


@guard
def _start() -> None:
    dock = open_dock(grid_layer(X0, Y0, CELL))
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
    watch_run("started", view.start(), _poll)
    RESULT["estimate"] = view.estimate_label.text()


@guard
def _poll() -> None:
    view = STATE["view"]
    if poll_again(view, 200, _poll):
        return
    RESULT["seconds"] = elapsed()
    RESULT["status"] = view.status.text()
    RESULT["rows"] = len(view.rows)
    RESULT["worst_rows"] = view.worst.rowCount()
    if view.worst.rowCount():
        view.worst.selectRow(0)
        view._worst_clicked(0, 0)
        RESULT["worst_feature"] = view.worst.item(0, 0).text()
        RESULT["selected"] = [f["cell_id"] for f in view.summary_layer.getSelectedFeatures()]
    RESULT["chart_title"] = view.chart.series.title if view.chart.series else None
    RESULT["markers"] = len(view.chart.series.markers) if view.chart.series else None
    QTimer.singleShot(1500, _shoot)


@guard
def _shoot() -> None:
    view = STATE["view"]
    RESULT["chart_png"] = save(view.chart, "desktop_statistics_chart.png")
    RESULT["main_png"] = save(iface.mainWindow(), "desktop_statistics_main.png")
    finish()


QTimer.singleShot(1500, _start)
