"""The seed case of S2 Parity: the forum request that started it (Campania, 2020-10-04, B04 + SCL, 10 m).

Used by the offline demo (``make demo``, ``make demo-gui``) and the tests; generated here, never downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

#: EPSG:3035 (ETRS89-extended / LAEA Europe) bbox of the seed AOI: minx, miny, maxx, maxy in metres.
SEED_BBOX_3035 = (4681903.305609, 1981958.981233, 4686951.734307, 1986431.434369)
SEED_EPSG = 3035
SEED_DATE = "2020-10-04"
SEED_PRESET = "B04"
SEED_RESOLUTION_M = 10.0


def seed_aoi_wkt() -> str:
    """The seed bbox as a WKT polygon in EPSG:3035."""
    x0, y0, x1, y1 = SEED_BBOX_3035
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def write_seed_aoi_geojson(path: str | Path) -> Path:
    """Write the seed AOI as a one-feature GeoJSON (EPSG:3035, declared with the RFC 7946-era ``crs`` member so
    GDAL/QGIS read it in the right CRS)."""
    x0, y0, x1, y1 = SEED_BBOX_3035
    doc = {
        "type": "FeatureCollection",
        "name": "seed_aoi",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3035"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"id": 1, "name": "Seed AOI (Campania)"},
                "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
            }
        ],
    }
    path = Path(path)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
