"""numba-compiled row loops of the compare engine's strip kernel (imported only when numba is installed).

See :mod:`s2parity_plugin.core.compare.kernel` for what the kernel computes and when it is used. The functions
live at module level so that numba's on-disk cache (``cache=True``) can reuse them across QGIS sessions. The
team's ~8-parameter limit does not apply to these nopython kernels (``strip`` takes 30): every row array stays a
separate 1-D argument so that LLVM vectorizes the loops (a 2-D-index version measured ≈ 12× slower, see below).
"""

from __future__ import annotations

import numba
import numpy as np

from s2parity_plugin.core.compare import kernel
from s2parity_plugin.core.compare import stats as stats_mod
from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

NBINS = stats_mod._NBINS
LOW = stats_mod._LOW
SHIFT_BITS = stats_mod._SHIFT
BIN_MIN = np.float32(stats_mod._BIN_MIN)
BIN_MAX = np.float32(stats_mod._BIN_MAX)
NAN32 = np.float32(np.nan)
N_CLASSES = SCL_CLASS_COUNT
CELLS = kernel.CONFUSION_CELLS
COPY_MASK = kernel.CONFUSION_COPIES - 1  # copies: a power of two

# Inner loops are separate functions over 1-D row arrays: LLVM vectorizes those (arguments do not alias),
# while the same loop written over 2-D indices in one function measured ≈ 12× slower (scalar code).
_jit = numba.njit(nogil=True, cache=True, boundscheck=False)
# moments are summed in float64 in any order (lets LLVM vectorize the reductions); no nnan/ninf: NaN tests stay
_jit_sums = numba.njit(nogil=True, cache=True, boundscheck=False, fastmath={"reassoc", "nsz", "contract"})


@_jit
def _cloud_code(sa, sb, cloud_bits, out):  # pragma: no cover - compiled
    for j in range(out.shape[0]):
        out[j] = ((cloud_bits >> np.int32(sa[j])) & 1) | (((cloud_bits >> np.int32(sb[j])) & 1) << 1)


@_jit
def _edge_row(c0, cu, cd, e):  # pragma: no cover - compiled
    cols = c0.shape[0]
    any_edge = np.uint8(0)
    for j in range(1, cols - 1):
        c = c0[j]
        x = np.uint8((c != c0[j - 1]) | (c != c0[j + 1]) | (c != cu[j]) | (c != cd[j]))
        e[j] = x
        any_edge |= x
    for j in (0, cols - 1):
        c = c0[j]
        x = np.uint8((c != c0[max(j - 1, 0)]) | (c != c0[min(j + 1, cols - 1)]) | (c != cu[j]) | (c != cd[j]))
        e[j] = x
        any_edge |= x
    return any_edge


@_jit
def _or_into(out, src):  # pragma: no cover - compiled
    for j in range(out.shape[0]):
        out[j] |= src[j]


@_jit
def near_edges(scl_a, scl_b, cloud_bits, code, edge, vert, radius, h0, rows, near):  # pragma: no cover
    """``near[i, j]`` (strip rows) = 1 where a cloud/shadow boundary of A or B lies within ``radius`` px
    (chessboard distance), else 0. ``scl_a``/``scl_b``: SCL codes 0..11 with halo rows (strip row i is halo
    row h0 + i); ``cloud_bits``: bit c set for cloud/shadow class c. Returns False (``near`` untouched) when
    the halo strip has no boundary at all. ``code``/``edge``/``vert`` are scratch of the halo/strip shape."""
    hrows, cols = scl_a.shape
    for i in range(hrows):  # cloud code 0..3: bit 0 A cloudy, bit 1 B cloudy
        _cloud_code(scl_a[i], scl_b[i], cloud_bits, code[i])
    any_edge = np.uint8(0)
    for i in range(hrows):  # edge: a 4-neighbour has another code (missing neighbours compare to themselves)
        any_edge |= _edge_row(code[i], code[max(i - 1, 0)], code[min(i + 1, hrows - 1)], edge[i])
    if any_edge == 0:
        return False
    for i in range(rows):  # square dilation: vertical OR over the strip rows, then horizontal OR
        v = vert[i]
        v[:] = 0
        for k in range(max(0, h0 + i - radius), min(hrows, h0 + i + radius + 1)):
            _or_into(v, edge[k])
        out = near[i]
        out[:] = 0
        for o in range(-radius, radius + 1):
            j0 = max(0, -o)
            j1 = min(cols, cols - o)
            _or_into(out[j0:j1], v[j0 + o : j1 + o])
    return True


@_jit
def _scl_valid_row(sa, sb, bits_a, bits_b, out):  # pragma: no cover - compiled
    """1 where both SCL classes are valid (bit c of ``bits_*`` set for valid class c), else 0."""
    for j in range(out.shape[0]):
        out[j] = np.uint8((bits_a >> np.int32(sa[j])) & (bits_b >> np.int32(sb[j])) & 1)


@_jit
def _values_row(a, b, a_nodata, a_no_nodata, b_nodata, b_no_nodata, scl_ok, mask_invalid, d_out, flags):
    # pragma: no cover - compiled
    """Difference (NaN where not kept) and flags of one row: bit 0 valid for the statistics (data on both
    sides and ``scl_ok``), bit 1 data on both sides (finite, not nodata)."""
    keep_all = np.uint8(not mask_invalid)
    for j in range(d_out.shape[0]):
        av = a[j]
        bv = b[j]
        fa = np.float32(av)
        fb = np.float32(bv)
        d = fb - fa
        ok = (
            np.uint8(d - d == 0)  # finite a and b, and no float32 overflow of b − a
            & np.uint8((av != a_nodata) | a_no_nodata)
            & np.uint8((bv != b_nodata) | b_no_nodata)
        )
        vs = ok & scl_ok[j]
        d_out[j] = d if (vs | (ok & keep_all)) else NAN32
        flags[j] = vs | (ok << 1)


@_jit
def _mismatch_row(sa, sb, bits, out):  # pragma: no cover - compiled
    """SCL mismatch category of one row: (valid A, valid B) = (1,1) → 1, (0,0) → 2, (1,0) → 3, (0,1) → 4;
    0 where either SCL is 0 (no data)."""
    for j in range(out.shape[0]):
        ca = np.int32(sa[j])
        cb = np.int32(sb[j])
        va = (bits >> ca) & 1
        vb = (bits >> cb) & 1
        m = 2 + va + 2 * vb - 4 * (va & vb)
        out[j] = np.uint8(m) if (ca != 0) & (cb != 0) else np.uint8(0)


@_jit
def _changed_row(sa, sb, out):  # pragma: no cover - compiled
    for j in range(out.shape[0]):
        ca = sa[j]
        cb = sb[j]
        out[j] = np.uint8(255) if (ca == 0) | (cb == 0) else np.uint8(ca != cb)


@_jit_sums
def _moments_row(a, d, flags, ka32, kd32):  # pragma: no cover - compiled
    """Centred float32 sums Σ(a − ka), Σ(d − kd), their squares and product, and Σ|d| over the pixels flagged
    valid (bit 0). Valid pixels have finite a and d. float32 lanes (vectorized, ≈ 3× faster than float64 sums,
    measured); each row's sums are added in float64 by the caller."""
    z = np.float32(0)
    s_a = s_d = s_aa = s_dd = s_ad = s_abs = z
    for j in range(d.shape[0]):
        v = (flags[j] & 1) != 0
        dz = d[j] if v else z
        ac = (np.float32(a[j]) - ka32) if v else z
        dc = (dz - kd32) if v else z
        s_a += ac
        s_d += dc
        s_aa += ac * ac
        s_dd += dc * dc
        s_ad += ac * dc
        s_abs += abs(dz)
    return s_a, s_d, s_aa, s_dd, s_ad, s_abs


@_jit
def _bins_row(d, absbuf):  # pragma: no cover - compiled
    """Signed |d| clamped to the fine histogram's range, for the bit-pattern binning of :func:`_hist_row`."""
    for j in range(d.shape[0]):
        dz = d[j]
        c = min(max(abs(dz), BIN_MIN), BIN_MAX)
        absbuf[j] = c if dz >= 0 else -c


@_jit
def _counts_row(flags, d, tol):  # pragma: no cover - compiled
    """(valid pixels, of them |d| > tol) of one row (vectorized int32 counts)."""
    n = np.int32(0)
    over = np.int32(0)
    for j in range(flags.shape[0]):
        v = np.int32(flags[j] & 1)
        n += v
        over += v & np.int32(abs(d[j]) > tol)
    return n, over


@_jit
def _hist_row(flags, ibuf, fine):  # pragma: no cover - compiled
    """|d| bins (from the bit patterns written by :func:`_bins_row`) of the valid pixels into ``fine``."""
    for j in range(flags.shape[0]):
        if flags[j] & 1:
            bits = ibuf[j]
            k = ((bits & 0x7FFFFFFF) >> SHIFT_BITS) - LOW
            if bits < 0 and k != 0:
                k += NBINS
            fine[k] += 1


@_jit
def _confusion_row(sa, sb, confusion4):  # pragma: no cover - compiled
    for j in range(sa.shape[0]):
        confusion4[(j & COPY_MASK) * CELLS + np.int32(sa[j]) * N_CLASSES + np.int32(sb[j])] += 1


@_jit
def _edge_counts_row(mismatch, near, has_near):  # pragma: no cover - compiled
    considered = mism = near_n = mism_near = 0
    for j in range(mismatch.shape[0]):
        m = mismatch[j]
        c = np.int64(m != 0)
        x = np.int64(m >= 3)
        considered += c
        mism += x
    if has_near:
        for j in range(mismatch.shape[0]):
            m = mismatch[j]
            nr = np.int64(near[j] != 0)
            near_n += np.int64(m != 0) & nr
            mism_near += np.int64(m >= 3) & nr
    return considered, mism, near_n, mism_near


@_jit
def strip(  # pragma: no cover - compiled
    a,
    b,
    a_nodata,
    a_no_nodata,
    b_nodata,
    b_no_nodata,
    scl_a,
    scl_b,
    has_scl_a,
    has_scl_b,
    h0,
    valid_bits,
    mask_invalid,
    tolerance,
    ka,
    kd,
    near,
    has_near,
    want_changed,
    want_masks,
    d_out,
    mismatch_out,
    changed_out,
    masks_out,
    flags,
    absbuf,
    acc,
    counts,
    fine,
    confusion4,
):
    """One row strip. ``acc`` (float64): centred sums a, d, aa, dd, ad and Σ|d|; ``counts`` (int64): n,
    over tolerance, considered (both SCL data), near edge, mismatch (valid on one side only), mismatch near
    edge; ``fine``: |d| bins (positives, then negatives); ``confusion4``: 4 × 144 (A class · 12 + B class),
    by pixel column mod 4 (separate counters for neighbouring pixels avoid a store-to-load chain).
    ``flags``/``absbuf``: one-row scratch (uint8, float32); ``masks_out`` (with ``want_masks``): bit 0 data on
    both sides, bit 1 valid for the statistics."""
    rows, cols = d_out.shape
    both_scl = has_scl_a and has_scl_b
    ibuf = absbuf.view(np.int32)
    ka32 = np.float32(ka)
    kd32 = np.float32(kd)
    tol = np.float32(tolerance) if tolerance < 3.0e38 else np.float32(np.inf)
    fours = np.full(cols, 4, dtype=np.uint8)  # stands in for a missing SCL side (any class: all bits set)
    bits_a = valid_bits if has_scl_a else np.int32(-1)
    bits_b = valid_bits if has_scl_b else np.int32(-1)
    scl_ok = np.empty(cols, dtype=np.uint8)
    for i in range(rows):
        hi = h0 + i
        sa = scl_a[hi] if has_scl_a else fours
        sb = scl_b[hi] if has_scl_b else fours
        _scl_valid_row(sa, sb, bits_a, bits_b, scl_ok)
        _values_row(a[i], b[i], a_nodata, a_no_nodata, b_nodata, b_no_nodata, scl_ok, mask_invalid, d_out[i], flags)
        s_a, s_d, s_aa, s_dd, s_ad, s_abs = _moments_row(a[i], d_out[i], flags, ka32, kd32)
        _bins_row(d_out[i], absbuf)
        n, over = _counts_row(flags, d_out[i], tol)
        _hist_row(flags, ibuf, fine)
        acc[0] += s_a
        acc[1] += s_d
        acc[2] += s_aa
        acc[3] += s_dd
        acc[4] += s_ad
        acc[5] += s_abs
        counts[0] += n
        counts[1] += over
        if want_masks:
            mrow = masks_out[i]
            for j in range(cols):
                mrow[j] = ((flags[j] >> 1) & 1) | ((flags[j] & 1) << 1)
        if both_scl:
            _mismatch_row(sa, sb, valid_bits, mismatch_out[i])
            if want_changed:
                _changed_row(sa, sb, changed_out[i])
            _confusion_row(sa, sb, confusion4)
            considered, mism, near_n, mism_near = _edge_counts_row(
                mismatch_out[i], near[i] if has_near else mismatch_out[i], has_near
            )
            counts[2] += considered
            counts[3] += near_n
            counts[4] += mism
            counts[5] += mism_near


KERNELS = {
    "strip": strip,
    "near_edges": near_edges,
}
