"""Optional compiled one-pass strip kernel of the compare engine (numba), with the numpy path as fallback.

The numpy path in :mod:`s2parity_plugin.core.compare` needs ≈ 22 array passes per row strip (difference, masks,
mismatch code, confusion, five centred moments, |d| histogram bins, NaN fill); on a full Sentinel-2 tile pair
(10980 × 10980 px) that is ≈ 2 s of CPU. This kernel reads every input pixel once and writes every output pixel
once, in one loop per row, and releases the GIL (``nogil``) so the reader/writer threads and the shift estimate
run beside it.

It computes exactly what the numpy path computes, in the same units (those of the inputs: DN or reflectance) and
with the same conventions (see :mod:`s2parity_plugin.core.compare.stats` for the log-spaced |d| bins and
:mod:`s2parity_plugin.core.compare` for the SCL codes); moments are summed in float32 vector lanes per row and
in float64 across rows (the numpy path sums float32 per row pairwise), so sums agree to float rounding, counts and
bins exactly.

numba is optional: :func:`available` is False when it cannot be imported, when ``S2PARITY_KERNEL=numpy`` is set or
when the kernel failed to compile or load on this machine (the compare engine tries it on a tiny strip before a
run and reports a failure with :func:`mark_failed`); the reason is in :func:`unavailable_reason` and compare then
uses numpy. Compiled code is
cached on disk (``cache=True``: ``__pycache__`` beside this file, or numba's user cache directory), so the one-time
compile (≈ 2–4 s) is paid once per installation, not per comparison; importing numba and loading the cached code
costs ≈ 0.2 s once per process, which :func:`~s2parity_plugin.core.compare.warmup.preload_in_background` moves off
the comparison (the fetch-then-compare algorithm starts it before fetching, the Compare rasters algorithm when QGIS
opens its dialog).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np

from s2parity_plugin.core.compare import stats as stats_mod
from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

#: The compiled kernel counts the SCL confusion (A class · 12 + B class) in 4 interleaved copies (pixel j in copy
#: j mod 4) so that consecutive pixels do not wait on the same counter; :attr:`Accumulator.confusion` sums them.
CONFUSION_CELLS = SCL_CLASS_COUNT * SCL_CLASS_COUNT
CONFUSION_COPIES = 4
ENV_SWITCH = "S2PARITY_KERNEL"  # "numpy" forces the numpy path (tests, bench)
INSTALL_HINT = (
    "For a ≈ 2× faster comparison install numba into QGIS's Python "
    "(Debian/Ubuntu: sudo apt install python3-numba; elsewhere: python -m pip install numba)."
)

_lock = threading.Lock()
_state: dict[str, Any] = {"kernels": None, "reason": None, "tried": False, "ran": False}


def _build() -> dict[str, Any]:
    """The compiled functions (imports numba; compiling or loading from the cache happens on first call)."""
    from s2parity_plugin.core.compare import kernel_numba as compare_numba

    return compare_numba.KERNELS


def _switched_off() -> bool:
    return os.environ.get(ENV_SWITCH, "").strip().lower() == "numpy"


def _numba_installed() -> bool:
    """numba can be found (not imported: that costs ≈ 0.16 s)."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def wanted() -> bool:
    """Cheap check (numba is not imported): the kernel is not switched off, has not failed, and numba is
    installed. :func:`kernels` may still turn out None (numba installed but broken)."""
    if _switched_off():
        return False
    with _lock:
        if _state["tried"]:
            return _state["kernels"] is not None
    return _numba_installed()


def kernels() -> dict[str, Any] | None:
    """The compiled functions, or None (numba not importable, switched off with ``S2PARITY_KERNEL=numpy``, or
    failed earlier: :func:`mark_failed`)."""
    if _switched_off():
        return None
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            try:
                _state["kernels"] = _build()
            except Exception as exc:  # ImportError, or numba failing on this platform
                _state["reason"] = f"{type(exc).__name__}: {exc}"
        return _state["kernels"]


def mark_failed(exc: Exception) -> None:
    """Record that the kernel failed at run time (compile or cache load, raising ``exc``); the process uses numpy
    from now on and :func:`unavailable_reason` says why."""
    with _lock:
        _state["tried"] = True
        _state["kernels"] = None
        _state["reason"] = f"the compiled kernel failed on this machine: {type(exc).__name__}: {exc}"


def note_ran() -> None:
    """Record that the compiled kernel has run in this process (numba imported, compiled code loaded): a later
    preload (:mod:`~s2parity_plugin.core.compare.warmup`) then has nothing left to do."""
    with _lock:
        _state["ran"] = True


def has_run() -> bool:
    """The compiled kernel has run in this process (see :func:`note_ran`)."""
    with _lock:
        return bool(_state["ran"])


def hint() -> str:
    """What a user can do about the numpy path: install numba, or (installed but failing) nothing needed."""
    if _switched_off():
        return f"Unset {ENV_SWITCH} to use the compiled kernel."
    if _numba_installed():
        return "Results are the same; only slower."
    return INSTALL_HINT


def available() -> bool:
    """True when compare will use the compiled kernel."""
    return kernels() is not None


def unavailable_reason() -> str | None:
    """Why the kernel is not used (None when it is)."""
    if _switched_off():
        return f"{ENV_SWITCH}=numpy"
    kernels()
    return _state["reason"]


class Accumulator:
    """Per-thread partial results of :func:`strip` calls (summed over the strips that thread computed)."""

    def __init__(self) -> None:
        self.acc = np.zeros(6, dtype=np.float64)
        self.counts = np.zeros(6, dtype=np.int64)
        self.fine = np.zeros(2 * stats_mod._NBINS, dtype=np.int64)
        self.confusion4 = np.zeros(CONFUSION_COPIES * CONFUSION_CELLS, dtype=np.int64)

    @property
    def confusion(self) -> np.ndarray:
        """12 × 12 SCL confusion counts, flattened (A class · 12 + B class)."""
        return self.confusion4.reshape(CONFUSION_COPIES, CONFUSION_CELLS).sum(axis=0)
