"""A generic raster-file scene source: serve real Sentinel-2 L2A rasters (by path, never copied) as acquisitions.

Used by the tests to push real pixels (shared/data) through the whole pipeline. Each :class:`RasterProduct` names
one acquisition: its ESA product id per deployment (which carries the baseline), its sensing time and, per band, a
file path and 1-based band index. Values are read once with GDAL (the dataset is kept open while its band is read)
and sampled at the request's pixel centres transformed into the raster's CRS (NEAREST, BILINEAR or BICUBIC on the
file's own pixel grid, as the request's up/downsampling says; categorical bands nearest); pixels outside
the raster, or with DN 0 in the first reflectance band (S2 nodata), get ``dataMask`` 0.

``values="product"`` means the file holds product DNs as ESA stores them (offset +1000 for baselines >= 04.00);
``values="harmonized"`` means the file already is a Sentinel Hub answer with ``harmonizeValues=true`` (offset
removed, negatives clamped to 0, e.g. the Manila Process API output): the source re-adds the offset for >= 04.00
products so that the Process API layer can apply ``harmonizeValues`` again (values clamped to 0 stay at the offset,
i.e. reflectance 0: the clamp is not invertible, which only matters for ``harmonizeValues=false``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path
from typing import Optional, Union

import numpy as np
from osgeo import gdal

from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.sample_endpoints import baselines
from s2parity_plugin.sample_endpoints.scene_generator import (
    CATEGORICAL_BANDS,
    REFLECTANCE_BANDS,
    AcquisitionNaming,
    PixelPoints,
    Tile,
    native_taps,
    transformer,
)


@dataclasses.dataclass(frozen=True)
class RasterProduct:
    """One acquisition backed by raster files.

    :param product_id: ESA product name, e.g. ``S2A_MSIL2A_20200219T112111_N0214_R037_T29RKH_20200219T123947``; a dict
        ``{"sh": …, "cdse": …}`` gives each deployment its own (baseline-carrying) name.
    :param bands: band name -> ``(path, band_index)`` (1-based) or just ``path`` (band 1).
    :param values: ``"product"`` or ``"harmonized"`` (see module docstring).
    :param cloud_cover: tile cloud cover (%) reported by catalog/scenes; ``None`` = share of SCL 8/9/10.
    """

    product_id: Union[str, tuple[tuple[str, str], ...]]
    bands: tuple[tuple[str, str, int], ...]
    values: str = "product"
    cloud_cover: Optional[float] = None

    @classmethod
    def create(
        cls,
        product_id: Union[str, dict[str, str]],
        bands: dict[str, Union[str, Path, tuple[Union[str, Path], int]]],
        values: str = "product",
        cloud_cover: Optional[float] = None,
    ) -> RasterProduct:
        """Convenience constructor taking plain dicts."""
        norm = []
        for name, spec in bands.items():
            path, idx = (spec, 1) if not isinstance(spec, tuple) else spec
            norm.append((name, str(path), int(idx)))
        pid = product_id if isinstance(product_id, str) else tuple(sorted(product_id.items()))
        if values not in ("product", "harmonized"):
            raise ValueError("values must be 'product' or 'harmonized'")
        return cls(pid, tuple(norm), values, cloud_cover)

    def product_id_for(self, deployment: str) -> str:
        return self.product_id if isinstance(self.product_id, str) else dict(self.product_id)[deployment]


class _Band:
    """One band of one file, read once (thread-safe), with its geotransform and CRS."""

    @gdal_exceptions()
    def __init__(self, path: str, index: int):
        self.path = path
        self.index = index
        self._lock = threading.Lock()
        self._data: Optional[np.ndarray] = None
        ds = gdal.Open(path)
        self.gt = ds.GetGeoTransform()
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        srs = ds.GetSpatialRef()
        self.epsg = int(srs.GetAuthorityCode(None))
        ds = None

    @property
    @gdal_exceptions()
    def data(self) -> np.ndarray:
        with self._lock:
            if self._data is None:
                ds = gdal.Open(self.path)
                band = ds.GetRasterBand(self.index)
                self._data = band.ReadAsArray()
                del band
                ds = None
            return self._data

    def bounds(self) -> tuple[float, float, float, float]:
        gt = self.gt
        return gt[0], gt[3] + gt[5] * self.height, gt[0] + gt[1] * self.width, gt[3]

    def sample(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest values at x/y (this band's CRS) and an inside mask."""
        gt = self.gt
        col = np.floor((x - gt[0]) / gt[1]).astype(np.int64)
        row = np.floor((y - gt[3]) / gt[5]).astype(np.int64)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        vals = np.zeros(x.shape, dtype=np.float64)
        vals[inside] = self.data[row[inside], col[inside]]
        return vals, inside

    def sample_with(self, x: np.ndarray, y: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Values at x/y (this band's CRS) resampled with ``method`` (NEAREST / BILINEAR / BICUBIC on this file's
        pixel grid, edge pixels repeated) and the nearest-pixel inside mask."""
        vals, inside = self.sample(x, y)
        if method == "NEAREST":
            return vals, inside
        gt, data = self.gt, self.data
        px, py = (x - gt[0]) / gt[1], (y - gt[3]) / gt[5]  # continuous pixel coordinates (0 = left/top edge)
        acc = np.zeros(x.shape, dtype=np.float64)
        for cx, wx in native_taps(px, 1.0, method):
            col = np.clip(np.floor(cx).astype(np.int64), 0, self.width - 1)
            for cy, wy in native_taps(py, 1.0, method):
                row = np.clip(np.floor(cy).astype(np.int64), 0, self.height - 1)
                acc += wx * wy * data[row, col]
        return np.where(inside, acc, 0.0), inside


@dataclasses.dataclass(frozen=True, eq=False)
class RasterAcquisition(AcquisitionNaming):
    """Acquisition of a :class:`RasterProduct` with the interface of :class:`~.scene_generator.Acquisition`."""

    product: RasterProduct
    tile: Tile
    sensing_time: dt.datetime
    satellite: str
    relative_orbit: int

    def product_id(self, deployment: str) -> str:
        return self.product.product_id_for(deployment)

    def baseline(self, deployment: str) -> str:
        n = self.product_id(deployment).split("_")[3]  # N0214
        return f"{n[1:3]}.{n[3:5]}"


class RasterSceneSource:
    """Scene source over :class:`RasterProduct` files (see module docstring)."""

    name = "raster"

    def __init__(self, products: list[RasterProduct]):
        self._bands: dict[tuple[str, int], _Band] = {}
        self._acqs: list[RasterAcquisition] = []
        for p in products:
            first = self._band(*p.bands[0][1:])
            pid = p.product_id_for("sh")
            parts = pid.split("_")
            sensing = dt.datetime.strptime(parts[2], "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
            xmin, ymin, xmax, ymax = first.bounds()
            tile = Tile(parts[5][1:], first.epsg, xmin, ymin, xmax, ymax)
            self._acqs.append(RasterAcquisition(p, tile, sensing, parts[0], int(parts[4][1:])))

    def _band(self, path: str, index: int) -> _Band:
        key = (path, index)
        if key not in self._bands:
            self._bands[key] = _Band(path, index)
        return self._bands[key]

    def acquisitions(
        self, bbox_lonlat: tuple[float, float, float, float], start: dt.datetime, end: dt.datetime
    ) -> list[RasterAcquisition]:
        out = []
        for a in self._acqs:
            t = a.tile
            xs = np.linspace(t.xmin, t.xmax, 5)
            ys = np.linspace(t.ymin, t.ymax, 5)
            gx, gy = np.meshgrid(xs, ys)
            lon, lat = transformer(f"EPSG:{t.epsg}", "EPSG:4326").transform(gx.ravel(), gy.ravel())
            overlaps = not (
                np.max(lon) < bbox_lonlat[0]
                or np.min(lon) > bbox_lonlat[2]
                or np.max(lat) < bbox_lonlat[1]
                or np.min(lat) > bbox_lonlat[3]
            )
            if overlaps and start <= a.sensing_time <= end:
                out.append(a)
        return sorted(out, key=lambda a: a.sensing_time)

    def cloud_cover(self, acq: RasterAcquisition, deployment: str) -> float:
        if acq.product.cloud_cover is not None:
            return float(acq.product.cloud_cover)
        scl = next((b for b in acq.product.bands if b[0] == "SCL"), None)
        if scl is None:
            return 0.0
        data = self._band(scl[1], scl[2]).data
        valid = data > 0
        return round(100.0 * float(np.isin(data, (8, 9, 10)).sum()) / max(1, int(valid.sum())), 2)

    def render(
        self, acq: RasterAcquisition, deployment: str, bands: list[str], points: PixelPoints
    ) -> dict[str, np.ndarray]:
        """Product values at the pixel centres ``points`` (see module docstring), resampled per band with
        ``points.method``; categorical bands (SCL …) and the data mask are always nearest."""
        files = {name: (path, idx) for name, path, idx in acq.product.bands}
        add = -baselines.boa_add_offset(acq.baseline(deployment))
        out: dict[str, np.ndarray] = {}
        cache_xy: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        def xy_for(band: _Band) -> tuple[np.ndarray, np.ndarray]:
            if band.epsg not in cache_xy:
                bx, by = transformer(points.crs, f"EPSG:{band.epsg}").transform(points.x, points.y)
                cache_xy[band.epsg] = (np.asarray(bx), np.asarray(by))
            return cache_xy[band.epsg]

        first_refl = next((b for b in acq.product.bands if b[0] in REFLECTANCE_BANDS), acq.product.bands[0])
        ref = self._band(first_refl[1], first_refl[2])
        ref_vals, ref_inside = ref.sample(*xy_for(ref))
        mask = ref_inside & (ref_vals > 0)
        for name in bands:
            if name == "dataMask":
                out[name] = mask.astype(np.float64)
                continue
            if name not in files:
                raise KeyError(name)
            band = self._band(*files[name])
            meth = "NEAREST" if name in CATEGORICAL_BANDS else points.method_for(name)
            vals, _ = band.sample_with(*xy_for(band), meth)
            if name in REFLECTANCE_BANDS and acq.product.values == "harmonized" and add:
                vals = vals + add
            out[name] = np.where(mask, vals, 0.0)
        return out
