"""Load a comparison into the QGIS project: one layer group per run, with comparable styles.

Runs in the main thread only (touches QgsProject and layers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from qgis.core import (
    QgsColorRampShader,
    QgsFillSymbol,
    QgsLayerTreeGroup,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from s2parity_plugin.adapters.compat import SHADER_LINEAR
from s2parity_plugin.core.model.scl import MISMATCH_CLASSES, SCL_CLASSES
from s2parity_plugin.core.report.raster_sample import percentiles, symmetric_abs_limit
from s2parity_plugin.i18n import tr

#: Diverging ramp for B − A: blue where B < A, white at 0, red where B > A (ColorBrewer RdBu, 5 classes).
DIFFERENCE_RAMP = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
#: Grey ramp for A and B (same stretch on both sides) and the NDVI ramp (bare soil brown → dense vegetation green).
GREY_RAMP = ("#000000", "#ffffff")
NDVI_RAMP = ((-0.2, "#a6611a"), (0.1, "#dfc27d"), (0.3, "#f5f5c8"), (0.5, "#80cd5f"), (0.9, "#1a7d1a"))
#: Mismatch classes drawn over an unmasked difference: valid-in-both transparent, invalid greyed out.
MISMATCH_OVERLAY_ALPHA = {1: 0, 2: 200, 3: 200, 4: 200}
#: Layer-tree custom properties: a group's run (JSON of the algorithm outputs) and each layer's role.
RUN_PROPERTY = "s2parity/run"
ROLE_PROPERTY = "s2parity/role"


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


def outputs_for_report(report_path: str | Path) -> dict[str, str | None]:
    """The ``s2parity:compareendpoints`` outputs of the comparison whose report is ``report_path``
    (``<run folder>/compare/report.json``): used for the per-date runs of a date range."""
    from s2parity_plugin.core.fetch.run_folder import file_path, load_manifest

    compare = Path(report_path).parent
    run_dir = compare.parent
    manifest = load_manifest(run_dir)

    def existing(path: Path | None) -> str | None:
        return str(path) if path is not None and path.is_file() else None

    return {
        "RUN_FOLDER": str(run_dir),
        "COMPARE_FOLDER": str(compare),
        "VALUE_A": existing(file_path(run_dir, manifest, "value_a")),
        "VALUE_B": existing(file_path(run_dir, manifest, "value_b")),
        "SCL_A": existing(file_path(run_dir, manifest, "scl_a")),
        "SCL_B": existing(file_path(run_dir, manifest, "scl_b")),
        "OUTPUT_DIFFERENCE": existing(compare / "difference.tif"),
        "OUTPUT_MISMATCH": existing(compare / "scl_mismatch.tif"),
        "OUTPUT_SHIFT_CORRECTED": existing(compare / "difference_shift_corrected.tif"),
        "OUTPUT_REPORT": str(report_path),
    }


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


def nice_limit(value: float) -> float:
    """``value`` rounded up to 1, 2, 2.5 or 5 × 10^k, so legend labels are short round numbers (> 0 always)."""
    if not value or not math.isfinite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-9):
            return float(f"{candidate:.6g}")
    return 10.0 ** (exponent + 1)


def unit_suffix(units: str | None) -> str:
    """Legend unit: " DN" for digital numbers; reflectance and NDVI are unitless ("")."""
    return " DN" if (units or "").upper() == "DN" else ""


def _label(value: float, units: str | None, signed: bool = False) -> str:
    text = f"{value:+.4g}" if signed and value != 0 else f"{value:.4g}"
    return text.replace("-", "−") + unit_suffix(units)


def _pseudocolor(layer: QgsRasterLayer, stops: list[tuple[float, str, str]]) -> None:
    """Interpolated single-band ramp through ``stops`` (value, colour, legend label)."""
    shader_fn = QgsColorRampShader(stops[0][0], stops[-1][0])
    shader_fn.setColorRampType(SHADER_LINEAR)
    shader_fn.setColorRampItemList([QgsColorRampShader.ColorRampItem(v, QColor(c), t) for v, c, t in stops])
    shader_fn.setClip(False)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(stops[0][0])
    renderer.setClassificationMax(stops[-1][0])
    layer.setRenderer(renderer)


def style_difference(layer: QgsRasterLayer, limit: float, units: str | None = None) -> None:
    """Diverging ramp centred on 0 with symmetric limits ±``limit`` rounded up to a round number (units of the
    inputs: DN or reflectance); legend labels −limit, −limit/2, 0, +limit/2, +limit with the unit."""
    limit = nice_limit(limit)
    steps = len(DIFFERENCE_RAMP) - 1
    stops = []
    for i, colour in enumerate(DIFFERENCE_RAMP):
        value = -limit + 2 * limit * i / steps
        stops.append((value, colour, _label(value, units, signed=True)))
    _pseudocolor(layer, stops)


def style_same_stretch(layers: list[QgsRasterLayer], low: float, high: float, units: str | None = None) -> None:
    """Grey ramp ``low``..``high`` applied identically to every layer, so A and B are visually comparable; the legend
    shows the two (rounded) ends with the unit."""
    for layer in layers:
        _pseudocolor(layer, [(low, GREY_RAMP[0], _label(low, units)), (high, GREY_RAMP[1], _label(high, units))])


def style_ndvi(layers: list[QgsRasterLayer]) -> None:
    """The NDVI ramp (−0.2 brown … 0.9 green, unitless) on every layer."""
    for layer in layers:
        _pseudocolor(layer, [(v, c, f"{v:.1f}".replace("-", "−")) for v, c in NDVI_RAMP])


def style_mismatch_overlay(layer: QgsRasterLayer) -> None:
    """The mismatch classes as an overlay for an unmasked difference: valid in both transparent, the others greyed
    (invalid in both) or tinted (valid on one side only)."""
    classes = []
    for value, (name, colour) in MISMATCH_CLASSES.items():
        color = QColor(colour)
        color.setAlpha(MISMATCH_OVERLAY_ALPHA[value])
        classes.append(QgsPalettedRasterRenderer.Class(value, color, name))
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    layer.dataProvider().setUserNoDataValue(1, [])
    layer.dataProvider().setNoDataValue(1, 0)


def _raster(path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    if not layer.isValid():
        raise ValueError(f"QGIS cannot open {path} as a raster.")
    return layer


@dataclass(frozen=True)
class LayerNames:
    """Titles of the layers of one run (A and B carry endpoint, baseline and quantity)."""

    value_a: str = "A"
    value_b: str = "B"
    units: str | None = None  # "DN", "REFLECTANCE" or None (NDVI / custom: unitless)
    ndvi: bool = False
    masked: bool = True  # the difference is masked where either SCL is invalid


def side_title(side: str, endpoint: str, baseline: str | None, quantity: str) -> str:
    """``"A · Sentinel Hub · N0214 · B04"`` (baseline "02.14" → "N0214"; left out when unknown)."""
    parts = [side, endpoint]
    if baseline:
        parts.append("N" + baseline.replace(".", ""))
    parts.append(quantity)
    return " · ".join(p for p in parts if p)


def build_layers(files: ComparisonFiles, names: LayerNames | None = None) -> dict[str, QgsRasterLayer]:
    """Create and style the comparison layers (not yet in any project), keyed by role, in legend order."""
    names = names or LayerNames()
    layers: dict[str, QgsRasterLayer] = {}
    limit = symmetric_abs_limit(files.difference)
    diff_title = tr("Difference B − A") if names.masked else tr("Difference B − A (unmasked)")
    diff = _raster(files.difference, diff_title)
    style_difference(diff, limit, names.units)
    layers["difference"] = diff
    if files.shift_corrected:
        corrected = _raster(files.shift_corrected, tr("Difference B − A (shift corrected)"))
        style_difference(corrected, limit, names.units)
        layers["shift_corrected"] = corrected
    if files.mismatch:
        mismatch = _raster(files.mismatch, tr("SCL mismatch"))
        (style_mismatch if names.masked else style_mismatch_overlay)(mismatch)
        layers["mismatch"] = mismatch
    a = _raster(files.value_a, names.value_a)
    b = _raster(files.value_b, names.value_b)
    if names.ndvi:
        style_ndvi([a, b])
    else:
        style_same_stretch([a, b], *percentiles([files.value_a, files.value_b]), units=names.units)
    layers["value_a"], layers["value_b"] = a, b
    for key, path, name in (("scl_a", files.scl_a, tr("SCL A")), ("scl_b", files.scl_b, tr("SCL B"))):
        if path:
            scl = _raster(path, name)
            style_scl(scl)
            layers[key] = scl
    return layers


def aoi_outline_layer(aoi: QgsVectorLayer) -> QgsVectorLayer:
    """A second layer on the AOI's data source (same subset), drawn as an outline only, named "AOI outline"."""
    outline = QgsVectorLayer(aoi.source(), tr("AOI outline"), aoi.providerType())
    symbol = QgsFillSymbol.createSimple(
        {"color": "0,0,0,0", "outline_color": "#222222", "outline_width": "0.6", "style": "no"}
    )
    outline.renderer().setSymbol(symbol)
    return outline


#: Roles visible when a run is loaded: only the difference (and the AOI outline). The unmasked difference also shows
#: its mismatch overlay, so invalid pixels are greyed.
FIRST_VIEW = {"aoi_outline", "difference"}


def add_comparison_group(
    title: str,
    layers: dict[str, QgsRasterLayer],
    project: QgsProject | None = None,
    aoi: QgsVectorLayer | None = None,
    run: str | None = None,
    masked: bool = True,
) -> QgsLayerTreeGroup:
    """Add ``layers`` (and an outline of ``aoi``) to ``project`` in a new group ``title`` (made unique) at the top
    of the layer tree; return the group. Only the difference and the AOI outline start checked (plus the mismatch
    overlay of an unmasked difference); the AOI layer itself is unchecked (its outline replaces it). ``run`` (JSON
    of the algorithm's outputs) is kept as a custom property of
    the group, and each layer's role as one of the layer's, so a reopened project can re-attach the dock."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, unique_group_name(title, project))
    ordered = dict(layers)
    if aoi is not None and aoi.isValid():
        ordered = {"aoi_outline": aoi_outline_layer(aoi), **layers}
        source = root.findLayer(aoi.id())
        if source is not None:  # its fill would show through the masked pixels; the outline replaces it
            source.setItemVisibilityChecked(False)
    visible = FIRST_VIEW | (set() if masked else {"mismatch"})
    for role, layer in ordered.items():
        project.addMapLayer(layer, False)
        layer.setCustomProperty(ROLE_PROPERTY, role)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(role in visible)
        if role not in visible:
            node.setExpanded(False)
    if run is not None:
        group.setCustomProperty(RUN_PROPERTY, run)
    return group


def unique_group_name(title: str, project: QgsProject | None = None) -> str:
    """``title``, or ``title (2)``, ``title (3)``… when a group of that name already exists anywhere in the tree."""
    root = (project or QgsProject.instance()).layerTreeRoot()
    name, n = title, 1
    while root.findGroup(name) is not None:
        n += 1
        name = f"{title} ({n})"
    return name


def group_title(
    date_from: str, date_to: str, quantity: str, selected_only: bool = False, when: datetime | None = None
) -> str:
    """``"S2 Parity · <date or range> · <what> · <HH:MM:SS>[ · selection]"`` (local time of the run)."""
    dates = date_from if date_from == date_to else f"{date_from} – {date_to}"
    parts = ["S2 Parity", dates, quantity, (when or datetime.now()).strftime("%H:%M:%S")]
    if selected_only:
        parts.append(tr("selection"))
    return " · ".join(parts)


def run_groups(project: QgsProject | None = None) -> list[QgsLayerTreeGroup]:
    """The S2 Parity run groups of the project, top-most first."""
    root = (project or QgsProject.instance()).layerTreeRoot()
    return [g for g in root.findGroups(True) if g.customProperty(RUN_PROPERTY)]


def group_layers(group: QgsLayerTreeGroup) -> dict[str, QgsRasterLayer]:
    """The layers of a run group keyed by their role (layers whose file is missing are left out)."""
    layers = {}
    for node in group.findLayers():
        layer = node.layer()
        role = layer.customProperty(ROLE_PROPERTY) if layer is not None else None
        if role and layer.isValid():
            layers[str(role)] = layer
    return layers
