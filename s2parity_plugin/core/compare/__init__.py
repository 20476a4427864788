"""Compare two rasters of the same quantity (A from endpoint A, B from endpoint B) on the same grid: the public API.

What a caller needs is here; the engine's pieces live in their own modules:

* :mod:`.options` — what a comparison is asked (:class:`CompareOptions`) and returns, output names, palettes;
* :mod:`.engine` — the block-wise pipeline (reader, workers, writer) and :func:`compare_rasters`, fed by
  :mod:`.reading` (inputs, strips), :mod:`.masks` (validity, SCL codes) and :mod:`.writing` (output rasters);
* :mod:`.kernel` / :mod:`.kernel_numba` — the optional compiled one-pass strip kernel (numba), numpy otherwise;
* :mod:`.warmup` — loading that kernel ahead of a comparison (imports nothing back from the engine);
* :mod:`.stats` — single-pass difference statistics; :mod:`.shift` — the sub-pixel shift and its correction;
* :mod:`.image_ops` — dilation and edges (scipy.ndimage when present, numpy otherwise);
* :mod:`.blas_threads` — OpenBLAS held at one thread during a comparison;
* :mod:`.scl_check` — SCL values outside the scene classes, counted and reported;
* :mod:`.output` — the ``<run>/compare`` folder, without debris from a failed run;
* :mod:`.run` — comparing a run folder and completing its report (density, SCL range, diagnosis).

Outputs (``difference.tif``, ``scl_mismatch.tif``, optional ``scl_class_changed.tif`` and
``difference_shift_corrected.tif``, ``report.json``) are described in :mod:`.engine`.
"""

from s2parity_plugin.core.compare.engine import (
    compare_rasters,
    compare_run_folder,
    estimate_shift_files,
    scl_summary,
)
from s2parity_plugin.core.compare.options import (
    DEFAULT_TOLERANCE,
    MISMATCH_KEYS,
    MISMATCH_NAMES,
    OUTPUT_NAMES,
    SCL_NAMES,
    CompareCancelled,
    CompareOptions,
    CompareResult,
    default_tolerance,
    parse_invalid_classes,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "MISMATCH_KEYS",
    "MISMATCH_NAMES",
    "OUTPUT_NAMES",
    "SCL_NAMES",
    "CompareCancelled",
    "CompareOptions",
    "CompareResult",
    "compare_rasters",
    "compare_run_folder",
    "default_tolerance",
    "estimate_shift_files",
    "parse_invalid_classes",
    "scl_summary",
]
