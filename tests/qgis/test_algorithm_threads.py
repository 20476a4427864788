"""No background thread outlives the algorithm that started it (the kernel preload of ``compareendpoints``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import s2parity_plugin

# A 3 × 3 m square in UTM 33N inside the sample scene (tile 33TVF): a one-pixel grid at 10 m.
X0, Y0 = 437845.0, 4521445.0


def write_tiny_aoi(path: Path) -> Path:
    """A GeoJSON polygon of 3 × 3 m (EPSG:32633)."""
    ring = [[X0, Y0], [X0 + 3, Y0], [X0 + 3, Y0 + 3], [X0, Y0 + 3], [X0, Y0]]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_compareendpoints_waits_for_its_kernel_preload(qgis_processing, tmp_path, monkeypatch):
    """A preload slower than the whole run (a first compile takes seconds) has finished when the algorithm
    returns: the algorithm joined it instead of leaving it running into QGIS's teardown (exit code 139)."""
    import processing

    from s2parity_plugin.core.compare import kernel as compare_kernel
    from s2parity_plugin.core.compare import run as compare_run
    from s2parity_plugin.core.compare import warmup as compare_warmup

    compared, finished = threading.Event(), threading.Event()
    real_compare = compare_run.compare_run_folder

    def compare_then_signal(*args, **kwargs):
        result = real_compare(*args, **kwargs)
        compared.set()
        return result

    def slow_warm_up() -> bool:
        """Still busy well after the comparison ended (as a first compile is on a tiny AOI)."""
        compared.wait(timeout=120)
        time.sleep(2.0)
        finished.set()
        return False

    monkeypatch.setattr(compare_run, "compare_run_folder", compare_then_signal)

    monkeypatch.setattr(compare_kernel, "wanted", lambda: True)
    monkeypatch.setattr(compare_warmup, "warm_up", slow_warm_up)
    monkeypatch.setitem(compare_warmup._preload, "thread", None)
    monkeypatch.setitem(compare_kernel._state, "ran", False)
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        results = processing.run(
            "s2parity:compareendpoints",
            {
                "AOI": str(write_tiny_aoi(tmp_path / "tiny.geojson")),
                "DATE_FROM": "2020-10-04",
                "DATE_TO": "2020-10-04",
                "PRESET": "B04",
                "ENDPOINT_A": "sample-sh",
                "ENDPOINT_B": "sample-cdse",
                "OUTPUT_FOLDER": str(tmp_path / "runs"),
            },
        )
    finally:
        plugin.unload()
    preload = compare_warmup._preload["thread"]
    assert preload is not None, "the algorithm did not start the preload"
    assert finished.is_set() and not preload.is_alive()
    assert Path(results["OUTPUT_REPORT"]).is_file()
