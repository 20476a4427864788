"""Run a block of code with OpenBLAS limited to one thread (what ``threadpoolctl.threadpool_limits(1)`` does,
without the dependency).

Why: numpy's OpenBLAS keeps its worker threads spinning (``sched_yield``) for a while after every multi-threaded
call. The compare engine already runs its own reader, compute, writer and shift threads; the shift estimate's
matrix products woke OpenBLAS's thread, which then spun on a core those threads needed. Measured on the 2-CPU bench
machine (full tile pair, median of 5): 2.35 s → 2.02 s CPU and 1.30 s → 1.20 s wall per compare.

The OpenBLAS setting is process-wide: it is lowered when the first :func:`single_threaded_blas` block is entered
and restored when the last one is left (nested and concurrent blocks are counted). Other code that uses BLAS at the
same time runs single-threaded meanwhile; results are unchanged. Without OpenBLAS (another BLAS, or a numpy without
BLAS) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator
from pathlib import Path

_LOCK = threading.Lock()
_state: dict = {"depth": 0, "saved": None}
_lib: list = []  # [ctypes library or None], resolved once


class _OpenBlas:
    """get/set of one loaded OpenBLAS (Debian's names, or the ``…64_`` names of numpy's own wheels)."""

    def __init__(self, lib: ctypes.CDLL, suffix: str) -> None:
        self.get_num_threads = getattr(lib, f"openblas_get_num_threads{suffix}")
        self.get_num_threads.restype = ctypes.c_int
        self.set_num_threads = getattr(lib, f"openblas_set_num_threads{suffix}")
        self.set_num_threads.argtypes = [ctypes.c_int]


def _openblas() -> _OpenBlas | None:
    """The OpenBLAS library this process has loaded (numpy's), or None (Linux only: found in /proc/self/maps)."""
    if not _lib:
        found = None
        with contextlib.suppress(OSError):
            paths = [line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "/" in line]
            for path in dict.fromkeys(p for p in paths if "openblas" in Path(p).name.lower()):
                with contextlib.suppress(OSError):
                    lib = ctypes.CDLL(path)
                    suffix = next((s for s in ("", "64_") if hasattr(lib, f"openblas_set_num_threads{s}")), None)
                    if suffix is not None and hasattr(lib, f"openblas_get_num_threads{suffix}"):
                        found = _OpenBlas(lib, suffix)
                        break
        _lib.append(found)
    return _lib[0]


def openblas_threads() -> int | None:
    """OpenBLAS's current thread count, or None without OpenBLAS."""
    lib = _openblas()
    return int(lib.get_num_threads()) if lib is not None else None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit OpenBLAS to one thread inside the block; restore the previous count when the last block exits."""
    lib = _openblas()
    if lib is None:
        yield
        return
    with _LOCK:
        if _state["depth"] == 0:
            _state["saved"] = int(lib.get_num_threads())
            if _state["saved"] > 1:
                lib.set_num_threads(1)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["depth"] -= 1
            if _state["depth"] == 0 and (_state["saved"] or 1) > 1:
                lib.set_num_threads(_state["saved"])
