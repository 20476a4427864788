"""What an archive comparison asks: the AOI, the period and the cloud limit, checked, in yearly chunks.

The AOI arrives as WKT in its own CRS (an EPSG code or a WKT CRS, as ``adapters.aoi.aoi_from_layer`` gives it);
catalogs are searched in WGS 84 (longitude/latitude, degrees). Periods are calendar dates (UTC), both inclusive.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from pyproj import CRS, Transformer
from shapely import wkt as shapely_wkt
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shapely_transform

from s2parity_plugin.core.errors import AoiError, DateRangeError

#: Periods longer than this are allowed; the caller shows the number of catalog requests first.
LONG_PERIOD_YEARS = 10.0
#: Sentinel-2A's first acquisitions (earlier dates hold nothing).
SENTINEL2_START = dt.date(2015, 6, 23)
#: An AOI geometry with more vertices than this is searched by its convex hull (catalog request bodies stay small).
MAX_SEARCH_VERTICES = 500
DAYS_PER_YEAR = 365.25
#: Sentinel-2A + 2B revisit one tile from one relative orbit every 5 days (≈ 73 a year; tiles in the overlap of two
#: orbits get twice that).
ACQUISITIONS_PER_TILE_YEAR = 73


@dataclass(frozen=True)
class ArchiveQuery:
    """One archive comparison: AOI (``aoi_wkt`` in ``aoi_crs``), dates (UTC, inclusive), cloud limit in percent.

    ``use_extent``: search the AOI's bounding box (its extent in its CRS) instead of its polygons."""

    aoi_wkt: str
    aoi_crs: str
    date_from: dt.date
    date_to: dt.date
    max_cloud_coverage: float = 100.0
    use_extent: bool = False

    @property
    def days(self) -> int:
        """Number of days in the period (both ends included)."""
        return (self.date_to - self.date_from).days + 1

    @property
    def years(self) -> float:
        return self.days / DAYS_PER_YEAR

    @property
    def is_long(self) -> bool:
        """True for a period over :data:`LONG_PERIOD_YEARS` (allowed; announce the request count first)."""
        return self.years > LONG_PERIOD_YEARS

    def chunks(self) -> list[tuple[dt.date, dt.date]]:
        """The period cut at calendar years: one catalog search (and one cache entry) per chunk and endpoint."""
        out, start = [], self.date_from
        while start <= self.date_to:
            end = min(dt.date(start.year, 12, 31), self.date_to)
            out.append((start, end))
            start = end + dt.timedelta(days=1)
        return out

    def request_estimate(self, endpoints: int = 2, items_per_page: int = 100, tiles: int = 2) -> int:
        """Catalog requests this query needs at least: one per chunk and endpoint, plus further pages where a year
        over ``tiles`` tiles (≈ 73 acquisitions per tile, orbit and year) exceeds ``items_per_page`` items."""
        pages = 0
        for start, end in self.chunks():
            items = ACQUISITIONS_PER_TILE_YEAR * tiles * ((end - start).days + 1) / DAYS_PER_YEAR
            pages += max(1, math.ceil(items / items_per_page))
        return endpoints * pages

    def search_geometry(self) -> BaseGeometry:
        """The AOI in WGS 84 (lon/lat degrees) as sent to the catalogs: its polygons, or its bounding box with
        ``use_extent``; the convex hull when it has more than :data:`MAX_SEARCH_VERTICES` vertices."""
        geom = shapely_wkt.loads(self.aoi_wkt)
        if self.use_extent:
            geom = box(*geom.bounds)
        to_wgs84 = Transformer.from_crs(CRS.from_user_input(self.aoi_crs), CRS.from_epsg(4326), always_xy=True)
        geom = shapely_transform(to_wgs84.transform, geom)
        if _vertex_count(geom) > MAX_SEARCH_VERTICES:
            geom = geom.convex_hull
        return geom

    def to_dict(self) -> dict:
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "max_cloud_coverage": self.max_cloud_coverage,
            "aoi_crs": self.aoi_crs if len(self.aoi_crs) < 40 else "(WKT)",
            "use_extent": self.use_extent,
        }


def _vertex_count(geom: BaseGeometry) -> int:
    if hasattr(geom, "geoms"):
        return sum(_vertex_count(g) for g in geom.geoms)
    if hasattr(geom, "exterior"):
        return len(geom.exterior.coords) + sum(len(r.coords) for r in geom.interiors)
    return len(getattr(geom, "coords", []))


def build_query(
    aoi_wkt: str,
    aoi_crs: str,
    date_from: str | dt.date,
    date_to: str | dt.date,
    max_cloud_coverage: float = 100.0,
    use_extent: bool = False,
) -> ArchiveQuery:
    """A checked :class:`ArchiveQuery`; bad input raises :class:`DateRangeError` / :class:`AoiError` with what to
    change (an empty or reversed period, a date that is not ``YYYY-MM-DD``, an empty AOI, a cloud limit outside
    0–100)."""
    start, end = _date(date_from, "start"), _date(date_to, "end")
    if end < start:
        raise DateRangeError(
            f"The period is reversed: it ends on {end} before it starts on {start}. Swap the start and end dates."
        )
    if end < SENTINEL2_START:
        raise DateRangeError(f"The period ends on {end}, before Sentinel-2's first acquisitions ({SENTINEL2_START}).")
    if not 0.0 <= float(max_cloud_coverage) <= 100.0:
        raise DateRangeError(f"The cloud limit {max_cloud_coverage} is not a percentage: give 0–100.")
    if not aoi_wkt or shapely_wkt.loads(aoi_wkt).is_empty:
        raise AoiError("The AOI is empty: choose a layer with at least one polygon.")
    return ArchiveQuery(aoi_wkt, aoi_crs, start, end, float(max_cloud_coverage), use_extent)


def _date(value: str | dt.date, which: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        raise DateRangeError(f"The {which} date is empty: give it as YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise DateRangeError(f"The {which} date {text!r} is not a date: give it as YYYY-MM-DD.") from None
