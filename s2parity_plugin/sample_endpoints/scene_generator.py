"""Deterministic synthetic Sentinel-2 L2A scenes for any AOI and date, in two processing-baseline versions.

The scene is a *procedural* function of ground coordinates: UTM easting/northing in metres of the tile's zone
(EPSG:326zz north / 327zz south). Each requested pixel centre is transformed from the request CRS into that zone, and
snapped to the band's native grid (10/20/60 m, pixel edges at multiples of the resolution, as the real S2 tiling
has). The scene is then evaluated at the native pixel centres, so any CRS, bbox and resolution work and a
geolocation offset is exact: the old-baseline ("sh") version of an acquisition before 2022-01-25 is the same field
evaluated at ``(E - dx, N - dy)`` (see :func:`~.baselines.reprocessing_truth`).

Content (reflectance in [0, ~0.6], BOA):

* **water** (lakes/rivers where a 3 km value-noise field is high; NIR/SWIR near 0, noise makes some negative so the
  BOA_ADD_OFFSET / harmonization clamp is exercised), **urban** (1.5 km noise), **forest**, and **crop parcels**
  (~220 m x 160 m rotated grid, per-parcel phenology: green vegetation <-> bare soil by day of year);
* fine **texture** (30 m noise, +-4 %) so images correlate well at sub-pixel level;
* **clouds** (date-dependent 2.5 km fractal field; some dates are clear), **thin cirrus** and **cloud shadows**
  (the cloud field projected ~1 km toward north-west, as a ~10:30 local-time sun casts it).

SCL (20 m native) follows the same latent fields with the thresholds of :mod:`.baselines`
(``SCL_THRESHOLDS_NEW`` for Collection-1 / operational >= 04.00, ``SCL_THRESHOLDS_OLD`` for the original
baselines): 9 cloud high, 8 cloud medium, 10 thin cirrus, 3 cloud shadow, 6 water, 7 unclassified (low texture),
4 vegetation (NDVI > 0.4), 5 not vegetated.

DN semantics (``product_dn``): ``DN = round(reflectance * 10000) + 1000`` for baselines >= 04.00
(BOA_ADD_OFFSET -1000), ``DN = round(gain * reflectance * 10000 + offset_dn)`` for the old baselines (gain/offset
from the reprocessing truth), clipped to [0, 65535]. The Process API layer applies ``harmonizeValues``.

Tiles, orbits and coverage
--------------------------
The tile of a point is its real MGRS 100 km square label (zone, latitude band, column/row letters, "AA" lettering
scheme as Sentinel-2 uses), e.g. ``33TVF``; its footprint is the S2 tile extent
``[E0, E0 + 109800] x [N0 + 40 - 109800, N0 + 100040]`` (E0, N0: the square's south-west corner), so neighbouring
tiles overlap by 9.8 km and an AOI near a tile edge lies in both.
Acquisitions follow Sentinel-2's relative orbits: 143 per 10-day cycle, S2B flying each relative orbit 5 days after
S2A, a 290 km swath around the ground track of a circular sun-synchronous orbit (inclination 98.62°), anchored on the
real product S2A R023 T29UNU of 2022-10-05 (its swath edge is reproduced within a pixel row's worth of kilometres).
A tile is acquired by every relative orbit whose swath reaches it (two or three: Campania has R079 — the seed's
2020-10-04 S2B pass — and R122); one pass is one datatake, its tiles share the sensing time. Pixels outside the
tile footprint or the swath have ``dataMask`` 0 and band values 0. Simplifications: no Norway/Svalbard zone
exceptions, S2A/S2B for the whole archive (no S2C), circular orbit, datatakes never interrupted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Optional

import numpy as np
from pyproj import CRS, Transformer

from s2parity_plugin.sample_endpoints import baselines

# --------------------------------------------------------------------------------------------------------------------
# Bands

#: Reflectance bands in wavelength order and their native resolution (m).
REFLECTANCE_BANDS: tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12",
)  # fmt: skip
NATIVE_RES_M: dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
    "B09": 60, "B11": 20, "B12": 20, "SCL": 20, "CLD": 20, "SNW": 20, "AOT": 10, "WVP": 10, "CLP": 160,
    "CLM": 160, "dataMask": 10, "sunZenithAngles": 5000, "sunAzimuthAngles": 5000, "viewZenithMean": 5000,
    "viewAzimuthMean": 5000,
}  # fmt: skip
#: Bands that are categorical (always nearest-neighbour, whatever up/downsampling says).
CATEGORICAL_BANDS = frozenset({"SCL", "CLM", "SNW", "dataMask"})
ALL_BANDS = tuple(NATIVE_RES_M)

# Class spectra (surface reflectance, REFLECTANCE_BANDS order).
_SPECTRA = {
    "water": (0.060, 0.052, 0.042, 0.026, 0.020, 0.012, 0.010, 0.008, 0.007, 0.005, 0.003, 0.002),
    "veg": (0.030, 0.035, 0.070, 0.040, 0.100, 0.280, 0.340, 0.380, 0.400, 0.400, 0.220, 0.110),
    "soil": (0.080, 0.100, 0.140, 0.180, 0.210, 0.230, 0.250, 0.270, 0.280, 0.290, 0.340, 0.280),
    "forest": (0.020, 0.025, 0.045, 0.025, 0.070, 0.200, 0.250, 0.280, 0.290, 0.290, 0.140, 0.060),
    "urban": (0.100, 0.110, 0.130, 0.150, 0.160, 0.170, 0.180, 0.190, 0.200, 0.200, 0.220, 0.200),
    "cloud": (0.450, 0.480, 0.500, 0.520, 0.530, 0.540, 0.550, 0.560, 0.560, 0.450, 0.400, 0.300),
}
_SPECTRA_ARR = {k: np.asarray(v, dtype=np.float64)[:, None] for k, v in _SPECTRA.items()}

SHADOW_VECTOR_M = (600.0, -800.0)  # shadow(E, N) = cloud(E + 600, N - 800): shadows fall north-west of clouds

# --------------------------------------------------------------------------------------------------------------------
# Noise


_M1 = np.uint32(0x9E3779B1)
_M2 = np.uint32(0x85EBCA77)
_A = np.uint32(0x7FEB352D)
_B = np.uint32(0x846CA68B)
_S15 = np.uint32(15)
_S16 = np.uint32(16)
_INV32 = np.float32(1.0 / 4294967296.0)


def _mix32(h: np.ndarray) -> np.ndarray:
    """lowbias32 integer finaliser on uint32 arrays (in place, wraps)."""
    h ^= h >> _S16
    h *= _A
    h ^= h >> _S15
    h *= _B
    h ^= h >> _S16
    return h


def _seed32(seed: int) -> np.uint32:
    return np.uint32((seed * 0x27D4EB2F + 0x165667B1) & 0xFFFFFFFF)


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Integer lattice hash -> float32 in [0, 1) (vectorised, deterministic, uint32 wrap-around)."""
    with np.errstate(over="ignore"):
        hx = ix.astype(np.int64).astype(np.uint32) * _M1
        hy = (iy.astype(np.int64).astype(np.uint32) * _M2) ^ _seed32(seed)
        return _mix32(hx ^ hy).astype(np.float32) * _INV32


def value_noise(e: np.ndarray, n: np.ndarray, scale_m: float, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1) at feature size ``scale_m`` (m) evaluated at easting/northing ``e``/``n`` (m).

    Lattice coordinates are computed in float64 (exact cell index even at 10 000 km northings), the interpolation in
    float32.
    """
    gx = e * (1.0 / scale_m)
    gy = n * (1.0 / scale_m)
    x0 = np.floor(gx)
    y0 = np.floor(gy)
    fx = (gx - x0).astype(np.float32)
    fy = (gy - y0).astype(np.float32)
    ux = fx * fx * (np.float32(3.0) - np.float32(2.0) * fx)
    uy = fy * fy * (np.float32(3.0) - np.float32(2.0) * fy)
    with np.errstate(over="ignore"):
        ix = x0.astype(np.int64).astype(np.uint32)
        iy = y0.astype(np.int64).astype(np.uint32)
        hx0 = ix * _M1
        hx1 = hx0 + _M1
        sd = _seed32(seed)
        hy0 = (iy * _M2) ^ sd
        hy1 = ((iy + np.uint32(1)) * _M2) ^ sd
        v00 = _mix32(hx0 ^ hy0).astype(np.float32) * _INV32
        v10 = _mix32(hx1 ^ hy0).astype(np.float32) * _INV32
        v01 = _mix32(hx0 ^ hy1).astype(np.float32) * _INV32
        v11 = _mix32(hx1 ^ hy1).astype(np.float32) * _INV32
    a = v00 + (v10 - v00) * ux
    b = v01 + (v11 - v01) * ux
    return a + (b - a) * uy


def fbm(e: np.ndarray, n: np.ndarray, scale_m: float, seed: int, octaves: int = 3) -> np.ndarray:
    """Fractal sum of ``octaves`` value noises (first at ``scale_m``), normalised to [0, 1)."""
    total = np.zeros(np.shape(e), dtype=np.float32)
    amp, norm, scale = 1.0, 0.0, scale_m
    for k in range(octaves):
        total += amp * value_noise(e, n, scale, seed + 7919 * k)
        norm += amp
        amp *= 0.5
        scale *= 0.5
    return total / norm


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --------------------------------------------------------------------------------------------------------------------
# Tiles (simplified MGRS) and acquisitions

_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COL_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"


@dataclasses.dataclass(frozen=True)
class Tile:
    """A Sentinel-2 (MGRS) tile: id like ``33TVF``, UTM EPSG code and extent (m, in that EPSG)."""

    tile_id: str
    epsg: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def zone(self) -> int:
        return int(self.tile_id[:2])

    @property
    def utm_path(self) -> str:
        """``33/T/VF`` as in ``s3://sentinel-s2-l2a/tiles/33/T/VF/…``."""
        return f"{int(self.tile_id[:2])}/{self.tile_id[2]}/{self.tile_id[3:]}"


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the UTM zone (WGS 84) containing lon/lat (deg); no Norway/Svalbard exceptions."""
    zone = min(60, max(1, math.floor((lon + 180.0) / 6.0) + 1))
    return (32600 if lat >= 0 else 32700) + zone


_TLS = threading.local()


def transformer(src: str, dst: str) -> Transformer:
    """Cached always-xy pyproj transformer between two CRS definitions (``"EPSG:3035"`` …).

    The cache is per thread: pyproj ``Transformer`` objects must not be shared between threads (the server answers
    "sh" and "cdse" requests concurrently).
    """
    cache = getattr(_TLS, "transformers", None)
    if cache is None:
        cache = _TLS.transformers = {}
    key = (src, dst)
    tr = cache.get(key)
    if tr is None:
        if len(cache) > 64:
            cache.clear()
        tr = cache[key] = Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)
    return tr


def tile_for_lonlat(lon: float, lat: float) -> Tile:
    """The (simplified) MGRS tile containing lon/lat (degrees, WGS 84)."""
    return _tiles_for_points(np.array([lon]), np.array([lat]))[0]


def _tiles_for_points(lons: np.ndarray, lats: np.ndarray) -> list[Tile]:
    """Vectorised :func:`tile_for_lonlat` (one pyproj call per UTM zone)."""
    out: list[Optional[Tile]] = [None] * len(lons)
    epsgs = np.array([utm_epsg(float(lo), float(la)) for lo, la in zip(lons, lats)])
    for epsg in np.unique(epsgs):
        sel = np.nonzero(epsgs == epsg)[0]
        es, ns = transformer("EPSG:4326", f"EPSG:{int(epsg)}").transform(lons[sel], lats[sel])
        zone = int(epsg) % 100
        for k, e, n in zip(sel, np.atleast_1d(es), np.atleast_1d(ns)):
            lat = float(lats[k])
            band = _LAT_BANDS[min(19, max(0, int((lat + 80) // 8)))]
            col_idx = math.floor(e / 100000)  # 1..8
            col = _COL_SETS[(zone - 1) % 3][max(0, min(7, col_idx - 1))]
            row_offset = 5 if zone % 2 == 0 else 0  # southern northings already carry the 10 000 km false northing
            row = _ROW_LETTERS[(math.floor(n / 100000) + row_offset) % 20]
            e0 = col_idx * 100000.0
            n0 = math.floor(n / 100000.0) * 100000.0
            ymax = n0 + 100040.0
            out[k] = Tile(f"{zone:02d}{band}{col}{row}", int(epsg), e0, ymax - 109800.0, e0 + 109800.0, ymax)
    return [t for t in out if t is not None]


TILE_OVERLAP_M = 9800.0  # S2 tiles are 109.8 km squares on a 100 km grid: neighbours overlap by 9.8 km


def tiles_for_bbox_lonlat(bbox: tuple[float, float, float, float]) -> list[Tile]:
    """All tiles whose footprint (109.8 km, overlapping its neighbours) contains a point of a 9 x 9 sample grid of the
    lon/lat ``bbox``: near a tile edge, both the tile and its neighbour."""
    return list(_tiles_for_bbox_cached(tuple(float(v) for v in bbox)))


@lru_cache(maxsize=256)
def _tiles_for_bbox_cached(bbox: tuple[float, ...]) -> tuple[Tile, ...]:
    minx, miny, maxx, maxy = bbox
    gx, gy = np.meshgrid(np.linspace(minx, maxx, 9), np.linspace(miny, maxy, 9))
    lons, lats = gx.ravel(), gy.ravel()
    dlon = TILE_OVERLAP_M / (111_320.0 * max(0.05, math.cos(math.radians(float(np.mean(lats))))))
    dlat = TILE_OVERLAP_M / 110_574.0
    found: dict[str, Tile] = {}
    for sx, sy in ((0.0, 0.0), (-dlon, 0.0), (0.0, dlat), (-dlon, dlat)):
        for t in _tiles_for_points(lons + sx, lats + sy):
            found.setdefault(t.tile_id, t)
    out = []
    for t in found.values():
        e, n = transformer("EPSG:4326", f"EPSG:{t.epsg}").transform(lons, lats)
        e, n = np.asarray(e), np.asarray(n)
        if ((e >= t.xmin) & (e <= t.xmax) & (n >= t.ymin) & (n <= t.ymax)).any():
            out.append(t)
    return tuple(sorted(out, key=lambda t: t.tile_id))


class AcquisitionNaming:
    """What both deployments derive from an acquisition's product id and tile: storage path, internal id, catalog
    id. Needs ``tile``, ``sensing_time``, ``baseline(deployment)`` and ``product_id(deployment)``."""

    tile: Tile
    sensing_time: dt.datetime

    @property
    def date(self) -> dt.date:
        return self.sensing_time.date()

    def data_path(self, deployment: str) -> str:
        """Storage path the deployment reports (``s3://sentinel-s2-l2a/tiles/…`` vs ``s3://EODATA/…``)."""
        if deployment == "sh":
            d = self.date
            return f"s3://sentinel-s2-l2a/tiles/{self.tile.utm_path}/{d.year}/{d.month}/{d.day}/0"
        base = self.baseline(deployment)
        folder = f"L2A_N{base.replace('.', '')}" if baselines.is_collection1(deployment, self.date) else "L2A"
        return f"s3://EODATA/Sentinel-2/MSI/{folder}/{self.date:%Y/%m/%d}/{self.product_id(deployment)}.SAFE"

    def sh_id(self, deployment: str) -> int:
        """Internal numeric scene id (``scenes.tiles[i].shId``)."""
        return 1_000_000 + int(9_000_000 * baselines.stable_unit("shid", deployment, self.product_id(deployment)))

    def catalog_id(self, deployment: str) -> str:
        """Catalog item id: the product name on "sh", the product name + ``.SAFE`` on "cdse" (as the real ones)."""
        pid = self.product_id(deployment)
        return pid + ".SAFE" if deployment == "cdse" else pid


@dataclasses.dataclass(frozen=True)
class Acquisition(AcquisitionNaming):
    """One acquisition of one tile (a datatake over a tile), the same on both deployments except for the baseline."""

    tile: Tile
    sensing_time: dt.datetime  # UTC
    satellite: str  # "S2A" / "S2B"
    relative_orbit: int  # 1..143

    def baseline(self, deployment: str) -> str:
        return baselines.baseline_for(deployment, self.date)

    def product_id(self, deployment: str) -> str:
        """ESA product name, e.g. ``S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001``."""
        base = self.baseline(deployment)
        if baselines.is_collection1(deployment, self.date):  # reprocessing campaign date (2023)
            disc = dt.datetime(2023, 3, 1) + dt.timedelta(
                days=int(150 * baselines.stable_unit("s2rp", self.tile.tile_id, self.date)),
                seconds=int(86000 * baselines.stable_unit("s2rp-s", self.tile.tile_id, self.date)),
            )
        else:
            disc = self.sensing_time + dt.timedelta(
                seconds=int(7200 + 3600 * baselines.stable_unit("disc", self.tile.tile_id, self.date))
            )
        return (
            f"{self.satellite}_MSIL2A_{self.sensing_time:%Y%m%dT%H%M%S}_N{base.replace('.', '')}"
            f"_R{self.relative_orbit:03d}_T{self.tile.tile_id}_{disc:%Y%m%dT%H%M%S}"
        )


# Orbits: Sentinel-2's real relative-orbit geometry, simplified to a circular sun-synchronous orbit.
S2_INCLINATION_DEG = 98.62  # ESA Sentinel-2 mission guide
RELATIVE_ORBITS = 143  # per 10-day repeat cycle of one satellite
CYCLE_DAYS = 10
ORBIT_PERIOD_DAYS = CYCLE_DAYS / RELATIVE_ORBITS  # 100.7 min between consecutive relative orbits
SWATH_HALF_WIDTH_KM = 145.0  # 290 km swath
SWATH_SHORTCUT_MARGIN_KM = 2.0  # request corners this far inside the swath: every pixel is inside
S2B_PHASE_DAYS = 5  # S2B flies 180° apart from S2A: the same relative orbit 5 days later
#: Anchor: the real product S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU (../shared/data 1a): S2A, R023, datatake
#: start 2022-10-05T11:54:11Z. Its descending-node longitude (−25.526°) is fitted so that the modelled east swath
#: edge runs along the real tile's no-data boundary (column 1378 of the 60 m grid at the tile's top row; the model
#: then puts the bottom-row edge within 0.3 km of the real column 800).
ANCHOR_ORBIT = 23
ANCHOR_TIME = dt.datetime(2022, 10, 5, 11, 54, 11, tzinfo=dt.timezone.utc)
ANCHOR_NODE_LON_DEG = -25.5258
SATELLITE_START = {"S2A": dt.date(2015, 6, 23), "S2B": dt.date(2017, 3, 7)}
_EARTH_DEG_PER_MIN = 360.0 / 1440.0  # sun-synchronous: the node follows the sun, so solar-day rotation


def node_lon(relative_orbit: int) -> float:
    """Longitude (deg) of the descending node of ``relative_orbit``: each next orbit crosses 25.17° further west."""
    lon = ANCHOR_NODE_LON_DEG - 360.0 * ORBIT_PERIOD_DAYS * (relative_orbit - ANCHOR_ORBIT)
    return (lon + 180.0) % 360.0 - 180.0


def track_lon(node: float | np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Longitude (deg) of the descending ground track of a node at latitude ``lat`` (deg): circular orbit of
    inclination :data:`S2_INCLINATION_DEG` plus the Earth's rotation since the pass (tracks lean ~15° at 53° N)."""
    inc = math.radians(S2_INCLINATION_DEG)
    u = np.pi - np.arcsin(np.clip(np.sin(np.radians(lat)) / math.sin(inc), -1.0, 1.0))
    dl = np.degrees(np.arctan2(math.cos(inc) * np.sin(u), np.cos(u)) - np.pi)
    minutes = (u - np.pi) / (2 * np.pi) * ORBIT_PERIOD_DAYS * 1440.0
    return node + ((dl + 180.0) % 360.0 - 180.0) - _EARTH_DEG_PER_MIN * minutes


def cross_track_km(lon: np.ndarray, lat: np.ndarray, relative_orbit: int) -> np.ndarray:
    """Distance (km, east +) of lon/lat points (deg) from the ground track of ``relative_orbit``."""
    lat = np.asarray(lat, dtype=np.float64)
    node = node_lon(relative_orbit)
    d = (np.asarray(lon, dtype=np.float64) - track_lon(node, lat) + 180.0) % 360.0 - 180.0
    slope = (track_lon(node, lat + 0.01) - track_lon(node, lat - 0.01)) / 0.02 * np.cos(np.radians(lat))
    return d * 111.32 * np.cos(np.radians(lat)) / np.sqrt(1.0 + slope * slope)


def in_swath(lon: np.ndarray, lat: np.ndarray, relative_orbit: int) -> np.ndarray:
    """True where lon/lat (deg) lie inside the 290 km swath of ``relative_orbit``."""
    return np.abs(cross_track_km(lon, lat, relative_orbit)) <= SWATH_HALF_WIDTH_KM


def _tile_lonlat_samples(tile: Tile, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.linspace(tile.xmin, tile.xmax, n), np.linspace(tile.ymin, tile.ymax, n)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = transformer(f"EPSG:{tile.epsg}", "EPSG:4326").transform(gx.ravel(), gy.ravel())
    return np.asarray(lon), np.asarray(lat)


@lru_cache(maxsize=1024)
def relative_orbits_of_tile(tile: Tile) -> tuple[int, ...]:
    """Relative orbits whose swath covers part of ``tile`` (two or three for most tiles: overlapping swaths)."""
    lon, lat = _tile_lonlat_samples(tile)
    return tuple(r for r in range(1, RELATIVE_ORBITS + 1) if in_swath(lon, lat, r).any())


def pass_times(satellite: str, relative_orbit: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Datatake start times (UTC) of ``satellite`` on ``relative_orbit`` in [start, end]; one per 10-day cycle."""
    base = ANCHOR_TIME + dt.timedelta(days=ORBIT_PERIOD_DAYS * (relative_orbit - ANCHOR_ORBIT))
    if satellite == "S2B":
        base += dt.timedelta(days=S2B_PHASE_DAYS)
    k = math.ceil((start - base).total_seconds() / (CYCLE_DAYS * 86400.0))
    out = []
    t = base + dt.timedelta(days=CYCLE_DAYS * k)
    while t <= end:
        if t >= start and t.date() >= SATELLITE_START[satellite]:
            out.append(t.replace(microsecond=0))
        t += dt.timedelta(days=CYCLE_DAYS)
    return out


def acquisitions_for_tile(tile: Tile, start: dt.datetime, end: dt.datetime) -> list[Acquisition]:
    """All acquisitions of ``tile`` with sensing time in [start, end] (UTC, inclusive), oldest first: every pass of
    S2A and S2B over a relative orbit whose swath reaches the tile. Tiles of one pass share its sensing time (the
    datatake start), as real products of one datatake do."""
    out = [
        Acquisition(tile, t, sat, r)
        for r in relative_orbits_of_tile(tile)
        for sat in ("S2A", "S2B")
        for t in pass_times(sat, r, start, end)
    ]
    return sorted(out, key=lambda a: (a.sensing_time, a.relative_orbit))


# --------------------------------------------------------------------------------------------------------------------
# Latent fields and rendering


def _cloudiness(day: dt.date) -> float:
    """Target cloud fraction of a date (0 for ~35 % of dates)."""
    u = baselines.stable_unit("cloudiness", day)
    return 0.0 if u < 0.35 else 0.08 + 0.6 * (u - 0.35) / 0.65


_LANDCOVER_CACHE: OrderedDict[bytes, dict[str, np.ndarray]] = OrderedDict()
_LANDCOVER_LOCK = threading.Lock()


def _landcover(e: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Date-independent latent fields at ground coords (water/urban/forest masks, parcel ids, textures).

    Memoised on the exact coordinate bytes (a multi-date request evaluates the same native-grid centres for every
    acquisition of a deployment without geolocation shift).
    """
    key = hashlib.blake2b(e.tobytes() + n.tobytes(), digest_size=16).digest()
    with _LANDCOVER_LOCK:
        hit = _LANDCOVER_CACHE.get(key)
        if hit is not None:
            _LANDCOVER_CACHE.move_to_end(key)
            return hit
    water = fbm(e, n, 3000.0, 11, 2) > 0.70
    urban = (fbm(e, n, 1500.0, 23, 2) > 0.68) & ~water
    forest = (fbm(e, n, 2200.0, 37, 2) > 0.64) & ~water & ~urban
    ang = math.radians(17.0)
    u = e * math.cos(ang) + n * math.sin(ang)
    v = -e * math.sin(ang) + n * math.cos(ang)
    pu = np.floor(u / 220.0).astype(np.int64)
    pv = np.floor(v / 160.0).astype(np.int64)
    texture = value_noise(e, n, 30.0, 59)
    out = {
        "water": water,
        "urban": urban,
        "forest": forest,
        "phase": _hash01(pu, pv, 101),
        "texture": texture,
        "fine": value_noise(e, n, 12.0, 61) - np.float32(0.5),
        "urban_gain": np.float32(0.8) + np.float32(0.4) * _hash01(pu, pv, 7),
        "tex_gain": np.float32(0.96) + np.float32(0.08) * texture,
    }
    with _LANDCOVER_LOCK:
        _LANDCOVER_CACHE[key] = out
        while len(_LANDCOVER_CACHE) > 4:
            _LANDCOVER_CACHE.popitem(last=False)
    return out


def _surface(
    e: np.ndarray, n: np.ndarray, day: dt.date, idx: tuple[int, ...]
) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Surface reflectance of bands ``idx`` (REFLECTANCE_BANDS indices; B04/B08 always), water mask, ndvi, texture.

    Ground coordinates ``e``/``n`` in metres (UTM of the tile's zone).
    """
    lc = _landcover(e, n)
    water, urban, forest, fine = lc["water"], lc["urban"], lc["forest"], lc["fine"]
    doy = day.timetuple().tm_yday
    green = np.clip(0.5 + 0.9 * np.sin(2 * math.pi * (doy / 365.0 + lc["phase"])), 0.0, 1.0).astype(np.float32)
    refl: dict[int, np.ndarray] = {}
    for k in sorted(set(idx) | {3, 7}):
        sp = {name: np.float32(_SPECTRA[name][k]) for name in _SPECTRA}
        r = green * sp["veg"] + (1 - green) * sp["soil"]
        r = np.where(forest, sp["forest"], r)
        r = np.where(urban, sp["urban"] * lc["urban_gain"], r)
        r = r * lc["tex_gain"]
        water_r = sp["water"] + np.float32(0.012) * fine - np.float32(0.002)
        refl[k] = np.where(water, water_r, r + np.float32(0.004) * fine)
    ndvi = (refl[7] - refl[3]) / np.maximum(refl[7] + refl[3], np.float32(1e-6))
    return refl, water, ndvi, lc["texture"]


def _atmosphere(e: np.ndarray, n: np.ndarray, day: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cloud probability, cirrus and shadow probability in [0, 1] at ground coords (m)."""
    c = _cloudiness(day)
    if c <= 0.0:
        z = np.zeros(np.shape(e), dtype=np.float32)
        return z, z, z
    seed = int(1e6 * baselines.stable_unit("cloud-seed", day))
    thr = 0.64 - 0.30 * c
    cloud_p = _smoothstep(fbm(e, n, 2500.0, seed, 4), thr - 0.06, thr + 0.10)
    sx, sy = SHADOW_VECTOR_M
    shadow_p = _smoothstep(fbm(e + sx, n + sy, 2500.0, seed, 4), thr - 0.06, thr + 0.10)
    cirrus = _smoothstep(fbm(e, n, 4000.0, seed + 3, 2), 0.62, 0.75) * np.float32(c > 0.3)
    return cloud_p, cirrus, shadow_p


def scene_fields(
    e: np.ndarray,
    n: np.ndarray,
    day: dt.date,
    old_thresholds: bool | dict[str, float],
    gain: float = 1.0,
    offset_dn: float = 0.0,
    idx: tuple[int, ...] = tuple(range(len(REFLECTANCE_BANDS))),
) -> dict[str, Any]:
    """L2A fields at ground coordinates ``e``/``n`` (m, UTM; already shifted for an old baseline).

    :param old_thresholds: the SCL thresholds to use (a dict of :mod:`.baselines`), or True / False for
        ``SCL_THRESHOLDS_OLD`` / ``SCL_THRESHOLDS_NEW``.

    :param idx: REFLECTANCE_BANDS indices to compute (B04 and B08 are always computed, for NDVI/SCL).
    :return: ``refl``: {band index: reflectance incl. clouds/shadows, before DN quantisation, ``gain``/``offset_dn``
        applied in DN space, i.e. ``refl * gain + offset_dn / 10000``}, ``scl`` uint8, ``cld`` cloud probability 0–100.
    """
    refl, water, ndvi, texture = _surface(e, n, day, idx)
    cloud_p, cirrus, shadow_p = _atmosphere(e, n, day)
    if isinstance(old_thresholds, dict):
        thr = old_thresholds
    else:
        thr = baselines.SCL_THRESHOLDS_OLD if old_thresholds else baselines.SCL_THRESHOLDS_NEW
    shadow_only = shadow_p * (1 - cloud_p)
    dim = 1 - np.float32(0.55) * shadow_only
    cirrus_add = np.float32(0.03) * cirrus
    out_refl: dict[int, np.ndarray] = {}
    for k, r in refl.items():
        r = r * dim + cirrus_add
        r = r + cloud_p * (np.float32(_SPECTRA["cloud"][k]) - r)
        out_refl[k] = r.astype(np.float64) * gain + offset_dn / 10000.0
    scl = np.where(ndvi > 0.4, 4, 5).astype(np.uint8)
    scl[(texture < thr["unclassified"]) & ~water] = 7
    scl[water] = 6
    scl[shadow_only >= thr["shadow"]] = 3
    scl[cirrus >= thr["cirrus"]] = 10
    scl[cloud_p >= thr["cloud_medium"]] = 8
    scl[cloud_p >= thr["cloud_high"]] = 9
    return {"refl": out_refl, "scl": scl, "cld": np.round(100 * cloud_p.astype(np.float64))}


def _fields_on_unique(
    e: np.ndarray,
    n: np.ndarray,
    res: float,
    day: dt.date,
    old: bool | dict[str, float],
    gain: float,
    off: float,
    idx: tuple[int, ...],
) -> dict[str, Any]:
    """:func:`scene_fields` at native-grid centres ``e``/``n``, each distinct centre evaluated once."""
    if e.size < 64:
        return scene_fields(e, n, day, old, gain, off, idx)
    ix = np.round(e / res * 2).astype(np.int64)  # centres sit on odd half-multiples: exact keys
    iy = np.round(n / res * 2).astype(np.int64)
    key = (ix - ix.min()) * (int(iy.max() - iy.min()) + 1) + (iy - iy.min())
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if uniq.size > 0.8 * e.size:
        return scene_fields(e, n, day, old, gain, off, idx)
    f = scene_fields(e[first], n[first], day, old, gain, off, idx)
    return {
        "refl": {k: v[inverse] for k, v in f["refl"].items()},
        "scl": f["scl"][inverse],
        "cld": f["cld"][inverse],
    }


def estimate_cloud_cover(acq: Acquisition, deployment: str, samples: int = 48) -> float:
    """Tile cloud cover in percent (SCL 8, 9, 10 share on a ``samples`` x ``samples`` grid), 2 decimals."""
    return _cloud_cover_cached(acq.tile, acq.date, deployment, samples)


@lru_cache(maxsize=4096)
def _cloud_cover_cached(tile: Tile, day: dt.date, deployment: str, samples: int) -> float:
    if _cloudiness(day) <= 0:
        return 0.0
    xs = np.linspace(tile.xmin + 500, tile.xmax - 500, samples)
    ys = np.linspace(tile.ymin + 500, tile.ymax - 500, samples)
    e, n = np.meshgrid(xs, ys)
    cloud_p, cirrus, _ = _atmosphere(e.ravel(), n.ravel(), day)
    thr = baselines.scl_thresholds(deployment, day)
    cloudy = (cloud_p >= thr["cloud_medium"]) | (cirrus >= thr["cirrus"])
    return round(100.0 * float(cloudy.mean()), 2)


def native_taps(x: np.ndarray, res: float, method: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Native-grid centre coordinates and weights along one axis for the resampling ``method``."""
    if method == "NEAREST":
        return [((np.floor(x / res) + 0.5) * res, np.ones_like(x))]
    f = x / res - 0.5
    i0 = np.floor(f)
    t = f - i0
    if method == "BILINEAR":
        return [((i0 + 0.5) * res, 1 - t), ((i0 + 1.5) * res, t)]
    # BICUBIC (Catmull-Rom, a = -0.5)
    a = -0.5

    def w(d: np.ndarray) -> np.ndarray:
        d = np.abs(d)
        return np.where(
            d <= 1, (a + 2) * d**3 - (a + 3) * d**2 + 1, np.where(d < 2, a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a, 0)
        )

    return [((i0 + k + 0.5) * res, w(t - k)) for k in (-1, 0, 1, 2)]


@dataclasses.dataclass(frozen=True)
class PixelPoints:
    """Where a scene source renders: pixel centres ``x``/``y`` (flattened, request CRS units) in ``crs`` (e.g.
    ``"EPSG:3035"``), and ``method``, the resampling of continuous bands: one for all (``"BILINEAR"``) or per band
    (``{"B04": "BILINEAR", …}``, NEAREST for bands not named)."""

    x: np.ndarray
    y: np.ndarray
    crs: str
    method: str | dict[str, str] = "NEAREST"

    def method_for(self, band: str) -> str:
        return self.method.get(band, "NEAREST") if isinstance(self.method, dict) else self.method


def _constant_band_value(acq: Acquisition, band: str) -> float:
    """The value of a band that is constant over a product here: SNW 0, AOT/WVP DN per date, angles (degrees) per
    date or tile; ``KeyError`` for a band the collection does not have."""
    if band == "SNW":
        return 0.0
    if band == "AOT":
        return 120.0 + 60 * baselines.stable_unit("aot", acq.date)
    if band == "WVP":
        return 1500.0 + 1000 * baselines.stable_unit("wvp", acq.date)
    if band == "sunZenithAngles":
        return _sun_zenith(acq)
    if band == "sunAzimuthAngles":
        return 155.0 + 10 * baselines.stable_unit("saz", acq.date)
    if band == "viewZenithMean":
        return 2.0 + 8 * baselines.stable_unit("vz", acq.tile.tile_id)
    if band == "viewAzimuthMean":
        return 100.0 + 10 * baselines.stable_unit("va", acq.tile.tile_id)
    raise KeyError(band)


class SyntheticSceneSource:
    """The procedural scene source (the product's default; see the module docstring).

    Every method takes and returns plain numpy/pyproj values so the Process API layer does not know how scenes are
    made (a raster-backed source implements the same three methods).
    """

    name = "synthetic"

    def acquisitions(
        self, bbox_lonlat: tuple[float, float, float, float], start: dt.datetime, end: dt.datetime
    ) -> list[Acquisition]:
        """Acquisitions of every tile touching ``bbox_lonlat`` (deg) in [start, end] (UTC) whose swath reaches the
        bbox (a 9 × 9 sample of it), oldest first."""
        minx, miny, maxx, maxy = bbox_lonlat
        gx, gy = np.meshgrid(np.linspace(minx, maxx, 9), np.linspace(miny, maxy, 9))
        out: list[Acquisition] = []
        for tile in tiles_for_bbox_lonlat(bbox_lonlat):
            for a in acquisitions_for_tile(tile, start, end):
                if in_swath(gx.ravel(), gy.ravel(), a.relative_orbit).any():
                    out.append(a)
        return sorted(out, key=lambda a: (a.sensing_time, a.tile.tile_id))

    def cloud_cover(self, acq: Acquisition, deployment: str) -> float:
        """Tile cloud cover (%) the deployment reports for the acquisition."""
        return estimate_cloud_cover(acq, deployment)

    def render(self, acq: Acquisition, deployment: str, bands: list[str], points: PixelPoints) -> dict[str, np.ndarray]:
        """Product values of ``bands`` at ``points`` (pixel centres in the request CRS, resampling per band).

        :return: band -> float64 array: reflectance bands as **product DN** of the deployment's baseline (offset
            +1000 for >= 04.00), quantised at the native pixels and then interpolated (BILINEAR/BICUBIC give
            non-integer DN, as the service's float DN), SCL/CLD/SNW/CLM/CLP as stored, angles in degrees, AOT/WVP
            DN, dataMask 0/1.
        """
        e, n = _to_utm(points.x, points.y, points.crs, acq.tile.epsg)
        truth = baselines.reprocessing_truth(acq.date, acq.tile.tile_id)
        old = deployment == "sh" and truth["reprocessed"]
        dx, dy = truth["shift_m"] if old else (0.0, 0.0)
        gain, off = (truth["gain"], truth["offset_dn"]) if old else (1.0, 0.0)
        thresholds = truth["scl_thresholds_sh"] if old else baselines.SCL_THRESHOLDS_NEW
        base = acq.baseline(deployment)
        add = -baselines.boa_add_offset(base)
        out: dict[str, np.ndarray] = {}
        cache: dict[tuple[int, str], Any] = {}

        def fields_at(res: int, meth: str) -> list[tuple[dict[str, Any], np.ndarray]]:
            key = (res, meth)
            if key not in cache:
                idx = tuple(
                    REFLECTANCE_BANDS.index(b) for b in bands if b in REFLECTANCE_BANDS and NATIVE_RES_M[b] == res
                )
                taps = []
                for ex, wx in native_taps(e, res, meth):
                    for ny, wy in native_taps(n, res, meth):
                        fields = _fields_on_unique(ex - dx, ny - dy, res, acq.date, thresholds, gain, off, idx)
                        taps.append((fields, wx * wy))
                cache[key] = taps  # type: ignore[assignment]
            return cache[key]  # type: ignore[return-value]

        data = self.data_mask(acq, e, n)
        for band in bands:
            res = NATIVE_RES_M[band]
            if band == "dataMask":
                out[band] = data.astype(np.float64)
            elif band in REFLECTANCE_BANDS:
                k = REFLECTANCE_BANDS.index(band)
                acc = np.zeros(e.shape)
                for f, w in fields_at(res, points.method_for(band)):
                    acc += w * np.clip(np.round(f["refl"][k] * 10000.0) + add, 0, 65535)
                out[band] = acc
            elif band == "SCL":
                out[band] = fields_at(res, "NEAREST")[0][0]["scl"].astype(np.float64)
            elif band in ("CLD", "CLP"):
                cld = fields_at(20, "NEAREST")[0][0]["cld"]
                out[band] = cld if band == "CLD" else np.round(cld * 2.55)
            elif band == "CLM":
                out[band] = (fields_at(20, "NEAREST")[0][0]["cld"] >= 40).astype(np.float64)
            else:
                out[band] = np.full(e.shape, _constant_band_value(acq, band))
            if band != "dataMask" and not data.all():
                out[band] = np.where(data, out[band], 0.0)
        return out

    @staticmethod
    def data_mask(acq: Acquisition, e: np.ndarray, n: np.ndarray) -> np.ndarray:
        """True where the product has data: inside the tile's footprint and inside its orbit's swath (UTM e/n, m)."""
        t = acq.tile
        inside = (e >= t.xmin) & (e <= t.xmax) & (n >= t.ymin) & (n <= t.ymax)
        to_lonlat = transformer(f"EPSG:{t.epsg}", "EPSG:4326")
        ce, cn = np.meshgrid([e.min(), e.max()], [n.min(), n.max()])
        clon, clat = to_lonlat.transform(ce.ravel(), cn.ravel())
        corners = np.abs(cross_track_km(np.asarray(clon), np.asarray(clat), acq.relative_orbit))
        if (corners <= SWATH_HALF_WIDTH_KM - SWATH_SHORTCUT_MARGIN_KM).all():
            return inside  # the whole request lies well inside the swath (a band, straight at this scale)
        lon, lat = to_lonlat.transform(e, n)
        return inside & in_swath(np.asarray(lon), np.asarray(lat), acq.relative_orbit)


_UTM_CACHE: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _to_utm(x: np.ndarray, y: np.ndarray, crs: str, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres from the request CRS to the tile's UTM zone (m), memoised for multi-acquisition requests."""
    key = hashlib.blake2b(f"{crs}>{epsg}".encode() + x.tobytes() + y.tobytes(), digest_size=16).digest()
    with _LANDCOVER_LOCK:
        hit = _UTM_CACHE.get(key)
    if hit is not None:
        return hit
    e, n = transformer(crs, f"EPSG:{epsg}").transform(x, y)
    out = (np.asarray(e, dtype=np.float64), np.asarray(n, dtype=np.float64))
    for a in out:
        a.flags.writeable = False
    with _LANDCOVER_LOCK:
        _UTM_CACHE[key] = out
        while len(_UTM_CACHE) > 4:
            _UTM_CACHE.popitem(last=False)
    return out


def _sun_zenith(acq: Acquisition) -> float:
    """Approximate solar zenith angle (deg) at ~10:30 local time for the tile centre latitude."""
    _, lat = transformer(f"EPSG:{acq.tile.epsg}", "EPSG:4326").transform(
        (acq.tile.xmin + acq.tile.xmax) / 2, (acq.tile.ymin + acq.tile.ymax) / 2
    )
    decl = 23.44 * math.sin(2 * math.pi * (acq.date.timetuple().tm_yday - 81) / 365.0)
    return round(abs(lat - decl) + 8.0, 3)


def acquisition_metadata(acq: Acquisition, deployment: str, source: Any) -> dict[str, Any]:
    """The ``scenes.tiles[i]`` / ``orbits[i].tiles[j]`` object the evalscript sees for one acquisition."""
    return {
        "date": acq.sensing_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "shId": acq.sh_id(deployment),
        "cloudCoverage": source.cloud_cover(acq, deployment),
        "dataPath": acq.data_path(deployment),
        "productId": acq.catalog_id(deployment),  # CDSE names its products with .SAFE, as in its catalog
    }


def reprocessing_shift_in_crs(date: Any, crs: str, x: float, y: float) -> tuple[float, float]:
    """The truth ``shift_m`` of :func:`~.baselines.reprocessing_truth` expressed in another CRS at a point.

    :param date: sensing date of the acquisition.
    :param crs: e.g. ``"EPSG:3035"`` (the request/compare grid's CRS).
    :param x: easting of the point in ``crs`` (the AOI centre, say).
    :param y: northing of the point in ``crs``.
    :return: ``(dx, dy)`` in ``crs`` units (x east+, y north+ for the usual projected CRSs): where a cdse feature at
        (x, y) appears in the sh image, minus (x, y). The generator applies the shift in the tile's UTM zone.
    """
    lon, lat = transformer(crs, "EPSG:4326").transform(x, y)
    tile = tile_for_lonlat(float(lon), float(lat))
    dx, dy = baselines.reprocessing_truth(date, tile.tile_id)["shift_m"]
    e, n = transformer(crs, f"EPSG:{tile.epsg}").transform(x, y)
    x2, y2 = transformer(f"EPSG:{tile.epsg}", crs).transform(e + dx, n + dy)
    return float(x2 - x), float(y2 - y)


def clear_caches() -> None:
    """Forget memoised land cover / coordinate transforms (benchmarks measure cold renders with it)."""
    with _LANDCOVER_LOCK:
        _LANDCOVER_CACHE.clear()
        _UTM_CACHE.clear()
