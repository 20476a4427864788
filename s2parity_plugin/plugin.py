"""Plugin object: registers the Processing provider, the toolbar/menu action and the dock; undoes it all."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon

from s2parity_plugin.dependencies import missing_dependencies_message
from s2parity_plugin.paths import icon_path
from s2parity_plugin.processing.provider import S2ParityProvider
from s2parity_plugin.qgis_side.compat import QAction

MENU = "&S2 Parity"


class S2ParityPlugin:
    """Entry object created by ``classFactory``. ``iface`` is None under ``qgis_process``."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider: S2ParityProvider | None = None
        self.action: QAction | None = None
        self.dock = None

    # -- Processing (also called by qgis_process, without initGui) ------------------------------------
    def initProcessing(self) -> None:
        if self.provider is None:
            self.provider = S2ParityProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    # -- GUI ------------------------------------------------------------------------------------------
    def initGui(self) -> None:
        self.initProcessing()
        self.action = QAction(QIcon(icon_path()), "S2 Parity", self.iface.mainWindow())
        self.action.setObjectName("s2parity_toggle_dock")
        self.action.setCheckable(True)
        self.action.setToolTip("S2 Parity: compare Sentinel Hub and CDSE results")
        self.action.toggled.connect(self._set_dock_visible)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(MENU, self.action)

        message = missing_dependencies_message()
        if message:
            self.iface.messageBar().pushMessage("S2 Parity", message, level=Qgis.MessageLevel.Warning, duration=0)

    def _ensure_dock(self):
        if self.dock is None:
            from s2parity_plugin.gui.dock import S2ParityDock

            self.dock = S2ParityDock(self.iface)
            self.dock.visibilityChanged.connect(self._dock_visibility_changed)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        return self.dock

    def _set_dock_visible(self, visible: bool) -> None:
        if visible:
            dock = self._ensure_dock()
            dock.show()
            dock.raise_()
        elif self.dock is not None:
            self.dock.hide()

    def _dock_visibility_changed(self, visible: bool) -> None:
        if self.action is not None and self.action.isChecked() != visible:
            self.action.blockSignals(True)
            self.action.setChecked(visible)
            self.action.blockSignals(False)

    def unload(self) -> None:
        """Undo every registration: dock, action (toolbar + menu), provider, signal connections."""
        if self.dock is not None:
            self.dock.visibilityChanged.disconnect(self._dock_visibility_changed)
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.action is not None:
            self.action.toggled.disconnect(self._set_dock_visible)
            self.iface.removeToolBarIcon(self.action)
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.action.deleteLater()
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        from s2parity_plugin.core.sample_service import stop_sample_endpoints

        stop_sample_endpoints()
