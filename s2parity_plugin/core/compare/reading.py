"""Reading the inputs of a comparison: rasters opened for the strip reader, recycled buffers, chunks aligned to the
inputs' blocks, and the background reader that hands out row strips with their halos (GDAL)."""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).
from s2parity_plugin.core.compare.masks import scl_codes
from s2parity_plugin.core.errors import InputError
from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.core.model.grid import GridInfo, check_same_grid, grid_of, open_raster


class BufferPool:
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


class Raster:
    """One input band (band 1) with its nodata value."""

    def __init__(self, path: str | Path, label: str, *, strip_reader: bool = False) -> None:
        """``strip_reader``: this raster feeds the strip reader (full-width row ranges: threaded decoding of
        compressed values); the shift estimate's windows are read with GDAL's direct I/O."""
        self.path = Path(path)
        self.label = label
        self.ds = open_raster(path, direct_io=True)  # read in row chunks and windows: no block cache needed
        if self.ds.RasterCount < 1:
            raise InputError(f"Raster {label} ({path}) has no band.")
        compression = gtiff_compression(self.ds)
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
        self, r0: int, rows: int, c0: int = 0, cols: int | None = None, pool: BufferPool | None = None
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


def gtiff_compression(ds: gdal.Dataset) -> str | None:
    """A GeoTIFF's compression (``NONE`` when uncompressed), None for other
    formats."""
    if ds.GetDriver().ShortName != "GTiff":
        return None
    return (ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or "NONE").upper()


#: Rows read per GDAL request (a multiple of the strip height; whole input block rows when blocks are ≤ this): with
#: direct I/O (see :func:`~s2parity_plugin.core.model.grid.open_raster`) half tiles are not read twice, and larger reads
#: cost memory without gain. The reader prefetches one chunk of strips (at least two strips).
CHUNK_ROWS = 256


#: Threads decoding the blocks of one read of a compressed GeoTIFF input (as the fetch writes them). Only for value
#: rasters: GDAL's threaded decoding costs per block, which the cheap uint8 SCL blocks do not repay.
DECODE_THREADS = 2


def chunk_rows(rasters: list[Raster], rows_per: int, height: int) -> int:
    """Rows read at once: whole block rows of the first input when they fit in :data:`CHUNK_ROWS` (no compressed
    block decoded twice), a multiple of the strip."""
    block_h = rasters[0].band.GetBlockSize()[1]
    rows = block_h if 1 < block_h <= CHUNK_ROWS else CHUNK_ROWS
    return min(height, max(1, math.ceil(rows / rows_per)) * rows_per)


class Prefetch:
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


@dataclass
class Strip:
    r0: int
    rows: int
    a: np.ndarray
    b: np.ndarray
    scl_a: np.ndarray | None  # with halo rows (uint8 codes)
    scl_b: np.ndarray | None
    halo_top: int
    b_shift: np.ndarray | None  # B rows with halo for the shift correction
    b_shift_top: int
    chunk: Chunk | None = None  # the read buffers the strip's arrays are views of


@dataclass
class Chunk:
    """Buffers of one read chunk and how many of its strips are still to be computed (main thread only)."""

    buffers: list[np.ndarray]
    remaining: int


class BusyTimes:
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


def kernel_nodata(raster: Raster) -> tuple[Any, bool]:
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


@dataclass
class Inputs:
    """The opened input rasters (SCL ones None when absent) and their file paths."""

    a: Raster
    b: Raster
    scl_a: Raster | None
    scl_b: Raster | None
    paths: dict[str, str | Path | None]

    @property
    def has_scl(self) -> bool:
        return self.scl_a is not None and self.scl_b is not None

    def present(self) -> list[Raster]:
        return [r for r in (self.a, self.b, self.scl_a, self.scl_b) if r is not None]


def open_inputs(value_a: str | Path, value_b: str | Path, scl_a: str | Path | None, scl_b: str | Path | None) -> Inputs:
    """Open the inputs for the strip reader; :class:`GridMismatchError` unless all share A's grid."""
    ra, rb = Raster(value_a, "A", strip_reader=True), Raster(value_b, "B", strip_reader=True)
    check_same_grid(ra.grid, rb.grid, ("A", "B"))
    rsa = Raster(scl_a, "SCL A", strip_reader=True) if scl_a else None
    rsb = Raster(scl_b, "SCL B", strip_reader=True) if scl_b else None
    for r in (rsa, rsb):
        if r is not None:
            check_same_grid(ra.grid, r.grid, ("A", r.label))
    paths = {"value_a": value_a, "value_b": value_b, "scl_a": scl_a, "scl_b": scl_b}
    return Inputs(ra, rb, rsa, rsb, paths)


@dataclass
class StripPlan:
    """How the inputs are cut: rows per strip and per read, halo rows (edge zone, shift correction)."""

    rows_per: int
    chunk_rows: int
    halo: int
    shift_halo: int
    apply: tuple[float, float] | None


def strip_source(inputs: Inputs, plan: StripPlan, pool: BufferPool, busy: BusyTimes) -> Iterator[Strip]:
    """Read chunks aligned to the inputs' block rows (each block read once) and hand out row strips with halos."""
    ra, rb, rsa, rsb = inputs.a, inputs.b, inputs.scl_a, inputs.scl_b
    height, rows_per, halo = ra.grid.height, plan.rows_per, plan.halo
    for c0 in range(0, height, plan.chunk_rows):
        crows = min(plan.chunk_rows, height - c0)
        c_top, c_bot = min(halo, c0), min(halo, height - c0 - crows)
        t_read, c_read = time.perf_counter(), time.thread_time()
        ca, cb = ra.read(c0, crows, pool=pool), rb.read(c0, crows, pool=pool)
        chunk = Chunk([ca, cb], math.ceil(crows / rows_per))
        codes = []
        for scl in (rsa, rsb):
            if scl is None:
                codes.append(None)
                continue
            raw = scl.read(c0 - c_top, crows + c_top + c_bot, pool=pool)
            codes.append(scl_codes(raw, scl.nodata))
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
            yield Strip(r0, rows, ca[i0 : i0 + rows], cb[i0 : i0 + rows], sca, scb, h_top, bsh, btop, chunk)
