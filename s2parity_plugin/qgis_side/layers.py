"""Load a comparison into the QGIS project: one layer group per run, with comparable styles.

Runs in the main thread only (touches QgsProject and layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qgis.core import (
    QgsColorRampShader,
    QgsContrastEnhancement,
    QgsLayerTreeGroup,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

from s2parity_plugin.core.raster_sample import percentiles, symmetric_abs_limit
from s2parity_plugin.core.scl import MISMATCH_CLASSES, SCL_CLASSES

#: Diverging ramp for B − A: blue where B < A, white at 0, red where B > A (ColorBrewer RdBu, 5 classes).
DIFFERENCE_RAMP = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")


@dataclass(frozen=True)
class ComparisonFiles:
    """The rasters of one comparison; any of the optional ones may be None."""

    value_a: Path
    value_b: Path
    difference: Path
    mismatch: Path | None = None
    scl_a: Path | None = None
    scl_b: Path | None = None
    shift_corrected: Path | None = None


def comparison_files(outputs: dict) -> ComparisonFiles:
    """The :class:`ComparisonFiles` named by the outputs of ``s2parity:compareendpoints`` (``VALUE_A``,
    ``VALUE_B``, ``SCL_A``, ``SCL_B``, ``OUTPUT_DIFFERENCE``, ``OUTPUT_MISMATCH``, ``OUTPUT_SHIFT_CORRECTED``)."""

    def path(key: str) -> Path | None:
        value = outputs.get(key)
        return Path(value) if value and Path(value).is_file() else None

    required = {key: path(key) for key in ("VALUE_A", "VALUE_B", "OUTPUT_DIFFERENCE")}
    missing = [key for key, value in required.items() if value is None]
    if missing:
        raise ValueError(f"the comparison produced no file for {', '.join(missing)}")
    return ComparisonFiles(
        value_a=required["VALUE_A"],
        value_b=required["VALUE_B"],
        difference=required["OUTPUT_DIFFERENCE"],
        mismatch=path("OUTPUT_MISMATCH"),
        scl_a=path("SCL_A"),
        scl_b=path("SCL_B"),
        shift_corrected=path("OUTPUT_SHIFT_CORRECTED"),
    )


def _paletted(layer: QgsRasterLayer, classes: dict[int, tuple[str, str]]) -> None:
    renderer = QgsPalettedRasterRenderer(
        layer.dataProvider(),
        1,
        [QgsPalettedRasterRenderer.Class(value, QColor(colour), name) for value, (name, colour) in classes.items()],
    )
    layer.setRenderer(renderer)


def style_scl(layer: QgsRasterLayer) -> None:
    """Standard SCL palette with class names (0 No data … 11 Snow/ice)."""
    _paletted(layer, SCL_CLASSES)


def style_mismatch(layer: QgsRasterLayer) -> None:
    """Categorical SCL-mismatch style: valid only in A, valid only in B, both invalid, both valid; 0 transparent."""
    _paletted(layer, MISMATCH_CLASSES)
    layer.dataProvider().setUserNoDataValue(1, [])
    layer.dataProvider().setNoDataValue(1, 0)


def style_difference(layer: QgsRasterLayer, limit: float) -> None:
    """Diverging ramp centred on 0 with symmetric limits ±``limit`` (units of the inputs: DN or reflectance)."""
    shader_fn = QgsColorRampShader(-limit, limit)
    shader_fn.setColorRampType(QgsColorRampShader.Interpolated)
    steps = len(DIFFERENCE_RAMP) - 1
    items = []
    for i, colour in enumerate(DIFFERENCE_RAMP):
        value = -limit + 2 * limit * i / steps
        items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), f"{value:+.4g}"))
    shader_fn.setColorRampItemList(items)
    shader_fn.setClip(False)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(-limit)
    renderer.setClassificationMax(limit)
    layer.setRenderer(renderer)


def style_same_stretch(layers: list[QgsRasterLayer], low: float, high: float) -> None:
    """Grey stretch ``low``..``high`` applied identically to every layer, so A and B are visually comparable."""
    for layer in layers:
        renderer = QgsSingleBandGrayRenderer(layer.dataProvider(), 1)
        ce = QgsContrastEnhancement(layer.dataProvider().dataType(1))
        ce.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
        ce.setMinimumValue(low)
        ce.setMaximumValue(high)
        renderer.setContrastEnhancement(ce)
        layer.setRenderer(renderer)


def _raster(path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    if not layer.isValid():
        raise ValueError(f"QGIS cannot open {path} as a raster.")
    return layer


def build_layers(files: ComparisonFiles) -> dict[str, QgsRasterLayer]:
    """Create and style the comparison layers (not yet in any project), keyed by role, in legend order."""
    layers: dict[str, QgsRasterLayer] = {}
    diff = _raster(files.difference, "Difference B − A")
    style_difference(diff, symmetric_abs_limit(files.difference))
    layers["difference"] = diff
    if files.shift_corrected:
        corrected = _raster(files.shift_corrected, "Difference B − A (shift corrected)")
        style_difference(corrected, symmetric_abs_limit(files.difference))
        layers["shift_corrected"] = corrected
    if files.mismatch:
        mismatch = _raster(files.mismatch, "SCL mismatch")
        style_mismatch(mismatch)
        layers["mismatch"] = mismatch
    a = _raster(files.value_a, "Raster A")
    b = _raster(files.value_b, "Raster B")
    style_same_stretch([a, b], *percentiles([files.value_a, files.value_b]))
    layers["value_a"], layers["value_b"] = a, b
    for key, path, name in (("scl_a", files.scl_a, "SCL A"), ("scl_b", files.scl_b, "SCL B")):
        if path:
            scl = _raster(path, name)
            style_scl(scl)
            layers[key] = scl
    return layers


def add_comparison_group(
    title: str, layers: dict[str, QgsRasterLayer], project: QgsProject | None = None
) -> QgsLayerTreeGroup:
    """Add ``layers`` to ``project`` in a new group ``title`` at the top of the layer tree; return the group.
    Raster B, SCL A/B and the shift-corrected difference start unchecked, so the first view is the difference
    over raster A; the user ticks B (or uses the swipe) to compare."""
    project = project or QgsProject.instance()
    group = project.layerTreeRoot().insertGroup(0, title)
    for layer in layers.values():
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    for key in ("scl_a", "scl_b", "value_b", "shift_corrected"):
        if key in layers:
            group.findLayer(layers[key].id()).setItemVisibilityChecked(False)
    return group


def group_title(date_from: str, date_to: str, quantity: str) -> str:
    """``"S2 Parity · <date or range> · <what>"``."""
    dates = date_from if date_from == date_to else f"{date_from} – {date_to}"
    return f"S2 Parity · {dates} · {quantity}"
