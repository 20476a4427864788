"""Vector layer → AOI geometry (WKT) in the layer's CRS, for :func:`s2parity_plugin.core.model.spec.build_spec`.

Call it in the main thread (the Processing algorithm does it in ``prepareAlgorithm``): it reads the layer's
selection and features.
"""

from __future__ import annotations

from qgis.core import QgsFeatureRequest, QgsGeometry, QgsVectorLayer, QgsWkbTypes

from s2parity_plugin.adapters.compat import GEOMETRY_POLYGON
from s2parity_plugin.core.errors import AoiError


def aoi_from_layer(layer: QgsVectorLayer, selected_only: bool | None = None) -> tuple[str, str]:
    """``(wkt, crs)`` of the union of the layer's polygons, in the layer CRS (``EPSG:xxxx``, else the CRS as WKT).

    ``selected_only``: True → the selected features (error if none is selected); False → all features;
    None → the selected features if any are selected, else all (what the dock does).
    """
    if layer is None or not layer.isValid():
        raise AoiError("The AOI layer is missing or invalid: choose a polygon layer from the project.")
    if not isinstance(layer, QgsVectorLayer) or layer.geometryType() != GEOMETRY_POLYGON:
        kind = (
            QgsWkbTypes.geometryDisplayString(layer.geometryType()).lower()
            if isinstance(layer, QgsVectorLayer)
            else "raster"
        )
        raise AoiError(
            f"The layer '{layer.name()}' is a {kind} layer, not a polygon layer: choose a polygon layer as AOI "
            "(buffer points or lines first if needed)."
        )
    selected = layer.selectedFeatureIds()
    if selected_only and not selected:
        raise AoiError(
            f"No feature of '{layer.name()}' is selected: select the AOI polygons or untick 'selected features only'."
        )
    use_selection = bool(selected) and selected_only is not False
    request = QgsFeatureRequest()
    if use_selection:
        request.setFilterFids(selected)
    geoms = [f.geometry() for f in layer.getFeatures(request) if f.hasGeometry() and not f.geometry().isEmpty()]
    if not geoms:
        raise AoiError(f"The layer '{layer.name()}' has no polygon to use as AOI: draw or load at least one polygon.")
    union = geoms[0] if len(geoms) == 1 else QgsGeometry.unaryUnion(geoms)
    if union.isNull() or union.isEmpty():
        raise AoiError(
            f"The polygons of '{layer.name()}' could not be merged (invalid geometries?): run Fix Geometries first."
        )
    crs = layer.crs()
    return union.asWkt(), (crs.authid() if crs.authid().upper().startswith("EPSG:") else crs.toWkt())
