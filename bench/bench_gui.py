"""Benchmark: how smoothly the QGIS main thread runs while the dock compares (heartbeat gap percentiles).

Runs ``tests/qgis/test_dock_compare.py::test_gui_thread_never_stalls_during_a_run`` (the dock comparing the seed
against the sample pair in its own process, 300 ms latency per request, a 10 ms ``QTimer`` heartbeat on the main
thread) ``RUNS`` times in fresh pytest processes and reports percentiles of the gaps between heartbeats over all
runs. The test itself only asserts a generous bound (no gap over 500 ms) that a real defect would break; this
is where the fine numbers are measured. ``ideal`` is the timer interval: a gap equal to it means no stall at all.
``warm``: the compiled compare kernel loaded before the run (as the test does); ``cold``: the run's own kernel
preload imports numba meanwhile (the first comparison of a QGIS session; numba's import holds the GIL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/qgis/test_dock_compare.py::test_gui_thread_never_stalls_during_a_run"
RUNS = 3
INTERVAL_MS = 10


def _one(work_dir: Path, index: int, cold: bool) -> list[float]:
    log = work_dir / f"gaps-{index}.json"
    log.unlink(missing_ok=True)
    env = {**os.environ, "S2PARITY_STALL_LOG": str(log), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("S2PARITY_STALL_COLD", None)
    if cold:
        env["S2PARITY_STALL_COLD"] = "1"
    cmd = [sys.executable, "-m", "pytest", "--qgis_disable_gui", "-q", "-p", "no:cacheprovider", TEST]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if not log.is_file():
        raise RuntimeError(f"the stall test wrote no gaps (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    return json.loads(log.read_text(encoding="utf-8"))


def _percentiles(work_dir: Path, cold: bool) -> dict:
    gaps_ms = np.array([g * 1000.0 for i in range(RUNS) for g in _one(work_dir, i, cold)])
    p50, p95, p99, p999 = np.percentile(gaps_ms, [50, 95, 99, 99.9])
    return {
        "heartbeats": int(gaps_ms.size),
        "ideal_gap_ms": INTERVAL_MS,
        "gap_p50_ms": round(float(p50), 1),
        "gap_p95_ms": round(float(p95), 1),
        "gap_p99_ms": round(float(p99), 1),
        "gap_p999_ms": round(float(p999), 1),
        "gap_max_ms": round(float(gaps_ms.max()), 1),
        "gaps_over_50ms": int((gaps_ms > 50).sum()),
    }


def run(work_dir: Path) -> dict:
    return {"runs": RUNS, "warm": _percentiles(work_dir, False), "cold": _percentiles(work_dir, True)}
