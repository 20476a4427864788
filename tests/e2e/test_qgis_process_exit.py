"""``qgis_process.bin`` exits cleanly after a run: no thread of the algorithm is still inside GDAL or numba when
QGIS tears down (a kernel preload that outlived ``compareendpoints`` made it exit with 139 on tiny AOIs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.desktop import built_zip, clean_env, prepare_profiles_root
from tests.qgis.sample_pair_support import seed_parameters, write_tiny_aoi

RUNS = 3  # before the fix, 3 of 6 runs crashed (-11, -11, -6) on a 2-CPU machine


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
                *(f"{key}={value}" for key, value in seed_parameters(aoi, tmp_path / "runs").items()),
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
