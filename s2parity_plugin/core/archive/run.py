"""Run one archive comparison: both catalogs searched side by side, matched, summarised and explained."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from s2parity_plugin.core.archive.diagnosis import diagnose
from s2parity_plugin.core.archive.matching import DEFAULT_TOLERANCE_S, match_items
from s2parity_plugin.core.archive.query import ArchiveQuery
from s2parity_plugin.core.archive.search import CACHE, CatalogCache, SideListing, list_side
from s2parity_plugin.core.archive.timeline import ArchiveTimeline, row_for, summarise_periods
from s2parity_plugin.core.errors import FetchCancelled
from s2parity_plugin.core.service.endpoints import Endpoint

POLL_S = 0.1


def compare_catalogs(
    query: ArchiveQuery,
    endpoint_a: Endpoint,
    endpoint_b: Endpoint,
    *,
    proxies: dict[str, str] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    progress: Callable[[float], None] | None = None,
    cache: CatalogCache | None = CACHE,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> ArchiveTimeline:
    """Search both catalogs (two threads), match, build rows, periods and the diagnosis.

    ``progress(fraction)`` is called from the calling thread only (0–1, by chunks searched). Raises
    :class:`FetchCancelled` when ``is_cancelled()`` turns true; an unreachable side never raises (its listing is
    marked incomplete)."""
    cancel = threading.Event()
    chunks = len(query.chunks())
    done = {"A": 0, "B": 0}

    def on_chunk(side: str, count: int) -> None:
        done[side] = count

    geometry = query.search_geometry()  # once: pyproj builds its transformer holding the GIL
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="s2parity-catalog")
    try:
        futures = [
            pool.submit(
                list_side,
                side,
                ep,
                query,
                geometry=geometry,
                cache=cache,
                proxies=proxies,
                cancel=cancel,
                on_chunk=on_chunk,
            )
            for side, ep in (("A", endpoint_a), ("B", endpoint_b))
        ]
        while wait(futures, timeout=POLL_S).not_done:
            if is_cancelled is not None and is_cancelled():
                cancel.set()
                raise FetchCancelled("Cancelled while searching the catalogs.")
            if progress is not None:
                progress((done["A"] + done["B"]) / (2 * chunks))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    listing_a, listing_b = (f.result() for f in futures)
    return build_timeline(query, listing_a, listing_b, tolerance_s)


def build_timeline(
    query: ArchiveQuery, listing_a: SideListing, listing_b: SideListing, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> ArchiveTimeline:
    """Match two listings and summarise them (no network)."""
    rows = [row_for(pair) for pair in match_items(listing_a.items, listing_b.items, tolerance_s)]
    timeline = ArchiveTimeline(query, listing_a, listing_b, rows, summarise_periods(rows))
    timeline.diagnosis, timeline.statements = diagnose(timeline)
    return timeline
