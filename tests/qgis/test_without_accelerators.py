"""The whole workflow (``make demo``: s2parity:compareendpoints on the seed case against the sample pair, shift
correction on) in a QGIS Python without scipy and numba: it runs on the numpy paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = """
import json, runpy, sys
sys.path.insert(0, {repo!r})
from tests.unit.optional_packages_probe import HidingFinder
HIDDEN = {{"scipy", "numba"}}
HidingFinder.hidden = HIDDEN
sys.meta_path[:] = [HidingFinder(f) for f in sys.meta_path]
sys.argv = ["demo.py", "--out", {out!r}]
try:
    runpy.run_path({demo!r}, run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)}}))
"""


def test_demo_workflow_without_scipy_and_numba(tmp_path):
    pytest.importorskip("py_mini_racer")  # the offline sample pair the demo runs against
    out = tmp_path / "demo"
    code = DRIVER.format(repo=str(REPO), out=str(out), demo=str(REPO / "scripts" / "demo.py"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last == {"code": 0, "loaded": []}, proc.stdout[-3000:]
    [report_path] = out.glob("runs/*/compare/report.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["options"]["engine"] == "numpy"
    assert report["outputs"]["shift_corrected"] == "difference_shift_corrected.tif"
    assert report["shift"]["corrected_stats"]["n"] > 0
    assert "Diagnosis: " in proc.stdout and (out / "s2parity_demo_map.png").is_file()
