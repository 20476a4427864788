"""Benchmark: concurrency of ``fetch_pair`` — 2 endpoints × 16 tiles with 300 ms injected latency per request.

Measures wall time of the whole fetch against the sum of the injected latencies of every HTTP request it made
(token, catalog, process; counted from the sample endpoints' request log). ``speedup`` = sum of latencies / wall
time (how many requests were in flight on average); ``efficiency`` = speedup / (2 × max_workers), the share of the
ideal overlap. A sequential reference (1 worker per endpoint) is run in the same process for comparison.

Retry robustness (``retry``): the share of 16-tile runs (per side) that finish when 10 % and 30 % of API attempts
are answered 500/503. Each run uses its own seeded fault schedule (the outcome of every attempt is fixed by seed,
request and attempt number, see ``sample_endpoints.faults``), so the figure is reproducible. Retries use the
production policy (exponential backoff with jitter, per-request deadline) with its waits scaled down
(``RETRY_SCALE``) so the bench takes seconds; ``attempts_per_request`` shows how hard the retries worked. The old
client (3 attempts within ≈ 2 s) finished 7 of 15 such runs at 30 %.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from shapely.geometry import box

from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair
from s2parity_plugin.core.model.spec import GridChoice, Preset, build_spec
from s2parity_plugin.core.model.tiling import split_grid
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint
from s2parity_plugin.core.service.retry import DEFAULT_DEADLINE_S, RetryPolicy

LATENCY_S = 0.3
TILE_PX = 32
ERROR_RATES = (0.10, 0.30)
RETRY_RUNS = 20
RETRY_SCALE = 0.02  # production waits × this (backoff 1 s → 20 ms; deadline 300 s → 6 s)
SCALED = RetryPolicy(
    deadline_s=DEFAULT_DEADLINE_S * RETRY_SCALE, backoff_initial_s=1.0 * RETRY_SCALE, backoff_max_s=30.0 * RETRY_SCALE
)


def _endpoints(info: dict) -> tuple[Endpoint, Endpoint]:
    def ep(pid: str, key: str) -> Endpoint:
        i = info[key]
        return Endpoint(pid, i["base_url"], i["token_url"], Credentials(i["client_id"], i["client_secret"]))

    return ep("sample-sh", "sh"), ep("sample-cdse", "cdse")


def _one(eps, spec, a, b, work: Path, workers: int, name: str) -> dict:
    start = len(eps.request_log)
    t0 = time.perf_counter()
    run = fetch_pair(spec, a, b, work, run_name=name, options=FetchOptions(max_tile_px=TILE_PX, max_workers=workers))
    wall = time.perf_counter() - t0
    log = eps.request_log[start:]
    sum_latency = len(log) * LATENCY_S
    shutil.rmtree(run, ignore_errors=True)
    speedup = sum_latency / wall
    return {
        "max_workers": workers,
        "wall_s": round(wall, 3),
        "requests": len(log),
        "process_requests": sum(1 for r in log if r[2].endswith("/process")),
        "sum_latency_s": round(sum_latency, 3),
        "speedup": round(speedup, 2),
        "efficiency": round(speedup / (2 * workers), 3),
    }


def _retry_share(eps, spec, a, b, work: Path, error_rate: float) -> dict:
    finished, attempts, requests = 0, 0, 0
    for seed in range(RETRY_RUNS):
        for dep in ("sh", "cdse"):
            eps.set_faults(dep, error_rate=error_rate, seed=1000 * seed + (dep == "cdse"))
        try:
            run = fetch_pair(
                spec, a, b, work, run_name=f"retry-{seed}", options=FetchOptions(max_tile_px=TILE_PX, retry=SCALED)
            )
        except Exception:  # a run that did not finish: counted, its partial folder removed
            pass
        else:
            finished += 1
            shutil.rmtree(run, ignore_errors=True)
        for dep in ("sh", "cdse"):
            per_request = eps.deployments[dep].faults.attempts_by_request()
            attempts += sum(len(v) for v in per_request.values())
            requests += len(per_request)
        for leftover in work.glob(".partial-retry-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    eps.clear_faults()
    return {
        "error_rate": error_rate,
        "runs": RETRY_RUNS,
        "finished": finished,
        "share_finished": round(finished / RETRY_RUNS, 3),
        "attempts_per_request": round(attempts / max(requests, 1), 3),
    }


def run(work_dir: Path) -> dict:
    from s2parity_plugin.sample_endpoints import SampleEndpoints

    eps = SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0).start()
    try:
        a, b = _endpoints(eps.info)
        # 4 × 4 tiles of 32 px at 10 m: a 1280 m square on the UTM 33N lattice
        x0, y0 = 437840.0, 4521440.0
        aoi = box(x0, y0, x0 + 4 * TILE_PX * 10, y0 + 4 * TILE_PX * 10)
        spec = build_spec(
            aoi, 32633, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04"), grid=GridChoice(crs_epsg=32633)
        )
        tiles = len(split_grid(spec.grid, TILE_PX))
        assert tiles == 16, tiles
        _one(eps, spec, a, b, work_dir, 4, "warmup")  # V8/GDAL warm-up, no latency
        no_latency = _one(eps, spec, a, b, work_dir, 4, "no-latency")  # the sample server's own processing time
        for dep in ("sh", "cdse"):
            eps.set_faults(dep, latency_s=LATENCY_S)
        parallel = _one(eps, spec, a, b, work_dir, 4, "parallel")
        sequential = _one(eps, spec, a, b, work_dir, 1, "sequential")
        eps.clear_faults()
        retry = [_retry_share(eps, spec, a, b, work_dir, rate) for rate in ERROR_RATES]
        return {
            "retry": retry,
            "tiles_per_side": tiles,
            "latency_s": LATENCY_S,
            "parallel": parallel,
            "parallel_without_latency_wall_s": no_latency["wall_s"],
            # lower bound with 4 workers/endpoint: token+catalog (2 sequential requests) + ceil(16 / 4) tile rounds
            "ideal_wall_s": round((2 + 4) * LATENCY_S, 3),
            "sequential_reference": sequential,
            "speedup_vs_sequential": round(sequential["wall_s"] / parallel["wall_s"], 2),
        }
    finally:
        eps.clear_faults()
        eps.stop()
