"""Catalog API (STAC 1.0.0 item search, ``/api/v1/catalog/1.0.0/search``) over the scenes a deployment serves.

Items are shaped like each real deployment's (see ``catalog_api_item_*.json`` in shared/data): id = ESA product name
(``…_N0214_…`` on "sh"; the reprocessed ``…_N0500_…`` name with ``.SAFE`` appended on "cdse"), ``datetime``,
``eo:cloud_cover``, ``proj:epsg``, ``proj:bbox``, ``proj:geometry``, ``assets.data.href``
(``s3://sentinel-s2-l2a/tiles/…`` vs ``s3://EODATA/Sentinel-2/MSI/L2A_N0500/…``). Supported body fields:
``collections`` (required), ``datetime`` (instant or interval, open ends ``..``), ``bbox`` (lon/lat) or
``intersects`` (GeoJSON, lon/lat), ``ids``, ``limit`` (1–100, larger is clamped), ``next`` (integer offset),
``fields`` (``DEFAULT_FIELDS`` ∪ include − exclude, dotted paths, as the Catalog docs describe), ``filter`` on
``eo:cloud_cover`` (cql2-text ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN a AND b`` joined by ``AND``, or
cql2-json ``eq``/``neq``/``lt``/``lte``/``gt``/``gte``/``between``/``and``) and ``distinct: "date"`` (the features are
then the distinct sensing dates). ``GET …/search`` takes the same as query parameters; ``/conformance`` and
``/queryables`` are served; the landing page needs no token. Results are sorted by datetime, oldest first.

Like the real pair, the two catalogs differ for the same acquisition: "cdse" writes ``datetime`` with milliseconds
and a little earlier than "sh" (:func:`item_datetime`), and each side lacks a small deterministic share of the
acquisitions the other lists (:func:`is_listed`; never the seed date), so a cross-catalog match must use tile and
sensing time with a tolerance, not ids or exact datetimes. The Process and Statistical APIs serve exactly what the
deployment's catalog lists (:func:`.process_api.served_acquisitions`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from typing import Any, Optional

from osgeo import ogr

from s2parity_plugin.core.model.seed import SEED_DATE
from s2parity_plugin.sample_endpoints.baselines import stable_unit
from s2parity_plugin.sample_endpoints.errors import ServiceError, bad_payload, not_found
from s2parity_plugin.sample_endpoints.scene_generator import Acquisition, transformer

COLLECTION_ID = "sentinel-2-l2a"
#: Share of acquisitions one deployment's catalog does not list (each side independently, deterministic per tile and
#: date): real archives differ by products never ingested, withdrawn or not (yet) reprocessed.
MISSING_SHARE = 0.03
#: "cdse" datetimes are this many seconds earlier at most (plus milliseconds) than "sh"'s for the same acquisition.
CDSE_DATETIME_LEAD_S = 90.0
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "between": lambda a, b: b[0] <= a <= b[1],
}
#: What an item holds when ``fields`` is given: this default set plus ``include``, minus ``exclude`` (Catalog docs,
#: "Include/Exclude behaviour").
DEFAULT_FIELDS = ("id", "type", "geometry", "bbox", "links", "assets", "properties.datetime")


def _parse_dt(text: str, default: dt.datetime) -> dt.datetime:
    text = text.strip()
    if text in ("..", ""):
        return default
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_payload(f"Invalid datetime '{text}': RFC 3339 date-time expected.") from exc
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def parse_datetime(value: Any) -> tuple[dt.datetime, dt.datetime]:
    """``"a/b"`` (open ends ``..``) or a single instant -> (start, end) UTC."""
    if not isinstance(value, str):
        raise bad_payload("Invalid request: 'datetime' is required (instant or interval 'start/end').")
    lo = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    hi = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
    if "/" in value:
        a, b = value.split("/", 1)
        return _parse_dt(a, lo), _parse_dt(b, hi)
    t = _parse_dt(value, lo)
    return t, t


#: cql2-json operator names and their cql2-text symbols (Catalog "Filter": eq, neq, lt, lte, gt, gte, between).
_JSON_OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "between": "between"}
_TEXT_CMP = re.compile(r"\(?\s*eo:cloud_cover\s*(<=|>=|<>|<|>|=)\s*(-?[0-9.]+)\s*\)?")
_TEXT_BETWEEN = re.compile(
    r"\(?\s*eo:cloud_cover\s+BETWEEN\s+(-?[0-9.]+)\s+AND\s+(-?[0-9.]+)\s*\)?", flags=re.IGNORECASE
)


def _cc_filter(flt: Any) -> list[tuple[str, Any]]:
    """Parse a cloud-cover filter into (op, value) conditions (all ANDed); ``between`` carries (low, high)."""
    if flt is None or flt == "":
        return []
    if isinstance(flt, str):
        conds: list[tuple[str, Any]] = []
        text = _TEXT_BETWEEN.sub(lambda m: f" __between_{m.group(1)}_{m.group(2)} ", flt.strip()).strip()
        for part in re.split(r"\s+AND\s+", text, flags=re.IGNORECASE):
            part = part.strip()
            if part.startswith("__between_"):
                lo, hi = part[len("__between_") :].split("_")
                conds.append(("between", (float(lo), float(hi))))
                continue
            m = _TEXT_CMP.fullmatch(part)
            if not m:
                raise bad_payload(f"Unsupported filter '{part}': only eo:cloud_cover comparisons are supported.")
            conds.append((m.group(1), float(m.group(2))))
        return conds
    if isinstance(flt, dict):
        if flt.get("op") == "and":
            return [c for arg in flt.get("args", []) for c in _cc_filter(arg)]
        op, args = _JSON_OPS.get(flt.get("op"), flt.get("op")), flt.get("args", [])
        if op in _OPS and len(args) >= 2 and isinstance(args[0], dict) and args[0].get("property") == "eo:cloud_cover":
            if op == "between":
                bounds = args[1] if len(args) == 2 and isinstance(args[1], list) else args[1:3]
                return [("between", (float(bounds[0]), float(bounds[1])))]
            return [(op, float(args[1]))]
    raise bad_payload(f"Unsupported filter {json.dumps(flt)}: only eo:cloud_cover comparisons are supported.")


def _area_geometry(body: dict[str, Any]) -> tuple[tuple[float, float, float, float], Optional[ogr.Geometry]]:
    if body.get("bbox") is not None:
        bb = body["bbox"]
        if not isinstance(bb, list) or len(bb) not in (4, 6):
            raise bad_payload("Invalid 'bbox': [minLon, minLat, maxLon, maxLat] expected.")
        if len(bb) == 6:
            bb = [bb[0], bb[1], bb[3], bb[4]]
        return (float(bb[0]), float(bb[1]), float(bb[2]), float(bb[3])), None
    if body.get("intersects") is not None:
        try:
            g = ogr.CreateGeometryFromJson(json.dumps(body["intersects"]))
        except RuntimeError as exc:
            raise bad_payload(f"Invalid 'intersects' geometry: {exc}") from exc
        if g is None:
            raise bad_payload("Invalid 'intersects' geometry.")
        minx, maxx, miny, maxy = g.GetEnvelope()
        return (minx, miny, maxx, maxy), g
    return (-180.0, -90.0, 180.0, 90.0), None


#: The seed acquisition's date: listed on both sides so the demo and the seed tests keep their acquisition.
ALWAYS_LISTED_DATE = dt.date.fromisoformat(SEED_DATE)


def is_listed(acq: Any, deployment: str) -> bool:
    """Whether the deployment's catalog lists the acquisition: all but :data:`MISSING_SHARE` of the synthetic ones
    (the seed date is always listed on both, so the demo and the seed tests keep their acquisition); every product
    of a raster-file source (those are chosen files)."""
    if not isinstance(acq, Acquisition) or acq.date == ALWAYS_LISTED_DATE:
        return True
    return stable_unit("catalog-missing", deployment, acq.tile.tile_id, acq.date) >= MISSING_SHARE


def item_datetime(acq: Acquisition, deployment: str) -> str:
    """``properties.datetime`` as the deployment writes it: whole seconds on "sh" (``2020-10-04T10:00:29Z``); on
    "cdse" milliseconds and up to :data:`CDSE_DATETIME_LEAD_S` earlier (``2020-10-04T09:59:41.024Z``)."""
    if deployment != "cdse":
        return acq.sensing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    lead = dt.timedelta(seconds=CDSE_DATETIME_LEAD_S * stable_unit("cdse-datetime", acq.tile.tile_id, acq.date))
    t = acq.sensing_time - lead
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _footprint_lonlat(acq: Acquisition) -> list[list[float]]:
    t = acq.tile
    ring = [(t.xmin, t.ymax), (t.xmin, t.ymin), (t.xmax, t.ymin), (t.xmax, t.ymax), (t.xmin, t.ymax)]
    tr = transformer(f"EPSG:{t.epsg}", "EPSG:4326")
    return [list(tr.transform(x, y)) for x, y in ring]


def item_for(acq: Acquisition, deployment: str, cloud_cover: float, base_url: str) -> dict[str, Any]:
    """The STAC item of one acquisition as the deployment's Catalog API shows it."""
    t = acq.tile
    ring = _footprint_lonlat(acq)
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    item_id = acq.catalog_id(deployment)
    cat = f"{base_url}/api/v1/catalog/1.0.0"
    utm_ring = [
        [t.xmin + 1, t.ymax - 1],
        [t.xmin + 1, t.ymin + 1],
        [t.xmax - 1, t.ymin + 1],
        [t.xmax - 1, t.ymax - 1],
        [t.xmin + 1, t.ymax - 1],
    ]
    links = [
        {"href": f"{cat}/", "rel": "root", "type": "application/json"},
        {
            "href": f"{cat}/collections/{COLLECTION_ID}/items/{item_id}",
            "rel": "self",
            "type": "application/geo+json",
        },
        {"href": f"{cat}/collections/{COLLECTION_ID}", "rel": "parent", "type": "application/json"},
        {"href": f"{cat}/collections/{COLLECTION_ID}", "rel": "collection", "type": "application/json"},
    ]
    if deployment == "sh":  # Sentinel Hub items point back to the (former) SciHub product, as the real ones do
        product_uuid = uuid.uuid5(uuid.NAMESPACE_URL, acq.product_id(deployment))
        links.append(
            {
                "href": f"https://scihub.copernicus.eu/dhus/odata/v1/Products('{product_uuid}')/$value",
                "rel": "derived_from",
                "title": "scihub download",
            }
        )
    return {
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
        ],
        "id": item_id,
        "type": "Feature",
        "geometry": {
            "type": "MultiPolygon",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC::CRS84"}},
            "coordinates": [[ring]],
        },
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": {
            "datetime": item_datetime(acq, deployment),
            "platform": "sentinel-2" + acq.satellite[-1].lower(),
            "instruments": ["msi"],
            "constellation": "sentinel-2",
            "gsd": 10,
            "eo:cloud_cover": cloud_cover,
            "proj:epsg": t.epsg,
            "proj:bbox": [t.xmin, t.ymin, t.xmax, t.ymax],
            "proj:geometry": {
                "type": "MultiPolygon",
                "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{t.epsg}"}},
                "coordinates": [[utm_ring]],
            },
        },
        "assets": {"data": {"href": acq.data_path(deployment), "title": "s3", "type": "inode/directory"}},
        "collection": COLLECTION_ID,
        "links": links,
    }


def _apply_fields(item: dict[str, Any], fields: Any) -> dict[str, Any]:
    """The item reduced to ``(DEFAULT_FIELDS ∪ include) − exclude`` when ``fields`` is given (an empty object or
    empty lists give the default set); without ``fields`` the whole item."""
    if fields is None:
        return item
    if not isinstance(fields, dict):
        raise bad_payload("Invalid 'fields': an object with 'include' and/or 'exclude' lists is required.")
    include = list(DEFAULT_FIELDS) + [f for f in fields.get("include") or [] if isinstance(f, str)]
    exclude = [f for f in fields.get("exclude") or [] if isinstance(f, str)]
    out: dict[str, Any] = {}
    for path in include:
        src: Any = item
        parts = path.split(".")
        for p in parts:
            src = src.get(p) if isinstance(src, dict) else None
        if src is None:
            continue
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = copy.deepcopy(src)
    for path in exclude:
        parts = path.split(".")
        d: Any = out
        for p in parts[:-1]:
            d = d.get(p) if isinstance(d, dict) else None
        if isinstance(d, dict):
            d.pop(parts[-1], None)
    return out


def search(body: Any, deployment: str, source: Any, base_url: str) -> dict[str, Any]:
    """Answer a ``POST …/search`` body with a STAC ItemCollection (+ ``context`` with ``next`` when more)."""
    if not isinstance(body, dict):
        raise bad_payload("Could not parse the request: the body must be a JSON object.")
    collections = body.get("collections")
    if not isinstance(collections, list) or not collections:
        raise bad_payload("Invalid request: 'collections' is required.")
    for c in collections:
        if c != COLLECTION_ID:
            raise not_found(f"Collection '{c}' not found.")
    start, end = parse_datetime(body.get("datetime"))
    if end < start:
        raise bad_payload("Invalid 'datetime': start is after end.")
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise bad_payload("Invalid 'limit': a positive integer is required.")
    limit = min(limit, 100)
    offset = body.get("next", 0) or 0
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise bad_payload("Invalid 'next': a non-negative integer is required.")
    conds = _cc_filter(body.get("filter"))
    bbox, geom = _area_geometry(body)
    if (bbox[2] - bbox[0]) > 5 or (bbox[3] - bbox[1]) > 5:
        raise ServiceError(400, "The search area is too large for the sample deployment (max 5 x 5 degrees).")
    acqs = source.acquisitions(bbox, start, end)
    ids = body.get("ids")
    items: list[dict[str, Any]] = []
    for a in acqs:
        if (ids and a.catalog_id(deployment) not in ids) or not is_listed(a, deployment):
            continue
        cc = source.cloud_cover(a, deployment)
        if not all(_OPS[op](cc, v) for op, v in conds):
            continue
        item = item_for(a, deployment, cc, base_url)
        if geom is not None:
            fp = ogr.CreateGeometryFromJson(json.dumps({"type": "Polygon", "coordinates": [_footprint_lonlat(a)]}))
            if not fp.Intersects(geom):
                continue
        items.append(item)
    distinct = body.get("distinct")
    if distinct is not None:
        if distinct != "date":
            raise bad_payload(f"Invalid 'distinct' {distinct!r}: sentinel-2-l2a supports 'date'.")
        dates = sorted({i["properties"]["datetime"][:10] for i in items})
        items = dates  # type: ignore[assignment]  # distinct answers the values themselves as features
    page = items[offset : offset + limit]
    if distinct is None:
        page = [_apply_fields(i, body.get("fields")) for i in page]
    context: dict[str, Any] = {"limit": limit, "returned": len(page)}
    links = [{"href": f"{base_url}/api/v1/catalog/1.0.0/search", "rel": "self", "type": "application/geo+json"}]
    if offset + limit < len(items):
        context["next"] = offset + limit
        links.append(
            {
                "href": f"{base_url}/api/v1/catalog/1.0.0/search",
                "rel": "next",
                "type": "application/geo+json",
                "title": "Next set of results",
                "method": "POST",
                "body": {"next": offset + limit},
                "merge": True,
            }
        )
    return {"type": "FeatureCollection", "features": page, "links": links, "context": context}


def tile_centre_lonlat(tile_id: str) -> tuple[float, float]:
    """Approximate lon/lat (deg) of the centre of the MGRS 100 km square ``tile_id`` (e.g. ``33TVF``)."""
    from s2parity_plugin.sample_endpoints.scene_generator import _COL_SETS, _LAT_BANDS, _ROW_LETTERS

    zone, band, col, row = int(tile_id[:2]), tile_id[2], tile_id[3], tile_id[4]
    e0 = (_COL_SETS[(zone - 1) % 3].index(col) + 1) * 100000.0
    lat_c = -80 + 8 * _LAT_BANDS.index(band) + 4
    south = lat_c < 0
    epsg = (32700 if south else 32600) + zone
    _, n_c = transformer("EPSG:4326", f"EPSG:{epsg}").transform(-183 + 6 * zone, lat_c)
    n_mod = ((_ROW_LETTERS.index(row) - (5 if zone % 2 == 0 else 0)) % 20) * 100000.0
    k = round((n_c - 50000.0 - n_mod) / 2_000_000.0)
    n0 = n_mod + k * 2_000_000.0
    lon, lat = transformer(f"EPSG:{epsg}", "EPSG:4326").transform(e0 + 50000.0, n0 + 50000.0)
    return float(lon), float(lat)


def get_item(item_id: str, deployment: str, source: Any, base_url: str) -> dict[str, Any]:
    """``GET …/collections/sentinel-2-l2a/items/{id}``: the item of one product name (404 when unknown)."""
    parts = item_id.removesuffix(".SAFE").split("_")
    try:
        sensing = dt.datetime.strptime(parts[2], "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
        lon, lat = tile_centre_lonlat(parts[5][1:])
    except (IndexError, ValueError):
        raise not_found(f"Item '{item_id}' not found.") from None
    bbox = (lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    day = dt.timedelta(days=1)
    for a in source.acquisitions(bbox, sensing - day, sensing + day):
        if a.catalog_id(deployment) == item_id and is_listed(a, deployment):
            return item_for(a, deployment, source.cloud_cover(a, deployment), base_url)
    raise not_found(f"Item '{item_id}' not found.")


def landing_page(base_url: str, deployment: str) -> dict[str, Any]:
    """``GET /api/v1/catalog/1.0.0/``."""
    cat = f"{base_url}/api/v1/catalog/1.0.0"
    return {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "sentinel-hub" if deployment == "sh" else "cdse",
        "title": "Sentinel Hub STAC catalog (S2 Parity sample deployment)",
        "description": "STAC v1.0.0 implementation (local emulation)",
        "conformsTo": list(CONFORMANCE),
        "links": [
            {"href": f"{cat}/", "rel": "self", "type": "application/json"},
            {"href": f"{cat}/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{cat}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables"},
            {"href": f"{cat}/collections", "rel": "data", "type": "application/json"},
            {"href": f"{cat}/search", "rel": "search", "type": "application/geo+json", "method": "POST"},
        ],
    }


CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#context",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
]


def conformance() -> dict[str, Any]:
    """``GET …/conformance``."""
    return {"conformsTo": list(CONFORMANCE)}


def queryables(base_url: str) -> dict[str, Any]:
    """``GET …/queryables`` / ``…/collections/sentinel-2-l2a/queryables``: what ``filter`` accepts (JSON Schema)."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base_url}/api/v1/catalog/1.0.0/collections/{COLLECTION_ID}/queryables",
        "type": "object",
        "title": "Queryables for sentinel-2-l2a",
        "properties": {
            "eo:cloud_cover": {"description": "Cloud cover percentage", "type": "number", "minimum": 0, "maximum": 100}
        },
        "additionalProperties": False,
    }


def search_body_from_query(query: dict[str, list[str]]) -> dict[str, Any]:
    """A ``GET …/search?…`` query string as the equivalent POST body (collections/bbox/ids comma-separated)."""
    body: dict[str, Any] = {}
    one = {k: v[-1] for k, v in query.items() if v}
    if "collections" in one:
        body["collections"] = [c for c in one["collections"].split(",") if c]
    if "ids" in one:
        body["ids"] = [i for i in one["ids"].split(",") if i]
    if "bbox" in one:
        try:
            body["bbox"] = [float(v) for v in one["bbox"].split(",")]
        except ValueError as exc:
            raise bad_payload(f"Invalid 'bbox' {one['bbox']!r}: four comma-separated numbers expected.") from exc
    for key in ("datetime", "filter", "distinct"):
        if key in one:
            body[key] = one[key]
    for key in ("limit", "next"):
        if key in one:
            try:
                body[key] = int(one[key])
            except ValueError as exc:
                raise bad_payload(f"Invalid '{key}' {one[key]!r}: an integer is required.") from exc
    return body


def collection_doc(base_url: str) -> dict[str, Any]:
    """``GET /api/v1/catalog/1.0.0/collections/sentinel-2-l2a`` (abridged)."""
    cat = f"{base_url}/api/v1/catalog/1.0.0"
    return {
        "stac_version": "1.0.0",
        "type": "Collection",
        "id": COLLECTION_ID,
        "title": "Sentinel 2 L2A",
        "description": "Sentinel 2 imagery processed to level 2A (S2 Parity sample deployment)",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -56, 180, 83]]},
            "temporal": {"interval": [["2016-11-01T00:00:00Z", None]]},
        },
        "links": [
            {"href": f"{cat}/collections/{COLLECTION_ID}", "rel": "self", "type": "application/json"},
            {"href": f"{cat}/", "rel": "root", "type": "application/json"},
        ],
    }
