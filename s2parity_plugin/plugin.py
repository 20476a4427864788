"""Plugin object: registers the Processing provider, the toolbar/menu action and the dock; undoes it all."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsSettings
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon

from s2parity_plugin.adapters.compat import QAction
from s2parity_plugin.adapters.packages import plugin_packages_prefix
from s2parity_plugin.dependencies import extras_note, install_command, missing_packages
from s2parity_plugin.i18n import tr
from s2parity_plugin.paths import icon_path
from s2parity_plugin.processing.provider import S2ParityProvider, unregister_optional_profiles

MENU = "&S2 Parity"
#: QgsSettings key remembering the extras note last shown (shown again only when the set of missing extras changes).
EXTRAS_NOTE_KEY = "s2parity/extras_note_shown"
EXTRAS_NOTE_S = 15


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

        self._tell_about_packages()

    def _tell_about_packages(self) -> None:
        """A missing required package: a warning pointing to the dock's Install button and the manual command.
        Missing extras: what they would add, once per set of missing extras (then never again), not blocking."""
        bar = self.iface.messageBar()
        missing = missing_packages()
        if missing:
            command = install_command(missing, prefix=plugin_packages_prefix())
            text = tr(
                "S2 Parity needs the Python package {}: open the S2 Parity panel and press Install, or run: {}"
            ).format(", ".join(missing), command)
            bar.pushMessage("S2 Parity", text, level=Qgis.MessageLevel.Warning, duration=0)
            return
        note = extras_note()
        settings = QgsSettings()
        if note and settings.value(EXTRAS_NOTE_KEY, "") != note:
            settings.setValue(EXTRAS_NOTE_KEY, note)
            bar.pushMessage("S2 Parity", tr(note), level=Qgis.MessageLevel.Info, duration=EXTRAS_NOTE_S)

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
        unregister_optional_profiles()
