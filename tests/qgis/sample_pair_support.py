"""Inputs and waits the QGIS tests share when they drive S2 Parity against the offline sample pair: AOI layers
and files over the sample scene, the fetch parameters of the seed case, the dock opened on the seed case, and an
event-pumping wait for a dock task.

Imported as ``sample_pair_support`` by tests in this folder (as ``processing_feedback`` is) and as
``tests.qgis.sample_pair_support`` from other folders.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsFeature, QgsGeometry, QgsProject, QgsVectorLayer

#: A ~1 km² polygon (EPSG:4326) inside the sample scene near Naples.
AOI_WKT = "POLYGON((14.200 40.800, 14.212 40.800, 14.212 40.809, 14.200 40.809, 14.200 40.800))"
#: The lower-left corner (UTM 33N, EPSG:32633) of a 3 × 3 m square inside the sample scene: a one-pixel grid at 10 m.
TINY_X0, TINY_Y0 = 437845.0, 4521445.0
SEED_DATE = "2020-10-04"


def add_features(layer: QgsVectorLayer, features: list[QgsFeature]) -> QgsVectorLayer:
    """Add ``features`` to the memory ``layer``, update its extent and add it to the project; returns it."""
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    QgsProject.instance().addMapLayer(layer)
    return layer


def memory_layer(kind: str, wkts: list[str], name: str = "aoi") -> QgsVectorLayer:
    """A memory layer (EPSG:4326, geometry ``kind``: Polygon, Point …) with one feature per WKT, in the project."""
    layer = QgsVectorLayer(f"{kind}?crs=EPSG:4326", name, "memory")
    features = []
    for wkt in wkts:
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        features.append(feature)
    return add_features(layer, features)


def seed_parameters(aoi, output_folder: Path | str, **extra) -> dict:
    """``fetchpair``/``compareendpoints`` parameters: ``aoi`` (layer or file), B04 of the seed date from the
    sample pair into ``output_folder``; ``extra`` adds or overrides."""
    return {
        "AOI": aoi,
        "DATE_FROM": SEED_DATE,
        "DATE_TO": SEED_DATE,
        "PRESET": "B04",
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "OUTPUT_FOLDER": str(output_folder),
        **extra,
    }


def write_tiny_aoi(path: Path) -> Path:
    """A GeoJSON polygon of 3 × 3 m (EPSG:32633) at (``TINY_X0``, ``TINY_Y0``)."""
    x0, y0 = TINY_X0, TINY_Y0
    ring = [[x0, y0], [x0 + 3, y0], [x0 + 3, y0 + 3], [x0, y0 + 3], [x0, y0]]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def open_seed_dock(iface, tmp_path: Path):
    """Load the plugin, open its dock from the toolbar action and fill the form with the seed case against the
    sample pair; return (plugin, dock)."""
    import s2parity_plugin
    from s2parity_plugin.core.model.seed import write_seed_aoi_geojson

    plugin = s2parity_plugin.classFactory(iface)
    plugin.initGui()
    plugin.action.trigger()
    dock = plugin.dock
    aoi = QgsVectorLayer(str(write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")), "Seed AOI", "ogr")
    QgsProject.instance().addMapLayer(aoi)
    dock.form.follow_active_layer(aoi)
    dock.form.output_folder.setFilePath(str(tmp_path / "runs"))
    dock.form.crs.setCurrentIndex(dock.form.crs.findData("EPSG:3035"))
    dock.form.endpoint_a.set_profile("sample-sh")
    dock.form.endpoint_b.set_profile("sample-cdse")
    return plugin, dock


def wait_for(predicate, timeout_s: float = 120.0, what: str = "the S2 Parity task") -> None:
    """Process Qt events until ``predicate()`` is true; fail the test after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        QgsApplication.processEvents()
        time.sleep(0.01)
