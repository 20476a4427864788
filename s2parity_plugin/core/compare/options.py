"""What a comparison is asked and what it returns: options, result, output names, SCL palettes, tolerances,
progress fractions (QGIS-free)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: SCL classes whose boundaries the diagnosis looks at (cloud shadow, cloud medium/high, thin cirrus).
from s2parity_plugin.core.compare.reading import Inputs
from s2parity_plugin.core.errors import InputError, S2ParityError
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES, MISMATCH_CLASSES, SCL_CLASSES, hex_to_rgb

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


#: Cloud/shadow edge zone (px) used by the diagnosis.
EDGE_DISTANCE_PX = 3


Progress = Callable[[float], bool]


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


def units_of(metadata_a: dict | None, metadata_b: dict | None) -> str | None:
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


def checked_tolerance(tolerance: float | None, units: str | None, inputs: Inputs) -> float:
    if tolerance is None:
        tolerance = default_tolerance(units, inputs.a.is_float or inputs.b.is_float)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise InputError(f"Tolerance must be a number ≥ 0 in the units of the rasters, not {tolerance!r}.")
    return float(tolerance)
