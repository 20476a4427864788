"""Pixel inspector map tool (like the Value Tool): hovering the map shows A, B, B − A and both SCL classes of the
pixel under the cursor as a compact table, with a marker on the map; a click pins the marker; Esc leaves the tool.
A point outside the rasters says so ("outside the rasters"), distinct from a pixel without data ("no data")."""

from __future__ import annotations

from qgis.core import QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRasterLayer
from qgis.gui import QgsMapTool, QgsVertexMarker
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QCursor

from s2parity_plugin.core.model.scl import scl_name
from s2parity_plugin.gui.map_overlays import leave_on_escape
from s2parity_plugin.i18n import tr

ROLES = (("value_a", "A"), ("value_b", "B"), ("difference", "B − A"), ("scl_a", "SCL A"), ("scl_b", "SCL B"))
OUTSIDE = "outside"  # sample_layer's answer for a point outside the layer's extent
MARKER_SIZE_PX = 14


def sample_layer(layer: QgsRasterLayer, point: QgsPointXY, point_crs) -> float | str | None:
    """Band-1 value of ``layer`` at ``point`` (given in ``point_crs``); None for no data, :data:`OUTSIDE` outside
    the layer's extent."""
    transform = QgsCoordinateTransform(point_crs, layer.crs(), QgsProject.instance())
    local = transform.transform(point)
    if not layer.extent().contains(local):
        return OUTSIDE
    value, ok = layer.dataProvider().sample(local, 1)
    return value if ok and value == value else None  # NaN (masked difference) is no data too


def _text(role: str, value: float | str | None) -> str:
    if value == OUTSIDE:
        return tr("outside the rasters")
    if value is None:
        return tr("no data")
    if role.startswith("scl"):
        return f"{int(value)} {scl_name(int(value))}"
    if role == "difference":
        return f"{value:+.6g}".replace("-", "−")
    return f"{value:.6g}"


def describe_pixel(values: dict[str, float | str | None]) -> str:
    """One line, e.g. ``A 1234 · B 1250 · B − A +16 · SCL A 4 Vegetation · SCL B 8 Cloud medium``."""
    if values and all(v == OUTSIDE for v in values.values()):
        return tr("Outside the rasters of this comparison.")
    return " · ".join(f"{title} {_text(role, values[role])}" for role, title in ROLES if role in values)


def pixel_table_html(values: dict[str, float | str | None]) -> str:
    """The same as a compact two-column HTML table (for the dock)."""
    if values and all(v == OUTSIDE for v in values.values()):
        return tr("Outside the rasters of this comparison.")
    rows = "".join(
        f"<tr><td><b>{title}</b>&nbsp;&nbsp;</td><td>{_text(role, values[role])}</td></tr>"
        for role, title in ROLES
        if role in values
    )
    return f"<table cellspacing='0' cellpadding='1'>{rows}</table>"


class PixelInspectorTool(QgsMapTool):
    """Emits ``inspected(html)`` as the mouse moves (and on click, which pins the marker); ``set_layers`` chooses
    the layers sampled."""

    inspected = pyqtSignal(str)

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._layers: dict[str, QgsRasterLayer] = {}
        self.marker: QgsVertexMarker | None = None
        self.pinned = False
        self.setCursor(QCursor(Qt.CursorShape.CrossCursor))

    def set_layers(self, layers: dict[str, QgsRasterLayer]) -> None:
        self._layers = {role: layer for role, layer in layers.items() if role in dict(ROLES)}

    def values(self, point: QgsPointXY, point_crs) -> dict[str, float | str | None]:
        values = {}
        for role, layer in list(self._layers.items()):
            if sip.isdeleted(layer):  # the user removed it from the project
                del self._layers[role]
                continue
            values[role] = sample_layer(layer, point, point_crs)
        return values

    def inspect(self, point: QgsPointXY, point_crs) -> str:
        """One line describing the pixel at ``point`` (for tests and logs)."""
        values = self.values(point, point_crs)
        return describe_pixel(values) if values else tr("No S2 Parity comparison is loaded: run Compare first.")

    def _report(self, point: QgsPointXY) -> None:
        values = self.values(point, self.canvas().mapSettings().destinationCrs())
        self._place_marker(point)
        self.inspected.emit(
            pixel_table_html(values) if values else tr("No S2 Parity comparison is loaded: run Compare first.")
        )

    def _place_marker(self, point: QgsPointXY) -> None:
        if self.marker is None:
            self.marker = QgsVertexMarker(self.canvas())
            self.marker.setIconType(QgsVertexMarker.IconType.ICON_CROSS)
            self.marker.setIconSize(MARKER_SIZE_PX)
            self.marker.setPenWidth(2)
            self.marker.setColor(QColor("#e91e63"))
        self.marker.setCenter(point)
        self.marker.show()

    def canvasMoveEvent(self, event) -> None:
        if not self.pinned:
            self._report(self.toMapCoordinates(event.pos()))

    def canvasReleaseEvent(self, event) -> None:
        self.pinned = not self.pinned
        self._report(self.toMapCoordinates(event.pos()))

    def keyPressEvent(self, event) -> None:  # noqa: N802 (QGIS API)
        leave_on_escape(self, event)

    def deactivate(self) -> None:
        self.pinned = False
        if self.marker is not None:
            self.marker.hide()
        super().deactivate()

    def shutdown(self) -> None:
        if self.marker is not None and self.marker.scene() is not None:
            self.marker.scene().removeItem(self.marker)
        self.marker = None
