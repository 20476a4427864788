"""Compare two rasters of the same quantity (A from endpoint A, B from endpoint B) on the same grid.

Everything is block-wise, so a full Sentinel-2 tile pair (10980 × 10980 px) runs in bounded memory (a few hundred
MB; figures in ``docs/performance.md``): a reader thread reads row strips (or, from compressed inputs, chunks of
:data:`CHUNK_ROWS` rows aligned to their blocks), one or two worker threads (:data:`WORKERS`) compute row strips of
:data:`STRIP_PIXELS` pixels (numpy releases the GIL; per-thread scratch buffers avoid page-fault churn), and a
writer thread writes the strips to stripped GeoTIFFs. Each GDAL dataset is only used by one thread. With numba
installed the strips run through the compiled one-pass kernel of :mod:`~s2parity_plugin.core.compare.kernel` (same
results) and the shift is estimated alongside; read and output buffers are recycled between strips; OpenBLAS is held
at one thread meanwhile (:mod:`blas_threads`). Inputs are read with ``GTIFF_DIRECT_IO`` (no block cache), the
compressed value rasters the fetch writes with two decoding threads; GDAL's (process-wide) block cache is capped at
:data:`GDAL_CACHE_MB` during the run and restored afterwards. The sub-pixel shift is estimated from a few windows
only (see :mod:`s2parity_plugin.core.compare.shift`). Timings and the measurements behind every tuning constant below:
``docs/performance.md`` (``make bench``).

Outputs in ``out_dir`` (written under temporary names and renamed when complete, so a cancelled or failed run
leaves no partial file):

* ``difference.tif`` — float32 B − A in the units of the inputs (DN or reflectance), nodata NaN where either side
  is nodata (or, with ``mask_invalid``, where either SCL class is invalid).
* ``scl_mismatch.tif`` — uint8, 0 nodata (either SCL is 0 / nodata), 1 valid in both, 2 invalid in both,
  3 valid only in A, 4 valid only in B; colour table and category names.
* ``scl_class_changed.tif`` (option) — uint8 1 where SCL_A ≠ SCL_B, 0 where equal, 255 nodata.
* ``difference_shift_corrected.tif`` (option) — float32 B(x + d) − A(x), B resampled (cubic spline) by the
  estimated sub-pixel shift d.
* ``report.json`` — see :mod:`s2parity_plugin.core.report.document`.

Statistics use the pixels valid on both sides: data on both value rasters and, for each side that has an SCL
raster, an SCL class that is not 0 and not in ``invalid_classes``.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array

from s2parity_plugin.core.compare import image_ops
from s2parity_plugin.core.compare import kernel as compare_kernel
from s2parity_plugin.core.compare.blas_threads import single_threaded_blas
from s2parity_plugin.core.compare.shift import ShiftEstimate, estimate_shift_windows
from s2parity_plugin.core.compare.stats import DiffStats, scratch
from s2parity_plugin.core.diagnosis import explain as diagnosis_mod
from s2parity_plugin.core.errors import InputError, S2ParityError
from s2parity_plugin.core.fetch import run_folder
from s2parity_plugin.core.gdal_scope import FAST_COMPRESSION, gdal_cache_limit, gdal_exceptions
from s2parity_plugin.core.model.grid import GridInfo, check_same_grid, grid_of, open_raster
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES, MISMATCH_CLASSES, SCL_CLASSES, hex_to_rgb
from s2parity_plugin.core.report import document as report_mod

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).
CLOUD_SHADOW_CLASSES: frozenset[int] = frozenset({3, 8, 9, 10})
#: SCL class names, index = class value (one palette for the engine, the styles and the reports).
SCL_NAMES = tuple(SCL_CLASSES[value][0] for value in range(12))
MISMATCH_KEYS = ("nodata", "both_valid", "both_invalid", "valid_only_a", "valid_only_b")
MISMATCH_NAMES = ("No data", *(MISMATCH_CLASSES[v][0] for v in sorted(MISMATCH_CLASSES)))
MISMATCH_COLOURS = ((0, 0, 0, 0), *((*hex_to_rgb(MISMATCH_CLASSES[v][1]), 255) for v in sorted(MISMATCH_CLASSES)))
CLASS_CHANGED_NODATA = 255
DEFAULT_TOLERANCE = {"REFLECTANCE": 0.01, "DN": 100.0}
OUTPUT_NAMES = {
    "difference": "difference.tif",
    "mismatch": "scl_mismatch.tif",
    "class_changed": "scl_class_changed.tif",
    "shift_corrected": "difference_shift_corrected.tif",
    "report": "report.json",
}
#: Target pixels per row strip (≈ 0.35 Mpx: 32 rows of a 10980 px wide tile): small strips keep memory low at the
#: same speed as 64 rows.
STRIP_PIXELS = 32 * 10980
#: GDAL block cache limit (MB) while comparing; the previous limit is restored afterwards.
GDAL_CACHE_MB = 16
#: Compute threads: one per CPU beyond the one left for the reader/writer threads, at most 2 (each worker keeps
#: ≈ 35 MB of scratch; on 2 CPUs one worker is faster than two).
WORKERS = max(
    1, min(2, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2) - 1)
)
#: Estimate the shift on its own thread while the strips run, per strip path: not on the numpy path (GIL contention
#: with the Python-level window loop makes it slower), on with the compiled kernel (it releases the GIL).
CONCURRENT_SHIFT = {"numpy": False, "numba": True}
#: Outputs are stripped GeoTIFFs whose strips are exactly the processing strips (every write covers whole
#: blocks: nothing is read back); the difference is uncompressed (fastest), class rasters ZSTD level 1
#: (DEFLATE level 1 when GDAL lacks ZSTD): the fastest of the codecs measured.
DIFF_CREATION = ["BIGTIFF=IF_SAFER"]
CLASS_CREATION = [*FAST_COMPRESSION, "BIGTIFF=IF_SAFER"]
#: Cloud/shadow edge zone (px) used by the diagnosis.
EDGE_DISTANCE_PX = 3

Progress = Callable[[float], bool]
_NAN_OR_ZERO = np.array([np.nan, 0.0], dtype=np.float32)


class CompareCancelled(S2ParityError):  # noqa: N818 - public name fixed by the compare issue
    """The user cancelled the comparison (no output file was left behind)."""


@dataclass
class CompareResult:
    """Paths of the written rasters and the report (dict and ``report.json`` path)."""

    difference: Path
    mismatch: Path | None
    class_changed: Path | None
    shift_corrected: Path | None
    report: dict
    report_path: Path


# ----------------------------------------------------------------------------------------------------------------
# small helpers


def parse_invalid_classes(value: str | Iterable[int] | None) -> frozenset[int]:
    """``"1,2,3"`` or an iterable of ints → frozenset of SCL classes (0..11); :class:`InputError` otherwise."""
    if value is None:
        return DEFAULT_INVALID_CLASSES
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        try:
            classes = {int(p) for p in parts}
        except ValueError as exc:
            raise InputError(
                f"Invalid SCL classes {value!r}: give comma-separated class numbers 0–11, e.g. 1,2,3,7,8,9,10,11."
            ) from exc
    else:
        classes = {int(v) for v in value}
    bad = sorted(c for c in classes if not 0 <= c <= 11)
    if bad:
        raise InputError(f"Invalid SCL classes {bad}: Sentinel-2 SCL classes are 0–11.")
    return frozenset(classes)


def _units(metadata_a: dict | None, metadata_b: dict | None) -> str | None:
    ua = (metadata_a or {}).get("units")
    ub = (metadata_b or {}).get("units")
    ua = ua.upper() if isinstance(ua, str) else None
    ub = ub.upper() if isinstance(ub, str) else None
    if ua and ub and ua != ub:
        raise InputError(
            f"A is in {ua} and B in {ub}: a difference needs the same units on both sides. "
            "Request both with the same units (DN or REFLECTANCE)."
        )
    return ua or ub


def default_tolerance(units: str | None, dtype_is_float: bool) -> float:
    """0.01 for REFLECTANCE, 100 for DN; unknown units: 0.01 for float rasters, else 100."""
    if units in DEFAULT_TOLERANCE:
        return DEFAULT_TOLERANCE[units]
    return 0.01 if dtype_is_float else 100.0


class _BufferPool:
    """Recycles equal-shaped numpy buffers between row chunks/strips (fresh multi-MB arrays for every strip cost
    page faults). ``get`` never blocks: it allocates when no
    buffer is free, so correctness never depends on the pool; at most :attr:`keep` free buffers per shape."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def get(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        key = (tuple(shape), np.dtype(dtype).str)
        with self._lock:
            free = self._free.get(key)
            if free:
                return free.pop()
        return np.empty(shape, dtype=dtype)

    def release(self, *arrays: np.ndarray | None) -> None:
        """Give buffers back (only whole arrays this code owns; views and foreign arrays are ignored)."""
        with self._lock:
            for arr in arrays:
                if arr is None or arr.base is not None or not arr.flags.owndata:
                    continue
                free = self._free.setdefault((arr.shape, arr.dtype.str), [])
                if len(free) < self.keep and all(f is not arr for f in free):
                    free.append(arr)


class _Raster:
    """One input band (band 1) with its nodata value."""

    def __init__(self, path: str | Path, label: str, *, strip_reader: bool = False) -> None:
        """``strip_reader``: this raster feeds the strip reader (full-width row ranges: threaded decoding of
        compressed values); the shift estimate's windows are read with GDAL's direct I/O."""
        self.path = Path(path)
        self.label = label
        self.ds = open_raster(path, direct_io=True)  # read in row chunks and windows: no block cache needed
        if self.ds.RasterCount < 1:
            raise InputError(f"Raster {label} ({path}) has no band.")
        compression = _gtiff_compression(self.ds)
        if (  # the strip reader, compressed values: parallel decoding (SCL decodes fast, threads cost more there)
            strip_reader
            and DECODE_THREADS > 1
            and compression not in (None, "NONE")
            and self.ds.GetRasterBand(1).DataType != gdal.GDT_Byte
        ):
            self.ds = open_raster(path, direct_io=True, decode_threads=DECODE_THREADS)
        self.band = self.ds.GetRasterBand(1)
        self.nodata = self.band.GetNoDataValue()
        self.grid: GridInfo = grid_of(self.ds)
        self.is_float = self.band.DataType in (gdal.GDT_Float32, gdal.GDT_Float64)
        self.dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(self.band.DataType))

    def read(
        self, r0: int, rows: int, c0: int = 0, cols: int | None = None, pool: _BufferPool | None = None
    ) -> np.ndarray:
        """Rows ``r0 .. r0 + rows`` (columns ``c0 ..``) of band 1; into a recycled buffer from ``pool`` if given."""
        cols = self.grid.width - c0 if cols is None else cols
        buf = None if pool is None else pool.get((rows, cols), self.dtype)
        try:
            out = self.band.ReadAsArray(c0, r0, cols, rows, buf_obj=buf)
        except RuntimeError as exc:  # e.g. truncated or rewritten by another program meanwhile
            raise InputError(
                f"Raster {self.label} ({self.path}) could not be read at rows {r0}–{r0 + rows} ({exc}). If another "
                "program is writing it, run the comparison again once it is done."
            ) from exc
        if out is None:
            raise InputError(f"Raster {self.label} ({self.path}) could not be read at rows {r0}–{r0 + rows}.")
        return out


def _gtiff_compression(ds: gdal.Dataset) -> str | None:
    """A GeoTIFF's compression (``NONE`` when uncompressed), None for other
    formats."""
    if ds.GetDriver().ShortName != "GTiff":
        return None
    return (ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or "NONE").upper()


def _value_valid(
    arr: np.ndarray, nodata: float | None, out: np.ndarray | None = None, *, check_finite: bool = True
) -> np.ndarray:
    """True where ``arr`` has data: not the nodata value and (for floats) finite. ``check_finite=False`` skips
    the finiteness test (for arrays already known to be finite everywhere)."""
    if out is None:
        out = np.empty(arr.shape, dtype=bool)
    if nodata is None or math.isnan(nodata):
        out[...] = True
    else:
        np.not_equal(arr, arr.dtype.type(nodata) if arr.dtype.kind == "f" else nodata, out=out)
    if check_finite and arr.dtype.kind == "f":
        fin = np.isfinite(arr, out=scratch.get("finite", arr.shape, bool))
        if not fin.all():
            out &= fin
    return out


def _scl_codes(scl: np.ndarray, nodata: float | None) -> np.ndarray:
    """SCL as uint8 codes 0..11; the band's nodata value and anything outside 0..11 become 0 (nodata).

    A uint8 ``scl`` (owned by the caller, e.g. just read) that needs no change is returned as is, without a copy.
    """
    nodata_code = nodata is not None and not math.isnan(nodata) and 0 <= nodata <= 255
    if scl.dtype == np.uint8 and not (nodata_code and 0 < nodata <= 11) and int(scl.max(initial=0)) <= 11:
        return scl  # already codes 0..11 (a nodata value outside 1..11 cannot occur or is 0 already)
    out = scl.astype(np.uint8) if scl.dtype != np.uint8 else scl.copy()
    if scl.dtype != np.uint8:
        out[(scl < 0) | (scl > 255)] = 0
    if nodata is not None and not math.isnan(nodata) and 0 <= nodata <= 255:
        out[scl == nodata] = 0
    out[out > 11] = 0  # not an SCL class: treated as nodata
    return out


def _create(path: Path, like: GridInfo, dtype: int, options: list[str], rows_per_strip: int) -> gdal.Dataset:
    drv = gdal.GetDriverByName("GTiff")
    options = [*options, f"BLOCKYSIZE={rows_per_strip}"]
    ds = drv.Create(str(path), like.width, like.height, 1, dtype, options=options)
    ds.SetGeoTransform(like.geotransform)
    if like.crs_wkt:
        ds.SetProjection(like.crs_wkt)
    return ds


def _set_categories(
    band: gdal.Band, names: Iterable[str], colours: Iterable[tuple[int, int, int, int]], nodata: int
) -> None:
    """Nodata, colour table and category names of a class raster (keeps no reference to ``band``)."""
    band.SetNoDataValue(nodata)
    ct = gdal.ColorTable()
    for i, colour in enumerate(colours):
        ct.SetColorEntry(i, colour)
    if nodata > 0:
        ct.SetColorEntry(nodata, (0, 0, 0, 0))
    band.SetRasterColorTable(ct)
    band.SetRasterColorInterpretation(gdal.GCI_PaletteIndex)
    band.SetCategoryNames(list(names))


def _count_codes(code: np.ndarray) -> np.ndarray:
    """Counts of the values 0..143 of the contiguous uint8 array ``code``; counts pairs of neighbouring pixels as
    one uint16 (half the elements for ``np.bincount``: faster than plain ``np.bincount``, see
    ``docs/performance.md``) and folds them back."""
    flat = code.reshape(-1)
    if flat.size % 2 or not flat.flags.c_contiguous:
        return np.bincount(flat, minlength=144)
    pairs = np.bincount(flat.view(np.uint16), minlength=144 * 256)[: 144 * 256].reshape(144, 256)[:, :144]
    return pairs.sum(axis=0) + pairs.sum(axis=1)  # low byte (even pixels) + high byte (odd pixels)


def _runs(classes: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted classes as contiguous (first, last) runs: {3, 8, 9, 10} → [(3, 3), (8, 10)]."""
    runs: list[tuple[int, int]] = []
    for c in sorted(classes):
        if runs and c == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs


def _class_mask(scl: np.ndarray, runs: list[tuple[int, int]], out: np.ndarray) -> np.ndarray:
    """Boolean mask (written into the uint8/bool buffer ``out``) of SCL codes in ``runs`` — two uint8 operations
    per run ((code − first) ≤ (last − first) with wrap-around), ~10× cheaper than a lookup table gather."""
    mask = out.view(bool)
    if not runs:
        mask[...] = False
        return mask
    tmp = scratch.get("class_tmp", scl.shape, np.uint8)
    for i, (first, last) in enumerate(runs):
        np.subtract(scl, np.uint8(first), out=tmp)
        if i == 0:
            np.less_equal(tmp, np.uint8(last - first), out=mask)
        else:
            mask |= tmp <= np.uint8(last - first)
    return mask


#: Rows read per GDAL request (a multiple of the strip height; whole input block rows when blocks are ≤ this): with
#: direct I/O (see :func:`~s2parity_plugin.core.model.grid.open_raster`) half tiles are not read twice, and larger reads
#: cost memory without gain. The reader prefetches one chunk of strips (at least two strips).
CHUNK_ROWS = 256
#: Threads decoding the blocks of one read of a compressed GeoTIFF input (as the fetch writes them). Only for value
#: rasters: GDAL's threaded decoding costs per block, which the cheap uint8 SCL blocks do not repay.
DECODE_THREADS = 2


def _chunk_rows(rasters: list[_Raster], rows_per: int, height: int) -> int:
    """Rows read at once: whole block rows of the first input when they fit in :data:`CHUNK_ROWS` (no compressed
    block decoded twice), a multiple of the strip."""
    block_h = rasters[0].band.GetBlockSize()[1]
    rows = block_h if 1 < block_h <= CHUNK_ROWS else CHUNK_ROWS
    return min(height, max(1, math.ceil(rows / rows_per)) * rows_per)


class _Prefetch:
    """Runs an iterator on a background thread (GDAL reads release the GIL) with a bounded queue."""

    _END = object()

    def __init__(self, iterator: Iterator[Any], maxsize: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), name="s2parity-read", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    @gdal_exceptions()
    def _run(self, iterator: Iterator[Any]) -> None:
        try:
            for item in iterator:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put(exc)
            return
        self._put(self._END)

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is self._END:
                self._thread.join()
                return
            if isinstance(item, BaseException):
                self._thread.join()
                raise item
            yield item

    def stop(self) -> None:
        """Stop reading and wait for the thread (call before closing the input datasets)."""
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------------------------------------------
# per-strip computation (runs on worker threads: numpy/scipy only, no GDAL)


@dataclass
class _Strip:
    r0: int
    rows: int
    a: np.ndarray
    b: np.ndarray
    scl_a: np.ndarray | None  # with halo rows (uint8 codes)
    scl_b: np.ndarray | None
    halo_top: int
    b_shift: np.ndarray | None  # B rows with halo for the shift correction
    b_shift_top: int
    chunk: _Chunk | None = None  # the read buffers the strip's arrays are views of


@dataclass
class _Chunk:
    """Buffers of one read chunk and how many of its strips are still to be computed (main thread only)."""

    buffers: list[np.ndarray]
    remaining: int


@dataclass
class _StripResult:
    r0: int
    difference: np.ndarray
    mismatch: np.ndarray | None
    class_changed: np.ndarray | None
    shift_corrected: np.ndarray | None
    stats: DiffStats
    stats_corrected: DiffStats | None
    confusion: np.ndarray | None
    edge_counts: np.ndarray | None  # [pixels, near edge, mismatch, mismatch near edge]


class _Engine:
    """Per-strip computation; all LUTs are uint8 0/1 tables indexed by SCL code (0..11, 0 = nodata)."""

    def __init__(
        self,
        a: _Raster,
        b: _Raster,
        invalid: frozenset[int],
        tolerance: float,
        mask_invalid: bool,
        shift: tuple[float, float] | None,
        edge_px: int,
        class_changed: bool,
        centres: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.a, self.b = a, b
        self.tolerance = tolerance
        self.mask_invalid = mask_invalid
        self.shift = shift
        self.edge_px = edge_px
        self.class_changed = class_changed
        self.centres = centres
        self.valid_runs = _runs(set(range(1, 12)) - set(invalid))
        self.finite = not (a.is_float or b.is_float)  # integer inputs: no NaN/inf anywhere
        self.cloud_runs = _runs(CLOUD_SHADOW_CLASSES)
        self.pool: _BufferPool | None = None  # output buffers of the compiled path (recycled after writing)

    def new_stats(self) -> DiffStats:
        return DiffStats(self.tolerance, *self.centres)

    def values(self, s: _Strip) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(a, d, valid_values, finite) of a strip as float32 (d = b − a; finite: d has no NaN/inf anywhere);
        d and valid are per-thread scratch."""
        a = s.a if s.a.dtype == np.float32 else s.a.astype(np.float32)
        b = s.b if s.b.dtype == np.float32 else s.b.astype(np.float32)
        shape = a.shape
        with np.errstate(over="ignore", invalid="ignore"):  # nodata pixels may overflow: they are masked
            d = np.subtract(b, a, out=scratch.get("d", shape, np.float32))
        # a finite d everywhere means finite a and b everywhere (NaN/inf propagate): then only nodata is tested
        finite_d = None if self.finite else np.isfinite(d, out=scratch.get("finite_d", shape, bool))
        finite = finite_d is None or bool(finite_d.all())
        valid = _value_valid(s.a, self.a.nodata, scratch.get("valid", shape, bool), check_finite=not finite)
        valid &= _value_valid(s.b, self.b.nodata, scratch.get("valid_b", shape, bool), check_finite=not finite)
        if not finite:  # also no data: finite a and b whose B − A overflows float32 (> 3.4e38), as in the kernel
            valid &= finite_d
        return a, d, valid, finite

    def stats_valid(self, s: _Strip, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(valid for stats, SCL-valid A, SCL-valid B): data on both sides and a valid SCL class on each side
        that has an SCL raster. The SCL arrays are uint8 0/1 (None without SCL)."""
        h0, h1 = s.halo_top, s.halo_top + s.rows
        shape = valid.shape
        valid_stats = scratch.get("valid_stats", shape, bool)
        np.copyto(valid_stats, valid)
        va = vb = None
        if s.scl_a is not None:
            va = _class_mask(s.scl_a[h0:h1], self.valid_runs, scratch.get("va", shape, np.uint8)).view(np.uint8)
            valid_stats &= va.view(bool)
        if s.scl_b is not None:
            vb = _class_mask(s.scl_b[h0:h1], self.valid_runs, scratch.get("vb", shape, np.uint8)).view(np.uint8)
            valid_stats &= vb.view(bool)
        return valid_stats, va, vb

    def compute(self, s: _Strip) -> _StripResult:
        # clamping NaN/inf before masking is only needed when the strip has any (integer inputs never do)
        a, d, valid, finite = self.values(s)
        mismatch = changed = confusion = edge_counts = None
        h0, h1 = s.halo_top, s.halo_top + s.rows
        shape = a.shape
        valid_stats, va, vb = self.stats_valid(s, valid)
        sa = None if s.scl_a is None else s.scl_a[h0:h1]
        sb = None if s.scl_b is None else s.scl_b[h0:h1]
        u8 = np.uint8
        if sa is not None and sb is not None:
            nod = np.equal(sa, 0, out=scratch.get("nod", shape, bool))
            nod |= np.equal(sb, 0, out=scratch.get("nod_b", shape, bool))
            both = np.bitwise_and(va, vb, out=scratch.get("both", shape, u8))
            # category: (va, vb) = (1,1) → 1, (0,0) → 2, (1,0) → 3, (0,1) → 4; 0 where either SCL is nodata
            mismatch = np.add(va, u8(2))
            mismatch += vb
            mismatch += vb
            np.multiply(both, u8(4), out=both)
            mismatch -= both
            considered = np.logical_not(nod, out=scratch.get("considered", shape, bool))
            np.multiply(mismatch, considered, out=mismatch)
            if self.class_changed:
                changed = np.not_equal(sa, sb).view(u8)
                changed |= np.multiply(nod, u8(CLASS_CHANGED_NODATA), out=scratch.get("nod255", shape, u8))
            code = np.multiply(sa, u8(12), out=scratch.get("code", shape, u8))
            code += sb
            confusion = _count_codes(code)
            hshape = s.scl_a.shape
            # cloud/shadow code 0..3 (bit 0: A, bit 1: B): it changes between neighbours exactly where the
            # boundary of A's or B's cloud/shadow mask is
            cloudy = _class_mask(s.scl_a, self.cloud_runs, scratch.get("cloudy", hshape, u8)).view(u8)
            cloudy_b = _class_mask(s.scl_b, self.cloud_runs, scratch.get("cloudy_b", hshape, u8)).view(u8)
            cloudy += cloudy_b
            cloudy += cloudy_b
            mism = np.greater_equal(mismatch, 3, out=scratch.get("mism", shape, bool))
            edge_counts = np.array([np.count_nonzero(considered), 0, np.count_nonzero(mism), 0], dtype=np.int64)
            if cloudy.min() != cloudy.max():  # else no cloud/shadow boundary in the strip (halo included)
                edges = image_ops.near_edges(cloudy, scratch.get("edge", hshape, bool))
                near = image_ops.dilate_square(edges, self.edge_px, scratch.get("dilate_src", hshape, bool))[h0:h1]
                tmp = scratch.get("tmp_bool", shape, bool)
                edge_counts[1] = np.count_nonzero(np.logical_and(near, considered, out=tmp))
                edge_counts[3] = np.count_nonzero(np.logical_and(near, mism, out=tmp))
        stats = self.new_stats()
        stats.update(a, d, valid_stats, finite=finite)
        diff_mask = valid_stats if self.mask_invalid else valid
        # d + (0 where valid, NaN elsewhere): cheaper than np.where
        d = np.add(d, np.take(_NAN_OR_ZERO, diff_mask.view(np.uint8), mode="clip"))
        corrected, stats_c = self.shift_corrected(s, a, valid_stats)
        return _StripResult(s.r0, d, mismatch, changed, corrected, stats, stats_c, confusion, edge_counts)

    def shift_corrected(
        self, s: _Strip, a: np.ndarray, valid_stats: np.ndarray
    ) -> tuple[np.ndarray | None, DiffStats | None]:
        """B moved back by the estimated shift (cubic spline) minus A, and its stats; (None, None) without a
        shift. ``valid_stats``: pixels that count in the statistics."""
        if self.shift is None or s.b_shift is None:
            return None, None
        dx, dy = self.shift
        braw = s.b_shift
        bvalid = _value_valid(braw, self.b.nodata)
        fill = np.float32(np.median(braw[bvalid])) if bvalid.any() else np.float32(0)
        bfill = np.where(bvalid, braw, fill).astype(np.float32)
        cols = a.shape[1]
        moved = image_ops.shift_cubic(bfill, -dy, -dx, mode="nearest", dtype=np.float32)
        bad = image_ops.dilate_cross(image_ops.shift_touches(~bvalid, -dy, -dx))
        top = s.b_shift_top
        moved = moved[top : top + s.rows, :cols]
        bad = bad[top : top + s.rows, :cols]
        corrected = moved - a
        stats_c = self.new_stats()
        stats_c.update(a, corrected, valid_stats & ~bad)
        # B's own nodata is in ``bad`` (moved with B); A's is taken from A
        cmask = valid_stats & ~bad if self.mask_invalid else _value_valid(s.a, self.a.nodata) & ~bad
        corrected[~cmask] = np.nan
        return corrected, stats_c

    # ------------------------------------------------------------------------------------------------------------
    # compiled path (see core.compare_kernel): one pass per strip, partial results summed per worker thread

    def use_kernel(self, with_scl: bool) -> bool:
        """Switch to the compiled strip kernel when numba is available (returns whether it is used).

        The kernel is first run on a tiny strip of the inputs' types, here on the calling thread: that compiles it
        or loads it from numba's cache (≈ 0.1 s), and a numba that imports but cannot compile or load on this
        machine is caught now (recorded with :func:`compare_kernel.mark_failed`, numpy path used) instead of
        failing the comparison in a worker thread."""
        k = compare_kernel.kernels()
        if k is None:
            return False
        self._kernels = k
        self._kernel_local = threading.local()
        self._accumulators: list[compare_kernel.Accumulator] = []
        self._acc_lock = threading.Lock()
        self._valid_bits = np.int32(sum(1 << c for first, last in self.valid_runs for c in range(first, last + 1)))
        self._cloud_bits = np.int32(sum(1 << c for first, last in self.cloud_runs for c in range(first, last + 1)))
        self._nodata_a = _kernel_nodata(self.a)
        self._nodata_b = _kernel_nodata(self.b)
        codes = np.full((2, 8), 4, dtype=np.uint8) if with_scl else None
        trial = _Strip(0, 2, np.ones((2, 8), self.a.dtype), np.ones((2, 8), self.b.dtype), codes, codes, 0, None, 0)
        try:
            self.compute_kernel(trial, compare_kernel.Accumulator())
        except Exception as exc:  # numba/LLVM errors of every kind: the numpy path computes the same
            compare_kernel.mark_failed(exc)
            return False
        compare_kernel.note_ran()
        return True

    def _accumulator(self) -> compare_kernel.Accumulator:
        acc = getattr(self._kernel_local, "acc", None)
        if acc is None:
            acc = self._kernel_local.acc = compare_kernel.Accumulator()
            with self._acc_lock:
                self._accumulators.append(acc)
        return acc

    def compute_kernel(self, s: _Strip, acc: compare_kernel.Accumulator | None = None) -> _StripResult:
        """:meth:`compute` in one compiled pass; stats, confusion and edge counts go to ``acc``, by default the
        thread's accumulator (see :meth:`collect`); the result carries the rasters only."""
        k = self._kernels
        acc = self._accumulator() if acc is None else acc
        rows, cols = s.a.shape
        h0 = s.halo_top
        u8 = np.uint8
        dummy = scratch.get("kernel_dummy", (1, 1), u8)
        has_sa, has_sb = s.scl_a is not None, s.scl_b is not None
        both = has_sa and has_sb
        sa = s.scl_a if has_sa else dummy
        sb = s.scl_b if has_sb else dummy
        near = dummy
        has_near = False
        if both:
            hshape = s.scl_a.shape
            near = scratch.get("kernel_near", (rows, cols), u8)
            has_near = bool(
                k["near_edges"](
                    sa,
                    sb,
                    self._cloud_bits,
                    scratch.get("kernel_code", hshape, u8),
                    scratch.get("kernel_edge", hshape, u8),
                    scratch.get("kernel_vert", (rows, cols), u8),
                    self.edge_px,
                    h0,
                    rows,
                    near,
                )
            )
        get = self.pool.get if self.pool is not None else np.empty
        d = get((rows, cols), np.float32)
        mismatch = get((rows, cols), u8) if both else dummy
        changed = get((rows, cols), u8) if both and self.class_changed else dummy
        want_masks = self.shift is not None and s.b_shift is not None
        masks = scratch.get("kernel_masks", (rows, cols), u8) if want_masks else dummy
        k["strip"](
            s.a,
            s.b,
            self._nodata_a[0],
            not self._nodata_a[1],
            self._nodata_b[0],
            not self._nodata_b[1],
            sa,
            sb,
            has_sa,
            has_sb,
            h0,
            self._valid_bits,
            self.mask_invalid,
            float(self.tolerance),
            float(self.centres[0]),
            float(self.centres[1]),
            near,
            has_near,
            both and self.class_changed,
            want_masks,
            d,
            mismatch,
            changed,
            masks,
            scratch.get("kernel_flags", (cols,), u8),
            scratch.get("kernel_abs", (cols,), np.float32),
            acc.acc,
            acc.counts,
            acc.fine,
            acc.confusion4,
        )
        corrected = stats_c = None
        if want_masks:
            a = s.a if s.a.dtype == np.float32 else s.a.astype(np.float32)
            corrected, stats_c = self.shift_corrected(s, a, (masks >> 1).view(bool))
        return _StripResult(
            s.r0,
            d,
            mismatch if both else None,
            changed if both and self.class_changed else None,
            corrected,
            None,
            stats_c,
            None,
            None,
        )

    def collect(self) -> tuple[DiffStats, np.ndarray, np.ndarray]:
        """Sum of the worker threads' accumulators: (stats, 144 confusion counts, 4 edge counts)."""
        stats = self.new_stats()
        confusion = np.zeros(144, dtype=np.int64)
        edge_counts = np.zeros(4, dtype=np.int64)
        for acc in self._accumulators:
            stats.add_sums(acc.acc, int(acc.counts[0]), int(acc.counts[1]), acc.fine)
            confusion += acc.confusion
            edge_counts += acc.counts[2:6]  # [pixels, near edge, mismatch, mismatch near edge]
        return stats, confusion, edge_counts


class _BusyTimes:
    """Seconds each pipeline stage spent working (summed over its threads), added to the report's timings."""

    def __init__(self, timings: dict[str, float]) -> None:
        self._timings = timings
        self._lock = threading.Lock()

    def add(self, key: str, since: float, cpu_since: float | None = None) -> None:
        elapsed = time.perf_counter() - since
        with self._lock:
            self._timings[key] = self._timings.get(key, 0.0) + elapsed
            if cpu_since is not None:
                k2 = key.replace("busy", "cpu")
                self._timings[k2] = self._timings.get(k2, 0.0) + time.thread_time() - cpu_since


def _kernel_nodata(raster: _Raster) -> tuple[Any, bool]:
    """(nodata as a scalar of the band's dtype, whether to test it) for the compiled kernel: NaN nodata is caught
    by the finiteness test, and a nodata value the dtype cannot hold can never match (as in the numpy path)."""
    dtype = raster.dtype
    nodata = raster.nodata
    if nodata is None or math.isnan(nodata):
        return dtype.type(0), False
    if dtype.kind == "f":
        return dtype.type(nodata), True
    info = np.iinfo(dtype)
    if float(nodata) != int(nodata) or not info.min <= nodata <= info.max:
        return dtype.type(0), False
    return dtype.type(int(nodata)), True


# ----------------------------------------------------------------------------------------------------------------
# shift estimation from files (bounded memory: reads windows only)


def _shift_reader(a: _Raster, b: _Raster, scl_a: _Raster | None, scl_b: _Raster | None, invalid: frozenset[int]):
    lut = np.ones(256, dtype=bool)
    lut[0] = False
    lut[list(invalid)] = False

    def read(r: int, c: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wa, wb = a.read(r, h, c, w), b.read(r, h, c, w)
        valid = _value_valid(wa, a.nodata) & _value_valid(wb, b.nodata)
        for scl in (scl_a, scl_b):
            if scl is not None:
                valid &= lut[_scl_codes(scl.read(r, h, c, w), scl.nodata)]
        return wa.astype(np.float64), wb.astype(np.float64), valid

    return read


def _timed_shift(
    value_a: str | Path,
    value_b: str | Path,
    scl_a: str | Path | None,
    scl_b: str | Path | None,
    invalid: frozenset[int],
    timings: dict[str, float],
) -> ShiftEstimate:
    t0 = time.perf_counter()
    est = estimate_shift_files(value_a, value_b, scl_a=scl_a, scl_b=scl_b, invalid_classes=invalid)
    timings["shift_s"] = time.perf_counter() - t0
    return est


@gdal_exceptions()
def estimate_shift_files(
    value_a: str | Path,
    value_b: str | Path,
    *,
    scl_a: str | Path | None = None,
    scl_b: str | Path | None = None,
    invalid_classes: Iterable[int] = DEFAULT_INVALID_CLASSES,
) -> ShiftEstimate:
    """Sub-pixel shift of B relative to A read from files (windows only; see :mod:`core.shift`)."""
    ra, rb = _Raster(value_a, "A"), _Raster(value_b, "B")
    check_same_grid(ra.grid, rb.grid)
    rsa = _Raster(scl_a, "SCL A") if scl_a else None
    rsb = _Raster(scl_b, "SCL B") if scl_b else None
    read = _shift_reader(ra, rb, rsa, rsb, frozenset(invalid_classes))
    return estimate_shift_windows(read, ra.grid.height, ra.grid.width, pixel_size_m=ra.grid.pixel_size)


# ----------------------------------------------------------------------------------------------------------------
# orchestration


@dataclass(frozen=True)
class CompareOptions:
    """How to compare; every field has a default.

    ``invalid_classes``: SCL classes counted invalid (``"1,2,3"`` or ints). ``tolerance``: |B − A| limit in the
    units of the inputs (None: 0.01 for REFLECTANCE, 100 for DN). ``shift_correct``: also write B moved back by the
    estimated shift, minus A. ``class_changed``: also write where the SCL class differs. ``mask_invalid``: the
    difference is NaN where either SCL class is invalid. ``estimate_shift=False`` skips the shift estimate.
    ``edge_distance_px``: the cloud/shadow edge zone of the diagnosis. ``use_kernel=False`` keeps the numpy path
    even when the compiled kernel is available.
    """

    invalid_classes: str | Iterable[int] = DEFAULT_INVALID_CLASSES
    tolerance: float | None = None
    shift_correct: bool = False
    class_changed: bool = False
    mask_invalid: bool = False
    estimate_shift: bool = True
    edge_distance_px: int = EDGE_DISTANCE_PX
    use_kernel: bool = True


#: Progress fractions: shift estimated (when it runs first), strips done, outputs flushed.
PROGRESS_SHIFT = 0.1
PROGRESS_STRIPS = 0.85
PROGRESS_FLUSHED = 0.97


@dataclass
class _Inputs:
    """The opened input rasters (SCL ones None when absent) and their file paths."""

    a: _Raster
    b: _Raster
    scl_a: _Raster | None
    scl_b: _Raster | None
    paths: dict[str, str | Path | None]

    @property
    def has_scl(self) -> bool:
        return self.scl_a is not None and self.scl_b is not None

    def present(self) -> list[_Raster]:
        return [r for r in (self.a, self.b, self.scl_a, self.scl_b) if r is not None]


def _open_inputs(
    value_a: str | Path, value_b: str | Path, scl_a: str | Path | None, scl_b: str | Path | None
) -> _Inputs:
    """Open the inputs for the strip reader; :class:`GridMismatchError` unless all share A's grid."""
    ra, rb = _Raster(value_a, "A", strip_reader=True), _Raster(value_b, "B", strip_reader=True)
    check_same_grid(ra.grid, rb.grid, ("A", "B"))
    rsa = _Raster(scl_a, "SCL A", strip_reader=True) if scl_a else None
    rsb = _Raster(scl_b, "SCL B", strip_reader=True) if scl_b else None
    for r in (rsa, rsb):
        if r is not None:
            check_same_grid(ra.grid, r.grid, ("A", r.label))
    paths = {"value_a": value_a, "value_b": value_b, "scl_a": scl_a, "scl_b": scl_b}
    return _Inputs(ra, rb, rsa, rsb, paths)


def _checked_tolerance(tolerance: float | None, units: str | None, inputs: _Inputs) -> float:
    if tolerance is None:
        tolerance = default_tolerance(units, inputs.a.is_float or inputs.b.is_float)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise InputError(f"Tolerance must be a number ≥ 0 in the units of the rasters, not {tolerance!r}.")
    return float(tolerance)


class _Outputs:
    """The output rasters of one run: written under temporary names in ``out_dir``, renamed when complete."""

    def __init__(self, out_dir: Path, grid: GridInfo, rows_per_strip: int) -> None:
        self.out_dir, self.grid, self.rows_per_strip = out_dir, grid, rows_per_strip
        self.tag = uuid.uuid4().hex[:8]
        self.final = {k: out_dir / v for k, v in OUTPUT_NAMES.items()}
        self.temps: dict[str, Path] = {}
        self.datasets: dict[str, gdal.Dataset] = {}

    def temp(self, key: str) -> Path:
        path = self.out_dir / f".{self.final[key].stem}.{self.tag}.partial{self.final[key].suffix}"
        self.temps[key] = path
        return path

    def create(self, key: str, dtype: int, options: list[str]) -> gdal.Band:
        """Create output ``key``; returns its band."""
        self.datasets[key] = _create(self.temp(key), self.grid, dtype, options, self.rows_per_strip)
        return self.datasets[key].GetRasterBand(1)

    def create_all(self, has_scl: bool, class_changed: bool, shift_corrected: bool) -> None:
        band = self.create("difference", gdal.GDT_Float32, DIFF_CREATION)
        band.SetNoDataValue(float("nan"))
        band.SetDescription("B - A")
        if has_scl:
            band = self.create("mismatch", gdal.GDT_Byte, CLASS_CREATION)
            _set_categories(band, MISMATCH_NAMES, MISMATCH_COLOURS, nodata=0)
            if class_changed:
                band = self.create("class_changed", gdal.GDT_Byte, CLASS_CREATION)
                names, colours = ("Same class", "Class changed"), ((190, 190, 190, 255), (220, 30, 30, 255))
                _set_categories(band, names, colours, nodata=CLASS_CHANGED_NODATA)
        if shift_corrected:
            self.create("shift_corrected", gdal.GDT_Float32, DIFF_CREATION).SetNoDataValue(float("nan"))

    def write(self, res: _StripResult) -> None:
        """Write one strip's rasters (writer thread: the only user of the datasets)."""
        for key, arr in (
            ("difference", res.difference),
            ("mismatch", res.mismatch),
            ("class_changed", res.class_changed),
            ("shift_corrected", res.shift_corrected),
        ):
            if arr is not None and key in self.datasets:
                self.datasets[key].GetRasterBand(1).WriteArray(arr, 0, res.r0)

    def close(self) -> None:
        for key in list(self.datasets):
            self.datasets[key].FlushCache()
            self.datasets[key] = None
        self.datasets.clear()

    def publish(self, report: dict[str, Any]) -> None:
        """Write the report, rename every temporary file to its final name, remove outputs an earlier run left."""
        report_tmp = self.out_dir / f".report.{self.tag}.partial.json"
        self.temps["report"] = report_tmp
        report_mod.write_json(report, report_tmp)
        for key, tmp in self.temps.items():
            aux, final_aux = Path(f"{tmp}.aux.xml"), Path(f"{self.final[key]}.aux.xml")
            tmp.replace(self.final[key])
            if aux.exists():  # GDAL PAM sidecar (category names)
                aux.replace(final_aux)
            elif final_aux.exists():
                final_aux.unlink()
        for key, path in self.final.items():  # outputs of an earlier run in out_dir that this run did not make
            if key not in self.temps:
                for stale in (path, Path(f"{path}.aux.xml")):
                    with contextlib.suppress(FileNotFoundError):
                        stale.unlink()
        self.temps.clear()

    def discard(self) -> None:
        """Drop open datasets and any temporary file left (failure or cancel)."""
        self.datasets.clear()
        for tmp in self.temps.values():
            for path in (tmp, tmp.with_name(tmp.name + ".aux.xml")):
                with contextlib.suppress(OSError):
                    path.unlink()


@dataclass
class _StripPlan:
    """How the inputs are cut: rows per strip and per read, halo rows (edge zone, shift correction)."""

    rows_per: int
    chunk_rows: int
    halo: int
    shift_halo: int
    apply: tuple[float, float] | None


def _strip_source(inputs: _Inputs, plan: _StripPlan, pool: _BufferPool, busy: _BusyTimes) -> Iterator[_Strip]:
    """Read chunks aligned to the inputs' block rows (each block read once) and hand out row strips with halos."""
    ra, rb, rsa, rsb = inputs.a, inputs.b, inputs.scl_a, inputs.scl_b
    height, rows_per, halo = ra.grid.height, plan.rows_per, plan.halo
    for c0 in range(0, height, plan.chunk_rows):
        crows = min(plan.chunk_rows, height - c0)
        c_top, c_bot = min(halo, c0), min(halo, height - c0 - crows)
        t_read, c_read = time.perf_counter(), time.thread_time()
        ca, cb = ra.read(c0, crows, pool=pool), rb.read(c0, crows, pool=pool)
        chunk = _Chunk([ca, cb], math.ceil(crows / rows_per))
        codes = []
        for scl in (rsa, rsb):
            if scl is None:
                codes.append(None)
                continue
            raw = scl.read(c0 - c_top, crows + c_top + c_bot, pool=pool)
            codes.append(_scl_codes(raw, scl.nodata))
            chunk.buffers += [raw, codes[-1]]
        busy.add("read_busy_s", t_read, c_read)
        for r0 in range(c0, c0 + crows, rows_per):
            rows = min(rows_per, c0 + crows - r0)
            h_top, h_bot = min(halo, r0), min(halo, height - r0 - rows)
            i0 = r0 - c0  # strip offset in the chunk
            sca, scb = (None if c is None else c[c_top + i0 - h_top : c_top + i0 + rows + h_bot] for c in codes)
            bsh, btop = None, 0
            if plan.apply is not None:
                btop = min(plan.shift_halo, r0)
                bbot = min(plan.shift_halo, height - r0 - rows)
                bsh = rb.read(r0 - btop, rows + btop + bbot)
            yield _Strip(r0, rows, ca[i0 : i0 + rows], cb[i0 : i0 + rows], sca, scb, h_top, bsh, btop, chunk)


class _Pipeline:
    """Strips from the reader thread → worker threads → the writer thread, results merged in order."""

    def __init__(self, engine: _Engine, outputs: _Outputs, pool: _BufferPool, busy: _BusyTimes, progress) -> None:
        self.engine, self.outputs, self.pool, self.busy, self.progress = engine, outputs, pool, busy, progress
        self.compute = engine.compute
        self.stats = self.stats_c = engine.new_stats()
        self.confusion = np.zeros(144, dtype=np.int64)
        self.edge_counts = np.zeros(4, dtype=np.int64)
        self.done = 0
        self.n_strips = 1
        self.pending: deque[tuple[Future[_StripResult], _Strip]] = deque()
        self.writes: deque[Future[None]] = deque()

    @gdal_exceptions()
    def write(self, res: _StripResult) -> None:  # writer thread
        t_write, c_write = time.perf_counter(), time.thread_time()
        self.outputs.write(res)
        self.busy.add("write_busy_s", t_write, c_write)
        self.pool.release(res.difference, res.mismatch, res.class_changed)

    def timed_compute(self, strip: _Strip) -> _StripResult:  # worker threads
        t_compute, c_compute = time.perf_counter(), time.thread_time()
        res = self.compute(strip)
        self.busy.add("compute_busy_s", t_compute, c_compute)
        return res

    def merge(self, res: _StripResult) -> None:
        if res.stats is not None:
            self.stats.merge(res.stats)
        if res.stats_corrected is not None:
            self.stats_c.merge(res.stats_corrected)
        if res.confusion is not None:
            self.confusion[:] += res.confusion
            self.edge_counts[:] += res.edge_counts

    def drain_one(self, writer: ThreadPoolExecutor) -> None:
        future, strip_done = self.pending.popleft()
        res = future.result()
        chunk = strip_done.chunk
        if chunk is not None:
            chunk.remaining -= 1
            if chunk.remaining == 0:  # all its strips computed: the reader may reuse its buffers
                self.pool.release(*chunk.buffers)
        self.writes.append(writer.submit(self.write, res))
        while len(self.writes) > 1 or (self.writes and self.writes[0].done()):
            self.writes.popleft().result()
        self.merge(res)
        self.done += 1
        self.progress(PROGRESS_SHIFT + PROGRESS_STRIPS * self.done / self.n_strips)

    def first_strip(self, strip: _Strip) -> None:
        """Shared centres (≈ mean A, mean B − A) from the first strip, for numerically stable sums."""
        a0, d0, v0, _ = self.engine.values(strip)
        self.engine.centres = DiffStats.centres(a0, d0, self.engine.stats_valid(strip, v0)[0])
        self.stats, self.stats_c = self.engine.new_stats(), self.engine.new_stats()

    def run(self, reader: _Prefetch) -> None:
        with ThreadPoolExecutor(max_workers=WORKERS) as workers, ThreadPoolExecutor(max_workers=1) as writer:
            try:
                for strip in reader:
                    if self.done == 0 and not self.pending:
                        self.first_strip(strip)
                    self.pending.append((workers.submit(self.timed_compute, strip), strip))
                    if len(self.pending) > WORKERS:
                        self.drain_one(writer)
                while self.pending:
                    self.drain_one(writer)
                while self.writes:
                    self.writes.popleft().result()
            except BaseException:
                reader.stop()
                for f, _ in self.pending:
                    f.cancel()
                for f in self.writes:  # let queued writes finish before the datasets are closed
                    with contextlib.suppress(BaseException):
                        f.result()
                raise


def _start_shift(inputs: _Inputs, invalid: frozenset[int], options: CompareOptions, compiled: bool, timings: dict):
    """The shift estimate: (estimate now, None) when the strips need it or it cannot overlap them, else
    (None, (pool, future)) running on its own thread and dataset handles meanwhile."""
    p = inputs.paths
    args = (p["value_a"], p["value_b"], p["scl_a"], p["scl_b"], invalid, timings)
    if not options.estimate_shift:
        return ShiftEstimate(None, None, None, None, None, None, 0.0, False, note="not estimated"), None
    if options.shift_correct or not CONCURRENT_SHIFT["numba" if compiled else "numpy"]:
        return _timed_shift(*args), None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s2parity-shift")
    return None, (pool, pool.submit(_timed_shift, *args))


def _report_options(opts: CompareOptions, invalid: frozenset[int], tolerance: float, compiled: bool) -> dict:
    """The report's ``options`` section: what was asked, resolved (classes, tolerance), and the engine that ran."""
    return {
        "invalid_classes": sorted(invalid),
        "tolerance": tolerance,
        "shift_correct": bool(opts.shift_correct),
        "class_changed": bool(opts.class_changed),
        "mask_invalid": bool(opts.mask_invalid),
        "edge_distance_px": opts.edge_distance_px,
        "engine": "numba" if compiled else "numpy",
    }


def _report(
    inputs: _Inputs,
    results: tuple[DiffStats, DiffStats, np.ndarray, np.ndarray],
    shift_est: ShiftEstimate,
    meta: tuple[dict | None, dict | None, str | None],
    opts: dict[str, Any],
    outputs: dict[str, str],
    timings: dict[str, float],
) -> dict[str, Any]:
    """The report document of a finished run (see :mod:`s2parity_plugin.core.report.document`)."""
    stats, stats_c, confusion, edge_counts = results
    metadata_a, metadata_b, units = meta
    invalid, edge_px = opts["invalid_classes"], opts["edge_distance_px"]
    scl_section = scl_summary(confusion.reshape(12, 12), edge_counts, edge_px, invalid) if inputs.has_scl else None
    stats_dict = stats.to_dict(units or "unknown")
    corrected = stats_c.to_dict(units or "unknown") if "shift_corrected" in outputs else None
    shift = shift_est.to_dict()
    diag = diagnosis_mod.diagnose(metadata_a or {}, metadata_b or {}, stats_dict, shift, scl_section, units)
    return report_mod.build_report(
        grid=inputs.a.grid.to_dict(),
        stats=stats_dict,
        scl=scl_section,
        shift=shift,
        shift_corrected_stats=corrected,
        diagnosis=diag,
        inputs={k: (str(v) if v else None) for k, v in inputs.paths.items()},
        options=opts,
        outputs=outputs,
        units=units,
        timings=timings,
    )


@gdal_exceptions()
def compare_rasters(
    value_a: str | Path,
    value_b: str | Path,
    out_dir: str | Path,
    *,
    scl_a: str | Path | None = None,
    scl_b: str | Path | None = None,
    metadata_a: dict | None = None,
    metadata_b: dict | None = None,
    options: CompareOptions | None = None,
    feedback: Progress | None = None,
) -> CompareResult:
    """Compare value rasters A and B (band 1 each) on the same grid; write rasters + ``report.json`` to out_dir.

    ``metadata_a``/``metadata_b`` are :class:`~s2parity_plugin.core.fetch.run_folder.SideMetadata` dicts (units,
    product ids, …) used for units and the diagnosis; ``options``: see :class:`CompareOptions` (the report's
    ``options.engine`` says which strip path ran). ``feedback(fraction)`` is called with 0..1 and may return False
    to cancel (→ :class:`CompareCancelled`, no output left). Raises :class:`GridMismatchError` when the rasters
    are not on one grid and :class:`InputError` for other bad input.
    """
    t_start = time.perf_counter()
    opts = options or CompareOptions()
    timings: dict[str, float] = {}
    invalid = parse_invalid_classes(opts.invalid_classes)
    out_dir = Path(out_dir)
    inputs = _open_inputs(value_a, value_b, scl_a, scl_b)
    units = _units(metadata_a, metadata_b)
    tolerance = _checked_tolerance(opts.tolerance, units, inputs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the output folder {out_dir}: {exc}.") from exc

    def progress(fraction: float) -> None:
        if feedback is not None and feedback(max(0.0, min(1.0, fraction))) is False:
            raise CompareCancelled("Comparison cancelled by the user.")

    grid = inputs.a.grid
    rows_per = max(16, min(grid.height, STRIP_PIXELS // max(1, grid.width)))
    outputs = _Outputs(out_dir, grid, rows_per)
    shift_job = None
    try:
        with gdal_cache_limit(GDAL_CACHE_MB), single_threaded_blas():  # our threads; no OpenBLAS spinners
            progress(0.0)
            # numba is imported (≈ 0.16 s) and the kernel loaded further down, once the shift and reader threads run
            compiled = opts.use_kernel and compare_kernel.wanted()
            shift_est, shift_job = _start_shift(inputs, invalid, opts, compiled, timings)
            progress(PROGRESS_SHIFT)
            apply = (shift_est.dx_px, shift_est.dy_px) if opts.shift_correct and shift_est.dx_px is not None else None
            outputs.create_all(inputs.has_scl, opts.class_changed, apply is not None)
            edge_px = opts.edge_distance_px
            engine = _Engine(
                inputs.a, inputs.b, invalid, tolerance, opts.mask_invalid, apply, edge_px, opts.class_changed
            )
            plan = _StripPlan(
                rows_per,
                _chunk_rows(inputs.present(), rows_per, grid.height),
                edge_px + 1,
                0 if apply is None else math.ceil(max(abs(apply[0]), abs(apply[1]))) + 16,
                apply,
            )
            pool, busy = _BufferPool(), _BusyTimes(timings)
            engine.pool = pool
            pipeline = _Pipeline(engine, outputs, pool, busy, progress)
            pipeline.n_strips = math.ceil(grid.height / rows_per)
            t0 = time.perf_counter()
            # queue: 2 strips ahead (longer queues were slower and cost memory)
            reader = _Prefetch(_strip_source(inputs, plan, pool, busy), maxsize=max(2, plan.chunk_rows // rows_per))
            try:  # while the first chunk is read
                compiled = compiled and engine.use_kernel(inputs.has_scl)
            except BaseException:
                reader.stop()
                raise
            pipeline.compute = engine.compute_kernel if compiled else engine.compute
            pipeline.run(reader)
            timings["blocks_s"] = time.perf_counter() - t0
            if compiled:
                pipeline.stats, pipeline.confusion, pipeline.edge_counts = engine.collect()
            if shift_job is not None:
                shift_est = shift_job[1].result()
            t0 = time.perf_counter()
            outputs.close()
            timings["flush_s"] = time.perf_counter() - t0
            progress(PROGRESS_FLUSHED)
            report_options = _report_options(opts, invalid, tolerance, compiled)
            names = {k: outputs.final[k].name for k in outputs.temps}
            timings["total_s"] = time.perf_counter() - t_start
            results = (pipeline.stats, pipeline.stats_c, pipeline.confusion, pipeline.edge_counts)
            report = _report(
                inputs, results, shift_est, (metadata_a, metadata_b, units), report_options, names, timings
            )
            outputs.publish(report)
            progress(1.0)
    finally:
        if shift_job is not None:
            if not shift_job[1].done():
                shift_job[1].cancel()
            shift_job[0].shutdown(wait=True)
        outputs.discard()
    final = outputs.final
    return CompareResult(
        difference=final["difference"],
        mismatch=final["mismatch"] if inputs.has_scl else None,
        class_changed=final["class_changed"] if (inputs.has_scl and opts.class_changed) else None,
        shift_corrected=final["shift_corrected"] if apply is not None else None,
        report=report,
        report_path=final["report"],
    )


def scl_summary(
    confusion256: np.ndarray, edge_counts: np.ndarray | None, edge_px: int, invalid: Iterable[int]
) -> dict[str, Any]:
    """The report's ``scl`` section from a (A class, B class) pixel-count matrix (class 0 = nodata)."""
    conf = np.asarray(confusion256, dtype=np.int64)[:12, :12]
    total = int(conf.sum())
    invalid = frozenset(invalid)
    valid = np.array([c != 0 and c not in invalid for c in range(12)])
    sub = conf[1:, 1:]
    va = valid[1:]
    counts = {
        "nodata": total - int(sub.sum()),
        "both_valid": int(sub[np.ix_(va, va)].sum()),
        "both_invalid": int(sub[np.ix_(~va, ~va)].sum()),
        "valid_only_a": int(sub[np.ix_(va, ~va)].sum()),
        "valid_only_b": int(sub[np.ix_(~va, va)].sum()),
    }
    out: dict[str, Any] = {
        "counts": counts,
        "shares": {k: (v / total if total else None) for k, v in counts.items()},
        "total_pixels": total,
        "invalid_classes": sorted(invalid),
        "classes": list(range(12)),
        "class_names": list(SCL_NAMES),
        "confusion": [[int(v) for v in row] for row in conf],
        "confusion_rows": "SCL class in A (0..11)",
        "confusion_cols": "SCL class in B (0..11)",
    }
    if edge_counts is not None:
        considered, near, mism, mism_near = (int(v) for v in edge_counts)
        out["edges"] = {
            "distance_px": edge_px,
            "classes": sorted(CLOUD_SHADOW_CLASSES),
            "pixels": considered,
            "pixels_near_edge": near,
            "mismatch_pixels": mism,
            "mismatch_near_edge": mism_near,
            "share_all_near_edge": near / considered if considered else None,
            "share_mismatch_near_edge": mism_near / mism if mism else None,
        }
    return out


def compare_run_folder(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    options: CompareOptions | None = None,
    feedback: Progress | None = None,
) -> CompareResult:
    """Compare the two sides of a run folder (see :mod:`core.run_folder`), with each side's metadata from
    ``run.json``; outputs go to ``run_dir/compare`` unless ``out_dir`` is given."""
    run_dir = Path(run_dir)
    try:
        manifest = run_folder.load_manifest(run_dir)
    except run_folder.RunFolderError as exc:
        raise InputError(str(exc)) from exc
    paths = {k: run_folder.file_path(run_dir, manifest, k) for k in ("value_a", "value_b", "scl_a", "scl_b")}
    return compare_rasters(
        paths["value_a"],
        paths["value_b"],
        Path(out_dir) if out_dir is not None else run_dir / "compare",
        scl_a=paths["scl_a"],
        scl_b=paths["scl_b"],
        metadata_a=dict(run_folder.side_metadata(manifest, "a")),
        metadata_b=dict(run_folder.side_metadata(manifest, "b")),
        options=options,
        feedback=feedback,
    )
