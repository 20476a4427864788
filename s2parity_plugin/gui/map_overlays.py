"""What the A/B tools share: hiding the layers that cover A and B (and restoring them), and a label drawn on the map
canvas saying which frame is shown.

Everything here runs in the main thread and tolerates layers or layer-tree nodes the user removed meanwhile (or a
Project › New): deleted nodes are skipped, never touched.
"""

from __future__ import annotations

from qgis.core import QgsLayerTreeLayer, QgsProject
from qgis.gui import QgsMapCanvasItem, QgsMapTool
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QPainter, QPen

LABEL_MARGIN_PX = 8
LABEL_PADDING_PX = 5


def leave_on_escape(tool: QgsMapTool, event: QKeyEvent) -> None:
    """A map tool's ``keyPressEvent``: Esc unsets ``tool`` on its canvas (accepted); other keys are ignored, so the
    canvas handles them."""
    if event.key() == Qt.Key.Key_Escape:
        tool.canvas().unsetMapTool(tool)
        event.accept()
    else:
        event.ignore()


def alive(obj) -> bool:
    """True while the C++ side of a Qt/QGIS object still exists."""
    return obj is not None and not sip.isdeleted(obj)


class VisibilityGuard:
    """Hides every checked layer drawn above the given layers (layer-tree order) and shows the given ones, remembering
    what it changed; ``restore()`` puts exactly those check states back (nodes removed meanwhile are skipped)."""

    def __init__(self) -> None:
        self._changed: list[tuple[QgsLayerTreeLayer, bool]] = []

    @property
    def active(self) -> bool:
        return bool(self._changed)

    def expose(self, layer_ids: list[str], project: QgsProject | None = None) -> bool:
        """Make ``layer_ids`` visible and hide the checked layers above the lowest of them; False if one is missing."""
        root = (project or QgsProject.instance()).layerTreeRoot()
        nodes = root.findLayers()
        order = [node.layerId() for node in nodes]
        if any(layer_id not in order for layer_id in layer_ids):
            return False
        lowest = max(order.index(layer_id) for layer_id in layer_ids)
        self.restore()
        for node in nodes[: lowest + 1]:
            wanted = node.layerId() in layer_ids
            if node.itemVisibilityChecked() != wanted:
                self._changed.append((node, node.itemVisibilityChecked()))
                node.setItemVisibilityChecked(wanted)
        for layer_id in layer_ids:  # their groups must be checked too, or nothing is drawn
            parent = root.findLayer(layer_id).parent()
            while parent is not None and parent is not root and not parent.itemVisibilityChecked():
                self._changed.append((parent, False))
                parent.setItemVisibilityChecked(True)
                parent = parent.parent()
        return True

    def set_visible(self, layer_id: str, visible: bool, project: QgsProject | None = None) -> None:
        """Check/uncheck one layer (used by flicker to alternate A and B inside the exposed set)."""
        node = (project or QgsProject.instance()).layerTreeRoot().findLayer(layer_id)
        if node is not None:
            node.setItemVisibilityChecked(visible)

    def restore(self) -> None:
        """Put back the check states changed by ``expose`` (latest change first)."""
        for node, checked in reversed(self._changed):
            if alive(node):
                node.setItemVisibilityChecked(checked)
        self._changed = []

    def forget(self) -> None:
        """Drop the remembered states without touching anything (the project was cleared)."""
        self._changed = []


class CanvasLabel(QgsMapCanvasItem):
    """A short text in a box at the bottom-left corner of the map canvas (e.g. "B · CDSE · N0500")."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._text = ""
        self.setZValue(1000)
        self.hide()

    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        self.setVisible(bool(text))
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, 0, self._canvas.width(), self._canvas.height())

    def updatePosition(self) -> None:  # noqa: N802 (QGIS API): fixed to the viewport, not to map coordinates
        self.setPos(QPointF(0, 0))

    def paint(self, painter: QPainter, *args) -> None:
        if not self._text:
            return
        font = QFont()
        font.setPointSize(11)
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        height = metrics.height() + 2 * LABEL_PADDING_PX
        box = QRectF(  # bottom-left: message bars cover the top of the canvas
            LABEL_MARGIN_PX,
            self._canvas.height() - LABEL_MARGIN_PX - height,
            metrics.horizontalAdvance(self._text) + 2 * LABEL_PADDING_PX,
            height,
        )
        painter.setPen(QPen(QColor("#333333")))
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(box, 4, 4)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), self._text)
