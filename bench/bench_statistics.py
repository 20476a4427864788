"""Statistics parity at region scale: 1,000 grid cells × 3 months against the local sample pair under a simulated
300 requests/min (and 300 PU/min) budget per endpoint.

The sample pair enforces the budget itself (a sliding one-minute window answering 429 with Retry-After in ms,
:class:`s2parity_plugin.sample_endpoints.statistical_api.StatisticsFaults`) and the plugin's limiter paces the
requests (:class:`s2parity_plugin.core.service.rate_limit.RateLimiter`). Time is scaled on both sides: one budget second
lasts ``scale`` real seconds. The sample pair renders every interval of every request on this machine's CPUs
(≈ 0.2–0.6 s of CPU per request), so on a small shared machine it answers *slower* than 300 requests/min per
side: measuring the limiter then needs a budget the service can keep up with, i.e. a *slower* clock. Unless
``S2P_BENCH_STATS_TIME_SCALE`` is set, :func:`calibrate` first measures the pair's unbudgeted rate on 30 other
cells and picks ``scale`` so that the scaled budget asks 1/1.3 of it (both numbers are reported). The interval is
P3M (one mosaic per request; ``S2P_BENCH_STATS_INTERVAL``), again to keep the pair's rendering off the critical path.

Reported: ``statistics_budget_efficiency`` = the budget's lower bound on wall time (requests / budget, both sides in
parallel) ÷ our wall time (goal ≥ 0.9), wall time, requests, 429s absorbed, PU, and the process's peak RSS (the
in-process sample pair included).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import time
from pathlib import Path

from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES
from s2parity_plugin.core.service.endpoints import resolve_endpoint
from s2parity_plugin.core.service.rate_limit import Budget, RateLimiter
from s2parity_plugin.core.statistics import evalscripts, intervals
from s2parity_plugin.core.statistics.job import StatisticsJob, prepare, run_job
from s2parity_plugin.core.statistics.requests import StatisticsSettings
from s2parity_plugin.core.statistics.runner import RunControl, Side
from s2parity_plugin.sample_endpoints import profiles, statistical_api
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

N_CELLS = int(os.environ.get("S2P_BENCH_STATS_CELLS", "1000"))
CELL_M = 100.0  # 10 × 10 px at 10 m
GRID_COLS = 40
X0, Y0 = 4681000.0, 1981000.0  # seed area, EPSG:3035
DATE_FROM, DATE_TO = dt.date(2020, 9, 1), dt.date(2020, 11, 30)
INTERVAL = os.environ.get("S2P_BENCH_STATS_INTERVAL", "P3M")  # see the module docstring
BUDGET = Budget(requests_per_minute=300.0, pu_per_minute=300.0)
TIME_SCALE = os.environ.get("S2P_BENCH_STATS_TIME_SCALE")  # None: calibrated (see calibrate())
CALIBRATION_CELLS = 30
CALIBRATION_MARGIN = 1.3  # the scaled budget asks 1/1.3 of what the sample pair answered per second


def cells(n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        x, y = X0 + (i % GRID_COLS) * CELL_M, Y0 + (i // GRID_COLS) * CELL_M
        ring = f"{x} {y},{x + CELL_M} {y},{x + CELL_M} {y + CELL_M},{x} {y + CELL_M},{x} {y}"
        out.append((f"cell{i:04d}", f"POLYGON(({ring}))"))
    return out


def settings() -> StatisticsSettings:
    utc = dt.timezone.utc
    return StatisticsSettings(
        date_from=dt.datetime.combine(DATE_FROM, dt.time(0, 0), tzinfo=utc),
        date_to=dt.datetime.combine(DATE_TO, dt.time(23, 59, 59), tzinfo=utc),
        interval=intervals.parse_interval(INTERVAL),
        evalscript=evalscripts.preset_evalscript("NDVI", DEFAULT_INVALID_CLASSES),
        input_bands=evalscripts.input_band_count("NDVI"),
    )


def make_job(features: list[tuple[str, str]], folder: Path, budget: Budget) -> StatisticsJob:
    profiles.register()  # the offline pair's profiles, as the QGIS provider registers them
    return StatisticsJob(
        features=features,
        layer_epsg=3035,
        settings=settings(),
        side_a=Side("A", resolve_endpoint("sample-sh"), budget),
        side_b=Side("B", resolve_endpoint("sample-cdse"), budget),
        folder=folder,
    )


def calibrate(work_dir: Path) -> tuple[float, float]:
    """(time scale, requests/s per side the sample pair answered without a budget) from CALIBRATION_CELLS cells
    beside the benchmark grid: the scale makes the budget's request rate 1/CALIBRATION_MARGIN of that."""
    far = [(f"cal{i}", wkt.replace(f"{Y0}", f"{Y0 - 2000.0}")) for i, (_, wkt) in enumerate(cells(CALIBRATION_CELLS))]
    free = Budget(None, None)
    t0 = time.monotonic()
    run_job(make_job(far, work_dir / "calibration", free))
    rate = CALIBRATION_CELLS / (time.monotonic() - t0)
    budget_rate = BUDGET.requests_per_minute / 60.0
    return max(0.05, CALIBRATION_MARGIN * budget_rate / rate), rate


def run(work_dir: Path) -> dict:
    eps = sample_endpoints()
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    scale, measured_rate = (float(TIME_SCALE), None) if TIME_SCALE else calibrate(work_dir)
    t_origin = time.monotonic()

    def budget_clock() -> float:  # budget seconds
        return (time.monotonic() - t_origin) / scale

    for name in ("sh", "cdse"):
        statistical_api.configure(
            eps,
            name,
            statistical_api.StatisticsFaults(
                requests_per_minute=BUDGET.requests_per_minute, pu_per_minute=BUDGET.pu_per_minute, clock=budget_clock
            ),
        )
    job = make_job(cells(N_CELLS), work_dir / "run", BUDGET)
    requests = prepare(job)
    log_start = len(eps.request_log)
    t0 = time.monotonic()
    outcome = run_job(job, requests, RunControl(limiter_factory=lambda b: RateLimiter(b, time_scale=scale)))
    wall_s = time.monotonic() - t0
    for name in ("sh", "cdse"):
        statistical_api.configure(eps, name, None)
    log = [e for e in eps.request_log[log_start:] if e[2].endswith("/statistics")]
    spent = outcome.result.pu_spent
    lower_s = max(BUDGET.lower_bound_s(len(requests), spent[s]) for s in spent) * scale
    return {
        "cells": N_CELLS,
        "interval": INTERVAL,
        "dates": f"{DATE_FROM}..{DATE_TO}",
        "budget_requests_per_minute": BUDGET.requests_per_minute,
        "budget_pu_per_minute": BUDGET.pu_per_minute,
        "time_scale_real_s_per_budget_s": round(scale, 3),
        "sample_pair_unbudgeted_requests_per_s_per_side": round(measured_rate, 2) if measured_rate else None,
        "wall_s": round(wall_s, 2),
        "budget_lower_bound_s": round(lower_s, 2),
        "statistics_budget_efficiency": round(lower_s / wall_s, 3),
        "requests_ok": sum(1 for e in log if e[3] == 200),
        "responses_429_absorbed": sum(1 for e in log if e[3] == 429),
        "features_failed": len(outcome.result.failures),
        "rows": len(outcome.rows),
        "pu_spent": {k: round(v, 2) for k, v in spent.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
