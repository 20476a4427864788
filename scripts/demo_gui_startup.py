"""QGIS desktop start-up script for ``make demo-gui``: add the seed AOI layer, make it active and open the
S2 Parity dock (its endpoints default to the offline sample pair). Runs inside QGIS via ``qgis --code``."""

import tempfile
from pathlib import Path

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar
from qgis.utils import iface

from s2parity_plugin.core.seed import write_seed_aoi_geojson


def _setup() -> None:
    path = write_seed_aoi_geojson(Path(tempfile.mkdtemp(prefix="s2parity-demo-")) / "seed_aoi.geojson")
    layer = QgsVectorLayer(str(path), "Seed AOI (Campania)", "ogr")
    QgsProject.instance().addMapLayer(layer)
    iface.setActiveLayer(layer)
    iface.mapCanvas().setExtent(layer.extent().buffered(500))
    iface.mapCanvas().refresh()
    for toolbar in iface.mainWindow().findChildren(QToolBar):
        for action in toolbar.actions():
            if action.objectName() == "s2parity_toggle_dock" and not action.isChecked():
                action.trigger()
    dock = iface.mainWindow().findChild(QDockWidget, "S2ParityDock")
    if dock is not None and dock.form is not None:  # the seed request's CRS
        dock.form.crs.setCurrentIndex(dock.form.crs.findData("EPSG:3035"))


QTimer.singleShot(500, _setup)
