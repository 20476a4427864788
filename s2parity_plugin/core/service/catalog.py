"""Catalog API look-ups: which Sentinel-2 L2A acquisitions an endpoint lists over the AOI in the date range.

This is how the processing baseline of each side is known even for custom evalscripts that write no userdata
(catalog item ids are ESA product names, e.g. ``S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001``).
"""

from __future__ import annotations

from typing import Any

from sentinelhub import CRS, BBox, DataCollection, SentinelHubCatalog, SHConfig

from s2parity_plugin.core.model.spec import RequestSpec
from s2parity_plugin.core.service.session import ParityClient


def wgs84_bbox(spec: RequestSpec) -> BBox:
    """The grid's bbox in WGS 84 (degrees), as :meth:`SentinelHubCatalog.search` would compute it from the grid CRS.

    Compute it once, before the endpoint threads start, and pass it to :func:`search_acquisitions`: pyproj builds a
    transformer holding the GIL (PROJ database look-ups, ≈ 20 ms) and builds it again in every thread that uses it,
    so two endpoint threads each building one at the same moment kept QGIS's main thread waiting 40–50 ms."""
    bbox = BBox(spec.grid.bounds, CRS(spec.grid.epsg))
    return bbox if bbox.crs is CRS.WGS84 else bbox.transform_bounds(CRS.WGS84)


def search_acquisitions(
    spec: RequestSpec,
    config: SHConfig,
    client: ParityClient,
    collection: DataCollection,
    bbox: BBox | None = None,
) -> list[dict[str, Any]]:
    """Catalog items over the grid's bbox (sent in WGS 84; ``bbox``: that bbox from :func:`wgs84_bbox`, computed
    here when not given) in ``spec``'s time range, sorted by date, as ``{"id", "datetime", "cloud_cover"}``. Uses
    the run's own client (proxies, cancellation, token)."""
    catalog = SentinelHubCatalog(config=config)
    catalog.client = client
    cc = spec.options.max_cloud_coverage
    search = catalog.search(
        collection,
        time=(spec.date_from, spec.date_to),
        bbox=bbox if bbox is not None else wgs84_bbox(spec),
        filter=f"eo:cloud_cover <= {cc:g}" if cc < 100 else None,
        limit=100,
    )
    items = []
    for feature in search:
        props = feature.get("properties", {})
        items.append(
            {"id": feature.get("id", ""), "datetime": props.get("datetime"), "cloud_cover": props.get("eo:cloud_cover")}
        )
    return sorted(items, key=lambda item: (item["datetime"] or "", item["id"]))


def acquisition_days(items: list[dict[str, Any]]) -> list[str]:
    """Distinct UTC days (``YYYY-MM-DD``) of catalog items."""
    return sorted({str(item["datetime"])[:10] for item in items if item.get("datetime")})
