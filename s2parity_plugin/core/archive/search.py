"""One endpoint's catalog listing for an :class:`~.query.ArchiveQuery`, searched chunk by chunk and cached.

Searches use the official ``SentinelHubCatalog`` with the run's
:class:`~s2parity_plugin.core.service.session.ParityClient`
(proxies, cancellation, one token, sentinelhub-py's own 429 handling with ``Retry-After``); its iterator follows the
``next`` token of each page (100 items a page). Each (endpoint, AOI, chunk, cloud limit) answer is kept in a
process-wide :class:`CatalogCache`, so checking the same area again, or a longer period that contains it, only asks
for what is new. A side that cannot be reached returns what it listed so far, marked incomplete, with the reason.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sentinelhub import CRS, Geometry, SentinelHubCatalog
from shapely.geometry.base import BaseGeometry

from s2parity_plugin.core.archive.query import ArchiveQuery
from s2parity_plugin.core.errors import FetchCancelled
from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.service.endpoints import Endpoint, l2a_collection, sh_config
from s2parity_plugin.core.service.session import ParityClient, ParitySession

PAGE_LIMIT = 100
#: Chunks ending this close to today may still grow (new acquisitions): their cache entries expire.
RECENT_DAYS = 3
RECENT_TTL_S = 3600.0


@dataclass(frozen=True)
class CatalogItem:
    """One catalog item as the matching needs it. ``sensing`` is the item's ``properties.datetime`` (UTC);
    ``tile``, ``relative_orbit`` and ``baseline`` come from the product id (either id form)."""

    id: str
    sensing: dt.datetime
    cloud_cover: float | None
    tile: str | None
    relative_orbit: int | None
    baseline: str | None

    @classmethod
    def from_feature(cls, feature: dict[str, Any]) -> CatalogItem:
        props = feature.get("properties") or {}
        item_id = str(feature.get("id", ""))
        parsed = s2facts.parse_product_id(item_id)
        when = props.get("datetime") or _sensing_from_id(parsed["sensing"])
        cc = props.get("eo:cloud_cover")
        return cls(
            item_id,
            s2facts.parse_datetime(when),
            None if cc is None else float(cc),
            parsed["tile"],
            parsed["relative_orbit"],
            parsed["baseline"],
        )


def _sensing_from_id(stamp: str | int | None) -> str:
    if not stamp:
        raise ValueError("catalog item without datetime or sensing time in its id")
    s = str(stamp)
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"


@dataclass
class SideListing:
    """What one endpoint listed: items sorted by sensing time; ``complete`` False with ``error`` when a search
    failed (the items are then those of the chunks that succeeded); ``requests`` catalog requests sent."""

    side: str
    endpoint_id: str
    base_url: str
    items: list[CatalogItem] = field(default_factory=list)
    complete: bool = True
    error: str | None = None
    requests: int = 0
    cached_chunks: int = 0


class CatalogCache:
    """Thread-safe answers per (endpoint base URL, client id, AOI, chunk, cloud limit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[float, list[CatalogItem]]] = {}

    def get(self, key: tuple, chunk_end: dt.date) -> list[CatalogItem] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        stored, items = entry
        recent = chunk_end >= dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=RECENT_DAYS)
        if recent and time.time() - stored > RECENT_TTL_S:
            return None
        return list(items)

    def put(self, key: tuple, items: list[CatalogItem]) -> None:
        with self._lock:
            self._entries[key] = (time.time(), list(items))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The process-wide cache (the dock and Processing runs of one QGIS session share it).
CACHE = CatalogCache()


def list_side(
    side: str,
    endpoint: Endpoint,
    query: ArchiveQuery,
    *,
    geometry: BaseGeometry | None = None,
    cache: CatalogCache | None = CACHE,
    proxies: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
    on_chunk: Callable[[str, int], None] | None = None,
) -> SideListing:
    """All catalog items of ``endpoint`` over the query's AOI (``geometry``: its WGS 84 search geometry, computed
    once by the caller; else here) and period, chunk by chunk; the endpoint is contacted only for chunks the cache
    does not hold.

    Never raises for an unreachable or failing endpoint: the listing comes back incomplete with the reason in
    ``error``. Raises :class:`FetchCancelled` when ``cancel`` is set. ``on_chunk(side, done_chunks)`` reports
    progress."""
    listing = SideListing(side, endpoint.profile_id, endpoint.base_url)
    geometry = geometry if geometry is not None else query.search_geometry()
    cancel = cancel or threading.Event()
    connection = _Connection(endpoint, proxies, cancel)
    for done, (start, end) in enumerate(query.chunks(), start=1):
        if cancel.is_set():
            raise FetchCancelled("Cancelled while searching the catalogs.")
        try:
            listing.items.extend(_chunk_items(connection, listing, cache, geometry, query, start, end))
        except FetchCancelled:
            raise
        except Exception as exc:  # the other side's list is still wanted: this one is marked incomplete
            if cancel.is_set():
                raise FetchCancelled("Cancelled while searching the catalogs.") from exc
            return _failed(listing, exc, endpoint)
        if on_chunk is not None:
            on_chunk(side, done)
    listing.items.sort(key=lambda item: (item.sensing, item.id))
    return listing


class _Connection:
    """The endpoint's catalog and client, made (token fetched) on first use only."""

    def __init__(self, endpoint: Endpoint, proxies: dict[str, str] | None, cancel: threading.Event) -> None:
        self.endpoint, self.proxies, self.cancel = endpoint, proxies, cancel
        self.catalog: SentinelHubCatalog | None = None
        self.client: ParityClient | None = None

    @property
    def request_count(self) -> int:
        """Catalog requests sent so far (the token request not included)."""
        return self.client.request_count if self.client is not None else 0

    def open(self) -> SentinelHubCatalog:
        if self.catalog is None:
            config = sh_config(self.endpoint)
            session = ParitySession(
                config, proxies=self.proxies, endpoint_id=self.endpoint.profile_id, cancel=self.cancel
            )
            self.client = ParityClient(config, session, proxies=self.proxies, cancel=self.cancel)
            self.catalog = SentinelHubCatalog(config=config)
            self.catalog.client = self.client
        return self.catalog


def _chunk_items(
    connection: _Connection,
    listing: SideListing,
    cache: CatalogCache | None,
    geometry: BaseGeometry,
    query: ArchiveQuery,
    start: dt.date,
    end: dt.date,
) -> list[CatalogItem]:
    """One chunk's items, from the cache or the catalog (counting the catalog requests in ``listing``)."""
    endpoint = connection.endpoint
    key = (endpoint.base_url, endpoint.credentials.client_id, geometry.wkb_hex, start, end, query.max_cloud_coverage)
    items = cache.get(key, end) if cache is not None else None
    if items is not None:
        listing.cached_chunks += 1
        return items
    before = connection.request_count
    try:
        items = _search_chunk(connection.open(), endpoint, geometry, start, end, query.max_cloud_coverage)
    finally:
        listing.requests += connection.request_count - before
    if cache is not None:
        cache.put(key, items)
    return items


def _search_chunk(
    catalog: SentinelHubCatalog, endpoint: Endpoint, geometry: Any, start: dt.date, end: dt.date, max_cc: float
) -> list[CatalogItem]:
    t0 = dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc)
    t1 = dt.datetime(end.year, end.month, end.day, 23, 59, 59, tzinfo=dt.timezone.utc)
    search = catalog.search(
        l2a_collection(endpoint.base_url),
        time=(t0, t1),
        geometry=Geometry(geometry, CRS.WGS84),
        filter=f"eo:cloud_cover <= {max_cc:g}" if max_cc < 100 else None,
        limit=PAGE_LIMIT,
    )
    return [CatalogItem.from_feature(feature) for feature in search]


def _failed(listing: SideListing, exc: BaseException, endpoint: Endpoint) -> SideListing:
    from s2parity_plugin.core.fetch.pipeline import map_exception

    mapped = map_exception(exc, endpoint)
    listing.complete = False
    listing.error = str(mapped) or type(exc).__name__
    listing.items.sort(key=lambda item: (item.sensing, item.id))
    return listing
