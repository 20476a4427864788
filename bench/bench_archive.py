"""Benchmark of the archive parity timeline (``core.archive``) against the local sample pair over real HTTP.

The seed AOI, 2019-01-01..2024-12-31 (six yearly searches per endpoint, both endpoints in parallel), medians of
``REPEAT`` runs in this process:

* ``six_years_cold_s``: emulator caches cleared (its per-acquisition cloud cover is recomputed) and the plugin's
  catalog cache empty — a first check of an area;
* ``six_years_server_warm_s``: the plugin's cache empty, the emulator's warm (token + catalog HTTP + matching +
  periods: what the plugin itself costs);
* ``six_years_cached_s``: the same query again with the plugin's cache (no catalog request);
* ``acquisitions``, ``catalog_requests``: rows in the timeline and catalog requests of one uncached run (both sides).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

REPEAT = 3


def run(work_dir: Path) -> dict:
    from s2parity_plugin.core.archive import compare_catalogs
    from s2parity_plugin.core.archive.query import build_query
    from s2parity_plugin.core.archive.search import CatalogCache
    from s2parity_plugin.core.model.seed import seed_aoi_wkt
    from s2parity_plugin.sample_endpoints import SampleEndpoints
    from s2parity_plugin.sample_endpoints import scene_generator as sg
    from tests.unit.sample_pair import pair_endpoints

    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2019-01-01", "2024-12-31")
    with SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0) as eps:
        a, b = pair_endpoints(eps.info)

        def timed(clear_server: bool, cache: CatalogCache) -> tuple[float, object]:
            if clear_server:
                sg.clear_caches()
                sg._cloud_cover_cached.cache_clear()
            t0 = time.perf_counter()
            timeline = compare_catalogs(query, a, b, cache=cache)
            return time.perf_counter() - t0, timeline

        cold = [timed(True, CatalogCache())[0] for _ in range(REPEAT)]
        warm_runs = [timed(False, CatalogCache()) for _ in range(REPEAT)]
        shared = CatalogCache()
        timed(False, shared)
        cached = [timed(False, shared)[0] for _ in range(REPEAT)]
    timeline = warm_runs[0][1]
    return {
        "six_years_cold_s": round(statistics.median(cold), 3),
        "six_years_server_warm_s": round(statistics.median(t for t, _ in warm_runs), 3),
        "six_years_cached_s": round(statistics.median(cached), 4),
        "acquisitions": len(timeline.rows),
        "catalog_requests": timeline.listing_a.requests + timeline.listing_b.requests,
    }
