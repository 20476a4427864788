"""Comparison layers: group, names, renderers, class values/colours, stretches, project save/reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsSingleBandPseudoColorRenderer,
)

from s2parity_plugin.adapters.layers import (
    ComparisonFiles,
    LayerNames,
    add_comparison_group,
    build_layers,
    group_title,
    nice_limit,
    side_title,
    unique_group_name,
)
from s2parity_plugin.core.model.scl import MISMATCH_CLASSES, SCL_CLASSES
from tests.geotiff import write_geotiff


def _write(path: Path, array: np.ndarray, gdal_type: int, nodata: float | None = None) -> Path:
    return write_geotiff(path, array, (4681900.0, 10.0, 0.0, 1986440.0, 0.0, -10.0), 3035, nodata, gdal_type)


@pytest.fixture
def comparison(tmp_path) -> ComparisonFiles:
    rng = np.random.default_rng(7)
    a = rng.integers(200, 3000, (60, 80)).astype(np.uint16)
    b = (a + rng.integers(-50, 120, a.shape)).astype(np.uint16)
    diff = b.astype(np.float32) - a.astype(np.float32)
    diff[0, :] = -9999.0
    scl_a = rng.integers(0, 12, a.shape).astype(np.uint8)
    scl_b = rng.integers(0, 12, a.shape).astype(np.uint8)
    mismatch = rng.integers(0, 5, a.shape).astype(np.uint8)
    return ComparisonFiles(
        value_a=_write(tmp_path / "a.tif", a, gdal.GDT_UInt16, 0),
        value_b=_write(tmp_path / "b.tif", b, gdal.GDT_UInt16, 0),
        difference=_write(tmp_path / "difference.tif", diff, gdal.GDT_Float32, -9999.0),
        mismatch=_write(tmp_path / "scl_mismatch.tif", mismatch, gdal.GDT_Byte, 0),
        scl_a=_write(tmp_path / "scl_a.tif", scl_a, gdal.GDT_Byte, 0),
        scl_b=_write(tmp_path / "scl_b.tif", scl_b, gdal.GDT_Byte, 0),
    )


def test_styles_follow_the_spec(comparison):
    layers = build_layers(comparison)
    assert list(layers) == ["difference", "mismatch", "value_a", "value_b", "scl_a", "scl_b"]

    diff = layers["difference"].renderer()
    assert isinstance(diff, QgsSingleBandPseudoColorRenderer)
    values = np.abs(gdal.Open(str(comparison.difference)).ReadAsArray()[1:, :])
    p98 = np.percentile(values, 98)
    limit = nice_limit(p98)  # rounded up to 1, 2, 2.5 or 5 × 10^k
    assert p98 <= limit < 2.01 * p98
    assert diff.classificationMin() == -limit and diff.classificationMax() == limit
    ramp = diff.shader().rasterShaderFunction().colorRampItemList()
    assert ramp[len(ramp) // 2].value == pytest.approx(0.0)
    assert ramp[len(ramp) // 2].color.name() == "#f7f7f7"
    # Legend: round numbers with the unit only for DN, 0 labelled, minus signs typographic.
    assert [item.label for item in ramp] == [
        f"−{limit:g}",
        f"−{limit / 2:g}",
        "0",
        f"+{limit / 2:g}",
        f"+{limit:g}",
    ]

    for key, classes in (("mismatch", MISMATCH_CLASSES), ("scl_a", SCL_CLASSES), ("scl_b", SCL_CLASSES)):
        renderer = layers[key].renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        got = {c.value: (c.label, c.color.name()) for c in renderer.classes()}
        assert got == classes
    assert SCL_CLASSES[3] == ("Cloud shadow", "#643200") and SCL_CLASSES[10] == ("Thin cirrus", "#64c8ff")

    a, b = layers["value_a"].renderer(), layers["value_b"].renderer()
    assert isinstance(a, QgsSingleBandPseudoColorRenderer) and isinstance(b, QgsSingleBandPseudoColorRenderer)
    ra = a.shader().rasterShaderFunction().colorRampItemList()
    rb = b.shader().rasterShaderFunction().colorRampItemList()
    assert [(i.value, i.color.name()) for i in ra] == [(i.value, i.color.name()) for i in rb]  # same stretch
    both = np.concatenate(
        [gdal.Open(str(p)).ReadAsArray().ravel() for p in (comparison.value_a, comparison.value_b)]
    ).astype(float)
    assert ra[0].value == pytest.approx(np.percentile(both, 2)) and ra[0].color.name() == "#000000"
    assert ra[-1].value == pytest.approx(np.percentile(both, 98)) and ra[-1].color.name() == "#ffffff"


def test_dn_units_ndvi_ramp_and_side_titles(comparison):
    layers = build_layers(comparison, LayerNames("A · x", "B · y", units="DN"))
    labels = [i.label for i in layers["difference"].renderer().shader().rasterShaderFunction().colorRampItemList()]
    assert labels[2] == "0 DN" and labels[0].endswith(" DN") and labels[-1].startswith("+")
    assert (layers["value_a"].name(), layers["value_b"].name()) == ("A · x", "B · y")
    ndvi = build_layers(comparison, LayerNames(ndvi=True))
    ramp = ndvi["value_a"].renderer().shader().rasterShaderFunction().colorRampItemList()
    assert [i.value for i in ramp] == [-0.2, 0.1, 0.3, 0.5, 0.9] and ramp[-1].color.name() == "#1a7d1a"
    assert all("DN" not in i.label and "REFL" not in i.label for i in ramp)
    assert side_title("A", "Sentinel Hub", "02.14", "B04") == "A · Sentinel Hub · N0214 · B04"
    assert side_title("B", "CDSE", None, "NDVI") == "B · CDSE · NDVI"
    assert [nice_limit(v) for v in (0.202972, 69.0, 100.0, 0.0)] == [0.25, 100.0, 100.0, 1.0]


def test_group_survives_project_save_and_reload(comparison, tmp_path):
    project = QgsProject.instance()
    project.clear()
    from datetime import datetime

    title = group_title("2020-10-04", "2020-10-04", "B04", True, datetime(2026, 1, 2, 7, 8, 9))
    assert title == "S2 Parity · 2020-10-04 · B04 · 07:08:09 · selection"
    group = add_comparison_group(title, build_layers(comparison), project, run='{"RUN_FOLDER": "x"}')
    assert [n.name() for n in group.children()] == ["Difference B − A", "SCL mismatch", "A", "B", "SCL A", "SCL B"]
    visible = {n.name() for n in group.children() if n.itemVisibilityChecked()}
    assert visible == {"Difference B − A"}
    assert unique_group_name(title, project) == title + " (2)"
    extra = build_layers(comparison)
    second = add_comparison_group(title, extra, project)
    assert second.name() == title + " (2)"
    project.removeMapLayers([layer.id() for layer in extra.values()])
    project.layerTreeRoot().removeChildNode(second)

    project_file = tmp_path / "comparison.qgs"
    assert project.write(str(project_file))
    text = project_file.read_text(encoding="utf-8")
    assert "./difference.tif" in text and str(tmp_path) not in text  # relative paths
    project.clear()
    assert project.read(str(project_file))
    group = project.layerTreeRoot().findGroup(title)
    assert group is not None and len(group.findLayers()) == 6
    assert group.customProperty("s2parity/run") == '{"RUN_FOLDER": "x"}'  # the dock re-attaches from this
    roles = [n.layer().customProperty("s2parity/role") for n in group.findLayers()]
    assert roles == ["difference", "mismatch", "value_a", "value_b", "scl_a", "scl_b"]
    for node in group.findLayers():
        assert node.layer().isValid(), node.name()
    reloaded = group.findLayers()[1].layer().renderer()
    assert isinstance(reloaded, QgsPalettedRasterRenderer) and len(reloaded.classes()) == 4
    project.clear()
