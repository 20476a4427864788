"""Runs inside the real QGIS desktop (``qgis --code``): click the S2 Parity toolbar button, check the dock
opened, save a screenshot of the main window and quit. Writes its findings as JSON to $S2PARITY_E2E_RESULT."""

import os
import traceback

from desktop_session import RESULT, finish
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QPushButton, QToolBar
from qgis.utils import iface, plugins

SCREENSHOT = os.environ.get("S2PARITY_E2E_SCREENSHOT", "")


def _check() -> None:
    result = RESULT
    try:
        window = iface.mainWindow()
        window.resize(1600, 1000)
        result["plugin_loaded"] = "s2parity_plugin" in plugins
        buttons = [
            action
            for toolbar in window.findChildren(QToolBar)
            for action in toolbar.actions()
            if action.objectName() == "s2parity_toggle_dock"
        ]
        result["toolbar_buttons"] = len(buttons)
        raster_menu = iface.rasterMenu()
        result["raster_menu_entries"] = [
            f"{a.text()} > {sub.objectName()}"
            for a in raster_menu.actions()
            if a.menu() is not None
            for sub in a.menu().actions()
            if sub.objectName().startswith("s2parity")
        ]
        buttons[0].trigger()
        QgsApplication.processEvents()
        dock = window.findChild(QDockWidget, "S2ParityDock")
        result["dock_visible"] = bool(dock is not None and dock.isVisible())
        install = dock.findChild(QPushButton, "install_dependencies") if dock is not None else None
        result["install_button"] = install.text() if install is not None and install.isVisible() else None
        result["message_bar"] = [f"{item.title()}: {item.text()}" for item in iface.messageBar().items()]
        provider = QgsApplication.processingRegistry().providerById("s2parity")
        result["provider"] = provider is not None
        result["algorithms"] = sorted(alg.id() for alg in provider.algorithms()) if provider else []
        # Opening the Compare rasters dialog (Processing's own code path) starts the compiled-kernel preload.
        import processing

        from s2parity_plugin.core.compare import kernel as compare_kernel
        from s2parity_plugin.core.compare import warmup as compare_warmup

        dialog = processing.createAlgorithmDialog("s2parity:comparerasters")
        result["compare_dialog"] = type(dialog).__name__
        thread = compare_warmup._preload["thread"]
        result["kernel_preload_started"] = thread is not None
        if thread is not None:
            thread.join(60)
            result["kernel_preloaded"] = compare_kernel.available()
        dialog.close()
        if SCREENSHOT:
            result["screenshot_saved"] = window.grab().save(SCREENSHOT)
    except Exception:
        result["error"] = traceback.format_exc()
    finish()


QTimer.singleShot(1500, _check)
