"""The dock's Statistics view in the real QGIS desktop under Xvfb against the offline sample pair: run, click the
worst pair, screenshots of the time-series chart and the main window go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.desktop import run_desktop

HERE = Path(__file__).resolve().parent


def test_desktop_statistics_chart(tmp_path, artifacts_dir, monkeypatch):
    for name in ("desktop_statistics_chart.png", "desktop_statistics_main.png"):
        (artifacts_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv("S2PARITY_E2E_SCREENSHOT_DIR", str(artifacts_dir))
    result = run_desktop(tmp_path, HERE / "desktop_statistics.py", timeout_s=300)
    assert "error" not in result, result.get("error")
    assert result["started"] is True and "PU estimate" in result["estimate"]
    assert result["rows"] > 0 and result["worst_rows"] > 0, result["status"]
    assert result["selected"] == [result["worst_feature"]]
    assert result["chart_title"].endswith(result["worst_feature"])
    assert result["chart_png"] is True and result["main_png"] is True
    assert (artifacts_dir / "desktop_statistics_chart.png").stat().st_size > 10_000
