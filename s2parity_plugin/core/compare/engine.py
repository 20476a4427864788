"""Compare two rasters of the same quantity (A from endpoint A, B from endpoint B) on the same grid.

Everything is block-wise, so a full Sentinel-2 tile pair (10980 × 10980 px) runs in bounded memory (a few hundred
MB; figures in ``docs/performance.md``): a reader thread reads row strips (or, from compressed inputs, chunks of
:data:`~.reading.CHUNK_ROWS` rows aligned to their blocks), one or two worker threads (:data:`WORKERS`) compute
row strips of :data:`STRIP_PIXELS` pixels (numpy releases the GIL; per-thread scratch buffers avoid page-fault
churn), and a writer thread writes the strips to stripped GeoTIFFs. Each GDAL dataset is only used by one thread.
With numba installed the strips run through the compiled one-pass kernel of :mod:`.kernel` (same
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
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from s2parity_plugin.core.compare import image_ops
from s2parity_plugin.core.compare import kernel as compare_kernel
from s2parity_plugin.core.compare.blas_threads import single_threaded_blas
from s2parity_plugin.core.compare.masks import NAN_OR_ZERO, class_mask, class_runs, count_codes, scl_codes, value_valid

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).
from s2parity_plugin.core.compare.options import (
    CLASS_CHANGED_NODATA,
    CLOUD_SHADOW_CLASSES,
    PROGRESS_FLUSHED,
    PROGRESS_SHIFT,
    PROGRESS_STRIPS,
    SCL_NAMES,
    CompareCancelled,
    CompareOptions,
    CompareResult,
    Progress,
    checked_tolerance,
    parse_invalid_classes,
    units_of,
)
from s2parity_plugin.core.compare.reading import (
    BufferPool,
    BusyTimes,
    Inputs,
    Prefetch,
    Raster,
    Strip,
    StripPlan,
    chunk_rows,
    kernel_nodata,
    open_inputs,
    strip_source,
)
from s2parity_plugin.core.compare.shift import ShiftEstimate, estimate_shift_windows
from s2parity_plugin.core.compare.stats import DiffStats, scratch
from s2parity_plugin.core.compare.writing import Outputs, StripResult
from s2parity_plugin.core.diagnosis import explain as diagnosis_mod
from s2parity_plugin.core.errors import InputError
from s2parity_plugin.core.fetch import run_folder
from s2parity_plugin.core.gdal_scope import gdal_cache_limit, gdal_exceptions
from s2parity_plugin.core.model.grid import check_same_grid
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES
from s2parity_plugin.core.report import document as report_mod

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


class _Engine:
    """Per-strip computation; all LUTs are uint8 0/1 tables indexed by SCL code (0..11, 0 = nodata)."""

    def __init__(self, run: _Run, shift: tuple[float, float] | None) -> None:
        """``shift``: (dx, dy) px to move B back by (shift correction), None when not corrected."""
        a, b, invalid = run.inputs.a, run.inputs.b, run.invalid
        self.a, self.b = a, b
        self.tolerance = run.tolerance
        self.mask_invalid = run.opts.mask_invalid
        self.shift = shift
        self.edge_px = run.opts.edge_distance_px
        self.class_changed = run.opts.class_changed
        self.centres = (0.0, 0.0)  # set from the first strip
        self.valid_runs = class_runs(set(range(1, 12)) - set(invalid))
        self.finite = not (a.is_float or b.is_float)  # integer inputs: no NaN/inf anywhere
        self.cloud_runs = class_runs(CLOUD_SHADOW_CLASSES)
        self.pool: BufferPool | None = None  # output buffers of the compiled path (recycled after writing)

    def new_stats(self) -> DiffStats:
        return DiffStats(self.tolerance, *self.centres)

    def values(self, s: Strip) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
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
        valid = value_valid(s.a, self.a.nodata, scratch.get("valid", shape, bool), check_finite=not finite)
        valid &= value_valid(s.b, self.b.nodata, scratch.get("valid_b", shape, bool), check_finite=not finite)
        if not finite:  # also no data: finite a and b whose B − A overflows float32 (> 3.4e38), as in the kernel
            valid &= finite_d
        return a, d, valid, finite

    def stats_valid(self, s: Strip, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(valid for stats, SCL-valid A, SCL-valid B): data on both sides and a valid SCL class on each side
        that has an SCL raster. The SCL arrays are uint8 0/1 (None without SCL)."""
        h0, h1 = s.halo_top, s.halo_top + s.rows
        shape = valid.shape
        valid_stats = scratch.get("valid_stats", shape, bool)
        np.copyto(valid_stats, valid)
        va = vb = None
        if s.scl_a is not None:
            va = class_mask(s.scl_a[h0:h1], self.valid_runs, scratch.get("va", shape, np.uint8)).view(np.uint8)
            valid_stats &= va.view(bool)
        if s.scl_b is not None:
            vb = class_mask(s.scl_b[h0:h1], self.valid_runs, scratch.get("vb", shape, np.uint8)).view(np.uint8)
            valid_stats &= vb.view(bool)
        return valid_stats, va, vb

    def compute(self, s: Strip) -> StripResult:
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
            confusion = count_codes(code)
            hshape = s.scl_a.shape
            # cloud/shadow code 0..3 (bit 0: A, bit 1: B): it changes between neighbours exactly where the
            # boundary of A's or B's cloud/shadow mask is
            cloudy = class_mask(s.scl_a, self.cloud_runs, scratch.get("cloudy", hshape, u8)).view(u8)
            cloudy_b = class_mask(s.scl_b, self.cloud_runs, scratch.get("cloudy_b", hshape, u8)).view(u8)
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
        d = np.add(d, np.take(NAN_OR_ZERO, diff_mask.view(np.uint8), mode="clip"))
        corrected, stats_c = self.shift_corrected(s, a, valid_stats)
        return StripResult(s.r0, d, mismatch, changed, corrected, stats, stats_c, confusion, edge_counts)

    def shift_corrected(
        self, s: Strip, a: np.ndarray, valid_stats: np.ndarray
    ) -> tuple[np.ndarray | None, DiffStats | None]:
        """B moved back by the estimated shift (cubic spline) minus A, and its stats; (None, None) without a
        shift. ``valid_stats``: pixels that count in the statistics."""
        if self.shift is None or s.b_shift is None:
            return None, None
        dx, dy = self.shift
        braw = s.b_shift
        bvalid = value_valid(braw, self.b.nodata)
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
        cmask = valid_stats & ~bad if self.mask_invalid else value_valid(s.a, self.a.nodata) & ~bad
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
        self._nodata_a = kernel_nodata(self.a)
        self._nodata_b = kernel_nodata(self.b)
        codes = np.full((2, 8), 4, dtype=np.uint8) if with_scl else None
        trial = Strip(0, 2, np.ones((2, 8), self.a.dtype), np.ones((2, 8), self.b.dtype), codes, codes, 0, None, 0)
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

    def compute_kernel(self, s: Strip, acc: compare_kernel.Accumulator | None = None) -> StripResult:
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
        near, has_near = self._kernel_near(s) if both else (dummy, False)
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
        return StripResult(
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

    def _kernel_near(self, s: Strip) -> tuple[np.ndarray, bool]:
        """(uint8 mask of pixels within ``edge_px`` of a cloud/shadow edge on either side, whether any is)."""
        rows, cols = s.a.shape
        hshape, u8 = s.scl_a.shape, np.uint8
        near = scratch.get("kernel_near", (rows, cols), u8)
        code = scratch.get("kernel_code", hshape, u8)
        edge = scratch.get("kernel_edge", hshape, u8)
        vert = scratch.get("kernel_vert", (rows, cols), u8)
        found = self._kernels["near_edges"](
            s.scl_a, s.scl_b, self._cloud_bits, code, edge, vert, self.edge_px, s.halo_top, rows, near
        )
        return near, bool(found)

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


def _shift_reader(a: Raster, b: Raster, scl_a: Raster | None, scl_b: Raster | None, invalid: frozenset[int]):
    lut = np.ones(256, dtype=bool)
    lut[0] = False
    lut[list(invalid)] = False

    def read(r: int, c: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wa, wb = a.read(r, h, c, w), b.read(r, h, c, w)
        valid = value_valid(wa, a.nodata) & value_valid(wb, b.nodata)
        for scl in (scl_a, scl_b):
            if scl is not None:
                valid &= lut[scl_codes(scl.read(r, h, c, w), scl.nodata)]
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
    ra, rb = Raster(value_a, "A"), Raster(value_b, "B")
    check_same_grid(ra.grid, rb.grid)
    rsa = Raster(scl_a, "SCL A") if scl_a else None
    rsb = Raster(scl_b, "SCL B") if scl_b else None
    read = _shift_reader(ra, rb, rsa, rsb, frozenset(invalid_classes))
    return estimate_shift_windows(read, ra.grid.height, ra.grid.width, pixel_size_m=ra.grid.pixel_size)


class _Pipeline:
    """Strips from the reader thread → worker threads → the writer thread, results merged in order."""

    def __init__(self, engine: _Engine, outputs: Outputs, pool: BufferPool, busy: BusyTimes, progress) -> None:
        self.engine, self.outputs, self.pool, self.busy, self.progress = engine, outputs, pool, busy, progress
        self.compute = engine.compute
        self.stats = self.stats_c = engine.new_stats()
        self.confusion = np.zeros(144, dtype=np.int64)
        self.edge_counts = np.zeros(4, dtype=np.int64)
        self.done = 0
        self.n_strips = 1
        self.pending: deque[tuple[Future[StripResult], Strip]] = deque()
        self.writes: deque[Future[None]] = deque()

    @gdal_exceptions()
    def write(self, res: StripResult) -> None:  # writer thread
        t_write, c_write = time.perf_counter(), time.thread_time()
        self.outputs.write(res)
        self.busy.add("write_busy_s", t_write, c_write)
        self.pool.release(res.difference, res.mismatch, res.class_changed)

    def timed_compute(self, strip: Strip) -> StripResult:  # worker threads
        t_compute, c_compute = time.perf_counter(), time.thread_time()
        res = self.compute(strip)
        self.busy.add("compute_busy_s", t_compute, c_compute)
        return res

    def merge(self, res: StripResult) -> None:
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

    def first_strip(self, strip: Strip) -> None:
        """Shared centres (≈ mean A, mean B − A) from the first strip, for numerically stable sums."""
        a0, d0, v0, _ = self.engine.values(strip)
        self.engine.centres = DiffStats.centres(a0, d0, self.engine.stats_valid(strip, v0)[0])
        self.stats, self.stats_c = self.engine.new_stats(), self.engine.new_stats()

    def run(self, reader: Prefetch) -> None:
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


def _start_shift(inputs: Inputs, invalid: frozenset[int], options: CompareOptions, compiled: bool, timings: dict):
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
    inputs: Inputs,
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
    findings = report_mod.Findings(
        grid=inputs.a.grid.to_dict(),
        stats=stats_dict,
        scl=scl_section,
        shift=shift,
        diagnosis=diag,
        shift_corrected_stats=corrected,
        units=units,
    )
    paths = {k: (str(v) if v else None) for k, v in inputs.paths.items()}
    return report_mod.build_report(findings, report_mod.RunRecord(paths, opts, outputs, timings))


def _checked_folder(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the output folder {out}: {exc}.") from exc
    return out


def _progress_of(feedback: Progress | None) -> Callable[[float], None]:
    """``feedback`` clamped to 0..1; its False (cancel) becomes :class:`CompareCancelled`."""

    def progress(fraction: float) -> None:
        if feedback is not None and feedback(max(0.0, min(1.0, fraction))) is False:
            raise CompareCancelled("Comparison cancelled by the user.")

    return progress


@dataclass
class _Run:
    """One comparison's resolved inputs and settings, shared by its steps."""

    inputs: Inputs
    opts: CompareOptions
    invalid: frozenset[int]
    tolerance: float
    progress: Callable[[float], None]
    timings: dict[str, float]

    @property
    def rows_per(self) -> int:
        grid = self.inputs.a.grid
        return max(16, min(grid.height, STRIP_PIXELS // max(1, grid.width)))

    def plan(self, apply: tuple[float, float] | None) -> StripPlan:
        grid, rows_per = self.inputs.a.grid, self.rows_per
        shift_halo = 0 if apply is None else math.ceil(max(abs(apply[0]), abs(apply[1]))) + 16
        rows = chunk_rows(self.inputs.present(), rows_per, grid.height)
        return StripPlan(rows_per, rows, self.opts.edge_distance_px + 1, shift_halo, apply)

    def strips(self, outputs: Outputs, apply: tuple[float, float] | None, compiled: bool) -> tuple[tuple, bool]:
        """Every strip through the pipeline: ((stats, corrected stats, confusion, edge counts), compiled ran)."""
        inputs = self.inputs
        engine = _Engine(self, apply)
        plan = self.plan(apply)
        pool, busy = BufferPool(), BusyTimes(self.timings)
        engine.pool = pool
        pipeline = _Pipeline(engine, outputs, pool, busy, self.progress)
        pipeline.n_strips = math.ceil(inputs.a.grid.height / plan.rows_per)
        t0 = time.perf_counter()
        # queue: 2 strips ahead (longer queues were slower and cost memory)
        reader = Prefetch(strip_source(inputs, plan, pool, busy), maxsize=max(2, plan.chunk_rows // plan.rows_per))
        try:  # while the first chunk is read
            compiled = compiled and engine.use_kernel(inputs.has_scl)
        except BaseException:
            reader.stop()
            raise
        pipeline.compute = engine.compute_kernel if compiled else engine.compute
        pipeline.run(reader)
        self.timings["blocks_s"] = time.perf_counter() - t0
        if compiled:
            pipeline.stats, pipeline.confusion, pipeline.edge_counts = engine.collect()
        return (pipeline.stats, pipeline.stats_c, pipeline.confusion, pipeline.edge_counts), compiled


def _result(outputs: Outputs, run: _Run, apply: tuple[float, float] | None, report: dict) -> CompareResult:
    final, has_scl = outputs.final, run.inputs.has_scl
    return CompareResult(
        difference=final["difference"],
        mismatch=final["mismatch"] if has_scl else None,
        class_changed=final["class_changed"] if (has_scl and run.opts.class_changed) else None,
        shift_corrected=final["shift_corrected"] if apply is not None else None,
        report=report,
        report_path=final["report"],
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
    inputs = open_inputs(value_a, value_b, scl_a, scl_b)
    units = units_of(metadata_a, metadata_b)
    tolerance = checked_tolerance(opts.tolerance, units, inputs)
    run = _Run(inputs, opts, parse_invalid_classes(opts.invalid_classes), tolerance, _progress_of(feedback), {})
    outputs = Outputs(_checked_folder(out_dir), inputs.a.grid, run.rows_per)
    shift_job = None
    try:
        with gdal_cache_limit(GDAL_CACHE_MB), single_threaded_blas():  # our threads; no OpenBLAS spinners
            run.progress(0.0)
            # numba is imported (≈ 0.16 s) and the kernel loaded further down, once the shift and reader threads run
            compiled = opts.use_kernel and compare_kernel.wanted()
            shift_est, shift_job = _start_shift(inputs, run.invalid, opts, compiled, run.timings)
            run.progress(PROGRESS_SHIFT)
            apply = (shift_est.dx_px, shift_est.dy_px) if opts.shift_correct and shift_est.dx_px is not None else None
            outputs.create_all(inputs.has_scl, opts.class_changed, apply is not None)
            results, compiled = run.strips(outputs, apply, compiled)
            if shift_job is not None:
                shift_est = shift_job[1].result()
            t0 = time.perf_counter()
            outputs.close()
            run.timings["flush_s"] = time.perf_counter() - t0
            run.progress(PROGRESS_FLUSHED)
            report_options = _report_options(opts, run.invalid, tolerance, compiled)
            names = {k: outputs.final[k].name for k in outputs.temps}
            run.timings["total_s"] = time.perf_counter() - t_start
            meta = (metadata_a, metadata_b, units)
            report = _report(inputs, results, shift_est, meta, report_options, names, run.timings)
            outputs.publish(report)
            run.progress(1.0)
    finally:
        if shift_job is not None:
            if not shift_job[1].done():
                shift_job[1].cancel()
            shift_job[0].shutdown(wait=True)
        outputs.discard()
    return _result(outputs, run, apply, report)


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
