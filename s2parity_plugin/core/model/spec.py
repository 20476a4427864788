"""``RequestSpec``: one Process API request, built once and sent unchanged to both endpoints.

Grid snapping rule (``snap="outward"``, the default)
----------------------------------------------------
The AOI is reprojected to the request CRS (default: the UTM zone of the AOI centroid, EPSG:326xx north /
327xx south, with the Norway/Svalbard exceptions Sentinel-2's MGRS tiling uses; or any projected CRS in metres the
user picks, e.g. EPSG:3035). Its bounding box is then snapped **outward** to multiples of the resolution::

    x0 = floor(minx / res) * res        y0 = ceil(maxy / res) * res        (upper-left corner, metres)
    width = ceil(maxx / res) - floor(minx / res)    height = ceil(maxy / res) - floor(miny / res)   (pixels)

so width/height are integers, the pixels are exactly ``res`` × ``res`` metres and every request with the same
CRS/resolution lands on one common lattice (tiles of a large AOI, both endpoints, and later runs all align).

Why multiples of the resolution reproduce Sentinel-2's own pixel grid: every S2 tile's upper-left corner in its
UTM zone lies on a multiple of 60 m (e.g. T33TVF: 399960 / 4600020; T32UNE 499980 / 5900040), so the 10 m pixel
edges are at multiples of 10 m, the 20 m edges at multiples of 20 m and the 60 m edges at multiples of 60 m. In
the tile's own UTM zone, with ``res`` ∈ {10, 20, 60} (or any divisor of 60 matching a band's native resolution),
the request grid therefore coincides with the band's pixel grid and no resampling happens. In any other CRS
(EPSG:3035, a neighbouring UTM zone) the service must resample — identically on both endpoints, which is what
matters for the comparison; choose ``upsampling``/``NEAREST`` to keep values untouched.

``snap="nearest"`` keeps the bbox's upper-left corner and gives the pixel count the Process API derives from
``resx``/``resy`` for that bbox (:func:`core.grid.size_for_resolution`, extent / resolution rounded half up: the seed
bbox in EPSG:3035 at 10 m → 505 × 447 px; ``snap="outward"`` gives 506 × 449 px for it). The difference: the Process
API keeps the bbox and stretches its pixels to it (:func:`core.grid.bbox_geotransform`: 9.997 × 10.006 m for the seed),
while this grid keeps pixels of exactly ``res`` and moves the right/bottom edge by less than half a pixel (the
bbox sent is the grid's, so both services return this exact grid). Use it to re-issue a request built elsewhere.

Never send ``resx``/``resy`` or a fractional ``width``/``height`` (the seed's 501.26 × 420.75): the live service
accepts fractional sizes and is assumed to truncate them (:func:`core.grid.coerce_output_size`, to verify live),
which silently changes the pixel size; :func:`process_body_warnings` says so for a body built elsewhere, and
:attr:`RequestSpec.warnings` when the AOI is not a whole number of pixels in ``snap="nearest"``. Never compute the
size with sentinelhub-py's ``bbox_to_dimensions``, which measures the bbox in UTM (528 × 415 px for the seed bbox)
while the request is in EPSG:3035.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from shapely import wkt as shapely_wkt
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shapely_transform
from shapely.ops import unary_union
from shapely.validation import explain_validity, make_valid

from s2parity_plugin.core.errors import AoiError, DateRangeError, PresetError
from s2parity_plugin.core.model.evalscripts import (
    CUSTOM,
    Outputs,
    build_evalscript,
    custom_outputs,
    custom_units,
    normalize_quantity,
)
from s2parity_plugin.core.model.grid import coerce_output_size, is_fractional_size, size_for_resolution

S2_FIRST_DAY = date(2015, 6, 23)
DEFAULT_MAX_PIXELS = 60_000_000  # per side and per request date; 60 Mpx ≈ 77 km × 77 km at 10 m
MOSAICKING_ORDERS = ("mostRecent", "leastRecent", "leastCC")
RESAMPLING = ("NEAREST", "BILINEAR", "BICUBIC")
SNAP_MODES = ("outward", "nearest")


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: upper-left corner ``(x0, y0)`` in metres of ``EPSG:epsg``, square pixels of
    ``resolution_m`` metres, ``width`` × ``height`` pixels."""

    epsg: int
    x0: float
    y0: float
    resolution_m: float
    width: int
    height: int

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    @property
    def opengis_crs(self) -> str:
        return f"http://www.opengis.net/def/crs/EPSG/0/{self.epsg}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` in metres of the grid CRS."""
        r = self.resolution_m
        return (self.x0, self.y0 - self.height * r, self.x0 + self.width * r, self.y0)

    @property
    def geotransform(self) -> list[float]:
        """GDAL geotransform ``[x0, res, 0, y0, 0, -res]``."""
        return [self.x0, self.resolution_m, 0.0, self.y0, 0.0, -self.resolution_m]

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def window(self, col: int, row: int, width: int, height: int) -> Grid:
        """The sub-grid starting at pixel ``(col, row)``: same lattice, exact (no rounding)."""
        if col < 0 or row < 0 or col + width > self.width or row + height > self.height or width < 1 or height < 1:
            raise ValueError(f"window {(col, row, width, height)} is outside the {self.width}×{self.height} grid")
        r = self.resolution_m
        return Grid(self.epsg, self.x0 + col * r, self.y0 - row * r, r, width, height)

    def to_manifest(self) -> dict[str, Any]:
        """The ``grid`` entry of ``run.json``."""
        return {"crs": self.crs, "geotransform": self.geotransform, "width": self.width, "height": self.height}


def snap_grid(bounds: tuple[float, float, float, float], epsg: int, resolution_m: float, snap: str = "outward") -> Grid:
    """Snap ``bounds`` (metres of ``EPSG:epsg``) to a grid of ``resolution_m`` pixels; see the module docstring."""
    if not resolution_m or resolution_m <= 0 or not math.isfinite(resolution_m):
        raise AoiError(f"The resolution must be a positive number of metres, not {resolution_m!r}.")
    minx, miny, maxx, maxy = bounds
    r = float(resolution_m)
    if snap == "outward":
        eps = 1e-6  # tolerate float noise on coordinates that already sit on the lattice
        c0, c1 = math.floor(minx / r + eps), math.ceil(maxx / r - eps)
        r0, r1 = math.floor(miny / r + eps), math.ceil(maxy / r - eps)
        width, height = max(c1 - c0, 1), max(r1 - r0, 1)
        return Grid(int(epsg), c0 * r, r1 * r, r, width, height)
    if snap == "nearest":
        width, height = size_for_resolution(maxx - minx, r), size_for_resolution(maxy - miny, r)
        return Grid(int(epsg), minx, maxy, r, width, height)
    raise AoiError(f"Unknown grid snapping {snap!r}: use one of {', '.join(SNAP_MODES)}.")


@dataclass(frozen=True)
class Options:
    """Process API options sent identically to both endpoints."""

    mosaicking: str = "ORBIT"  # ORBIT or SIMPLE (preset evalscripts only; a CUSTOM script sets its own)
    mosaicking_order: str = "mostRecent"
    harmonize_values: bool = True  # processing.harmonizeValues (removes the −1000 DN offset of baseline ≥ 04.00)
    max_cloud_coverage: float = 100.0  # percent, 0–100
    upsampling: str | None = None  # NEAREST / BILINEAR / BICUBIC, None = service default
    downsampling: str | None = None


@dataclass(frozen=True)
class RequestSpec:
    """The request both endpoints get. ``aoi`` is a GeoJSON Polygon/MultiPolygon in ``grid.crs`` (metres)."""

    aoi: dict[str, Any]
    grid: Grid
    date_from: datetime  # UTC
    date_to: datetime  # UTC, inclusive
    quantity: str  # "B04", "NDVI", "CUSTOM", …
    units: str  # "DN" or "REFLECTANCE"
    evalscript: str
    outputs: Outputs = field(default_factory=Outputs)
    options: Options = field(default_factory=Options)
    warnings: tuple[str, ...] = ()  # for the user (Processing log, dock); the request is valid as it is

    def aoi_shape(self) -> Polygon | MultiPolygon:
        """The AOI as a shapely geometry (grid CRS)."""
        return shape(self.aoi)

    def for_dates(self, date_from: datetime, date_to: datetime) -> RequestSpec:
        """The same request over another time range (used for one request per acquisition date)."""
        return replace(self, date_from=date_from, date_to=date_to)

    def to_process_body(self, tile: Grid | None = None) -> dict[str, Any]:
        """Process API body for the whole grid or for ``tile`` (a window of :attr:`grid`).

        The geometry sent is the AOI (clipped to the tile for tiles), so pixels outside the polygons are masked.
        """
        target = tile or self.grid
        geometry = self.aoi if tile is None else tile_geometry(self.aoi_shape(), tile)
        processing: dict[str, Any] = {"harmonizeValues": self.options.harmonize_values}
        if self.options.upsampling:
            processing["upsampling"] = self.options.upsampling
        if self.options.downsampling:
            processing["downsampling"] = self.options.downsampling
        responses = [_response(self.outputs.value, "image/tiff")]
        if self.outputs.scl:
            responses.append(_response(self.outputs.scl, "image/tiff"))
        if self.outputs.userdata:
            responses.append(_response("userdata", "application/json"))
        bounds: dict[str, Any] = {"properties": {"crs": target.opengis_crs}, "bbox": list(target.bounds)}
        if geometry is not None:
            bounds["geometry"] = geometry
        return {
            "input": {
                "bounds": bounds,
                "data": [
                    {
                        "type": "sentinel-2-l2a",
                        "dataFilter": {
                            "timeRange": {"from": _iso(self.date_from), "to": _iso(self.date_to)},
                            "maxCloudCoverage": round(self.options.max_cloud_coverage),
                            "mosaickingOrder": self.options.mosaicking_order,
                        },
                        "processing": processing,
                    }
                ],
            },
            "output": {"width": target.width, "height": target.height, "responses": responses},
            "evalscript": self.evalscript,
        }

    def to_manifest(self) -> dict[str, Any]:
        """A JSON-able summary for ``run.json`` (besides the full request body)."""
        return {
            "quantity": self.quantity,
            "units": self.units,
            "date_from": _iso(self.date_from),
            "date_to": _iso(self.date_to),
            "outputs": {"value": self.outputs.value, "scl": self.outputs.scl, "userdata": self.outputs.userdata},
            "options": {
                "mosaicking": self.options.mosaicking,
                "mosaicking_order": self.options.mosaicking_order,
                "harmonize_values": self.options.harmonize_values,
                "max_cloud_coverage": self.options.max_cloud_coverage,
                "upsampling": self.options.upsampling,
                "downsampling": self.options.downsampling,
            },
        }


def process_body_warnings(body: Any) -> list[str]:
    """Warnings for a Process API body built elsewhere (e.g. the Request Builder): fractional output sizes.

    The live service accepts them and is assumed to truncate (:func:`core.grid.coerce_output_size`), so the pixels
    silently differ from what the bbox / size suggest; each warning says what to change."""
    out = (body or {}).get("output") if isinstance(body, dict) else None
    if not isinstance(out, dict):
        return []
    warnings = []
    for name in ("width", "height"):
        value = out.get(name)
        if is_fractional_size(value):
            warnings.append(
                f"output.{name} is {value}, not a whole number of pixels: the service will use "
                f"{coerce_output_size(value)} px (truncated; assumed, not yet verified against the live service), "
                f"which changes the pixel size. Send a whole {name} or resx/resy instead."
            )
    return warnings


def grid_size_warnings(bounds: tuple[float, float, float, float], grid: Grid, snap: str) -> list[str]:
    """With ``snap="nearest"``, a warning when the AOI's extent is not a whole number of pixels (the grid's right or
    bottom edge then differs from the AOI's by up to half a pixel). ``"outward"`` always covers the AOI: none."""
    if snap != "nearest":
        return []
    r = grid.resolution_m
    w_px, h_px = (bounds[2] - bounds[0]) / r, (bounds[3] - bounds[1]) / r
    if abs(w_px - grid.width) < 1e-6 and abs(h_px - grid.height) < 1e-6:
        return []
    return [
        f"The AOI spans {w_px:.2f} × {h_px:.2f} px at {r:g} m, not a whole number of pixels: the grid uses "
        f"{grid.width} × {grid.height} px of exactly {r:g} m, so its right/bottom edge moves by up to half a pixel. "
        "Choose grid snapping 'outward' to cover the whole AOI."
    ]


def _response(identifier: str, mime: str) -> dict[str, Any]:
    return {"identifier": identifier, "format": {"type": mime}}


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tile_geometry(aoi: Polygon | MultiPolygon, tile: Grid) -> dict[str, Any] | None:
    """GeoJSON of the AOI clipped to ``tile``'s bounds, or None when they do not overlap (tile to skip)."""
    clipped = aoi.intersection(box(*tile.bounds))
    polys = [g for g in getattr(clipped, "geoms", [clipped]) if isinstance(g, (Polygon, MultiPolygon))]
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    if not polys:
        return None
    merged = polys[0] if len(polys) == 1 else unary_union(polys)
    return geojson(merged)


def geojson(geom: Any) -> dict[str, Any]:
    """Plain-JSON GeoJSON geometry (lists, not tuples)."""
    return json.loads(json.dumps(mapping(geom)))


# -- AOI ----------------------------------------------------------------------------------------------------------


def parse_geometry(aoi: Any) -> Polygon | MultiPolygon:
    """Accept WKT, a GeoJSON geometry/Feature/FeatureCollection dict (or its JSON text) or a shapely geometry;
    return a valid, non-empty Polygon/MultiPolygon or raise :class:`AoiError`."""
    try:
        if isinstance(aoi, str):
            text = aoi.strip()
            geom = shape(json.loads(text)) if text.startswith("{") else shapely_wkt.loads(text)
        elif isinstance(aoi, dict):
            if aoi.get("type") == "FeatureCollection":
                geom = unary_union([shape(f["geometry"]) for f in aoi.get("features", []) if f.get("geometry")])
            elif aoi.get("type") == "Feature":
                geom = shape(aoi["geometry"])
            else:
                geom = shape(aoi)
        elif isinstance(aoi, BaseGeometry):
            geom = aoi
        else:
            raise TypeError(type(aoi).__name__)
    except Exception as exc:
        raise AoiError(
            f"The AOI could not be read as WKT or GeoJSON ({exc}): pass a polygon layer or polygon WKT."
        ) from exc
    if geom is None or geom.is_empty:
        raise AoiError("The AOI is empty: select at least one polygon feature (or clear the selection).")
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = unary_union(polys) if polys else geom
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise AoiError(
            f"The AOI is a {geom.geom_type}, not a polygon: use a polygon layer (buffer points/lines first)."
        )
    if not geom.is_valid:
        reason = explain_validity(geom)
        raise AoiError(
            f"The AOI geometry is invalid ({reason}): repair it with Vector ‣ Geometry Tools ‣ Fix Geometries."
        )
    if geom.area <= 0:
        raise AoiError("The AOI has zero area: draw a polygon that encloses an area.")
    return geom


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone (WGS 84) containing ``lon``/``lat`` in degrees, with Sentinel-2's MGRS
    exceptions for south-west Norway (32V) and Svalbard (31X–37X)."""
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        zone = 32
    elif 72.0 <= lat < 84.0 and lon >= 0.0:
        if lon < 9.0:
            zone = 31
        elif lon < 21.0:
            zone = 33
        elif lon < 33.0:
            zone = 35
        elif lon < 42.0:
            zone = 37
    return (32600 if lat >= 0 else 32700) + zone


def _crs(epsg: int | str) -> CRS:
    try:
        return CRS.from_user_input(epsg if not isinstance(epsg, int) else f"EPSG:{epsg}")
    except Exception as exc:
        raise AoiError(f"Unknown CRS {epsg!r} ({exc}): give an EPSG code such as 3035 or 32633.") from exc


def reproject(geom: Polygon | MultiPolygon, src_epsg: int | str, dst_epsg: int | str) -> Polygon | MultiPolygon:
    """Reproject with pyproj (always x/y order), densifying edges first so long edges follow the projection."""
    src, dst = _crs(src_epsg), _crs(dst_epsg)
    if src == dst:
        return geom
    minx, miny, maxx, maxy = geom.bounds
    step = max(maxx - minx, maxy - miny) / 64.0
    dense = _densify(geom, step) if step > 0 else geom
    transformer = Transformer.from_crs(src, dst, always_xy=True)
    out = shapely_transform(transformer.transform, dense)
    if not out.is_valid:
        out = make_valid(out)
    return out


def _densify_ring(coords: Any, step: float) -> list[tuple[float, float]]:
    points = np.asarray(coords, dtype=float)[:, :2]
    out = [tuple(points[0])]
    for start, end in zip(points[:-1], points[1:]):
        n = max(1, math.ceil(float(np.hypot(*(end - start))) / step))
        out += [tuple(start + (end - start) * k / n) for k in range(1, n + 1)]
    return out


def _densify(geom: Polygon | MultiPolygon, step: float) -> Polygon | MultiPolygon:
    """Insert vertices so no edge is longer than ``step`` (CRS units). Works on Debian's shapely 1.8, which has
    no ``segmentize`` (QGIS on Debian must use the system shapely: a shapely 2 wheel's own GEOS clashes with
    the GEOS QGIS has loaded)."""
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([_densify(p, step) for p in geom.geoms])
    return Polygon(_densify_ring(geom.exterior.coords, step), [_densify_ring(r.coords, step) for r in geom.interiors])


def request_epsg_for(geom: Polygon | MultiPolygon, src_epsg: int | str) -> int:
    """Default request CRS: the UTM zone of the AOI centroid."""
    centroid = reproject(geom, src_epsg, 4326).centroid
    return utm_epsg(centroid.x, centroid.y)


# -- dates --------------------------------------------------------------------------------------------------------


def parse_day(value: Any, what: str) -> date:
    """A calendar day from ``YYYY-MM-DD`` text, ``date`` or ``datetime``."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise DateRangeError(f"The {what} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2020-10-04.") from exc


def date_range(date_from: Any, date_to: Any, *, today: date | None = None) -> tuple[datetime, datetime]:
    """Whole UTC days ``[date_from 00:00:00, date_to 23:59:59]``; raises :class:`DateRangeError` when reversed,
    in the future or before Sentinel-2's first acquisition."""
    d0, d1 = parse_day(date_from, "start date"), parse_day(date_to, "end date")
    today = today or datetime.now(timezone.utc).date()
    if d0 > d1:
        raise DateRangeError(f"The date range is reversed ({d0} is after {d1}): swap the start and end dates.")
    if d0 > today or d1 > today:
        raise DateRangeError(
            f"The date range {d0} … {d1} reaches into the future (today is {today} UTC): end it today or earlier."
        )
    if d1 < S2_FIRST_DAY:
        raise DateRangeError(f"Sentinel-2 data start on {S2_FIRST_DAY}: choose dates after that.")
    return (
        datetime.combine(d0, time(0, 0, 0), tzinfo=timezone.utc),
        datetime.combine(d1, time(23, 59, 59), tzinfo=timezone.utc),
    )


# -- the builder --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """Which values the request asks for: ``quantity`` (a band, ``NDVI`` or ``CUSTOM``), ``units`` (``DN`` or
    ``REFLECTANCE``; None: the preset's default, or what a CUSTOM script declares) and, for CUSTOM, the
    ``evalscript`` (sent unchanged)."""

    quantity: str = "B04"
    units: str | None = None
    evalscript: str | None = None


@dataclass(frozen=True)
class GridChoice:
    """Where the pixels lie: ``resolution_m`` in metres of the request CRS; ``crs_epsg`` the request CRS (None:
    the UTM zone of the AOI centroid); ``snap`` ``"outward"`` or ``"nearest"`` (see the module docstring);
    ``max_pixels`` the largest grid (width × height) accepted."""

    resolution_m: float = 10.0
    crs_epsg: int | str | None = None
    snap: str = "outward"
    max_pixels: int = DEFAULT_MAX_PIXELS


def build_spec(
    aoi: Any,
    aoi_epsg: int | str,
    date_from: Any,
    date_to: Any,
    *,
    preset: Preset | None = None,
    grid: GridChoice | None = None,
    options: Options | None = None,
    today: date | None = None,
) -> RequestSpec:
    """Build the :class:`RequestSpec` from an AOI in any CRS (``aoi_epsg``) and the user's choices.

    ``preset``: which values (:class:`Preset`, default B04 in DN); ``grid``: where the pixels lie
    (:class:`GridChoice`, default 10 m in the AOI's UTM zone); ``options``: how the service processes them
    (:class:`Options`); ``today`` (UTC) bounds the date range. Raises :class:`AoiError`, :class:`PresetError` or
    :class:`DateRangeError` saying what to change.
    """
    choice, opts = grid or GridChoice(), options or Options()
    projected, snapped = _projected_grid(parse_geometry(aoi), aoi_epsg, choice)
    quantity, script, outputs, units = _values(preset or Preset(), opts)
    checked = _checked_options(opts)
    d0, d1 = date_range(date_from, date_to, today=today)
    warnings = tuple(grid_size_warnings(projected.bounds, snapped, choice.snap))
    return RequestSpec(geojson(projected), snapped, d0, d1, quantity, units, script, outputs, checked, warnings)


def _projected_grid(
    geom: Polygon | MultiPolygon, aoi_epsg: int | str, choice: GridChoice
) -> tuple[Polygon | MultiPolygon, Grid]:
    """The AOI in the request CRS and the grid snapped around it; :class:`AoiError` for a CRS not in metres, an
    AOI that vanishes when reprojected or a grid larger than ``choice.max_pixels``."""
    target_epsg = request_epsg_for(geom, aoi_epsg) if choice.crs_epsg in (None, "", 0) else choice.crs_epsg
    target = _crs(target_epsg)
    if not target.is_projected or target.axis_info[0].unit_name not in ("metre", "meter"):
        raise AoiError(
            f"The request CRS {target.to_string()} is not a projected CRS in metres: pick a UTM zone or e.g. "
            "EPSG:3035 (or leave the CRS empty for the AOI's UTM zone)."
        )
    epsg = target.to_epsg()
    if epsg is None:
        raise AoiError(f"The request CRS {target.to_string()} has no EPSG code: pick an EPSG CRS.")
    projected = reproject(geom, aoi_epsg, epsg)
    if projected.is_empty or projected.area <= 0:
        raise AoiError("The AOI vanished when reprojected to the request CRS: check the layer's CRS.")
    grid = snap_grid(projected.bounds, epsg, choice.resolution_m, choice.snap)
    if grid.pixels > choice.max_pixels:
        raise AoiError(
            f"The AOI needs {grid.width} × {grid.height} px at {choice.resolution_m:g} m ({grid.pixels / 1e6:.0f} "
            f"Mpx), more than the limit of {choice.max_pixels / 1e6:.0f} Mpx: use a smaller AOI or a coarser "
            "resolution."
        )
    return projected, grid


def _values(preset: Preset, options: Options) -> tuple[str, str, Outputs, str]:
    """``(quantity, evalscript, outputs, units)`` of a preset (its template filled for ``options.mosaicking``) or of
    a CUSTOM script."""
    q = normalize_quantity(preset.quantity)
    if q != CUSTOM:
        script, units = build_evalscript(q, preset.units, options.mosaicking)
        return q, script, Outputs(), units
    script = preset.evalscript
    if not script or not script.strip():
        raise PresetError("Preset CUSTOM needs an evalscript: paste your evalscript or choose a preset.")
    return q, script, custom_outputs(script), (preset.units or custom_units(script)).upper()


def _checked_options(options: Options) -> Options:
    """``options`` checked (:class:`PresetError` saying what to change) and normalised (upper-case names)."""
    if options.mosaicking_order not in MOSAICKING_ORDERS:
        raise PresetError(
            f"Mosaicking order must be one of {', '.join(MOSAICKING_ORDERS)}, not {options.mosaicking_order!r}."
        )
    for what, value in (("upsampling", options.upsampling), ("downsampling", options.downsampling)):
        if value and value.upper() not in RESAMPLING:
            raise PresetError(f"{what} must be one of {', '.join(RESAMPLING)}, not {value!r}.")
    if not 0 <= float(options.max_cloud_coverage) <= 100:
        raise PresetError(f"Maximum cloud coverage is a percentage 0–100, not {options.max_cloud_coverage!r}.")
    return replace(
        options,
        mosaicking=(options.mosaicking or "ORBIT").upper(),
        harmonize_values=bool(options.harmonize_values),
        max_cloud_coverage=float(options.max_cloud_coverage),
        upsampling=options.upsampling.upper() if options.upsampling else None,
        downsampling=options.downsampling.upper() if options.downsampling else None,
    )
