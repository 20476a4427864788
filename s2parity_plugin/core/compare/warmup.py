"""Load the compare engine's compiled kernel ahead of a comparison, so that the comparison does not wait for it.

Apart from :mod:`~s2parity_plugin.core.compare.kernel` so that nothing imports back: the engine
(:mod:`~s2parity_plugin.core.compare`) imports the kernel module, and only this module imports both (the warm-up
runs a tiny comparison).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
from osgeo import gdal

from s2parity_plugin.core.compare import CompareOptions, compare_rasters
from s2parity_plugin.core.compare import kernel as compare_kernel
from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

_lock = threading.Lock()
_preload: dict[str, threading.Thread | None] = {"thread": None}


def warm_up() -> bool:
    """Compile (or load from the on-disk cache) the kernel for float32 values with uint8 SCL, the types of the
    fetch pipeline's rasters, by comparing a tiny generated pair in a temporary folder. Returns whether the
    compiled kernel ran. Used by the benchmark; the plugin simply pays this on its first comparison."""
    if not compare_kernel.available():
        return False
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="s2parity-warmup-") as tmp:
        paths = {}
        for key, dtype, values in (
            ("a", gdal.GDT_Float32, rng.uniform(0, 1, (40, 40))),
            ("b", gdal.GDT_Float32, rng.uniform(0, 1, (40, 40))),
            ("scl_a", gdal.GDT_Byte, rng.integers(0, SCL_CLASS_COUNT, (40, 40))),
            ("scl_b", gdal.GDT_Byte, rng.integers(0, SCL_CLASS_COUNT, (40, 40))),
        ):
            path = str(Path(tmp) / f"{key}.tif")
            ds = gdal.GetDriverByName("GTiff").Create(path, 40, 40, 1, dtype)
            ds.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
            ds.GetRasterBand(1).WriteArray(values)
            ds = None
            paths[key] = path
        res = compare_rasters(
            paths["a"],
            paths["b"],
            Path(tmp) / "out",
            scl_a=paths["scl_a"],
            scl_b=paths["scl_b"],
            options=CompareOptions(estimate_shift=False),
        )
    return res.report["options"]["engine"] == "numba"


def preload_in_background() -> threading.Thread | None:
    """Load the kernel on a daemon thread (:func:`warm_up`: import numba, load the compiled code from the cache or
    compile it, ≈ 0.2 s, ≈ 2 s the first time after installation) while the caller does something slower, e.g.
    fetching the rasters the comparison will read, so that the comparison does not wait for it. At most once per
    process; returns the thread, or None when the kernel is not wanted, the preload already ran or a comparison
    already ran the kernel (its Python work would only compete with the caller's for the GIL). Never raises: a
    kernel that fails here is recorded (:func:`~s2parity_plugin.core.compare.kernel.mark_failed`) and the
    comparison uses numpy."""
    if not compare_kernel.wanted():
        return None
    with _lock:
        if _preload["thread"] is not None or compare_kernel.has_run():
            return None

        def run() -> None:
            try:
                warm_up()
            except Exception as exc:  # the compare engine falls back to numpy with this reason
                compare_kernel.mark_failed(exc)

        thread = threading.Thread(target=run, name="s2parity-kernel-preload", daemon=True)
        _preload["thread"] = thread
    thread.start()
    return thread
