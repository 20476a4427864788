"""Map swipe between two layers: the canvas draws the left layer (layers above it are hidden while the tool is
active), an overlay draws the right layer only to the right of a vertical divider, and dragging on the map moves the
divider. Esc or choosing another map tool leaves the swipe and restores the layer visibility.

The right layer is rendered by a ``QgsMapRendererParallelJob`` (QGIS's own background map rendering) each time the
canvas finishes a refresh, with the canvas's own map settings, so both halves always show the same extent.
"""

from __future__ import annotations

from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsProject
from qgis.gui import QgsMapCanvasItem, QgsMapTool
from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QCursor, QFont, QImage, QPainter, QPen

from s2parity_plugin.gui.map_overlays import VisibilityGuard, alive, leave_on_escape

DIVIDER_WIDTH_PX = 3
HANDLE_RADIUS_PX = 9
TAG_MARGIN_PX = 8
TAG_MAX_WIDTH_PX = 300


class SwipeOverlay(QgsMapCanvasItem):
    """Draws the right-hand layer to the right of ``position`` (a fraction 0–1 of the canvas width) and the divider."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._layers: list = []
        self._image: QImage | None = None
        self._job: QgsMapRendererParallelJob | None = None
        self.position = 0.5
        self.titles = ("", "")
        self.setZValue(900)
        canvas.mapCanvasRefreshed.connect(self.render)
        self.hide()

    def set_layers(self, layers: list) -> None:
        self._layers = [layer for layer in layers if alive(layer)]
        self._image = None
        self.render()

    def image(self) -> QImage | None:
        """The last rendering of the right-hand layer (canvas size, transparent elsewhere)."""
        return self._image

    def divider_x(self) -> float:
        return self.position * self._canvas.width()

    def set_position(self, fraction: float) -> None:
        self.position = min(1.0, max(0.0, fraction))
        self.update()

    def render(self) -> None:
        """Render the right-hand layer for the canvas's current map settings (asynchronously)."""
        if not self.isVisible() or not self._layers:
            return
        if self._job is not None:
            self._job.cancelWithoutBlocking()
        settings = QgsMapSettings(self._canvas.mapSettings())
        settings.setLayers([layer for layer in self._layers if alive(layer)])
        settings.setBackgroundColor(QColor(0, 0, 0, 0))
        job = QgsMapRendererParallelJob(settings)
        job.finished.connect(lambda job=job: self._rendered(job))
        self._job = job
        job.start()

    def wait(self) -> None:
        """Block until the pending rendering is done (tests and screenshots)."""
        if self._job is not None:
            self._job.waitForFinished()

    def _rendered(self, job: QgsMapRendererParallelJob) -> None:
        if job is not self._job:
            return
        self._image = job.renderedImage()
        self._job = None
        self.update()

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancelWithoutBlocking()
            self._job = None
        self._image = None
        self.hide()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, self._canvas.width(), self._canvas.height())

    def updatePosition(self) -> None:  # noqa: N802 (QGIS API): fixed to the viewport
        self.setPos(QPointF(0, 0))

    def paint(self, painter: QPainter, *args) -> None:
        width, height = self._canvas.width(), self._canvas.height()
        x = self.divider_x()
        if self._image is not None and not self._image.isNull():
            ratio = self._image.devicePixelRatio() or 1.0
            source = QRectF(x * ratio, 0, (width - x) * ratio, height * ratio)
            painter.drawImage(QRectF(x, 0, width - x, height), self._image, source)
        painter.setPen(QPen(QColor("white"), DIVIDER_WIDTH_PX + 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setPen(QPen(QColor("#222222"), DIVIDER_WIDTH_PX - 1))
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setBrush(QColor("white"))
        painter.drawEllipse(QPointF(x, height / 2), HANDLE_RADIUS_PX, HANDLE_RADIUS_PX)
        self._paint_tags(painter, x, width)

    def _paint_tags(self, painter: QPainter, x: float, width: float) -> None:
        """The two layer titles beside the divider, just above its handle (clear of message bars at the top)."""
        font = QFont()
        font.setPointSize(10)
        font.setBold(True)
        painter.setFont(font)
        left, right = self.titles
        box_h = 24
        top = self._canvas.height() / 2 - HANDLE_RADIUS_PX - box_h - TAG_MARGIN_PX
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.setPen(QPen(QColor("#333333")))
        if left and x > 2 * TAG_MARGIN_PX:
            w = min(x - 2 * TAG_MARGIN_PX, TAG_MAX_WIDTH_PX)
            box = QRectF(x - TAG_MARGIN_PX - w, top, w, box_h)
            painter.drawRoundedRect(box, 4, 4)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), "◀ " + left)
        if right and width - x > 2 * TAG_MARGIN_PX:
            w = min(width - x - 2 * TAG_MARGIN_PX, TAG_MAX_WIDTH_PX)
            box = QRectF(x + TAG_MARGIN_PX, top, w, box_h)
            painter.drawRoundedRect(box, 4, 4)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), right + " ▶")


class SwipeTool(QgsMapTool):
    """Map tool: press/drag anywhere on the map moves the divider; Esc leaves the tool. ``set_layers(left, right)``
    chooses the pair; activation hides what covers them and deactivation restores it."""

    left_tool = pyqtSignal()

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.overlay = SwipeOverlay(canvas)
        self._guard = VisibilityGuard()
        self._left = self._right = None
        self._dragging = False
        self.setCursor(QCursor(Qt.CursorShape.SplitHCursor))
        project = QgsProject.instance()
        project.layersWillBeRemoved.connect(self._layers_removed)
        project.cleared.connect(self._project_cleared)

    def set_layers(self, left, right, left_title: str = "A", right_title: str = "B") -> None:
        """Swipe ``right`` (drawn right of the divider) over ``left``; both QgsMapLayer."""
        self._left, self._right = left, right
        self.overlay.titles = (left_title, right_title)
        if self.is_active():
            self._expose()

    def has_layers(self) -> bool:
        return alive(self._left) and alive(self._right)

    def is_active(self) -> bool:
        return self.canvas().mapTool() is self

    def activate(self) -> None:
        super().activate()
        if not self._expose():
            self.canvas().unsetMapTool(self)
            return
        self.overlay.show()
        self.overlay.set_layers([self._right])

    def _expose(self) -> bool:
        if not self.has_layers():
            return False
        return self._guard.expose([self._left.id()])

    def deactivate(self) -> None:
        self.overlay.stop()
        self._guard.restore()
        self._dragging = False
        super().deactivate()
        self.left_tool.emit()

    def canvasPressEvent(self, event) -> None:  # noqa: N802 (QGIS API)
        self._dragging = True
        self._move_to(event.pos().x())

    def canvasMoveEvent(self, event) -> None:
        if self._dragging:
            self._move_to(event.pos().x())

    def canvasReleaseEvent(self, event) -> None:
        if self._dragging:
            self._move_to(event.pos().x())
        self._dragging = False

    def keyPressEvent(self, event) -> None:  # noqa: N802 (QGIS API)
        leave_on_escape(self, event)

    def _move_to(self, x: float) -> None:
        width = self.canvas().width() or 1
        self.overlay.set_position(x / width)

    def _layers_removed(self, layer_ids) -> None:
        ids = set(layer_ids)
        if any(alive(layer) and layer.id() in ids for layer in (self._left, self._right)):
            self._left = self._right = None
            if self.is_active():
                self.canvas().unsetMapTool(self)

    def _project_cleared(self) -> None:
        self._guard.forget()
        self._left = self._right = None
        if self.is_active():
            self.canvas().unsetMapTool(self)

    def shutdown(self) -> None:
        if self.is_active():
            self.canvas().unsetMapTool(self)
        project = QgsProject.instance()
        project.layersWillBeRemoved.disconnect(self._layers_removed)
        project.cleared.disconnect(self._project_cleared)
        scene = self.overlay.scene()
        if scene is not None:
            scene.removeItem(self.overlay)
