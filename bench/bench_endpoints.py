"""Benchmark of the local sample endpoints (``s2parity_plugin.sample_endpoints``).

Measured in this process (one request at a time, so one core does the work; numbers are medians):

* ``evalscript_seed_orbit_505x447_ms``: ``evaluatePixel`` of the seed ORBIT evalscript (B04 + SCL, first valid
  acquisition) over 505 x 447 px, one acquisition, inside V8 (bulk typed-array in/out; setup/compile excluded).
* ``evalscript_setup_ms``: creating the V8 context, compiling the script and running ``setup()``.
* ``evalscript_mpx_per_s``: megapixels per second of that evaluation (505 * 447 / time).
* ``render_seed_ms``: scene generation (B04 10 m + SCL 20 m + dataMask) for the seed grid on the "sh" side, caches
  cleared (cold).
* ``seed_requests_per_s``: the seed request (EPSG:3035 bbox, resx/resy 10 m -> 505 x 447, tar with two GeoTIFFs
  and userdata) POSTed with ``requests`` to the in-process server, alternating "sh"/"cdse", sequentially, with the
  render cache cleared before each request (cold: scene generation + V8 + encoding); ``seed_request_ms`` per request.
* ``seed_requests_per_s_cached``: the same request repeated (scene renders memoised, as for client retries).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "tests" / "unit"):  # the plugin, and the sample-pair test helpers
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(work_dir: Path) -> dict:
    import requests
    import sample_endpoints_support as sup

    from s2parity_plugin.sample_endpoints import SampleEndpoints, process_api
    from s2parity_plugin.sample_endpoints import scene_generator as sg
    from s2parity_plugin.sample_endpoints.evalscript_engine import EvalscriptRun

    seed = json.loads((REPO / "tests" / "data" / "seed_request.json").read_text())
    evalscript = seed["evalscript"]
    w, h = 505, 447
    n = w * h
    bands, ctx = sup.seed_orbit_inputs(n)

    setup_s = _median_time(lambda: EvalscriptRun(evalscript).close(), 5)
    with EvalscriptRun(evalscript) as run_:
        run_.evaluate(bands, n, ctx)  # warm-up (JIT)
        eval_s = _median_time(lambda: run_.evaluate(bands, n, ctx), 7)

    bbox = seed["input"]["bounds"]["bbox"]
    xs = bbox[0] + (np.arange(w) + 0.5) * (bbox[2] - bbox[0]) / w
    ys = bbox[3] - (np.arange(h) + 0.5) * (bbox[3] - bbox[1]) / h
    gx, gy = np.meshgrid(xs, ys)
    src = sg.SyntheticSceneSource()
    utc = dt.timezone.utc
    acq = sg.acquisitions_for_tile(
        sg.tile_for_lonlat(14.29, 40.86), dt.datetime(2020, 10, 4, tzinfo=utc), dt.datetime(2020, 10, 5, tzinfo=utc)
    )[0]

    def cold_render() -> None:
        sg.clear_caches()
        src.render(acq, "sh", ["B04", "SCL", "dataMask"], sg.PixelPoints(gx.ravel(), gy.ravel(), "EPSG:3035"))

    render_s = _median_time(cold_render, 3)

    body = json.loads(json.dumps(seed))
    del body["output"]["width"], body["output"]["height"]
    body["output"]["resx"] = body["output"]["resy"] = 10.0
    n_req = 10
    with SampleEndpoints() as eps:
        auth = {dep: sup.bearer(eps.info, dep) for dep in ("sh", "cdse")}
        session = requests.Session()

        def one(i: int) -> None:
            dep = ("sh", "cdse")[i % 2]
            r = session.post(
                eps.info[dep]["base_url"] + "/api/v1/process",
                json=body,
                headers=auth[dep],
                timeout=60,
            )
            r.raise_for_status()

        one(0)
        total = 0.0
        for i in range(n_req):
            process_api.clear_render_cache()
            t0 = time.perf_counter()
            one(i)
            total += time.perf_counter() - t0
        one(0)
        one(1)
        t0 = time.perf_counter()
        for i in range(n_req):
            one(i)
        total_cached = time.perf_counter() - t0
        session.close()

    return {
        "evalscript_seed_orbit_505x447_ms": round(eval_s * 1000, 1),
        "evalscript_setup_ms": round(setup_s * 1000, 1),
        "evalscript_mpx_per_s": round(n / eval_s / 1e6, 2),
        "render_seed_ms": round(render_s * 1000, 1),
        "seed_requests_per_s": round(n_req / total, 2),
        "seed_request_ms": round(total / n_req * 1000, 1),
        "seed_requests_per_s_cached": round(n_req / total_cached, 2),
    }


if __name__ == "__main__":
    print(json.dumps(run(Path()), indent=2))
