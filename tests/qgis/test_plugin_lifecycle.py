"""Plugin load/unload inside QGIS: toolbar action, Raster menu entry, dock, Processing provider."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtWidgets import QDockWidget

import s2parity_plugin
from s2parity_plugin import dependencies
from s2parity_plugin.plugin import MENU


def _s2parity_docks(iface) -> list[QDockWidget]:
    return [d for d in iface.mainWindow().findChildren(QDockWidget) if d.objectName() == "S2ParityDock"]


def test_init_gui_registers_action_menu_and_provider(iface):
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    try:
        assert QgsApplication.processingRegistry().providerById("s2parity") is plugin.provider
        assert iface.toolbar_actions == [plugin.action]
        assert iface.raster_menu == {MENU: [plugin.action]}
        assert plugin.action.isCheckable() and not plugin.action.icon().isNull()
        assert not plugin.provider.icon().isNull()
        assert _s2parity_docks(iface) == []  # the dock is created on first use
    finally:
        plugin.unload()


def test_toolbar_action_toggles_dock_and_follows_dock_close(iface):
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    try:
        plugin.action.trigger()
        [dock] = _s2parity_docks(iface)
        assert dock.isVisible() and plugin.action.isChecked()
        plugin.action.trigger()
        assert not dock.isVisible() and not plugin.action.isChecked()
        plugin.action.trigger()
        assert dock.isVisible()
        dock.close()  # the user closes the dock with its own button
        assert not plugin.action.isChecked()
    finally:
        plugin.unload()


def test_unload_removes_everything_and_reload_works(iface):
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    plugin.action.trigger()
    assert len(_s2parity_docks(iface)) == 1
    plugin.unload()
    QgsApplication.processEvents()

    assert QgsApplication.processingRegistry().providerById("s2parity") is None
    assert iface.toolbar_actions == [] and iface.raster_menu == {} and iface.docks == []
    assert _s2parity_docks(iface) == []
    assert plugin.action is None and plugin.dock is None and plugin.provider is None

    again = s2parity_plugin.classFactory(iface)
    again.initGui()
    try:
        again.action.trigger()
        assert QgsApplication.processingRegistry().providerById("s2parity") is again.provider
        assert [d for d in _s2parity_docks(iface) if d.isVisible()] == [again.dock]
    finally:
        again.unload()


def test_processing_only_load_without_gui():
    """qgis_process calls classFactory(None) and initProcessing() only."""
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        assert QgsApplication.processingRegistry().providerById("s2parity") is plugin.provider
    finally:
        plugin.unload()
    assert QgsApplication.processingRegistry().providerById("s2parity") is None


def test_missing_dependency_warns_in_message_bar_without_failing(iface, monkeypatch):
    monkeypatch.setitem(dependencies.RUNTIME_PACKAGES, "s2parity_absent_module", "absent-package")
    before = len(iface.messageBar().get_messages(Qgis.MessageLevel.Warning))
    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    try:
        [warning] = iface.messageBar().get_messages(Qgis.MessageLevel.Warning)[before:]
        assert "absent-package" in warning and "pip install" in warning
        assert QgsApplication.processingRegistry().providerById("s2parity") is not None
    finally:
        plugin.unload()
