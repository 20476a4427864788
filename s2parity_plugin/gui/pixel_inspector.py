"""Pixel inspector map tool: click the map → A, B, B − A, SCL A and SCL B (class names) at that pixel."""

from __future__ import annotations

from qgis.core import QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRasterLayer
from qgis.gui import QgsMapToolEmitPoint
from qgis.PyQt import sip
from qgis.PyQt.QtCore import pyqtSignal

from s2parity_plugin.core.scl import scl_name

ROLES = (("value_a", "A"), ("value_b", "B"), ("difference", "B − A"), ("scl_a", "SCL A"), ("scl_b", "SCL B"))


def sample_layer(layer: QgsRasterLayer, point: QgsPointXY, point_crs) -> float | None:
    """Band-1 value of ``layer`` at ``point`` (given in ``point_crs``), or None outside / nodata."""
    transform = QgsCoordinateTransform(point_crs, layer.crs(), QgsProject.instance())
    local = transform.transform(point)
    if not layer.extent().contains(local):
        return None
    value, ok = layer.dataProvider().sample(local, 1)
    return value if ok else None


def describe_pixel(values: dict[str, float | None]) -> str:
    """One line for the inspector, e.g. ``A 1234 · B 1250 · B − A +16 · SCL A 4 Vegetation · SCL B 8 Cloud medium``."""
    parts = []
    for role, title in ROLES:
        if role not in values:
            continue
        value = values[role]
        if value is None:
            text = "nodata"
        elif role.startswith("scl"):
            text = f"{int(value)} {scl_name(int(value))}"
        elif role == "difference":
            text = f"{value:+.6g}"
        else:
            text = f"{value:.6g}"
        parts.append(f"{title} {text}")
    return " · ".join(parts)


class PixelInspectorTool(QgsMapToolEmitPoint):
    """Emits ``inspected(text)`` for each click, sampling the layers given by ``set_layers``."""

    inspected = pyqtSignal(str)

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._layers: dict[str, QgsRasterLayer] = {}
        self.canvasClicked.connect(self._clicked)

    def set_layers(self, layers: dict[str, QgsRasterLayer]) -> None:
        self._layers = {role: layer for role, layer in layers.items() if role in dict(ROLES)}

    def inspect(self, point: QgsPointXY, point_crs) -> str:
        values = {}
        for role, layer in list(self._layers.items()):
            if sip.isdeleted(layer):  # the user removed it from the project
                del self._layers[role]
                continue
            values[role] = sample_layer(layer, point, point_crs)
        return describe_pixel(values) if values else "No S2 Parity comparison is loaded: run Compare first."

    def _clicked(self, point: QgsPointXY, _button) -> None:
        self.inspected.emit(self.inspect(point, self.canvas().mapSettings().destinationCrs()))
