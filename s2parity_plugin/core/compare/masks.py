"""Per-pixel validity and SCL code arithmetic of the compare engine (numpy; runs on worker threads, no GDAL)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from s2parity_plugin.core.compare.stats import scratch

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).


NAN_OR_ZERO = np.array([np.nan, 0.0], dtype=np.float32)


def value_valid(
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


def scl_codes(scl: np.ndarray, nodata: float | None) -> np.ndarray:
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


def count_codes(code: np.ndarray) -> np.ndarray:
    """Counts of the values 0..143 of the contiguous uint8 array ``code``; counts pairs of neighbouring pixels as
    one uint16 (half the elements for ``np.bincount``: faster than plain ``np.bincount``, see
    ``docs/performance.md``) and folds them back."""
    flat = code.reshape(-1)
    if flat.size % 2 or not flat.flags.c_contiguous:
        return np.bincount(flat, minlength=144)
    pairs = np.bincount(flat.view(np.uint16), minlength=144 * 256)[: 144 * 256].reshape(144, 256)[:, :144]
    return pairs.sum(axis=0) + pairs.sum(axis=1)  # low byte (even pixels) + high byte (odd pixels)


def class_runs(classes: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted classes as contiguous (first, last) runs: {3, 8, 9, 10} → [(3, 3), (8, 10)]."""
    runs: list[tuple[int, int]] = []
    for c in sorted(classes):
        if runs and c == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs


def class_mask(scl: np.ndarray, runs: list[tuple[int, int]], out: np.ndarray) -> np.ndarray:
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
