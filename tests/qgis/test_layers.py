"""Comparison layers: group, names, renderers, class values/colours, stretches, project save/reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)

from s2parity_plugin.core.scl import MISMATCH_CLASSES, SCL_CLASSES
from s2parity_plugin.qgis_side.layers import ComparisonFiles, add_comparison_group, build_layers, group_title
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
    expected_limit = np.percentile(values, 98)
    assert diff.classificationMin() == pytest.approx(-expected_limit)
    assert diff.classificationMax() == pytest.approx(expected_limit)
    ramp = diff.shader().rasterShaderFunction().colorRampItemList()
    assert ramp[len(ramp) // 2].value == pytest.approx(0.0)
    assert ramp[len(ramp) // 2].color.name() == "#f7f7f7"

    for key, classes in (("mismatch", MISMATCH_CLASSES), ("scl_a", SCL_CLASSES), ("scl_b", SCL_CLASSES)):
        renderer = layers[key].renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        got = {c.value: (c.label, c.color.name()) for c in renderer.classes()}
        assert got == classes
    assert SCL_CLASSES[3] == ("Cloud shadow", "#643200") and SCL_CLASSES[10] == ("Thin cirrus", "#64c8ff")

    a, b = layers["value_a"].renderer(), layers["value_b"].renderer()
    assert isinstance(a, QgsSingleBandGrayRenderer) and isinstance(b, QgsSingleBandGrayRenderer)
    ca, cb = a.contrastEnhancement(), b.contrastEnhancement()
    assert (ca.minimumValue(), ca.maximumValue()) == (cb.minimumValue(), cb.maximumValue())
    both = np.concatenate(
        [gdal.Open(str(p)).ReadAsArray().ravel() for p in (comparison.value_a, comparison.value_b)]
    ).astype(float)
    assert ca.minimumValue() == pytest.approx(np.percentile(both, 2))
    assert ca.maximumValue() == pytest.approx(np.percentile(both, 98))


def test_group_survives_project_save_and_reload(comparison, tmp_path):
    project = QgsProject.instance()
    project.clear()
    title = group_title("2020-10-04", "2020-10-04", "B04")
    assert title == "S2 Parity · 2020-10-04 · B04"
    group = add_comparison_group(title, build_layers(comparison), project)
    assert [n.name() for n in group.children()] == [
        "Difference B − A",
        "SCL mismatch",
        "Raster A",
        "Raster B",
        "SCL A",
        "SCL B",
    ]
    visible = {n.name() for n in group.children() if n.itemVisibilityChecked()}
    assert visible == {"Difference B − A", "SCL mismatch", "Raster A"}

    project_file = tmp_path / "comparison.qgs"
    assert project.write(str(project_file))
    text = project_file.read_text(encoding="utf-8")
    assert "./difference.tif" in text and str(tmp_path) not in text  # relative paths
    project.clear()
    assert project.read(str(project_file))
    group = project.layerTreeRoot().findGroup(title)
    assert group is not None and len(group.findLayers()) == 6
    for node in group.findLayers():
        assert node.layer().isValid(), node.name()
    reloaded = group.findLayers()[1].layer().renderer()
    assert isinstance(reloaded, QgsPalettedRasterRenderer) and len(reloaded.classes()) == 4
    project.clear()
