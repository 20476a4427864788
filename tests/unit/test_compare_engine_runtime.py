"""Compare engine run-time behaviour: a compiled kernel that fails at run time falls back to numpy, and OpenBLAS
is held at one thread during a comparison."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from s2parity_plugin.core.compare import blas_threads, compare_rasters
from s2parity_plugin.core.compare import kernel as compare_kernel
from s2parity_plugin.core.compare import warmup as compare_warmup
from tests.geotiff import GT_UTM33, write_geotiff


def _case(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 0.5, (40, 30)).astype(np.float32)
    b = (a + 0.02 + rng.normal(0, 0.01, a.shape)).astype(np.float32)
    scl = rng.choice([4, 5, 8, 9], size=a.shape).astype(np.uint8)
    scl_b = scl.copy()
    scl_b[:5] = 4
    return {
        "a": write_geotiff(tmp_path / "a.tif", a, GT_UTM33),
        "b": write_geotiff(tmp_path / "b.tif", b, GT_UTM33),
        "scl_a": write_geotiff(tmp_path / "scl_a.tif", scl, GT_UTM33),
        "scl_b": write_geotiff(tmp_path / "scl_b.tif", scl_b, GT_UTM33),
    }


def _run(paths: dict[str, Path], out: Path) -> dict:
    res = compare_rasters(paths["a"], paths["b"], out, scl_a=paths["scl_a"], scl_b=paths["scl_b"])
    return json.loads(Path(res.report_path).read_text("utf-8"))


def test_kernel_failing_at_run_time_falls_back_to_numpy(tmp_path, monkeypatch):
    """numba imports, but compiling/loading the kernel raises: the comparison still completes, on numpy, with the
    numpy path's numbers, and the reason is reported (the kernel is not tried again in this process)."""
    monkeypatch.delenv(compare_kernel.ENV_SWITCH, raising=False)
    paths = _case(tmp_path)
    monkeypatch.setenv(compare_kernel.ENV_SWITCH, "numpy")
    expected = _run(paths, tmp_path / "numpy")
    monkeypatch.delenv(compare_kernel.ENV_SWITCH)

    calls = []

    def broken(*args):
        calls.append(len(args))
        raise RuntimeError("LLVM ERROR: cannot select (simulated)")

    monkeypatch.setattr(
        compare_kernel,
        "_state",
        {"kernels": {"strip": broken, "near_edges": broken}, "reason": None, "tried": True},
    )
    assert compare_kernel.wanted() and compare_kernel.available()
    report = _run(paths, tmp_path / "fallback")
    assert report["options"]["engine"] == "numpy"
    assert calls, "the broken kernel was tried"
    assert report["stats"] == expected["stats"]
    assert report["scl"]["counts"] == expected["scl"]["counts"]
    reason = compare_kernel.unavailable_reason()
    assert "failed on this machine" in reason and "cannot select" in reason
    assert not compare_kernel.wanted() and not compare_kernel.available()
    assert compare_kernel.hint() != compare_kernel.INSTALL_HINT or not _numba_installed()
    n_calls = len(calls)
    assert _run(paths, tmp_path / "again")["options"]["engine"] == "numpy"
    assert len(calls) == n_calls, "a failed kernel is not retried"


def _numba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def test_switched_off_kernel_is_not_wanted(monkeypatch):
    monkeypatch.setenv(compare_kernel.ENV_SWITCH, "numpy")
    assert not compare_kernel.wanted()
    assert compare_kernel.unavailable_reason() == f"{compare_kernel.ENV_SWITCH}=numpy"
    assert compare_kernel.ENV_SWITCH in compare_kernel.hint()


needs_openblas = pytest.mark.skipif(
    blas_threads.openblas_threads() is None, reason="numpy is not linked to OpenBLAS here"
)


@needs_openblas
def test_single_threaded_blas_nests_and_restores(monkeypatch):
    before = blas_threads.openblas_threads()
    with blas_threads.single_threaded_blas():
        assert blas_threads.openblas_threads() == 1
        with blas_threads.single_threaded_blas():
            assert blas_threads.openblas_threads() == 1
        assert blas_threads.openblas_threads() == 1, "the inner block must not restore while the outer runs"
    assert blas_threads.openblas_threads() == before
    with pytest.raises(ValueError), blas_threads.single_threaded_blas():
        raise ValueError("boom")
    assert blas_threads.openblas_threads() == before


@needs_openblas
def test_compare_holds_openblas_at_one_thread(tmp_path, monkeypatch):
    """During compare_rasters OpenBLAS runs one thread (its idle threads would spin on the cores the engine's
    threads use); the previous count is back afterwards."""
    from s2parity_plugin.core.compare import engine as compare_mod

    before = blas_threads.openblas_threads()
    seen: list[tuple[str, int | None]] = []
    real = compare_mod._timed_shift

    def spy(*args):
        seen.append((threading.current_thread().name, blas_threads.openblas_threads()))
        return real(*args)

    monkeypatch.setattr(compare_mod, "_timed_shift", spy)
    _run(_case(tmp_path), tmp_path / "out")
    assert seen and all(n == 1 for _, n in seen)
    assert blas_threads.openblas_threads() == before


def test_preload_in_background_once(monkeypatch):
    """The kernel preload runs warm_up on a daemon thread once per process (the fetch-then-compare algorithm starts
    it before fetching); switched off → no thread; a failing preload is recorded, never raised."""
    monkeypatch.setattr(compare_warmup, "_preload", {"thread": None})
    monkeypatch.setitem(compare_kernel._state, "ran", False)
    monkeypatch.setenv(compare_kernel.ENV_SWITCH, "numpy")
    assert compare_warmup.preload_in_background() is None
    monkeypatch.delenv(compare_kernel.ENV_SWITCH)
    if not compare_kernel.wanted():
        pytest.skip(f"compiled kernel unavailable: {compare_kernel.unavailable_reason()}")

    ran = []
    monkeypatch.setattr(compare_warmup, "warm_up", lambda: ran.append(threading.current_thread().name) or True)
    thread = compare_warmup.preload_in_background()
    assert thread is not None and thread.daemon
    thread.join(10)
    assert ran == ["s2parity-kernel-preload"]
    assert compare_warmup.preload_in_background() is None, "once per process"
    assert ran == ["s2parity-kernel-preload"]

    monkeypatch.setattr(compare_warmup, "_preload", {"thread": None})
    monkeypatch.setattr(compare_kernel, "_state", {"kernels": None, "reason": None, "tried": False, "ran": False})

    def broken() -> bool:
        raise RuntimeError("LLVM ERROR (simulated)")

    monkeypatch.setattr(compare_warmup, "warm_up", broken)
    thread = compare_warmup.preload_in_background()
    thread.join(10)
    assert "LLVM ERROR (simulated)" in compare_kernel.unavailable_reason()
    assert not compare_kernel.available()


def test_no_preload_once_a_comparison_ran_the_kernel(tmp_path, monkeypatch):
    """After a comparison has run the compiled kernel in this process, the preload has nothing to do: no thread
    (its Python work would only compete for the GIL with whatever the caller runs, e.g. QGIS's main thread)."""
    if not compare_kernel.wanted():
        pytest.skip(f"compiled kernel unavailable: {compare_kernel.unavailable_reason()}")
    monkeypatch.setattr(compare_warmup, "_preload", {"thread": None})
    monkeypatch.setitem(compare_kernel._state, "ran", False)
    report = _run(_case(tmp_path), tmp_path / "out")
    assert report["options"]["engine"] == "numba"
    assert compare_kernel._state["ran"] is True
    assert compare_warmup.preload_in_background() is None
    assert compare_warmup._preload["thread"] is None


def test_preload_really_loads_the_kernel(monkeypatch):
    """Without stand-ins, in a fresh process: after the preload thread the kernel holds compiled code for float32
    values and uint8 SCL codes (so the first comparison does not compile or load it)."""
    monkeypatch.delenv(compare_kernel.ENV_SWITCH, raising=False)
    if not compare_kernel.available():
        pytest.skip(f"compiled kernel unavailable: {compare_kernel.unavailable_reason()}")
    code = (
        "from s2parity_plugin.core.compare import kernel as k, warmup as w\n"
        "assert not k.kernels()['strip'].signatures\n"
        "w.preload_in_background().join(120)\n"
        "import json\n"
        "print(json.dumps([[str(t.dtype), t.ndim] for sig in k.kernels()['strip'].signatures for t in sig"
        " if hasattr(t, 'ndim')]))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    arrays = json.loads(out.stdout.strip().splitlines()[-1])  # (dtype, ndim) of every array argument compiled
    assert ["float32", 2] in arrays and ["uint8", 2] in arrays, out.stdout
