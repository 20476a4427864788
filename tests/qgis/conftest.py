"""Fixtures for tests that run inside QGIS (pytest-qgis 2.1.0, headless)."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QDockWidget


class RecordingIface:
    """pytest-qgis's mock ``iface`` plus the calls S2 Parity makes that the mock lacks, recorded so tests
    can assert that ``unload()`` removes everything ``initGui()`` added."""

    def __init__(self, base) -> None:
        self._base = base
        self.toolbar_actions: list = []
        self.raster_menu: dict[str, list] = {}
        self.docks: list[QDockWidget] = []

    def __getattr__(self, name):
        return getattr(self._base, name)

    def addToolBarIcon(self, action) -> None:  # noqa: N802
        self.toolbar_actions.append(action)

    def removeToolBarIcon(self, action) -> None:  # noqa: N802
        self.toolbar_actions.remove(action)

    def addPluginToRasterMenu(self, menu: str, action) -> None:  # noqa: N802
        self.raster_menu.setdefault(menu, []).append(action)

    def removePluginRasterMenu(self, menu: str, action) -> None:  # noqa: N802
        self.raster_menu[menu].remove(action)
        if not self.raster_menu[menu]:
            del self.raster_menu[menu]

    def addDockWidget(self, area: Qt.DockWidgetArea, dock: QDockWidget) -> None:  # noqa: N802
        self._base.mainWindow().addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock: QDockWidget) -> None:  # noqa: N802
        self._base.mainWindow().removeDockWidget(dock)
        self.docks.remove(dock)


@pytest.fixture
def iface(qgis_iface) -> RecordingIface:
    """A recording ``iface`` whose main window is shown (offscreen), so dock visibility is real."""
    qgis_iface.mainWindow().show()
    return RecordingIface(qgis_iface)


@pytest.fixture(autouse=True)
def fail_on_slot_exceptions(monkeypatch):
    """An exception raised inside a Qt slot would make PyQt abort the whole run; record it and fail the test
    with its traceback instead."""
    import sys
    import traceback

    caught: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: caught.append("".join(traceback.format_exception(*exc))))
    yield
    if caught:
        pytest.fail("exception in a Qt slot:\n" + "\n".join(caught))


@pytest.fixture(scope="module")
def provider(qgis_processing):
    """The ``s2parity`` Processing provider (registered for the module unless something already did)."""
    from qgis.core import QgsApplication

    from s2parity_plugin.processing.provider import S2ParityProvider

    registry = QgsApplication.processingRegistry()
    own = None
    if registry.providerById("s2parity") is None:
        own = S2ParityProvider()
        registry.addProvider(own)
    yield registry.providerById("s2parity")
    if own is not None:
        registry.removeProvider(own)


@pytest.fixture
def dock(iface, qgis_processing, tmp_path):
    """The S2 Parity dock on an empty project, opened from its toolbar action with the seed case against the
    sample pair (:func:`sample_pair_support.open_seed_dock`) and the form's saved preferences removed first, so
    no earlier test's choices leak in; the plugin is unloaded afterwards."""
    from qgis.core import QgsProject, QgsSettings
    from sample_pair_support import open_seed_dock

    from s2parity_plugin.gui.comparison_form import SETTINGS_PREFIX
    from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

    QgsSettings().remove(SETTINGS_PREFIX.rstrip("/"))
    QgsProject.instance().clear()
    plugin, dock = open_seed_dock(iface, tmp_path)
    yield dock
    sample_endpoints().clear_faults()
    plugin.unload()
    QgsProject.instance().clear()
