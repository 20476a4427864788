"""``qgis_process.bin`` exits cleanly after a run: no thread of the algorithm is still inside GDAL or numba when
QGIS tears down (a kernel preload that outlived ``compareendpoints`` made it exit with 139 on tiny AOIs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.desktop import built_zip, clean_env, prepare_profiles_root

RUNS = 3  # before the fix, 3 of 6 runs crashed (-11, -11, -6) on a 2-CPU machine
X0, Y0 = 437845.0, 4521445.0  # UTM 33N, inside the sample scene: a 3 × 3 m AOI is a one-pixel grid at 10 m


def write_tiny_aoi(path: Path) -> Path:
    ring = [[X0, Y0], [X0 + 3, Y0], [X0 + 3, Y0 + 3], [X0, Y0 + 3], [X0, Y0]]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_compareendpoints_on_a_tiny_aoi_exits_with_code_0(tmp_path):
    root = tmp_path / "profiles"
    prepare_profiles_root(built_zip(), root)
    env = clean_env(QGIS_CUSTOM_CONFIG_PATH=str(root), QT_QPA_PLATFORM="offscreen")
    aoi = write_tiny_aoi(tmp_path / "tiny.geojson")
    for run in range(RUNS):
        out = subprocess.run(
            [
                "qgis_process.bin",
                "--json",
                "run",
                "s2parity:compareendpoints",
                "--",
                f"AOI={aoi}",
                "DATE_FROM=2020-10-04",
                "DATE_TO=2020-10-04",
                "PRESET=B04",
                "ENDPOINT_A=sample-sh",
                "ENDPOINT_B=sample-cdse",
                f"OUTPUT_FOLDER={tmp_path / 'runs'}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, f"run {run + 1}: exit code {out.returncode}\n{out.stderr[-2000:]}"
        results = json.loads(out.stdout[out.stdout.index("{") :])["results"]
        report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
        assert (report["grid"]["width"], report["grid"]["height"]) == (1, 1)
