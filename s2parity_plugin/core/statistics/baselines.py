"""Baselines per acquisition from ONE catalog search per side over the whole layer extent (not one per feature).

The catalog item ids are ESA product names; :func:`~s2parity_plugin.core.model.s2facts.parse_baseline` reads the
processing baseline from them. A statistics interval gets the baseline(s) of the acquisitions sensed in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.model.spec import Grid, Options, RequestSpec
from s2parity_plugin.core.service.catalog import search_acquisitions
from s2parity_plugin.core.service.endpoints import Endpoint, l2a_collection
from s2parity_plugin.core.service.session import ParityClient
from s2parity_plugin.core.statistics.requests import FeatureRequest, StatisticsSettings, time_range


@dataclass(frozen=True)
class Acquisition:
    """One catalog item: product id, sensing time (UTC) and its processing baseline (None when unreadable)."""

    product_id: str
    sensing: dt.datetime
    baseline: str | None


def extent_spec(requests: Sequence[FeatureRequest], settings: StatisticsSettings) -> RequestSpec:
    """A request spec over the union of all features' grids (what the one catalog search per side covers)."""
    grids = [r.grid for r in requests]
    minx = min(g.bounds[0] for g in grids)
    miny = min(g.bounds[1] for g in grids)
    maxx = max(g.bounds[2] for g in grids)
    maxy = max(g.bounds[3] for g in grids)
    res = grids[0].resolution_m
    grid = Grid(grids[0].epsg, minx, maxy, res, max(1, round((maxx - minx) / res)), max(1, round((maxy - miny) / res)))
    start, end = time_range(settings)
    aoi = {"type": "Polygon", "coordinates": [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]]}
    options = Options(max_cloud_coverage=settings.max_cloud_coverage)
    return RequestSpec(aoi, grid, start, end - dt.timedelta(seconds=1), "CUSTOM", "REFLECTANCE", "", options=options)


def acquisitions(items: Sequence[dict[str, Any]]) -> list[Acquisition]:
    """Catalog items (``{"id", "datetime"}``) → :class:`Acquisition` sorted by sensing time."""
    out = []
    for item in items:
        if not item.get("datetime"):
            continue
        pid = str(item.get("id", ""))
        out.append(Acquisition(pid, s2facts.parse_datetime(item["datetime"]), s2facts.parse_baseline(pid)))
    return sorted(out, key=lambda a: (a.sensing, a.product_id))


def search(spec: RequestSpec, endpoint: Endpoint, client: ParityClient) -> list[Acquisition]:
    """The one catalog search of one side."""
    items = search_acquisitions(spec, client.config, client, l2a_collection(endpoint.base_url))
    return acquisitions(items)


def baselines_in(acqs: Sequence[Acquisition], start: dt.datetime, end: dt.datetime) -> str:
    """Distinct baselines of the acquisitions sensed in ``[start, end)``, joined by ``/`` ('' when none)."""
    seen = sorted({a.baseline for a in acqs if start <= a.sensing < end and a.baseline})
    return "/".join(seen)
