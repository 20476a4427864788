"""Process API (``POST /api/v1/process``) for ``sentinel-2-l2a``: parse/validate, select scenes, render, encode.

Request handling follows the Process API reference (OpenAPI ``ProcessRequest``); everything else (HTTP, auth, faults)
lives in :mod:`.server`. Pipeline:

1. :func:`parse_request` validates the JSON body and returns a :class:`ProcessPlan` (grid in the request CRS,
   time range, filters, processing options, responses) or raises :class:`~.errors.ServiceError` (400/404).
2. :func:`execute` runs the evalscript's ``setup()``, lists the acquisitions of the scene source in the time range
   that the deployment's catalog lists (:func:`served_acquisitions`; ``maxCloudCoverage``, ``mosaickingOrder``),
   runs ``preProcessScenes``, renders the requested bands for every acquisition at the pixel centres, applies
   ``harmonizeValues`` and units, runs ``evaluatePixel`` vectorised in V8, converts to the output sample types,
   runs ``updateOutputMetadata`` and encodes the responses (one body, or a TAR when several responses are requested).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import threading
from collections import OrderedDict
from typing import Any, Optional

import numpy as np
from osgeo import gdal, ogr, osr

from s2parity_plugin.core.model import grid as core_grid
from s2parity_plugin.sample_endpoints import baselines, budget, catalog, encoding, scene_generator
from s2parity_plugin.sample_endpoints.errors import bad_payload, forbidden, not_found, renderer_error
from s2parity_plugin.sample_endpoints.evalscript_engine import EvalscriptError, EvalscriptRun, to_sample_type
from s2parity_plugin.sample_endpoints.scene_generator import (
    ALL_BANDS,
    CATEGORICAL_BANDS,
    NATIVE_RES_M,
    REFLECTANCE_BANDS,
    Acquisition,
    PixelPoints,
    acquisition_metadata,
    transformer,
)

#: Collection types served (``S2L2A`` is the legacy alias the real service still accepts).
COLLECTION_TYPES = ("sentinel-2-l2a", "S2L2A")
MAX_SIZE_PX = 2500
RESAMPLING = ("NEAREST", "BILINEAR", "BICUBIC")
MOSAICKING_ORDERS = ("mostRecent", "leastRecent", "leastCC")
NORMALIZATION_FACTOR = 0.0001
SIMPLE_MAX_SCENES = 8  # SIMPLE mosaicking renders at most this many acquisitions (in mosaicking order)
#: Upper bound of pixels x scenes x bands per request (memory guard: ~4 bytes each in V8, ~8 while rendering).
MAX_INPUT_SAMPLES = 120_000_000
#: Unit names of sentinel-2-l2a (Sentinel-2 L2A data page, "Units"); anything else is a 400.
KNOWN_UNITS = ("REFLECTANCE", "DN", "OPTICAL_DEPTH", "PERCENT", "DEGREES")
#: Default unit per band where it is not DN (the same page).
BAND_DEFAULT_UNITS = {
    **{b: "REFLECTANCE" for b in REFLECTANCE_BANDS},
    "AOT": "OPTICAL_DEPTH",
    "CLD": "PERCENT",
    "SNW": "PERCENT",
    **{b: "DEGREES" for b in ("sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean")},
}
_CRS_RE = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG/0/(\d+)|OGC/1\.3/CRS84)$")


@dataclasses.dataclass
class ProcessPlan:
    """A validated Process API request.

    Grid: ``width`` x ``height`` px over ``bbox`` (minx, miny, maxx, maxy in the request CRS units: m for projected
    CRSs, degrees lon/lat for CRS84/EPSG:4326); ``crs`` is ``"EPSG:nnnn"`` (CRS84 -> ``"OGC:CRS84"``).
    """

    crs: str
    epsg: Optional[int]
    bbox: tuple[float, float, float, float]
    geometry: Optional[dict[str, Any]]
    width: int
    height: int
    time_from: dt.datetime
    time_to: dt.datetime
    mosaicking_order: str
    max_cloud_coverage: float
    harmonize: bool
    upsampling: str
    downsampling: str
    responses: list[tuple[str, str]]  # (identifier, mime type)
    evalscript: str
    data_type: str
    jpeg_quality: dict[str, int] = dataclasses.field(default_factory=dict)  # identifier -> format.quality

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        return core_grid.bbox_geotransform(self.bbox, self.width, self.height)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x, y of every pixel centre (row-major, flattened), in the request CRS."""
        gt = self.geotransform
        xs = gt[0] + (np.arange(self.width) + 0.5) * gt[1]
        ys = gt[3] + (np.arange(self.height) + 0.5) * gt[5]
        x, y = np.meshgrid(xs, ys)
        return x.ravel(), y.ravel()


def _parse_time(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise bad_payload(f"Invalid timeRange.{field}: expected an ISO-8601 date-time string.")
    text = value.strip().replace("Z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(text) if "T" in text else dt.datetime.fromisoformat(text + "T00:00:00+00:00")
    except ValueError as exc:
        raise bad_payload(f"Invalid timeRange.{field} '{value}': expected ISO-8601 date-time.") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def _int_size(value: Any, name: str) -> int:
    """``output.width``/``height`` → pixels. Fractional values are accepted and truncated as the live service is
    assumed to do (:func:`core.grid.coerce_output_size`: 501.2608 → 501); the result must be 1–2500."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad_payload(f"Invalid output.{name}: it must be an integer between 1 and {MAX_SIZE_PX}.")
    v = core_grid.coerce_output_size(value)
    if v < 1 or v > MAX_SIZE_PX:
        raise bad_payload(
            f"Invalid output.{name} {value}: the requested image {name} must be between 1 and {MAX_SIZE_PX} pixels."
        )
    return v


def _parse_crs(value: Any) -> tuple[str, Optional[int]]:
    if value is None:
        return "OGC:CRS84", 4326
    m = _CRS_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        raise bad_payload(
            f"Invalid CRS '{value}': use an OGC URL such as http://www.opengis.net/def/crs/EPSG/0/32633 or "
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84."
        )
    if m.group(2) is None:
        return "OGC:CRS84", 4326
    epsg = int(m.group(2))
    srs = osr.SpatialReference()
    if srs.ImportFromEPSG(epsg) != 0:  # pragma: no cover - GDAL raises with UseExceptions
        raise bad_payload(f"Unsupported CRS EPSG:{epsg}.")
    return f"EPSG:{epsg}", epsg


def _geometry_envelope(geom: Any) -> tuple[float, float, float, float]:
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise bad_payload("Invalid input.bounds.geometry: a GeoJSON Polygon or MultiPolygon is required.")
    try:
        g = ogr.CreateGeometryFromJson(json.dumps({"type": geom["type"], "coordinates": geom["coordinates"]}))
    except (KeyError, RuntimeError) as exc:
        raise bad_payload(f"Invalid input.bounds.geometry: {exc}") from exc
    if g is None or g.IsEmpty():
        raise bad_payload("Invalid input.bounds.geometry: empty geometry.")
    minx, maxx, miny, maxy = g.GetEnvelope()
    return minx, miny, maxx, maxy


def required(doc: dict[str, Any], key: str, name: str, kind: type) -> Any:
    """``doc[key]`` when it is a ``kind`` (a non-blank string for ``str``), else the 400 naming the field ``name``."""
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise bad_payload(f"Invalid request: '{name}' is required.")
    return value


def _parse_bounds(bounds: dict[str, Any]) -> tuple[str, Optional[int], tuple[float, float, float, float], Any]:
    """``input.bounds`` → (crs, epsg, bbox in the request CRS, geometry or None)."""
    crs, epsg = _parse_crs((bounds.get("properties") or {}).get("crs"))
    geometry = bounds.get("geometry")
    bbox_raw = bounds.get("bbox")
    if bbox_raw is not None:
        if (
            not isinstance(bbox_raw, list)
            or len(bbox_raw) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox_raw)
        ):
            raise bad_payload("Invalid input.bounds.bbox: four numbers [minx, miny, maxx, maxy] are required.")
        x1, y1, x2, y2 = (float(v) for v in bbox_raw)
        bbox = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        if geometry is not None:
            _geometry_envelope(geometry)
    elif geometry is not None:
        bbox = _geometry_envelope(geometry)
    else:
        raise bad_payload("Invalid input.bounds: 'bbox' and/or 'geometry' must be specified.")
    if bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        raise bad_payload("Invalid input.bounds: the bounding box has zero area.")
    return crs, epsg, bbox, geometry


def _data_source(inp: dict[str, Any]) -> dict[str, Any]:
    """``input.data[0]``, the one sentinel-2-l2a source (403/404 for other collections)."""
    data = inp.get("data")
    if not isinstance(data, list) or not data:
        raise bad_payload("Invalid request: 'input.data' must be a non-empty array.")
    if len(data) > 1:
        raise bad_payload("This deployment serves a single sentinel-2-l2a data source per request (no data fusion).")
    d0 = data[0]
    if not isinstance(d0, dict) or not isinstance(d0.get("type"), str):
        raise bad_payload("Invalid input.data[0]: 'type' is required.")
    dtype = d0["type"]
    if dtype not in COLLECTION_TYPES:
        if re.match(r"^(byoc|batch|zarr)-", dtype):
            raise forbidden(f"You do not have access to collection '{dtype}' on this deployment.")
        raise not_found(f"Collection '{dtype}' not found. This deployment serves only sentinel-2-l2a.")
    return d0


def _parse_data_filter(d0: dict[str, Any]) -> dict[str, Any]:
    """``dataFilter`` → ``time_from``/``time_to``/``mosaicking_order``/``max_cloud_coverage`` plan fields."""
    dfilter = d0.get("dataFilter") or {}
    if not isinstance(dfilter, dict):
        raise bad_payload("Invalid input.data[0].dataFilter: an object is required.")
    tr = dfilter.get("timeRange")
    if tr is None:
        raise bad_payload("Invalid input.data[0].dataFilter: 'timeRange' is required by this deployment.")
    if not isinstance(tr, dict) or "from" not in tr or "to" not in tr:
        raise bad_payload("Invalid timeRange: 'from' and 'to' are required.")
    t_from, t_to = _parse_time(tr["from"], "from"), _parse_time(tr["to"], "to")
    if t_to < t_from:
        raise bad_payload("Invalid timeRange: 'from' is after 'to'.")
    order = dfilter.get("mosaickingOrder", "mostRecent")
    if order not in MOSAICKING_ORDERS:
        raise bad_payload(f"Invalid mosaickingOrder '{order}': expected one of {', '.join(MOSAICKING_ORDERS)}.")
    maxcc = dfilter.get("maxCloudCoverage", 100)
    if isinstance(maxcc, bool) or not isinstance(maxcc, (int, float)) or not 0 <= maxcc <= 100:
        raise bad_payload("Invalid maxCloudCoverage: a number between 0 and 100 is required.")
    return {"time_from": t_from, "time_to": t_to, "mosaicking_order": order, "max_cloud_coverage": float(maxcc)}


def _parse_processing(d0: dict[str, Any]) -> dict[str, Any]:
    """``processing`` → ``harmonize``/``upsampling``/``downsampling`` plan fields."""
    proc = d0.get("processing") or {}
    if not isinstance(proc, dict):
        raise bad_payload("Invalid input.data[0].processing: an object is required.")
    harmonize = proc.get("harmonizeValues", True)
    if not isinstance(harmonize, bool):
        raise bad_payload("Invalid processing.harmonizeValues: a boolean is required.")
    up = proc.get("upsampling", "NEAREST")
    down = proc.get("downsampling", "NEAREST")
    for name, val in (("upsampling", up), ("downsampling", down)):
        if val not in RESAMPLING:
            raise bad_payload(f"Invalid processing.{name} '{val}': expected one of {', '.join(RESAMPLING)}.")
    return {"harmonize": harmonize, "upsampling": up, "downsampling": down}


def _parse_size(out: dict[str, Any], bbox: tuple[float, float, float, float]) -> tuple[int, int]:
    """``output`` width/height (fractional truncated) or resx/resy (derived as the core's grid does), in px."""
    has_wh = "width" in out or "height" in out
    has_res = "resx" in out or "resy" in out
    if has_wh and has_res:
        raise bad_payload("Only one pair of parameters 'width'/'height' or 'resx'/'resy' must be set.")
    if not has_res:
        return _int_size(out.get("width", 256), "width"), _int_size(out.get("height", 256), "height")
    resx, resy = out.get("resx"), out.get("resy")
    for name, val in (("resx", resx), ("resy", resy)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not val > 0:
            raise bad_payload(f"Invalid output.{name}: a positive number (CRS units) is required.")
    width = core_grid.size_for_resolution(bbox[2] - bbox[0], float(resx))
    height = core_grid.size_for_resolution(bbox[3] - bbox[1], float(resy))
    for name, val in (("width", width), ("height", height)):
        if val > MAX_SIZE_PX:
            raise bad_payload(
                f"Invalid output.{name} {val}: the requested image {name} must be between 1 and {MAX_SIZE_PX} "
                "pixels (bbox extent / resolution is too large)."
            )
    return width, height


def _parse_response(r: Any, seen: list[tuple[str, str]]) -> tuple[str, str, Optional[int]]:
    """One ``output.responses`` entry → (identifier, mime type, JPEG quality or None)."""
    if not isinstance(r, dict):
        raise bad_payload("Invalid output.responses entry: an object is required.")
    ident = r.get("identifier", "default")
    fmt = (r.get("format") or {}).get("type", "image/png")
    if fmt not in encoding.EXTENSIONS:
        raise bad_payload(f"Invalid output format '{fmt}' for response '{ident}'.")
    if fmt == "application/json" and ident != "userdata":
        raise bad_payload(f"Response '{ident}': application/json is only available for 'userdata'.")
    if ident == "userdata" and fmt != "application/json":
        raise bad_payload("Response 'userdata' must have format application/json.")
    if any(ident == x[0] for x in seen):
        raise bad_payload(f"Duplicate response identifier '{ident}'.")
    quality = (r.get("format") or {}).get("quality")
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100):
        raise bad_payload(f"Invalid format.quality of response '{ident}': an integer 0–100 is required.")
    return str(ident), fmt, quality


def _parse_responses(out: dict[str, Any]) -> dict[str, Any]:
    """``output.responses`` → ``responses`` [(identifier, mime type)] and ``jpeg_quality`` plan fields."""
    responses_raw = out.get("responses") or [{"identifier": "default", "format": {"type": "image/png"}}]
    if not isinstance(responses_raw, list):
        raise bad_payload("Invalid output.responses: an array is required.")
    responses: list[tuple[str, str]] = []
    jpeg_quality: dict[str, int] = {}
    for r in responses_raw:
        ident, fmt, quality = _parse_response(r, responses)
        if quality is not None:
            jpeg_quality[ident] = quality
        responses.append((ident, fmt))
    return {"responses": responses, "jpeg_quality": jpeg_quality}


def parse_request(body: Any) -> ProcessPlan:
    """Validate a Process API request body (already JSON-decoded) and build a :class:`ProcessPlan`."""
    if not isinstance(body, dict):
        raise bad_payload("Could not parse the request: the body must be a JSON object.")
    evalscript = required(body, "evalscript", "evalscript", str)
    inp = required(body, "input", "input", dict)
    crs, epsg, bbox, geometry = _parse_bounds(required(inp, "bounds", "input.bounds", dict))
    d0 = _data_source(inp)
    out = body.get("output") or {}
    if not isinstance(out, dict):
        raise bad_payload("Invalid 'output': an object is required.")
    width, height = _parse_size(out, bbox)
    return ProcessPlan(
        crs=crs,
        epsg=epsg,
        bbox=bbox,
        geometry=geometry,
        width=width,
        height=height,
        evalscript=evalscript,
        data_type=d0["type"],
        **_parse_data_filter(d0),
        **_parse_processing(d0),
        **_parse_responses(out),
    )


def geometry_mask(plan: ProcessPlan) -> np.ndarray:
    """1 where a pixel centre lies inside ``plan.geometry`` (all ones without geometry), shape (height*width,)."""
    if plan.geometry is None:
        return np.ones(plan.width * plan.height, dtype=bool)
    ds = gdal.GetDriverByName("MEM").Create("", plan.width, plan.height, 1, gdal.GDT_Byte)
    ds.SetGeoTransform(list(plan.geotransform))
    # Geometry and grid share the request CRS: give both the same SRS so GDAL does not warn about a missing one.
    srs = osr.SpatialReference()
    srs.SetFromUserInput(plan.crs)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ds.SetSpatialRef(srs)
    drv = ogr.GetDriverByName("Memory")
    src = drv.CreateDataSource("mask")
    layer = src.CreateLayer("g", srs, geom_type=ogr.wkbMultiPolygon)
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(ogr.CreateGeometryFromJson(json.dumps(plan.geometry)))
    layer.CreateFeature(feat)
    gdal.RasterizeLayer(ds, [1], layer, burn_values=[1])
    arr = ds.GetRasterBand(1).ReadAsArray().astype(bool).ravel()
    ds = None
    return arr


def _bbox_lonlat(plan: ProcessPlan) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = plan.bbox
    xs = np.linspace(minx, maxx, 5)
    ys = np.linspace(miny, maxy, 5)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = transformer(plan.crs, "EPSG:4326").transform(gx.ravel(), gy.ravel())
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def served_acquisitions(
    source: Any, deployment: str, bbox_lonlat: tuple[float, float, float, float], start: dt.datetime, end: dt.datetime
) -> list[Acquisition]:
    """The acquisitions of ``source`` the deployment serves over ``bbox_lonlat`` in ``[start, end]``: those its
    catalog lists (:func:`.catalog.is_listed`), so neither the Process API nor the Statistical API (which renders
    through it) returns data of a product the deployment's catalog does not have."""
    return [a for a in source.acquisitions(bbox_lonlat, start, end) if catalog.is_listed(a, deployment)]


def order_acquisitions(acqs: list[Acquisition], order: str, cc: dict[Acquisition, float]) -> list[Acquisition]:
    """Sort acquisitions by ``mosaickingOrder`` (mostRecent: newest first; leastRecent; leastCC: clearest first)."""
    if order == "leastRecent":
        return sorted(acqs, key=lambda a: a.sensing_time)
    if order == "leastCC":
        return sorted(acqs, key=lambda a: (cc[a], -a.sensing_time.timestamp()))
    return sorted(acqs, key=lambda a: a.sensing_time, reverse=True)


@dataclasses.dataclass
class ProcessResult:
    """Encoded answer: body bytes and its content type, plus what was used (for logs/tests)."""

    body: bytes
    content_type: str
    acquisitions: list[str]  # product ids used, in evalscript order
    userdata: Any = None
    members: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)  # (file name, content) per response
    processing_units: float = 0.0  # as charged (budget.processing_units)


def scene_units(acqs: list[Acquisition], mosaicking: str) -> list[list[Acquisition]]:
    """What the evalscript sees as one scene: one orbit pass (all its tiles, mosaicked) for ORBIT and SIMPLE, one
    tile for TILE. Passes keep the order of their first tile in ``acqs``; tiles of a pass are in ``acqs`` order."""
    if mosaicking == "TILE":
        return [[a] for a in acqs]
    passes: dict[tuple[Any, str], list[Acquisition]] = {}
    for a in acqs:
        passes.setdefault((a.sensing_time, a.satellite), []).append(a)
    return list(passes.values())


def _scene_context(
    acqs: list[Acquisition], deployment: str, source: Any, mosaicking: str, plan: ProcessPlan
) -> dict[str, Any]:
    if mosaicking == "ORBIT":
        orbits = []
        for unit in scene_units(acqs, "ORBIT"):
            a = unit[0]
            day = dt.datetime(a.date.year, a.date.month, a.date.day, tzinfo=dt.timezone.utc)
            orbits.append(
                {
                    "dateFrom": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "dateTo": (day + dt.timedelta(hours=23, minutes=59, seconds=59)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "tiles": [acquisition_metadata(t, deployment, source) for t in unit],
                    "__idx": len(orbits),
                }
            )
        return {"orbits": orbits}
    return {"tiles": [{**acquisition_metadata(a, deployment, source), "__idx": i} for i, a in enumerate(acqs)]}


def _scene_list(scenes_ctx: Any) -> list[Any]:
    """The scenes as ``updateOutput``'s ``collection.scenes`` sees them: orbits (ORBIT) or tiles."""
    if isinstance(scenes_ctx, dict):
        return list(scenes_ctx.get("orbits", scenes_ctx.get("tiles", [])))
    return list(scenes_ctx)


def _mosaic_tiles(tiles: list[dict[str, np.ndarray]], n: int) -> dict[str, np.ndarray]:
    """The tiles of one pass as one scene: per pixel the first tile with data (tiles overlap by 9.8 km)."""
    if len(tiles) == 1:
        return tiles[0]
    return {b: _simple_mosaic(tiles, b, n) for b in tiles[0]}


def _check_setup(setup: Any, plan: ProcessPlan) -> None:
    """400 for bands the collection lacks, unknown units, or responses without a ``setup()`` output."""
    unknown = [b for b in setup.bands if b not in ALL_BANDS]
    if unknown:
        raise bad_payload(
            f"Invalid script! Unknown band(s) {', '.join(unknown)} for collection sentinel-2-l2a. Available: "
            + ", ".join(ALL_BANDS)
        )
    check_units(setup.units)
    ids = {o.id for o in setup.outputs}
    for ident, _fmt in plan.responses:
        if ident != "userdata" and ident not in ids:
            raise bad_payload(f"Output {ident} requested but missing from function setup()")


def _select_scenes(run: EvalscriptRun, plan: ProcessPlan, deployment: str, source: Any) -> tuple[list[Any], Any]:
    """The acquisitions to render, in mosaicking order (served, cloud-filtered, kept by ``preProcessScenes``), and
    the scenes as the evalscript sees them."""
    acqs_all = served_acquisitions(source, deployment, _bbox_lonlat(plan), plan.time_from, plan.time_to)
    cc = {a: source.cloud_cover(a, deployment) for a in acqs_all}
    acqs = [a for a in acqs_all if cc[a] <= plan.max_cloud_coverage]
    acqs = order_acquisitions(acqs, plan.mosaicking_order, cc)  # every tile of every pass reaching the bbox
    mosaicking = run.setup.mosaicking
    if mosaicking == "SIMPLE":
        return acqs, _scene_context(acqs, deployment, source, "TILE", plan)["tiles"]
    collections = {
        "from": plan.time_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": plan.time_to.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scenes": dict(_scene_context(acqs, deployment, source, mosaicking, plan)),
    }
    try:
        pre = run.preprocess_scenes(collections)
    except EvalscriptError as exc:
        raise renderer_error(str(exc)) from exc
    kept_ids = _kept_product_ids(pre.get("scenes", {}), mosaicking)
    acqs = [a for a in acqs if a.catalog_id(deployment) in kept_ids]
    return acqs, _scene_context(acqs, deployment, source, mosaicking, plan)


def _input_samples(plan: ProcessPlan, setup: Any, units_used: list[list[Any]]) -> None:
    """400 when the request needs more than :data:`MAX_INPUT_SAMPLES` input samples (pixels × scenes × bands)."""
    n_used = sum(len(u) for u in units_used)
    samples = plan.width * plan.height * max(1, n_used) * (len(setup.bands) + 1)
    if samples > MAX_INPUT_SAMPLES:
        raise bad_payload(
            f"The request needs {samples / 1e6:.0f} M input samples ({plan.width} x {plan.height} px x "
            f"{n_used} scenes x {len(setup.bands)} bands); this deployment processes at most "
            f"{MAX_INPUT_SAMPLES / 1e6:.0f} M per request: shorten the time range or split the area."
        )


def _band_data(
    plan: ProcessPlan, setup: Any, deployment: str, source: Any, units_used: list[list[Any]]
) -> dict[str, list[np.ndarray]]:
    """What ``evaluatePixel`` gets: band -> one array per scene (one mosaicked array for SIMPLE)."""
    n = plan.width * plan.height
    x, y = plan.pixel_centres()
    points = PixelPoints(x, y, plan.crs, dict(_method(plan, setup.bands)))
    inside = geometry_mask(plan)
    render_bands = [*(b for b in setup.bands if b != "dataMask"), "dataMask"]
    per_scene: list[dict[str, np.ndarray]] = []
    for unit in units_used:
        tiles = []
        for a in unit:
            try:
                vals = _cached_render(source, a, deployment, render_bands, plan, points)
            except KeyError as exc:
                raise bad_payload(f"Band {exc.args[0]} is not available for {a.product_id(deployment)}.") from None
            tiles.append(_apply_units(vals, setup.units, a.baseline(deployment), plan.harmonize, inside))
        per_scene.append(_mosaic_tiles(tiles, n))
    if setup.mosaicking == "SIMPLE":
        return {b: [_simple_mosaic(per_scene, b, n)] for b in setup.bands}
    return {b: [s[b] for s in per_scene] for b in setup.bands}


def _run_script(
    run: EvalscriptRun, plan: ProcessPlan, band_data: dict[str, list[np.ndarray]], scenes_ctx: Any, service_version: str
) -> tuple[dict[str, np.ndarray], Any]:
    """``updateOutput``, ``evaluatePixel`` over every pixel, ``updateOutputMetadata`` (when userdata is asked)."""
    input_metadata = {"serviceVersion": service_version, "normalizationFactor": NORMALIZATION_FACTOR}
    context = {"scenes": scenes_ctx, "inputMetadata": input_metadata, "customData": {}}
    try:
        run.update_output({"scenes": _scene_list(scenes_ctx)})
        raw = run.evaluate(band_data, plan.width * plan.height, context)
        userdata = (
            run.update_output_metadata({"scenes": scenes_ctx, "inputMetadata": input_metadata})
            if any(r[0] == "userdata" for r in plan.responses)
            else None
        )
    except EvalscriptError as exc:
        raise renderer_error(str(exc)) from exc
    return raw, userdata


def _encode_responses(
    plan: ProcessPlan, setup: Any, raw: dict[str, np.ndarray], userdata: Any
) -> list[tuple[str, bytes]]:
    """One (file name, content) per requested response, in request order."""
    members: list[tuple[str, bytes]] = []
    srs_wkt = encoding.srs_wkt_for(plan.epsg)
    for ident, fmt in plan.responses:
        if ident == "userdata":
            members.append(("userdata.json", json.dumps(userdata).encode("utf-8")))
            continue
        spec = next(o for o in setup.outputs if o.id == ident)
        arr = to_sample_type(raw[ident].reshape(spec.bands, plan.height, plan.width), spec.sample_type)
        quality = plan.jpeg_quality.get(ident, encoding.DEFAULT_JPEG_QUALITY)
        try:
            content = encoding.encode_image(
                arr, fmt, plan.geotransform, srs_wkt, nodata=spec.nodata_value, quality=quality
            )
        except ValueError as exc:
            raise bad_payload(f"Response '{ident}': {exc}") from exc
        members.append((f"{ident}.{encoding.EXTENSIONS[fmt]}", content))
    return members


def execute(
    plan: ProcessPlan,
    deployment: str,
    source: Any,
    service_version: str,
    timeout_ms: int = 30_000,
) -> ProcessResult:
    """Run a validated plan on one deployment against a scene ``source``; returns the encoded answer."""
    try:
        run = EvalscriptRun(plan.evalscript, timeout_ms=timeout_ms)
    except EvalscriptError as exc:
        raise renderer_error(str(exc)) from exc
    with run:
        setup = run.setup
        _check_setup(setup, plan)
        acqs, scenes_ctx = _select_scenes(run, plan, deployment, source)
        units_used = scene_units(acqs, setup.mosaicking)
        if setup.mosaicking == "SIMPLE":
            units_used = units_used[:SIMPLE_MAX_SCENES]
        _input_samples(plan, setup, units_used)
        band_data = _band_data(plan, setup, deployment, source, units_used)
        raw, userdata = _run_script(run, plan, band_data, scenes_ctx, service_version)
    members = _encode_responses(plan, setup, raw, userdata)
    used = [a.product_id(deployment) for a in acqs]
    float32 = any(o.sample_type == "FLOAT32" for o in setup.outputs if any(o.id == r[0] for r in plan.responses))
    pu = budget.processing_units(plan.width, plan.height, setup.bands, float32, len(units_used))
    if len(members) == 1:
        return ProcessResult(members[0][1], plan.responses[0][1], used, userdata, members, pu)
    return ProcessResult(encoding.build_tar(members), "application/x-tar", used, userdata, members, pu)


def _kept_product_ids(scenes: Any, mosaicking: str) -> set[str]:
    kept: set[str] = set()
    if not isinstance(scenes, dict):
        return kept
    if mosaicking == "ORBIT":
        for o in scenes.get("orbits") or []:
            for t in (o or {}).get("tiles") or []:
                kept.add(str((t or {}).get("productId")))
    else:
        for t in scenes.get("tiles") or []:
            kept.add(str((t or {}).get("productId")))
    return kept


def request_pixel_m(plan: ProcessPlan) -> float:
    """Request pixel width in metres (degrees converted at the bbox's mid-latitude for CRS84/EPSG:4326)."""
    minx, miny, maxx, maxy = plan.bbox
    if plan.epsg == 4326:
        return (maxx - minx) / plan.width * 111_320 * math.cos(math.radians((miny + maxy) / 2))
    return (maxx - minx) / plan.width


def _method(plan: ProcessPlan, bands: list[str]) -> tuple[tuple[str, str], ...]:
    """Resampling per band, decided against **that band's** native resolution (S2L2A "processing" options):
    ``upsampling`` when the request pixel is finer than the band's (5 m from a 10 m band, 10 m from a 20 m band),
    else ``downsampling``; categorical bands always NEAREST."""
    px_m = request_pixel_m(plan)
    out = []
    for b in bands:
        if b in CATEGORICAL_BANDS:
            out.append((b, "NEAREST"))
        else:
            out.append((b, plan.upsampling if px_m < NATIVE_RES_M[b] else plan.downsampling))
    return tuple(out)


def _apply_units(
    vals: dict[str, np.ndarray], units: dict[str, str], baseline: str, harmonize: bool, inside: np.ndarray
) -> dict[str, np.ndarray]:
    """Product DN -> what the evalscript sees (float32), harmonizeValues and units applied, dataMask & geometry.

    Reflectance bands, per the "Harmonize Values" section of the Sentinel-2 L2A data page:

    * ``REFLECTANCE`` (default) is ``(DN + BOA_ADD_OFFSET) / 10000`` on every baseline; ``harmonizeValues=true``
      clamps negative reflectances to 0, ``false`` returns them (possible from 04.00 on);
    * ``DN`` with ``harmonizeValues=true`` is harmonized: ``max(DN + BOA_ADD_OFFSET, 0)`` (= 10000 · reflectance,
      comparable across baselines); with ``false`` the product DN exactly as stored (+1000 from 04.00 on).

    AOT: ``OPTICAL_DEPTH`` (default) = DN / 1000, or ``DN``. WVP: DN, or WVP / 1000 for a non-DN unit. Categorical
    and angle bands as stored (a known unit that does not apply to a band is ignored for it). Pixels outside the
    request geometry get dataMask 0 and all bands 0.
    """
    off = -baselines.boa_add_offset(baseline)
    out: dict[str, np.ndarray] = {}
    for b, v in vals.items():
        u = units.get(b, BAND_DEFAULT_UNITS.get(b, "DN"))
        if b in REFLECTANCE_BANDS:
            harmonized = v - off
            if harmonize:
                harmonized = np.maximum(harmonized, 0)
            raw_dn = harmonized if harmonize else v
            v2 = raw_dn if u == "DN" else harmonized * NORMALIZATION_FACTOR
        elif b in ("AOT", "WVP"):
            v2 = v if u == "DN" else v / 1000.0
        else:
            v2 = v
        if b != "dataMask" and b not in CATEGORICAL_BANDS and not inside.all():
            v2 = np.where(inside, v2, 0)
        out[b] = np.asarray(v2, dtype=np.float32)
    dm = vals.get("dataMask", np.ones(inside.shape)) * inside
    out["dataMask"] = dm.astype(np.float32)
    for b in CATEGORICAL_BANDS & set(out):
        if b != "dataMask":
            out[b] = np.where(inside, out[b], 0).astype(np.float32)
    return out


def check_units(units: dict[str, str]) -> None:
    """400 for a unit name the collection does not know (the service does not fall back to REFLECTANCE)."""
    unknown = sorted({u for u in units.values() if u not in KNOWN_UNITS})
    if unknown:
        raise bad_payload(
            f"Invalid script! Unknown units {', '.join(repr(u) for u in unknown)} for collection sentinel-2-l2a. "
            f"Available: {', '.join(KNOWN_UNITS)}."
        )


_RENDER_CACHE: OrderedDict[tuple[Any, ...], dict[str, np.ndarray]] = OrderedDict()
_RENDER_CACHE_LOCK = threading.Lock()
RENDER_CACHE_SIZE = 6  # rendered (acquisition, deployment, grid, bands) results kept; ~2-10 MB each


def _cached_render(
    source: Any, acq: Any, deployment: str, bands: list[str], plan: ProcessPlan, points: PixelPoints
) -> dict[str, np.ndarray]:
    """``source.render`` memoised on (source, product, deployment, bands, grid, method): scenes are deterministic, so
    repeated identical requests (demo re-runs, client retries) skip the scene generation. Arrays are read-only."""
    method = points.method if isinstance(points.method, str) else tuple(sorted(points.method.items()))
    key = (
        source,  # the object itself: keeps it alive while cached (an id() could be reused)
        acq.product_id(deployment),
        deployment,
        tuple(bands),
        plan.crs,
        plan.bbox,
        plan.width,
        plan.height,
        method,
    )
    with _RENDER_CACHE_LOCK:
        hit = _RENDER_CACHE.get(key)
        if hit is not None:
            _RENDER_CACHE.move_to_end(key)
            return hit
    vals = source.render(acq, deployment, bands, points)
    for v in vals.values():
        v.flags.writeable = False
    with _RENDER_CACHE_LOCK:
        _RENDER_CACHE[key] = vals
        while len(_RENDER_CACHE) > RENDER_CACHE_SIZE:
            _RENDER_CACHE.popitem(last=False)
    return vals


def clear_render_cache() -> None:
    """Forget memoised renders and the scene generator's memoised fields (benchmarks measure cold requests)."""
    with _RENDER_CACHE_LOCK:
        _RENDER_CACHE.clear()
    scene_generator.clear_caches()


def _simple_mosaic(per_scene: list[dict[str, np.ndarray]], band: str, n: int) -> np.ndarray:
    """SIMPLE mosaicking: per pixel, the first scene (in mosaicking order) with dataMask 1."""
    result = np.zeros(n, dtype=np.float32)
    filled = np.zeros(n, dtype=bool)
    for s in per_scene:
        take = (s["dataMask"] > 0) & ~filled
        result[take] = s[band][take] if band != "dataMask" else 1
        filled |= take
    return result
