"""One Statistical API request per feature, covering the whole date range, identical for both sides.

Every feature is reprojected to one request CRS (default: the UTM zone of the whole layer's centroid) and snapped
outward to the shared lattice of :func:`~s2parity_plugin.core.model.spec.snap_grid` at ``resolution_m``; the request
sends that grid's bbox, the feature polygon as ``geometry`` (pixels outside it get dataMask 0) and
``width``/``height`` in pixels (never ``resx``/``resy``, which the two services might round differently).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import unary_union

from s2parity_plugin.core.errors import AoiError
from s2parity_plugin.core.model.spec import Grid, geojson, parse_geometry, reproject, request_epsg_for, snap_grid
from s2parity_plugin.core.statistics.intervals import Interval, split

PU_AREA_PX = 512 * 512  # Overview_ProcessingUnit.qmd: 1 PU = 512 × 512 px, 3 input bands, one sample
PU_BANDS = 3
MIN_AREA_FACTOR = 0.01
MIN_REQUEST_PU = 0.01  # minimal cost of a Statistical API request
MAX_GRID_PX = 2500  # width/height limit of the API


@dataclass(frozen=True)
class StatisticsSettings:
    """What every request shares: dates (UTC, ``date_to`` inclusive), interval, evalscript, grid, filters."""

    date_from: dt.datetime
    date_to: dt.datetime
    interval: Interval
    evalscript: str
    input_bands: int
    resolution_m: float = 10.0
    epsg: int | None = None
    max_cloud_coverage: float = 100.0
    mosaicking_order: str = "mostRecent"
    harmonize_values: bool = True


@dataclass(frozen=True)
class FeatureRequest:
    """The request of one feature: its id, grid and body (JSON-able, the same for both sides)."""

    feature_id: str
    grid: Grid
    body: dict[str, Any] = field(hash=False)

    def key(self) -> str:
        """Canonical JSON of the body (what the cache hashes together with the endpoint identity)."""
        return json.dumps(self.body, sort_keys=True, separators=(",", ":"))


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_epsg(geometries: Sequence[Polygon | MultiPolygon], layer_epsg: int | str) -> int:
    """The request CRS for a whole layer: the UTM zone of the centroid of all features' envelope."""
    envelope = box(*unary_union([g.envelope for g in geometries]).bounds)
    return request_epsg_for(envelope, layer_epsg)


def time_range(settings: StatisticsSettings) -> tuple[dt.datetime, dt.datetime]:
    """``timeRange`` sent: from ``date_from`` 00:00 to the day after ``date_to`` 00:00, so P1D intervals are whole
    days and the last day is included."""
    start = settings.date_from.replace(hour=0, minute=0, second=0, microsecond=0)
    end = settings.date_to.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return start, end


def build_body(geom: Polygon | MultiPolygon, grid: Grid, settings: StatisticsSettings) -> dict[str, Any]:
    """The Statistical API body (OpenAPI ``StatisticalRequest``) of one feature already in the grid CRS."""
    start, end = time_range(settings)
    data_filter: dict[str, Any] = {"mosaickingOrder": settings.mosaicking_order}
    if settings.max_cloud_coverage < 100:
        data_filter["maxCloudCoverage"] = settings.max_cloud_coverage
    return {
        "input": {
            "bounds": {"bbox": list(grid.bounds), "geometry": geojson(geom), "properties": {"crs": grid.opengis_crs}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": data_filter,
                    "processing": {"harmonizeValues": settings.harmonize_values},
                }
            ],
        },
        "aggregation": {
            "timeRange": {"from": _iso(start), "to": _iso(end)},
            "aggregationInterval": {"of": settings.interval.text},
            "evalscript": settings.evalscript,
            "width": grid.width,
            "height": grid.height,
        },
    }


def build_requests(
    features: Iterable[tuple[str, Any]], layer_epsg: int | str, settings: StatisticsSettings
) -> list[FeatureRequest]:
    """One :class:`FeatureRequest` per ``(feature id, geometry in the layer CRS)``; raises :class:`AoiError` naming
    the feature when a geometry is unusable or its grid exceeds the API's 2500 px limit."""
    parsed = []
    for fid, geometry in features:
        try:
            parsed.append((str(fid), parse_geometry(geometry)))
        except AoiError as exc:
            raise AoiError(f"Feature {fid}: {exc}") from exc
    if not parsed:
        raise AoiError("The layer has no polygon features to compute statistics for: choose a polygon layer.")
    epsg = settings.epsg or request_epsg([g for _, g in parsed], layer_epsg)
    out = []
    for fid, geom in parsed:
        projected = reproject(geom, layer_epsg, epsg)
        grid = snap_grid(projected.bounds, epsg, settings.resolution_m)
        if grid.width > MAX_GRID_PX or grid.height > MAX_GRID_PX:
            raise AoiError(
                f"Feature {fid} needs {grid.width} × {grid.height} px at {settings.resolution_m:g} m, more than the "
                f"Statistical API's {MAX_GRID_PX} px: split it or use a coarser RESOLUTION."
            )
        out.append(FeatureRequest(fid, grid, build_body(projected, grid, settings)))
    return out


def interval_pu(grid: Grid, input_bands: int) -> float:
    """PU of one interval of one request: area factor (min 0.01) × input bands / 3 (SIMPLE mosaicking: 1 sample)."""
    return max(MIN_AREA_FACTOR, grid.width * grid.height / PU_AREA_PX) * max(1, input_bands) / PU_BANDS


def intervals_with_data(settings: StatisticsSettings, acquisition_times: Iterable[dt.datetime]) -> int:
    """How many of the request's intervals contain at least one acquisition (UTC datetimes)."""
    times = sorted(acquisition_times)
    spans = split(*time_range(settings), settings.interval)
    return sum(1 for start, end in spans if any(start <= t < end for t in times))


def estimate_pu(request: FeatureRequest, settings: StatisticsSettings, n_intervals: int) -> float:
    """PU estimate of one request that computes ``n_intervals`` intervals (at least 0.01)."""
    return max(MIN_REQUEST_PU, n_intervals * interval_pu(request.grid, settings.input_bands))


#: Sentinel-2's densest revisit over one place (two satellites, overlapping orbits at mid latitudes), days: the
#: pre-run estimate assumes one acquisition every this many days, so it errs high rather than low.
DENSEST_REVISIT_DAYS = 2


def quick_pu_estimate(requests: Sequence[FeatureRequest], settings: StatisticsSettings) -> float:
    """PU of one side before any catalog search (shown before the run): every request computes
    ``min(intervals, days / 2)`` intervals."""
    start, end = time_range(settings)
    n_intervals = len(split(start, end, settings.interval))
    days = max(1, (end - start).days)
    n = min(n_intervals, -(-days // DENSEST_REVISIT_DAYS))
    return sum(estimate_pu(r, settings, n) for r in requests)
