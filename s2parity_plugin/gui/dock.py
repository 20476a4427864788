"""The S2 Parity dock widget (a ``QgsDockWidget`` in the main window)."""

from __future__ import annotations

from qgis.gui import QgsDockWidget
from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout, QWidget


class S2ParityDock(QgsDockWidget):
    """Dock holding the comparison form and the results panel."""

    def __init__(self, iface, parent=None) -> None:
        super().__init__("S2 Parity", parent or iface.mainWindow())
        self.setObjectName("S2ParityDock")
        self.iface = iface
        body = QWidget(self)
        layout = QVBoxLayout(body)
        intro = QLabel(
            "Compare the same Sentinel-2 L2A request on two Sentinel Hub deployments "
            "(Sentinel Hub and Copernicus Data Space Ecosystem)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addStretch(1)
        self.setWidget(body)

    def shutdown(self) -> None:
        """Cancel running work and drop signal connections before the plugin unloads."""
