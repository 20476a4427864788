"""Flicker between raster A and raster B: while it runs, every layer drawn above A/B is hidden (the difference would
otherwise cover both), A and B alternate and the frame shown is named on the map; stopping restores every check
state it changed. Removed layers or Project › New stop it cleanly."""

from __future__ import annotations

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from s2parity_plugin.gui.map_overlays import VisibilityGuard

DEFAULT_INTERVAL_MS = 700


class Flicker(QObject):
    """Alternates two layers every ``interval_ms``; emits ``frame_changed(title)`` for each frame and ``stopped``."""

    frame_changed = pyqtSignal(str)
    stopped = pyqtSignal()

    def __init__(self, interval_ms: int = DEFAULT_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.step)
        self._pair: tuple[tuple[str, str], tuple[str, str]] | None = None  # ((id, title), (id, title))
        self._guard = VisibilityGuard()
        self._showing_a = True
        project = QgsProject.instance()
        project.layersWillBeRemoved.connect(self._layers_removed)
        project.cleared.connect(self._project_cleared)

    def set_layers(self, layer_a, layer_b, title_a: str = "A", title_b: str = "B") -> None:
        """The two layers to alternate (QgsMapLayer or None) with the frame titles shown on the map."""
        self.stop()
        if layer_a is None or layer_b is None:
            self._pair = None
        else:
            self._pair = ((layer_a.id(), title_a), (layer_b.id(), title_b))

    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> bool:
        """Start flickering; False when no A/B pair is set or one of the layers is gone."""
        if self._pair is None:
            return False
        (id_a, _), (id_b, _) = self._pair
        if not self._guard.expose([id_a, id_b]):
            self._pair = None
            return False
        self._showing_a = False
        self.step()
        self._timer.start()
        return True

    def step(self) -> None:
        """Show the other one of A/B and name it."""
        if self._pair is None:
            return
        self._showing_a = not self._showing_a
        (id_a, title_a), (id_b, title_b) = self._pair
        self._guard.set_visible(id_a, self._showing_a)
        self._guard.set_visible(id_b, not self._showing_a)
        self.frame_changed.emit(title_a if self._showing_a else title_b)

    def stop(self) -> None:
        """Stop and restore the check states changed while flickering."""
        was_running = self._timer.isActive()
        self._timer.stop()
        self._guard.restore()
        if was_running:
            self.stopped.emit()

    def shutdown(self) -> None:
        self.stop()
        project = QgsProject.instance()
        project.layersWillBeRemoved.disconnect(self._layers_removed)
        project.cleared.disconnect(self._project_cleared)

    def _layers_removed(self, layer_ids) -> None:
        if self._pair is not None and {self._pair[0][0], self._pair[1][0]} & set(layer_ids):
            self.stop()
            self._pair = None

    def _project_cleared(self) -> None:
        was_running = self._timer.isActive()
        self._timer.stop()
        self._guard.forget()
        self._pair = None
        if was_running:
            self.stopped.emit()
