"""No background thread outlives the algorithm that started it (the kernel preload of ``compareendpoints``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sample_pair_support import seed_parameters, write_tiny_aoi

import s2parity_plugin


def test_compareendpoints_waits_for_its_kernel_preload(qgis_processing, tmp_path, monkeypatch):
    """A preload slower than the whole run (a first compile takes seconds) has finished when the algorithm
    returns: the algorithm joined it instead of leaving it running into QGIS's teardown (exit code 139)."""
    import processing

    from s2parity_plugin.core.compare import kernel as compare_kernel
    from s2parity_plugin.core.compare import run as compare_run
    from s2parity_plugin.core.compare import warmup as compare_warmup

    compared, finished = threading.Event(), threading.Event()
    real_compare = compare_run.compare_run_folder

    def compare_then_signal(*args, **kwargs):
        result = real_compare(*args, **kwargs)
        compared.set()
        return result

    def slow_warm_up() -> bool:
        """Still busy well after the comparison ended (as a first compile is on a tiny AOI)."""
        compared.wait(timeout=120)
        time.sleep(2.0)
        finished.set()
        return False

    monkeypatch.setattr(compare_run, "compare_run_folder", compare_then_signal)

    monkeypatch.setattr(compare_kernel, "wanted", lambda: True)
    monkeypatch.setattr(compare_warmup, "warm_up", slow_warm_up)
    monkeypatch.setitem(compare_warmup._preload, "thread", None)
    monkeypatch.setitem(compare_kernel._state, "ran", False)
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        results = processing.run(
            "s2parity:compareendpoints",
            seed_parameters(str(write_tiny_aoi(tmp_path / "tiny.geojson")), tmp_path / "runs"),
        )
    finally:
        plugin.unload()
    preload = compare_warmup._preload["thread"]
    assert preload is not None, "the algorithm did not start the preload"
    assert finished.is_set() and not preload.is_alive()
    assert Path(results["OUTPUT_REPORT"]).is_file()
