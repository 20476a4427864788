"""QGIS desktop start-up script for ``make demo-gui``: open the S2 Parity dock (its endpoints default to the offline
sample pair), write the seed AOI into the dock's output folder (where the run folders go, not the system temp
folder), add it as the active layer, and leave the project clean so quitting asks nothing. Runs inside QGIS via
``qgis --code``."""

from pathlib import Path

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar
from qgis.utils import iface

from s2parity_plugin.core.model.seed import write_seed_aoi_geojson


def prepare(dock, qgis_iface) -> Path:
    """Write the seed AOI into the dock's output folder, add it as the active layer, choose the seed request's CRS
    and mark the project clean; returns the AOI file."""
    form = dock.form if dock is not None else None
    folder = Path(form.output_folder.filePath()) if form is not None else Path.home() / "S2Parity"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_seed_aoi_geojson(folder / "seed_aoi.geojson")
    layer = QgsVectorLayer(str(path), "Seed AOI (Campania)", "ogr")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    qgis_iface.mapCanvas().setExtent(layer.extent().buffered(500))
    qgis_iface.mapCanvas().refresh()
    if form is not None:
        form.aoi_layer.setLayer(layer)
        form.crs.setCurrentIndex(form.crs.findData("EPSG:3035"))
    QgsProject.instance().setDirty(False)
    return path


def _setup() -> None:
    for toolbar in iface.mainWindow().findChildren(QToolBar):
        for action in toolbar.actions():
            if action.objectName() == "s2parity_toggle_dock" and not action.isChecked():
                action.trigger()
    prepare(iface.mainWindow().findChild(QDockWidget, "S2ParityDock"), iface)


if __name__ != "demo_gui_startup":  # run by `qgis --code`; tests import it by that name to call prepare()
    QTimer.singleShot(500, _setup)
