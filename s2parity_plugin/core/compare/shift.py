"""Sub-pixel shift between two rasters of the same scene on the same grid, and its correction.

Convention (used everywhere in S2 Parity): a feature at A(x, y) appears at B(x + dx, y + dy), with x to the right
(columns, east for north-up rasters) and y down (rows, south) in pixel space. ``dx_m``/``dy_m`` are the same shift
in metres along the raster's x and y axes (pixel size × px; for a north-up grid dx_m is eastward and dy_m is
southward, i.e. dy_m > 0 means B is shifted to the south of A).

Method
------
1. Candidate windows (square, 128 or 256 px; at most :data:`MAX_CANDIDATES` on a regular layout); for a large
   raster only these windows are read, so memory stays bounded. Windows with less than :data:`MIN_VALID_SHARE`
   valid pixels (nodata, invalid SCL) are skipped, invalid pixels of the others are masked; the most textured ones
   (mean squared gradient of A over valid pixel pairs) are kept (at most :data:`MAX_WINDOWS`).
2. Per window: phase correlation (cross-power spectrum whitened by √|·|, see :data:`PHASE_EXPONENT`) with a Hann
   taper and Guizar-Sicairos upsampled-DFT refinement (numpy), giving a first estimate to ~0.05 px and the
   normalised correlation peak (0..1).
3. Per window: iterative Lucas–Kanade refinement (Gauss–Newton) of B(x + d) ≈ g·A(x) + c over the window interior,
   B resampled by cubic-spline interpolation; the gain g and offset c absorb radiometric differences between the
   endpoints (e.g. the BOA_ADD_OFFSET of 1000 DN). Yields the window shift, its R² and its standard error.
4. Robust combination: median of the accepted window shifts; spread = 1.4826·MAD (px).

Quality (0..1) = median window R² × min(1, accepted windows / 3) × 1/(1 + (spread / 0.05 px)²). ``confident`` is
True when quality ≥ 0.5, at least :data:`MIN_CONFIDENT_WINDOWS` windows (or every candidate of a small raster)
agree and the spread is ≤ 0.1 px. Featureless or mostly-cloud scenes give few / disagreeing windows and a low R²,
hence ``confident = False`` rather than a confident wrong number.

Limits: the estimate follows whatever texture moves. Between two processings of one acquisition clouds move with
the ground, so that is right; but flat clouds that did *not* move (a synthetic case) pull the estimate to 0 unless
they are masked — the compare engine therefore passes the SCL validity of both sides as the mask. Accuracy
(tests and ``bench/bench_compare.py``): ≤ 0.015 px on exact Fourier shifts of real Sentinel-2 crops up to 2 px.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from s2parity_plugin.core.compare import image_ops

#: Windows kept for the estimate: as accurate as 16 on the bench's real crops and tile, for half the CPU
#: (``docs/performance.md``).
MAX_WINDOWS = 8
MAX_CANDIDATES = 36
MIN_CONFIDENT_WINDOWS = 3
#: Whitening of the cross-power spectrum in :func:`phase_correlation`: divided by |cross|^0.5, not |cross| (pure
#: phase correlation). Pure phase correlation gives every frequency the same weight, so where the signal lives in a
#: few frequencies and independent noise in all others (a band-limited field plus 15 DN of noise on each side:
#: the bench tile) its peak drowned (0.02–0.03) and 15 of 16 windows started Lucas–Kanade from a wrong integer
#: shift; with 0.5 every window of that tile starts within 1 px, and real crops keep their accuracy.
PHASE_EXPONENT = 0.5
METHOD = (
    "phase correlation (Hann taper, cross-power whitened by its square-root magnitude, upsampled DFT, "
    "Guizar-Sicairos 2008) + Lucas-Kanade refinement with gain/offset"
)

#: A window is only used when at least this share of its pixels is valid on both sides (the rest is masked).
MIN_VALID_SHARE = 0.6
#: Lucas–Kanade gives up when fewer than this share of the window's inner pixels stay valid after erosion, or when
#: one Gauss–Newton step moves more than ``LK_MAX_STEP_PX``.
LK_MIN_USABLE_SHARE = 0.25
LK_MAX_STEP_PX = 2.0
#: A window's refined shift is accepted when it stays within ``WINDOW_MAX_MOVE_PX`` of its phase-correlation start,
#: fits with R² > ``WINDOW_MIN_R2`` and has a standard error < ``WINDOW_MAX_STDERR_PX``.
WINDOW_MAX_MOVE_PX = 1.0
WINDOW_MIN_R2 = 0.2
WINDOW_MAX_STDERR_PX = 0.5
#: Robust spread: 1.4826 × median absolute deviation estimates σ of normal errors; a second pass drops windows
#: farther than 3 spreads (and ``OUTLIER_MIN_PX``) from the median.
MAD_TO_SIGMA = 1.4826
OUTLIER_SPREADS = 3
OUTLIER_MIN_PX = 0.1
#: Quality = median R² × window-count factor / (1 + (spread / ``QUALITY_SPREAD_PX``)²); ``confident`` needs quality
#: ≥ ``CONFIDENT_QUALITY`` and a spread ≤ ``CONFIDENT_SPREAD_PX`` (see the module docstring).
QUALITY_SPREAD_PX = 0.05
CONFIDENT_QUALITY = 0.5
CONFIDENT_SPREAD_PX = 0.1

# (y offset, x offset, height, width) -> (a, b, valid) arrays of that window; valid may be None.
WindowReader = Callable[[int, int, int, int], tuple[np.ndarray, np.ndarray, "np.ndarray | None"]]


@dataclass
class WindowShift:
    """Shift estimate of one window (px, convention of this module)."""

    row: int
    col: int
    size: int
    dx_px: float
    dy_px: float
    peak: float  # normalised phase-correlation peak, 0..1
    r2: float  # share of B's variance explained by the aligned g·A + c, 0..1
    stderr_px: float  # Gauss–Newton standard error of the shift (px)
    accepted: bool


@dataclass
class ShiftEstimate:
    """Result of :func:`estimate_shift` (px and m; see module docstring for the sign convention)."""

    dx_px: float | None
    dy_px: float | None
    dx_m: float | None
    dy_m: float | None
    magnitude_m: float | None
    magnitude_px: float | None
    quality: float
    confident: bool
    method: str = METHOD
    n_candidates: int = 0
    n_windows: int = 0
    n_accepted: int = 0
    spread_px: float | None = None
    pixel_size_m: tuple[float, float] = (1.0, 1.0)
    note: str = ""
    windows: list[WindowShift] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``shift`` section (window details kept short)."""
        d = asdict(self)
        d["pixel_size_m"] = list(self.pixel_size_m)
        d["windows"] = [
            {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(w).items()} for w in self.windows
        ]
        return d


# ----------------------------------------------------------------------------------------------------------------
# Phase correlation with upsampled DFT (Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156 (2008))


def _upsampled_dft(data: np.ndarray, region: int, factor: int, offsets: tuple[float, float]) -> np.ndarray:
    """Inverse DFT of ``data`` on a ``region``² grid upsampled by ``factor`` around ``offsets`` (rows, cols)."""
    rows, cols = data.shape
    col_kernel = np.exp(
        (-2j * np.pi / (cols * factor))
        * np.fft.ifftshift(np.arange(cols))[:, None]
        * (np.arange(region) - offsets[1])[None, :]
    )
    row_kernel = np.exp(
        (-2j * np.pi / (rows * factor))
        * (np.arange(region) - offsets[0])[:, None]
        * np.fft.ifftshift(np.arange(rows))[None, :]
    )
    return row_kernel @ data @ col_kernel


def phase_correlation(a: np.ndarray, b: np.ndarray, upsample_factor: int = 20) -> tuple[float, float, float]:
    """Shift (dx_px, dy_px) with B(x + d) = A(x), and the normalised correlation peak (0..1).

    Both windows get a Hann taper; the cross-power spectrum is divided by its magnitude to the power
    :data:`PHASE_EXPONENT` (1 would be pure phase correlation). The integer peak is refined to
    1/``upsample_factor`` px with the matrix-multiply DFT.
    """
    h, w = a.shape
    taper = np.outer(np.hanning(h), np.hanning(w))
    fa = np.fft.fft2((a - a.mean()) * taper)
    fb = np.fft.fft2((b - b.mean()) * taper)
    cross = fb * np.conj(fa)
    mag = np.abs(cross)
    cross = cross / np.maximum(mag, mag.max() * 1e-12 + 1e-30) ** PHASE_EXPONENT
    weight = float(np.abs(cross).sum())  # |Σ w·e^(iφ)| ≤ Σ w: the peak below is in 0..1
    corr = np.fft.ifft2(cross)
    peak_idx = np.unravel_index(int(np.argmax(np.abs(corr))), corr.shape)
    shifts = np.array(peak_idx, dtype=float)
    mids = np.array([h // 2, w // 2])
    shifts[shifts > mids] -= np.array([h, w])[shifts > mids]
    if upsample_factor > 1:
        region = math.ceil(upsample_factor * 1.5)
        dftshift = np.fix(region / 2.0)
        offsets = (dftshift - shifts[0] * upsample_factor, dftshift - shifts[1] * upsample_factor)
        up = _upsampled_dft(np.conj(cross), region, upsample_factor, offsets).conj()
        idx = np.unravel_index(int(np.argmax(np.abs(up))), up.shape)
        shifts = shifts + (np.array(idx, dtype=float) - dftshift) / upsample_factor
        peak = float(np.abs(up[idx]) / weight) if weight > 0 else 0.0
    else:
        peak = float(np.abs(corr[peak_idx]) * cross.size / weight) if weight > 0 else 0.0
    return float(shifts[1]), float(shifts[0]), min(1.0, peak)


# ----------------------------------------------------------------------------------------------------------------
# Lucas–Kanade refinement


def _spline_translate(coeffs: np.ndarray, m: int, dx: float, dy: float) -> np.ndarray:
    """Cubic spline (coefficients ``coeffs``, h × w) sampled at (row + dy, col + dx) for rows m−1 .. h−m and
    cols m−1 .. w−m (px), by :func:`~.image_ops.spline_window` (same values as
    ``scipy.ndimage.map_coordinates(..., prefilter=False)`` to ~1e-14 relative, ≈ 10× faster). Needs m ≥ |d| + 3
    so that every tap falls inside the array."""
    h, w = coeffs.shape
    fy, fx = math.floor(dy), math.floor(dx)
    first_tap = (m - 2 + fy, m - 2 + fx)  # floor(row + dy) − 1
    return image_ops.spline_window(coeffs, first_tap, (h - 2 * m + 2, w - 2 * m + 2), (dy - fy, dx - fx))


def refine_shift_lk(
    a: np.ndarray,
    b: np.ndarray,
    dx0: float,
    dy0: float,
    *,
    valid: np.ndarray | None = None,
    iterations: int = 10,
    tol_px: float = 1e-3,
) -> tuple[float, float, float, float] | None:
    """Gauss–Newton refinement of B(x + d) ≈ g·A(x) + c; returns (dx, dy, r2, stderr_px) or None (diverged).

    B is sampled at x + d with cubic-spline interpolation; only the interior (margin ≥ |d| + 4 px) is used so
    that no sample falls outside the window, and only pixels whose neighbourhood (± |d| + 3 px) is ``valid``.
    """
    h, w = a.shape
    coeffs = image_ops.spline_coefficients(b)
    dx, dy = float(dx0), float(dy0)
    result = None
    grid_cache: dict[int, np.ndarray | None] = {}
    for _ in range(iterations):
        m = math.ceil(max(abs(dx), abs(dy))) + 4
        if 2 * m + 8 >= min(h, w):
            return None
        if m not in grid_cache:
            use = None
            if valid is not None and not valid.all():
                eroded = image_ops.erode_cross(valid, m - 1, border_value=True)
                use = eroded[m : h - m, m : w - m].ravel()
                if use.sum() < LK_MIN_USABLE_SHARE * use.size:
                    return None
            grid_cache[m] = use
        use = grid_cache[m]
        bw_full = _spline_translate(coeffs, m, dx, dy)
        bw = bw_full[1:-1, 1:-1].ravel()
        gx = ((bw_full[1:-1, 2:] - bw_full[1:-1, :-2]) / 2.0).ravel()
        gy = ((bw_full[2:, 1:-1] - bw_full[:-2, 1:-1]) / 2.0).ravel()
        av = a[m : h - m, m : w - m].astype(np.float64).ravel()
        if use is not None:
            bw, gx, gy, av = bw[use], gx[use], gy[use], av[use]
        cols = (gx, gy, -av, -np.ones_like(av))
        jtj = np.array([[float(np.dot(ci, cj)) for cj in cols] for ci in cols])
        jtr = np.array([float(-np.dot(ci, bw)) for ci in cols])
        try:
            sol = np.linalg.solve(jtj, jtr)
        except np.linalg.LinAlgError:
            return None
        ddx, ddy, gain, offset = (float(v) for v in sol)
        if not (math.isfinite(ddx) and math.isfinite(ddy)) or abs(ddx) > LK_MAX_STEP_PX or abs(ddy) > LK_MAX_STEP_PX:
            return None
        dx, dy = dx + ddx, dy + ddy
        resid = bw - gain * av - offset
        var_b = float(bw.var())
        r2 = 0.0 if var_b <= 0 else max(0.0, 1.0 - float(resid.var()) / var_b)
        sigma2 = float(np.dot(resid, resid)) / max(1, av.size - 4)
        try:
            cov = np.linalg.inv(jtj) * sigma2
            stderr = float(math.sqrt(max(cov[0, 0], 0.0) + max(cov[1, 1], 0.0)))
        except np.linalg.LinAlgError:
            stderr = float("inf")
        result = (dx, dy, r2, stderr)
        if abs(ddx) < tol_px and abs(ddy) < tol_px:
            break
    return result


# ----------------------------------------------------------------------------------------------------------------
# Window layout and combination


def window_size_for(height: int, width: int) -> int:
    """Window side (px) used for a raster of this size (0 when the raster is too small to estimate a shift)."""
    side = min(height, width)
    if side >= 768:
        return 256
    if side >= 192:
        return 128
    if side >= 64:
        return int(side // 2 * 2)
    return 0


def _positions(length: int, size: int, count: int) -> list[int]:
    if length <= size:
        return [0]
    count = max(1, min(count, length // size * 2))
    return sorted({round(v) for v in np.linspace(0, length - size, count)})


def estimate_shift_windows(
    read: WindowReader,
    height: int,
    width: int,
    *,
    pixel_size_m: tuple[float, float] = (1.0, 1.0),
    max_windows: int = MAX_WINDOWS,
) -> ShiftEstimate:
    """Estimate the shift from windows obtained through ``read`` (bounded memory: one window at a time)."""
    size = window_size_for(height, width)
    empty = ShiftEstimate(None, None, None, None, None, None, 0.0, False, pixel_size_m=tuple(pixel_size_m))
    if size == 0:
        empty.note = f"raster too small ({width}×{height} px) to estimate a shift (needs ≥ 64 px per side)"
        return empty
    per_axis = int(math.sqrt(MAX_CANDIDATES))
    rows = _positions(height, size, per_axis)
    cols = _positions(width, size, per_axis)
    candidates: list[tuple[float, int, int]] = []
    kept: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for r in rows:
        for c in cols:
            a, b, valid = read(r, c, size, size)
            a = np.asarray(a, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64)
            finite = np.isfinite(a) & np.isfinite(b)
            valid = finite if valid is None else (np.asarray(valid, dtype=bool) & finite)
            share = float(valid.mean())
            if share < MIN_VALID_SHARE:
                continue
            if not valid.all():
                a = np.where(valid, a, np.median(a[valid]))
                b = np.where(valid, b, np.median(b[valid]))
            # texture over valid pixel pairs only, weighted by the valid share
            gx = np.diff(a, axis=1)[valid[:, 1:] & valid[:, :-1]]
            gy = np.diff(a, axis=0)[valid[1:, :] & valid[:-1, :]]
            texture = float((gx**2).mean() + (gy**2).mean()) * share if gx.size and gy.size else 0.0
            candidates.append((texture, r, c))
            kept[(r, c)] = (a, b, None if valid.all() else valid)
            if len(kept) > max_windows:  # keep only the best windows in memory
                worst = min(t for t in candidates if (t[1], t[2]) in kept)
                kept.pop((worst[1], worst[2]))
    empty.n_candidates = len(candidates)
    if not candidates:
        empty.note = "no window of the raster is valid enough on both sides (nodata / invalid SCL)"
        return empty
    candidates.sort(reverse=True)
    chosen = [(r, c) for t, r, c in candidates[:max_windows] if t > 0 and (r, c) in kept]
    windows: list[WindowShift] = []
    for r, c in chosen:
        a, b, valid = kept[(r, c)]
        dx0, dy0, peak = phase_correlation(a, b, upsample_factor=20)
        refined = refine_shift_lk(a, b, dx0, dy0, valid=valid)
        if refined is None:
            windows.append(WindowShift(r, c, size, dx0, dy0, peak, 0.0, float("inf"), False))
            continue
        dx, dy, r2, stderr = refined
        moved = math.hypot(dx - dx0, dy - dy0)
        ok = moved < WINDOW_MAX_MOVE_PX and r2 > WINDOW_MIN_R2 and stderr < WINDOW_MAX_STDERR_PX
        windows.append(WindowShift(r, c, size, dx, dy, peak, r2, stderr, ok))
    return combine_windows(windows, len(candidates), pixel_size_m)


def combine_windows(
    windows: list[WindowShift], n_candidates: int, pixel_size_m: tuple[float, float] = (1.0, 1.0)
) -> ShiftEstimate:
    """Robust combination of window estimates into one :class:`ShiftEstimate` (see module docstring)."""
    used = [w for w in windows if w.accepted]
    est = ShiftEstimate(
        None,
        None,
        None,
        None,
        None,
        None,
        0.0,
        False,
        n_candidates=n_candidates,
        n_windows=len(windows),
        n_accepted=len(used),
        pixel_size_m=tuple(float(v) for v in pixel_size_m),
        windows=windows,
    )
    if not used:
        est.note = "no window gave a consistent shift (featureless, cloudy or unrelated images)"
        return est
    dxs = np.array([w.dx_px for w in used])
    dys = np.array([w.dy_px for w in used])
    dx, dy = float(np.median(dxs)), float(np.median(dys))
    if len(used) >= 2:
        dev = np.hypot(dxs - dx, dys - dy)
        spread = float(MAD_TO_SIGMA * np.median(dev))
        keep = dev <= max(OUTLIER_SPREADS * spread, OUTLIER_MIN_PX)  # one more pass without outliers
        if keep.sum() >= 2 and not keep.all():
            dx, dy = float(np.median(dxs[keep])), float(np.median(dys[keep]))
            spread = float(MAD_TO_SIGMA * np.median(np.hypot(dxs[keep] - dx, dys[keep] - dy)))
        spread = max(spread, float(np.median([w.stderr_px for w in used])))
    else:
        spread = used[0].stderr_px
    r2 = float(np.median([w.r2 for w in used]))
    needed = min(MIN_CONFIDENT_WINDOWS, max(1, n_candidates))
    count_factor = min(1.0, len(used) / needed)
    quality = max(0.0, min(1.0, r2 * count_factor / (1.0 + (spread / QUALITY_SPREAD_PX) ** 2)))
    px_x, px_y = est.pixel_size_m
    est.dx_px, est.dy_px = dx, dy
    est.dx_m, est.dy_m = dx * px_x, dy * px_y
    est.magnitude_px = float(math.hypot(dx, dy))
    est.magnitude_m = float(math.hypot(dx * px_x, dy * px_y))
    est.spread_px = spread
    est.quality = quality
    est.confident = bool(quality >= CONFIDENT_QUALITY and len(used) >= needed and spread <= CONFIDENT_SPREAD_PX)
    if not est.confident:
        est.note = (
            f"low confidence: {len(used)} of {len(windows)} windows usable, spread {spread:.3f} px, median R² {r2:.2f}"
        )
    return est


def estimate_shift(
    a: np.ndarray,
    b: np.ndarray,
    *,
    valid: np.ndarray | None = None,
    pixel_size_m: tuple[float, float] = (1.0, 1.0),
    max_windows: int = MAX_WINDOWS,
) -> ShiftEstimate:
    """Shift of ``b`` relative to ``a`` (2-D arrays on the same grid); ``valid`` marks pixels valid on both sides.

    NaN pixels count as invalid. ``pixel_size_m`` = (x, y) pixel size in metres (positive) for the *_m fields.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, not {a.shape} and {b.shape}")
    if valid is None and (np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating)):
        valid = np.isfinite(a) & np.isfinite(b)

    def read(r: int, c: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        v = None if valid is None else valid[r : r + h, c : c + w]
        return a[r : r + h, c : c + w], b[r : r + h, c : c + w], v

    return estimate_shift_windows(read, a.shape[0], a.shape[1], pixel_size_m=pixel_size_m, max_windows=max_windows)


def apply_shift(b: np.ndarray, dx_px: float, dy_px: float) -> np.ndarray:
    """B resampled onto A's pixels: out(x, y) = B(x + dx, y + dy) (cubic spline, edges mirrored), float64.

    With the module's convention this undoes the estimated shift, so ``apply_shift(b, dx, dy) - a`` is the
    shift-corrected difference.
    """
    return image_ops.shift_cubic(b, -dy_px, -dx_px, mode="mirror")
