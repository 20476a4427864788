"""End to end: the built zip installed into a fresh profile, in the real QGIS desktop under Xvfb, and in
``qgis_process.bin``."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.desktop import REPO, built_zip, clean_env, prepare_profiles_root, run_desktop

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("with_runtime_packages", [True, False], ids=["sentinelhub-installed", "sentinelhub-missing"])
def test_desktop_toolbar_button_opens_dock(tmp_path, artifacts_dir, monkeypatch, with_runtime_packages):
    name = "desktop_dock.png" if with_runtime_packages else "desktop_dock_missing_sentinelhub.png"
    screenshot = artifacts_dir / name
    screenshot.unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT", str(screenshot))
    result = run_desktop(
        tmp_path, HERE / "desktop_open_dock.py", timeout_s=90, with_runtime_packages=with_runtime_packages
    )
    assert "error" not in result, result.get("error")
    assert result["plugin_loaded"] is True
    assert result["toolbar_buttons"] == 1
    assert result["raster_menu_entries"] == ["&S2 Parity > s2parity_toggle_dock"]
    assert result["dock_visible"] is True
    assert result["provider"] is True
    assert result["screenshot_saved"] is True and screenshot.stat().st_size > 10_000
    warnings = [m for m in result["message_bar"] if m.startswith("S2 Parity")]
    assert result["compare_dialog"] == "AlgorithmDialog"  # QGIS's standard dialog; the preload started meanwhile
    has_numba = importlib.util.find_spec("numba") is not None  # Debian's python3-numba: the desktop sees it too
    assert result["kernel_preload_started"] is has_numba
    assert result.get("kernel_preloaded", False) is has_numba
    if with_runtime_packages:
        assert warnings == []
        assert result["algorithms"] == [
            "s2parity:compareendpoints",
            "s2parity:comparerasters",
            "s2parity:exportcomparison",
            "s2parity:fetchpair",
        ]
    else:
        # Without sentinelhub the provider still loads, with the algorithms that do not need it.
        assert result["algorithms"] == ["s2parity:comparerasters", "s2parity:exportcomparison"]
        [warning] = warnings
        assert "python3 -m pip install --user sentinelhub mini-racer" in warning


def test_qgis_process_lists_the_plugin_provider(tmp_path):
    root = tmp_path / "profiles"
    prepare_profiles_root(built_zip(), root)
    env = clean_env(QGIS_CUSTOM_CONFIG_PATH=str(root), QT_QPA_PLATFORM="offscreen")
    # Debian's /usr/bin/qgis_process wrapper injects --noversioncheck and fails: call the binary.
    out = subprocess.run(["qgis_process.bin", "plugins"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "* s2parity_plugin" in out.stdout.splitlines()
    listed = subprocess.run(["qgis_process.bin", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "S2 Parity" in listed.stdout, listed.stdout[-2000:]


def test_desktop_comparison_against_sample_endpoints(tmp_path, artifacts_dir, monkeypatch):
    """Click the toolbar button, press Compare on the seed AOI against the offline sample pair and wait for the
    background task, twice in a row in one QGIS session; screenshots of the second run (main window, dock) go to
    tests/artifacts/."""
    for name in ("desktop_compare_main.png", "desktop_compare_results.png"):
        (artifacts_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT_DIR", str(artifacts_dir))
    result = run_desktop(tmp_path, HERE / "desktop_compare.py", timeout_s=360)
    assert "error" not in result, result.get("error")
    assert result["aoi_follows_active_layer"] is True
    assert len(result["runs"]) == 2
    for run in result["runs"]:
        assert "error" not in run, run.get("error")
        assert run["started"] is True
        assert run["status"].startswith("Done"), run["status"]
        assert run["group"] == "S2 Parity · 2020-10-04 · B04"
        assert run["layers"] == ["Difference B − A", "SCL mismatch", "Raster A", "Raster B", "SCL A", "SCL B"]
        assert "02.14" in run["diagnosis"] and "05.00" in run["diagnosis"]
        # numba (Debian's python3-numba, installed by bootstrap) loads and runs inside the QGIS desktop
        assert run["engine"] == ("numba" if importlib.util.find_spec("numba") else "numpy")
    assert result["main_png"] is True and result["dock_png"] is True
    assert (artifacts_dir / "desktop_compare_main.png").stat().st_size > 50_000


def _qgis_process_run(env: dict, algorithm: str, **params: str) -> dict:
    cmd = ["qgis_process.bin", "--json", "run", algorithm, "--", *(f"{k}={v}" for k, v in params.items())]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{algorithm} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout[out.stdout.index("{") :])["results"]


def test_qgis_process_runs_the_whole_workflow_on_the_seed(tmp_path):
    """compareendpoints (fetch + compare) on the seed AOI against the sample pair, comparerasters on its run
    folder, and exportcomparison — all through qgis_process.bin with the installed plugin."""
    from s2parity_plugin.core.seed import write_seed_aoi_geojson

    root = tmp_path / "profiles"
    prepare_profiles_root(built_zip(), root)
    env = clean_env(QGIS_CUSTOM_CONFIG_PATH=str(root), QT_QPA_PLATFORM="offscreen")
    aoi = write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")
    results = _qgis_process_run(
        env,
        "s2parity:compareendpoints",
        AOI=str(aoi),
        DATE_FROM="2020-10-04",
        DATE_TO="2020-10-04",
        PRESET="B04",
        UNITS="DN",
        ENDPOINT_A="sample-sh",
        ENDPOINT_B="sample-cdse",
        RESOLUTION="10",
        CRS="EPSG:3035",
        OUTPUT_FOLDER=str(tmp_path / "runs"),
    )
    assert "02.14" in results["DIAGNOSIS"] and "05.00" in results["DIAGNOSIS"]
    report = json.loads(Path(results["OUTPUT_REPORT"]).read_text())
    assert report["grid"]["width"] == 506 and report["grid"]["height"] == 449

    again = _qgis_process_run(
        env,
        "s2parity:comparerasters",
        RASTER_A=results["VALUE_A"],
        RASTER_B=results["VALUE_B"],
        SCL_A=results["SCL_A"],
        SCL_B=results["SCL_B"],
        OUTPUT_DIFFERENCE=str(tmp_path / "again" / "difference.tif"),
        OUTPUT_MISMATCH=str(tmp_path / "again" / "scl_mismatch.tif"),
        OUTPUT_REPORT=str(tmp_path / "again" / "report.json"),
    )
    report_again = json.loads(Path(again["OUTPUT_REPORT"]).read_text())
    assert report_again["stats"]["n"] == report["stats"]["n"]
    assert report_again["stats"]["bias"] == pytest.approx(report["stats"]["bias"])
    assert report_again["scl"]["counts"] == report["scl"]["counts"]

    exported = _qgis_process_run(
        env,
        "s2parity:exportcomparison",
        COMPARISON=results["COMPARE_FOLDER"],
        OUTPUT_FOLDER=str(tmp_path / "export"),
    )
    names = sorted(Path(p).name for p in exported["FILES"])
    assert "s2parity_difference.tif" in names and "s2parity_report.html" in names
    refused = subprocess.run(
        [
            "qgis_process.bin",
            "run",
            "s2parity:exportcomparison",
            "--",
            f"COMPARISON={results['COMPARE_FOLDER']}",
            f"OUTPUT_FOLDER={tmp_path / 'export'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "already holds" in refused.stdout + refused.stderr


def test_offline_demo_script(tmp_path):
    """`make demo`'s script: the seed case headless against the sample pair, outputs and diagnosis printed."""
    import sys

    out = tmp_path / "demo-output"
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Diagnosis: Endpoint A served baseline 02.14, B served baseline 05.00" in proc.stdout
    png = out / "s2parity_demo_map.png"
    assert png.stat().st_size > 50_000
    [report] = out.glob("runs/*/compare/report.json")
    assert json.loads(report.read_text())["grid"]["crs"].endswith("3035")


def test_make_install_and_uninstall_into_a_profile(tmp_path):
    """`make install QGIS_PROFILE_DIR=…` unpacks the zip and enables the plugin; `make uninstall` undoes both."""
    import configparser

    profile = tmp_path / "profile"
    env = {**os.environ, "QGIS_PROFILE_DIR": str(profile)}
    subprocess.run(["make", "-s", "install"], cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    plugin_dir = profile / "python" / "plugins" / "s2parity_plugin"
    assert (plugin_dir / "metadata.txt").read_text() == (REPO / "metadata.txt").read_text()
    assert (plugin_dir / "resources" / "icons" / "s2parity.svg").is_file()
    assert not list(plugin_dir.rglob("__pycache__"))
    ini = configparser.ConfigParser()
    ini.read(profile / "QGIS" / "QGIS3.ini")
    assert ini["PythonPlugins"]["s2parity_plugin"] == "true"

    subprocess.run(["make", "-s", "uninstall"], cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    assert not plugin_dir.exists()
    ini = configparser.ConfigParser()
    ini.read(profile / "QGIS" / "QGIS3.ini")
    assert not ini.has_option("PythonPlugins", "s2parity_plugin")
