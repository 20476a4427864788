"""Flicker between raster A and raster B: alternate their visibility in the layer tree so the eye catches
geolocation shifts and radiometric jumps."""

from __future__ import annotations

from qgis.core import QgsLayerTreeLayer
from qgis.PyQt.QtCore import QObject, QTimer


class Flicker(QObject):
    """Alternates two layer-tree nodes every ``interval_ms`` (default 700 ms) while running."""

    def __init__(self, interval_ms: int = 700, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.step)
        self._nodes: tuple[QgsLayerTreeLayer, QgsLayerTreeLayer] | None = None
        self._restore: tuple[bool, bool] = (True, False)

    def set_nodes(self, node_a: QgsLayerTreeLayer | None, node_b: QgsLayerTreeLayer | None) -> None:
        self.stop()
        self._nodes = (node_a, node_b) if node_a is not None and node_b is not None else None

    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> bool:
        """Start flickering; False when no A/B pair is set."""
        if self._nodes is None:
            return False
        a, b = self._nodes
        self._restore = (a.itemVisibilityChecked(), b.itemVisibilityChecked())
        a.setItemVisibilityChecked(True)
        b.setItemVisibilityChecked(False)
        self._timer.start()
        return True

    def step(self) -> None:
        """Show the hidden one of A/B and hide the other."""
        if self._nodes is None:
            return
        a, b = self._nodes
        try:
            show_a = not a.itemVisibilityChecked()
            a.setItemVisibilityChecked(show_a)
            b.setItemVisibilityChecked(not show_a)
        except RuntimeError:  # the user removed the layers while flickering
            self._nodes = None
            self._timer.stop()

    def stop(self) -> None:
        """Stop and restore the visibility the nodes had before."""
        if self._timer.isActive():
            self._timer.stop()
            if self._nodes is not None:
                try:
                    self._nodes[0].setItemVisibilityChecked(self._restore[0])
                    self._nodes[1].setItemVisibilityChecked(self._restore[1])
                except RuntimeError:
                    self._nodes = None
