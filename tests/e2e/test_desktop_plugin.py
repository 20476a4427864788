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
        assert result["install_button"] is None
        assert result["algorithms"] == [
            "s2parity:comparecatalogs",
            "s2parity:compareendpoints",
            "s2parity:comparerasters",
            "s2parity:comparestatistics",
            "s2parity:exportcomparison",
            "s2parity:fetchpair",
        ]
    else:
        # Without sentinelhub the provider still loads, with the algorithms that do not need it.
        assert result["algorithms"] == ["s2parity:comparerasters", "s2parity:exportcomparison"]
        [warning] = warnings
        assert "open the S2 Parity panel and press Install" in warning
        assert "python3 -m pip install --prefix" in warning and "s2parity_packages" in warning
        assert result["install_button"] == "Install sentinelhub"


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
    """Click the toolbar button, press Compare on the seed AOI against the offline sample pair, wait for the
    background task, swipe, flicker, open the credentials dialog; screenshots go to tests/artifacts/."""
    shots = (
        "desktop_dock_before.png",
        "desktop_dock_during.png",
        "desktop_compare_main.png",
        "desktop_compare_results.png",
        "desktop_swipe.png",
        "desktop_flicker.png",
        "desktop_credentials.png",
        "desktop_results_full.png",
        "desktop_compare_second.png",
    )
    for name in shots:
        (artifacts_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT_DIR", str(artifacts_dir))
    result = run_desktop(tmp_path, HERE / "desktop_compare.py", timeout_s=360)
    assert "error" not in result, result.get("error")
    assert result["aoi_follows_active_layer"] is True
    assert result["started"] is True
    assert result["setup_hscroll"] is False and result["results_hscroll"] is False
    # during the run the action bar is on screen with the stage
    assert result["compare_visible_during"] is True
    assert any(s in result["progress_during"] for s in ("Authenticating", "Tile", "Starting", "Comparing"))
    assert result["status"].startswith("Done"), result["status"]
    assert result["tab_after"] == "Results"
    assert result["group"].startswith("S2 Parity · 2020-10-04 · B04 · ")
    a_name, b_name = "A · Sample SH · N0214 · B04", "B · Sample CDSE · N0500 · B04"
    assert result["layers"] == ["AOI outline", "Difference B − A", "SCL mismatch", a_name, b_name, "SCL A", "SCL B"]
    assert result["visible"] == ["AOI outline", "Difference B − A"]
    assert result["aoi_checked"] is False  # the AOI's fill no longer covers what the mask leaves out
    assert any("02.14" in f and "05.00" in f for f in result["findings"])
    # numba (Debian's python3-numba, installed by bootstrap) loads and runs inside the QGIS desktop
    assert result["engine"] == ("numba" if importlib.util.find_spec("numba") else "numpy")
    assert result["swipe_active"] is True
    assert result["flicker_started"] is True and result["flicker_label"] == b_name
    assert result["visible_after_flicker"] == ["AOI outline", "Difference B − A"]
    for key in ("before_png", "during_png", "main_png", "dock_png", "swipe_png", "flicker_png", "credentials_png"):
        assert result[key] is True, key
    # the second Compare of the session works too and gets its own group
    assert result["second_started"] is True
    assert result["second_status"].startswith("Done"), result["second_status"]
    assert (
        result["second_group"].startswith("S2 Parity · 2020-10-04 · B04 · ")
        and result["second_group"] != result["group"]
    )
    assert result["second_png"] is True
    assert (artifacts_dir / "desktop_compare_main.png").stat().st_size > 50_000


def test_desktop_archive_timeline_against_sample_endpoints(tmp_path, artifacts_dir, monkeypatch):
    """Open the dock's Archive tab, check the seed AOI's 2019–2024 archive against the offline pair, choose a row;
    screenshots of the main window and the dock go to tests/artifacts/."""
    for name in ("desktop_timeline_main.png", "desktop_timeline_dock.png"):
        (artifacts_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT_DIR", str(artifacts_dir))
    result = run_desktop(tmp_path, HERE / "desktop_timeline.py", timeout_s=240)
    assert "error" not in result, result.get("error")
    assert result["tabs"] == ["Setup", "Results", "Statistics", "Archive"]
    assert result["started"] is True and result["status"].startswith("Done"), result["status"]
    assert result["rows"] == 877 and result["periods"] == 11
    assert result["diagnosis_first_line"].startswith("733 of 877 acquisitions (84 %) are expected to differ")
    assert result["form_dates"] == ["2021-06-06", "2021-06-06"]
    assert result["main_png"] is True and result["dock_png"] is True
    assert (artifacts_dir / "desktop_timeline_dock.png").stat().st_size > 30_000


def _qgis_process_run(env: dict, algorithm: str, **params: str) -> dict:
    cmd = ["qgis_process.bin", "--json", "run", algorithm, "--", *(f"{k}={v}" for k, v in params.items())]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{algorithm} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return json.loads(out.stdout[out.stdout.index("{") :])["results"]


def test_qgis_process_runs_the_whole_workflow_on_the_seed(tmp_path):
    """compareendpoints (fetch + compare) on the seed AOI against the sample pair, comparerasters on its run
    folder, and exportcomparison — all through qgis_process.bin with the installed plugin."""
    from s2parity_plugin.core.model.seed import write_seed_aoi_geojson

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


def test_qgis_process_runs_comparecatalogs_on_the_seed(tmp_path):
    """The archive timeline through qgis_process.bin with the installed plugin: CSV table and JSON report."""
    import csv

    from s2parity_plugin.core.model.seed import write_seed_aoi_geojson

    root = tmp_path / "profiles"
    prepare_profiles_root(built_zip(), root)
    env = clean_env(QGIS_CUSTOM_CONFIG_PATH=str(root), QT_QPA_PLATFORM="offscreen")
    results = _qgis_process_run(
        env,
        "s2parity:comparecatalogs",
        AOI=str(write_seed_aoi_geojson(tmp_path / "seed_aoi.geojson")),
        DATE_FROM="2020-01-01",
        DATE_TO="2020-12-31",
        ENDPOINT_A="sample-sh",
        ENDPOINT_B="sample-cdse",
        OUTPUT_TABLE=str(tmp_path / "acquisitions.csv"),
        OUTPUT_REPORT=str(tmp_path / "timeline.json"),
    )
    report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    with open(tmp_path / "acquisitions.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == report["summary"]["acquisitions"] == 147
    assert [(p["baseline_a"], p["baseline_b"]) for p in report["periods"]] == [("02.13", "05.00"), ("02.14", "05.00")]


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
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Diagnosis: Endpoint A served baseline 02.14, B served baseline 05.00" in proc.stdout
    assert "Timeline: 2020-01-28 – 2021-03-28 (171 acquisitions" in proc.stdout
    assert (out / "s2parity_archive_timeline.png").stat().st_size > 10_000
    assert len((out / "archive_timeline.csv").read_text(encoding="utf-8").splitlines()) == 1 + 877
    png = out / "s2parity_demo_map.png"
    assert png.stat().st_size > 50_000
    [report] = out.glob("runs/*/compare/report.json")
    assert json.loads(report.read_text())["grid"]["crs"].endswith("3035")
    stats = out / "statistics"
    for name in ("statistics.gpkg", "statistics.csv", "statistics_summary.gpkg", "statistics_chart.png"):
        assert (stats / name).stat().st_size > 0, name
    stats_report = json.loads((stats / "statistics_report.json").read_text())
    assert stats_report["totals"]["features"] == 20 and stats_report["totals"]["intervals_compared"] > 0


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
