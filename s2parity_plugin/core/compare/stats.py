"""Single-pass, block-wise accumulation of difference statistics (B − A) in the units of the inputs.

Exact sums (float64 accumulation) give n, bias, MAE, RMSE, std, Pearson r and the least-squares fit
B = slope·A + intercept (A and B are centred on the first block's means before accumulating the co-moments, so the
sums stay well conditioned). Percentiles and the histogram come from a fine histogram of the float32 differences
indexed by their IEEE-754 bit pattern: :data:`MANTISSA_BITS` mantissa bits per power of two, i.e. log-spaced bins
of relative width 2^-12 ≈ 0.024 %. ``p50_abs``/``p95_abs`` are the lower edge of the bin that holds the
percentile (nearest-rank), so they are exact for integer differences below 2^12 = 4096 (DN) and within 0.024 %
(relative) otherwise. |B − A| below 2^-20 (≈ 9.5e-7) is counted as 0 and above 2^20 (≈ 1.05e6) in the top bin.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

MANTISSA_BITS = 12
MIN_EXP = -20  # |d| < 2**MIN_EXP counts as 0
MAX_EXP = 20  # |d| >= 2**MAX_EXP falls in the top bin
_EXP_BIAS = 127
_LOW = (MIN_EXP + _EXP_BIAS) << MANTISSA_BITS
_NBINS = (MAX_EXP - MIN_EXP) << MANTISSA_BITS  # per sign; bin 0 also holds |d| < 2**MIN_EXP
_SHIFT = 23 - MANTISSA_BITS
_BIN_MIN = np.float32(2.0**MIN_EXP)  # lower edge of bin 0 (smaller |d| are counted there too)
_BIN_MAX = np.array([((_LOW + _NBINS) << _SHIFT) - 1], dtype=np.int32).view(np.float32)[0]  # largest |d| of the top bin
#: Pixels per sub-block of :meth:`DiffStats.update` (≈ 8 rows of a 10980 px tile: its float32 work arrays stay
#: in the CPU's L2 cache, measured ≈ 3× faster per operation than 64-row blocks).
SUB_BLOCK_PIXELS = 8 * 10980


def _bin_lower_edges() -> np.ndarray:
    """Lower edge (|d|) of every fine bin, float64; bin 0's lower edge is 0."""
    codes = (np.arange(_NBINS, dtype=np.int64) + _LOW) << _SHIFT
    edges = codes.astype(np.int32).view(np.float32).astype(np.float64)
    edges[0] = 0.0
    return edges


class Scratch(threading.local):
    """Per-thread reusable work buffers (avoids re-faulting fresh pages for every block)."""

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A buffer for (name, shape, dtype), reused by later calls on the same thread (contents undefined)."""
        key = (name, tuple(shape), np.dtype(dtype).str)
        buf = self.__dict__.get(key)
        if buf is None:
            if len(self.__dict__) > 64:  # e.g. many raster widths in one session: start over
                self.__dict__.clear()
            buf = np.empty(shape, dtype=dtype)
            self.__dict__[key] = buf
        return buf


scratch = Scratch()


class DiffStats:
    """Accumulates statistics of d = B − A over valid pixels (units of the inputs).

    ``ka``/``kd`` are fixed centres (≈ mean A and mean B − A) shared by every block so that the partial sums of
    separate blocks simply add up (see :meth:`merge`); :meth:`centres` computes them from a first block.
    """

    def __init__(self, tolerance: float, ka: float = 0.0, kd: float = 0.0) -> None:
        self.tolerance = float(tolerance)
        # centres are float32-representable so that the float32 centring below is exact about them
        self.ka = float(np.float32(ka))
        self.kd = float(np.float32(kd))
        self.n = 0
        self.s_a = self.s_d = self.s_aa = self.s_dd = self.s_ad = 0.0  # centred sums (a − ka, d − kd)
        self.sum_abs = 0.0
        self.over_tol = 0
        self.fine = np.zeros(2 * _NBINS, dtype=np.int64)  # [positive | negative] magnitudes

    @staticmethod
    def centres(a: np.ndarray, d: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
        """Mean of A and of d over ``valid`` (0, 0 when nothing is valid)."""
        n = int(np.count_nonzero(valid))
        if n == 0:
            return 0.0, 0.0
        return (
            float(a[valid].astype(np.float64).sum() / n),
            float(d[valid].astype(np.float64).sum() / n),
        )

    def update(self, a: np.ndarray, d: np.ndarray, valid: np.ndarray | None = None, *, finite: bool = False) -> None:
        """Add pixels of A (float32) and d = B − A (float32) where ``valid`` (bool, same shape) is True.

        Invalid pixels may hold NaN, inf or extreme values: they are clamped to finite values and multiplied by 0,
        never summed. ``finite=True`` (integer inputs) skips the clamping. Squares beyond float32 range
        (|d| > 1.8e19) overflow to inf: RMSE/std then report null.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            self._update(a, d, valid, finite)

    def _update(self, a: np.ndarray, d: np.ndarray, valid: np.ndarray | None, finite: bool) -> None:
        a = np.asarray(a, dtype=np.float32)
        d = np.asarray(d, dtype=np.float32)
        if a.ndim == 1:
            a, d = a.reshape(1, -1), d.reshape(1, -1)
            valid = None if valid is None else np.asarray(valid).reshape(1, -1)
        if valid is None:
            valid = np.ones(d.shape, dtype=bool)
        n = int(np.count_nonzero(valid))
        if n == 0:
            return
        rows, cols = d.shape
        # per-row float32 partial sums (s_a, s_d, s_aa, s_dd, s_ad, sum_abs), summed in float64 at the end: the
        # same figures whatever the sub-block height
        parts = np.empty((6, rows), dtype=np.float32)
        # fine-histogram bin of every pixel (intp: np.bincount would otherwise copy-cast it)
        idx = scratch.get("idx", d.shape, np.intp)
        step = max(1, SUB_BLOCK_PIXELS // max(1, cols))
        over_tol = 0
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            over_tol += self._sub_update(a[r0:r1], d[r0:r1], valid[r0:r1], finite, parts[:, r0:r1], idx[r0:r1])
        fine = np.bincount(idx.ravel(), minlength=2 * _NBINS)
        fine[0] += fine[_NBINS]  # ±0 (and |d| < 2**MIN_EXP) are one bin; invalid pixels were counted there
        fine[_NBINS] = 0
        fine[0] -= d.size - n
        self.add_sums(parts.sum(axis=1, dtype=np.float64), n, over_tol, fine)

    def _sub_update(
        self, a: np.ndarray, d: np.ndarray, valid: np.ndarray, finite: bool, parts: np.ndarray, idx: np.ndarray
    ) -> int:
        """Moments of a few rows (small enough to stay in the CPU cache) into ``parts`` (6 × rows, float32 row
        sums) and their fine-histogram bins into ``idx``; returns the count of |d| > tolerance."""
        f32 = np.float32
        shape = d.shape
        lo, hi = f32(np.finfo(f32).min), f32(np.finfo(f32).max)
        dz = scratch.get("dz", shape, f32)
        ac = scratch.get("ac", shape, f32)
        if finite:
            np.multiply(d, valid, out=dz)
            np.subtract(a, f32(self.ka), out=ac)
        else:  # clamp NaN/inf (only possible on invalid pixels) to finite values before multiplying by 0
            np.fmin(np.fmax(d, lo, out=dz), hi, out=dz)
            np.multiply(dz, valid, out=dz)
            np.fmin(np.fmax(a, lo, out=ac), hi, out=ac)
            np.subtract(ac, f32(self.ka), out=ac)
        np.multiply(ac, valid, out=ac)  # a − ka, 0 where invalid
        dc = np.subtract(dz, f32(self.kd), out=scratch.get("dc", shape, f32))
        np.multiply(dc, valid, out=dc)  # d − kd, 0 where invalid
        np.add.reduce(ac, axis=1, out=parts[0])
        np.add.reduce(dc, axis=1, out=parts[1])
        np.einsum("ij,ij->i", ac, ac, out=parts[2])
        np.einsum("ij,ij->i", dc, dc, out=parts[3])
        np.einsum("ij,ij->i", ac, dc, out=parts[4])
        tmp = np.abs(dz, out=ac)  # ac and dc are no longer needed: reuse them (fewer cache lines)
        np.add.reduce(tmp, axis=1, out=parts[5])
        over = np.greater(tmp, self.tolerance, out=scratch.get("over", shape, bool))
        over_tol = int(np.count_nonzero(over))
        # fine histogram: |d| bits (exponent + MANTISSA_BITS mantissa bits) → bin; negatives in the second half
        # (tmp = |dz| already: its bits need no sign mask). Clamping |d| to [2**MIN_EXP, top bin] as floats puts
        # it in bins 0..NBINS-1 (cheaper than clipping the bins)
        np.maximum(tmp, _BIN_MIN, out=tmp)
        np.minimum(tmp, _BIN_MAX, out=tmp)
        bins = np.right_shift(tmp.view(np.int32), _SHIFT, out=dc.view(np.int32))
        np.subtract(bins, _LOW, out=bins)
        neg = np.less(dz, 0, out=over)
        np.add(bins, np.multiply(neg, np.int32(_NBINS), out=tmp.view(np.int32)), out=idx)
        return over_tol

    def add_sums(self, sums: Sequence[float], n: int, over_tol: int, fine: np.ndarray) -> None:
        """Add partial results computed elsewhere with the same centres (the compiled kernel of
        :mod:`s2parity_plugin.core.compare.kernel`): ``sums`` = centred Σa, Σd, Σa², Σd², Σad and Σ|d| (float64),
        ``n`` pixels, ``over_tol`` of them with |d| > tolerance, ``fine`` the |d| bins as in :meth:`update`."""
        self.n += int(n)
        self.s_a += float(sums[0])
        self.s_d += float(sums[1])
        self.s_aa += float(sums[2])
        self.s_dd += float(sums[3])
        self.s_ad += float(sums[4])
        self.sum_abs += float(sums[5])
        self.over_tol += int(over_tol)
        self.fine += fine

    def merge(self, other: DiffStats) -> None:
        """Add another block's partial sums (same centres)."""
        if (other.ka, other.kd) != (self.ka, self.kd):
            raise ValueError("DiffStats.merge needs the same centres")
        sums = (other.s_a, other.s_d, other.s_aa, other.s_dd, other.s_ad, other.sum_abs)
        self.add_sums(sums, other.n, other.over_tol, other.fine)

    def _extreme(self, largest: bool) -> float:
        edges = _bin_lower_edges()
        pos, neg = self.fine[:_NBINS], self.fine[_NBINS:]
        if largest:
            nz = np.flatnonzero(pos)
            return float(edges[nz[-1]]) if nz.size else -float(edges[np.flatnonzero(neg)[0]])
        nz = np.flatnonzero(neg)
        return -float(edges[nz[-1]]) if nz.size else float(edges[np.flatnonzero(pos)[0]])

    # ------------------------------------------------------------------------------------------------------------
    def _abs_percentile(self, q: float) -> float | None:
        if self.n == 0:
            return None
        counts = self.fine[:_NBINS] + self.fine[_NBINS:]
        cum = np.cumsum(counts)
        rank = max(1, math.ceil(q / 100.0 * self.n))
        i = int(np.searchsorted(cum, rank))
        return float(_bin_lower_edges()[min(i, _NBINS - 1)])

    def histogram(self, bins: int = 100) -> dict[str, Any]:
        """Signed histogram of B − A: ``bin_edges`` (bins + 1) spanning the 0.5–99.5 % range, ``counts`` and
        ``below``/``above`` (pixels outside the edges). Fine bins are assigned by their lower edge (see module)."""
        if self.n == 0:
            return {"bin_edges": [], "counts": [], "below": 0, "above": 0}
        edges_abs = _bin_lower_edges()
        values = np.concatenate([edges_abs, -edges_abs])
        counts = self.fine
        order = np.argsort(values, kind="stable")
        v, c = values[order], counts[order]
        cum = np.cumsum(c)
        lo = float(v[np.searchsorted(cum, max(1, math.ceil(0.005 * self.n)))])
        hi = float(v[np.searchsorted(cum, max(1, math.ceil(0.995 * self.n)))])
        lo, hi = max(lo, self._extreme(False)), min(max(hi, lo), self._extreme(True))
        if hi <= lo:
            pad = max(abs(lo) * 1e-3, 1e-6)
            lo, hi = lo - pad, hi + pad
        else:
            pad = (hi - lo) * 0.02
            lo, hi = lo - pad, hi + pad
        edges = np.linspace(lo, hi, bins + 1)
        mask = c > 0
        v, c = v[mask], c[mask]
        below = int(c[v < lo].sum())
        above = int(c[v > hi].sum())
        inside = (v >= lo) & (v <= hi)
        idx = np.clip(np.searchsorted(edges, v[inside], side="right") - 1, 0, bins - 1)
        hist = np.bincount(idx, weights=c[inside], minlength=bins).astype(np.int64)
        return {
            "bin_edges": [float(e) for e in edges],
            "counts": [int(k) for k in hist],
            "below": below,
            "above": above,
        }

    def to_dict(self, units: str, bins: int = 100) -> dict[str, Any]:
        """The report's ``stats`` section (None for figures that are undefined, e.g. with n = 0)."""
        n = self.n
        out: dict[str, Any] = {"n": n, "units": units, "tolerance": self.tolerance}
        if n == 0:
            keys = ("bias", "mae", "rmse", "std", "pearson_r", "fit_slope", "fit_intercept", "p50_abs", "p95_abs")
            out.update(dict.fromkeys(keys))
            out.update(share_over_tolerance=None, histogram=self.histogram(bins))
            return out
        mean_dc = self.s_d / n
        mean_ac = self.s_a / n
        bias = self.kd + mean_dc
        var_d = max(self.s_dd / n - mean_dc * mean_dc, 0.0)
        var_a = max(self.s_aa / n - mean_ac * mean_ac, 0.0)
        cov_ad = self.s_ad / n - mean_ac * mean_dc
        var_b = max(var_a + 2 * cov_ad + var_d, 0.0)  # b − kb = (a − ka) + (d − kd)
        cov = var_a + cov_ad
        mean_a = self.ka + mean_ac
        mean_b = mean_a + bias
        slope = cov / var_a if var_a > 0 else None
        intercept = mean_b - slope * mean_a if slope is not None else None
        r = cov / math.sqrt(var_a * var_b) if var_a > 0 and var_b > 0 else None
        out.update(
            bias=bias,
            mae=self.sum_abs / n,
            rmse=math.sqrt(var_d + bias * bias),
            std=math.sqrt(var_d),
            pearson_r=None if r is None else max(-1.0, min(1.0, r)),
            fit_slope=slope,
            fit_intercept=intercept,
            p50_abs=self._abs_percentile(50),
            p95_abs=self._abs_percentile(95),
            share_over_tolerance=self.over_tol / n,
            mean_a=mean_a,
            mean_b=mean_b,
            percentile_method=f"nearest rank on log-spaced bins of relative width 2^-{MANTISSA_BITS}",
            histogram=self.histogram(bins),
        )
        return out
