"""End to end: the built zip installed into a fresh profile, in the real QGIS desktop under Xvfb, and in
``qgis_process.bin``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.desktop import built_zip, clean_env, prepare_profiles_root, run_desktop

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
        assert "sentinelhub" in warning and "python3 -m pip install --user sentinelhub" in warning


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
    background task; screenshots of the main window and the results panel go to tests/artifacts/."""
    for name in ("desktop_compare_main.png", "desktop_compare_results.png"):
        (artifacts_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT_DIR", str(artifacts_dir))
    result = run_desktop(tmp_path, HERE / "desktop_compare.py", timeout_s=240)
    assert "error" not in result, result.get("error")
    assert result["aoi_follows_active_layer"] is True
    assert result["started"] is True
    assert result["status"].startswith("Done"), result["status"]
    assert result["group"] == "S2 Parity · 2020-10-04 · B04"
    assert result["layers"] == ["Difference B − A", "SCL mismatch", "Raster A", "Raster B", "SCL A", "SCL B"]
    assert "02.14" in result["diagnosis"] and "05.00" in result["diagnosis"]
    assert result["main_png"] is True and result["dock_png"] is True
    assert (artifacts_dir / "desktop_compare_main.png").stat().st_size > 50_000
