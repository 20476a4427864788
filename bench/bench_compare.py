"""Benchmark of the compare engine on a full Sentinel-2 tile pair (10980 × 10980 px) and shift accuracy.

Inputs (generated once into ``work_dir`` and reused): ``a.tif``/``b.tif`` float32 DN-like values and
``scl_a.tif``/``scl_b.tif`` uint8 SCL, all GeoTIFF tiled 512 × 512, uncompressed, EPSG:32633 10 m; then the same
four rasters re-written as the fetch writes them (``fetch_*.tif``: ``core.fetch.mosaic.CREATION_OPTIONS``). The headline
figures are measured on the fetch's rasters — the plugin's own workflow compares what its fetch wrote — and the
``uncompressed`` section gives the same measures on the uncompressed originals beside them.
A is a sum of sinusoids plus noise; B is the same field moved by a known sub-pixel shift (analytic, so exact)
plus 1000 DN (the BOA_ADD_OFFSET) and independent noise; the SCL rasters share cloud blobs whose edges differ.

Measured (each in its own subprocess; peak RSS is the child's own ``VmHWM``: ``ru_maxrss`` would include the
peak of the process it was forked from, Linux carries that across fork and exec):

* ``compare_s``: :func:`compare_rasters` with both SCL rasters (difference + SCL mismatch + stats + shift estimate
  + report), timed around the call in a process whose compiled kernel is loaded — how the plugin runs it: the
  one-click fetch-then-compare loads the kernel while it fetches, and every later comparison of a session has it.
* ``compare_first_call_s``: the same call as the first thing of a fresh process, so it also pays the one-time
  import of numba and load of the compiled kernel from its cache (``kernel_load_s`` = the difference, ≈ 0.2 s):
  the first comparison of a script, of ``qgis_process`` or of the standalone Compare rasters algorithm.
* ``compare_peak_rss_mb``: the larger peak RSS of the two.
* ``gdal_calc_call_s``: gdal_calc's ``Calc(calc="B-A")`` timed around the call the same way (imports excluded);
  ``gdal_calc_s`` / ``gdal_calc_peak_rss_mb``: the whole ``gdal_calc.py -A a.tif -B b.tif --calc="B-A"`` process.
* ``compare_vs_gdal_calc_ratio`` = compare_s / gdal_calc_call_s (target ≤ 0.5; like for like: both calls timed
  inside their processes, one-time library loading excluded on both sides: numpy/GDAL imports there, numba and
  the compiled kernel here); ``compare_first_call_vs_gdal_calc_ratio`` with that loading included;
  ``compare_process_vs_gdal_calc_ratio`` whole processes (interpreter start and all imports included).
* ``uncompressed``: our compare (kernel loaded, as ``compare_s``) and gdal_calc's ``Calc()`` on the uncompressed
  originals (no decoding: the engine's own speed).
* ``shift_ms_per_mpx`` on the full tile (shift estimation only) and the recovered bench shift.
* ``shift_accuracy``: errors (px) of our estimator and of scikit-image ``phase_cross_correlation``
  (upsample_factor=100) on real Sentinel-2 crops from ../shared/data moved by exact Fourier shifts.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZE = 10980
REPEATS = 5  # fresh-process runs of each contender; the medians are compared (3 left ±0.05 in the ratio)
SHIFT = (0.37, -0.61)  # (dx, dy) px applied to B in the bench inputs
OFFSET_DN = 1000.0
STRIP = 512
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


_RNG = np.random.default_rng(7)
_N_WAVES = 24
_WAVE_LEN = np.exp(_RNG.uniform(np.log(6.0), np.log(600.0), _N_WAVES))  # px
_WAVE_DIR = _RNG.uniform(0, np.pi, _N_WAVES)
_WAVE_KX = (2 * np.pi / _WAVE_LEN * np.cos(_WAVE_DIR)).astype(np.float64)
_WAVE_KY = (2 * np.pi / _WAVE_LEN * np.sin(_WAVE_DIR)).astype(np.float64)
_WAVE_PHASE = _RNG.uniform(0, 2 * np.pi, _N_WAVES)
_WAVE_AMP = 1200.0 * np.sqrt(_WAVE_LEN / 600.0) / np.sqrt(_N_WAVES)


def _field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Quasi-random (non-periodic over a window), band-limited DN-like field: 24 plane waves of random direction
    and wavelength 6–600 px; exact at any sub-pixel position. ``x`` is (1, W), ``y`` is (H, 1), in px."""
    out = np.full((y.shape[0], x.shape[1]), 2000.0, dtype=np.float32)
    for kx, ky, ph, amp in zip(_WAVE_KX, _WAVE_KY, _WAVE_PHASE, _WAVE_AMP):
        # sin(kx x + ky y + ph) = sin(kx x + ph) cos(ky y) + cos(kx x + ph) sin(ky y): two outer products
        sx, cx = np.sin(kx * x + ph).astype(np.float32), np.cos(kx * x + ph).astype(np.float32)
        cy, sy = np.cos(ky * y).astype(np.float32), np.sin(ky * y).astype(np.float32)
        out += np.float32(amp) * (sx * cy + cx * sy)
    return out


def _clouds(x: np.ndarray, y: np.ndarray, shift: float) -> np.ndarray:
    return np.sin(2 * np.pi * (x + shift) / 700.0) * np.cos(2 * np.pi * (y - shift) / 500.0) + 0.3 * np.sin(
        2 * np.pi * x / 131.0
    )


def generate_inputs(work_dir: Path, size: int = SIZE) -> dict[str, Path]:
    """Write the four bench rasters into ``work_dir`` (skipped when all exist); return their paths."""
    from osgeo import gdal, osr

    gdal.UseExceptions()
    paths = {k: work_dir / f"{k}.tif" for k in ("a", "b", "scl_a", "scl_b")}
    marker = work_dir / f"inputs_v2_{size}.done"
    if marker.exists() and all(p.exists() for p in paths.values()):
        return paths
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    drv = gdal.GetDriverByName("GTiff")
    opts = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=IF_SAFER"]
    dss = {}
    for key, dtype in (
        ("a", gdal.GDT_Float32),
        ("b", gdal.GDT_Float32),
        ("scl_a", gdal.GDT_Byte),
        ("scl_b", gdal.GDT_Byte),
    ):
        ds = drv.Create(str(paths[key]), size, size, 1, dtype, options=opts)
        ds.SetGeoTransform((399960.0, 10.0, 0.0, 5000040.0, 0.0, -10.0))
        ds.SetProjection(srs.ExportToWkt())
        if key in ("a", "b"):
            ds.GetRasterBand(1).SetNoDataValue(-9999.0)
        dss[key] = ds
    rng = np.random.default_rng(42)
    x = np.arange(size, dtype=np.float64)[None, :]
    for r0 in range(0, size, STRIP):
        rows = min(STRIP, size - r0)
        y = np.arange(r0, r0 + rows, dtype=np.float64)[:, None]
        a = _field(x, y) + rng.normal(0, 15, (rows, size))
        b = _field(x - SHIFT[0], y - SHIFT[1]) + OFFSET_DN + rng.normal(0, 15, (rows, size))
        a[:, :50] = -9999.0  # a nodata border on A
        ca, cb = _clouds(x, y, 0.0), _clouds(x, y, 3.0)
        scl_a = np.where(ca > 0.9, 9, np.where(ca > 0.7, 8, np.where(ca < -1.0, 3, 4))).astype(np.uint8)
        scl_b = np.where(cb > 0.9, 9, np.where(cb > 0.7, 8, np.where(cb < -1.0, 3, 4))).astype(np.uint8)
        scl_a[:, :50] = 0
        for key, arr in (("a", a), ("b", b), ("scl_a", scl_a), ("scl_b", scl_b)):
            dss[key].GetRasterBand(1).WriteArray(arr.astype(np.float32) if key in ("a", "b") else arr, 0, r0)
    for ds in dss.values():
        ds.FlushCache()
    dss.clear()
    marker.write_text("ok\n")
    return paths


_FETCH_FORMAT_CHILD = """
import sys
from osgeo import gdal
from s2parity_plugin.core.fetch.mosaic import CREATION_OPTIONS
gdal.UseExceptions()
gdal.Translate(sys.argv[2], sys.argv[1], creationOptions=CREATION_OPTIONS)
"""


def fetch_format_inputs(paths: dict[str, Path], work_dir: Path) -> dict[str, Path]:
    """The bench rasters re-written with the fetch's creation options; skipped when present (per option set).
    Written by child processes: this process must stay small (its peak RSS is inherited by later children)."""
    from s2parity_plugin.core.fetch.mosaic import CREATION_OPTIONS

    out = {k: work_dir / f"fetch_{k}.tif" for k in paths}
    tag = "_".join(o.replace("=", "-") for o in CREATION_OPTIONS)
    marker = work_dir / f"fetch_inputs_{tag}.done"
    if marker.exists() and all(p.exists() for p in out.values()):
        return out
    for key, src in paths.items():
        subprocess.run([sys.executable, "-c", _FETCH_FORMAT_CHILD, str(src), str(out[key])], cwd=REPO, check=True)
    marker.write_text("ok\n")
    return out


def _creation_options() -> list[str]:
    from s2parity_plugin.core.fetch.mosaic import CREATION_OPTIONS

    return list(CREATION_OPTIONS)


def _run_child(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``args``; return (wall s, max RSS MB over waited-for children so far, stdout).

    The children below also print their own peak RSS (``ru_maxrss`` of RUSAGE_SELF, or of RUSAGE_CHILDREN for
    the gdal_calc wrapper), which is what is reported; the getrusage maximum here is only a fallback.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {proc.stderr[-2000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, proc.stdout


_COMPARE_CHILD = """
import json, sys, time
from s2parity_plugin.core.compare import compare_rasters
a, b, sa, sb, out = sys.argv[1:6]
t0 = time.perf_counter()
res = compare_rasters(a, b, out, scl_a=sa, scl_b=sb, metadata_a={"units": "DN"}, metadata_b={"units": "DN"})
wall = time.perf_counter() - t0
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"wall": wall, "peak_kib": hwm,
                  "engine": res.report["options"]["engine"],
                  "shift": res.report["shift"], "n": res.report["stats"]["n"], "bias": res.report["stats"]["bias"],
                  "timings": res.report.get("timings", {})}))
"""

_SHIFT_CHILD = """
import json, sys, time
from s2parity_plugin.core.compare import estimate_shift_files
a, b = sys.argv[1:3]
t0 = time.perf_counter()
est = estimate_shift_files(a, b)
print(json.dumps({"wall": time.perf_counter() - t0, "dx": est.dx_px, "dy": est.dy_px, "confident": est.confident}))
"""


_CALC_CALL_CHILD = """
import json, sys, time
from osgeo_utils.gdal_calc import Calc
a, b, out = sys.argv[1:4]
t0 = time.perf_counter()
Calc(calc="B-A", A=a, B=b, outfile=out, type="Float32", quiet=True, overwrite=True)
wall = time.perf_counter() - t0
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"wall": wall, "peak_kib": hwm}))
"""

_WARM_COMPARE_CHILD = _COMPARE_CHILD.replace(
    "t0 = time.perf_counter()\n",
    "from s2parity_plugin.core.compare import warmup as compare_warmup\n"
    "compare_warmup.warm_up()\nt0 = time.perf_counter()\n",
    1,
)

_COMPILE_CHILD = """
import json, sys, time
from s2parity_plugin.core.compare import warmup as compare_warmup
t0 = time.perf_counter()
ok = compare_warmup.warm_up()
print(json.dumps({"wall": time.perf_counter() - t0, "ok": ok}))
"""


def _kernel_compile_seconds(py: str, cwd: Path, work_dir: Path) -> float | None:
    """One-time compile of the numba kernel (empty cache: ``NUMBA_CACHE_DIR`` set to a new folder); also fills
    the normal cache so the timed runs load compiled code. None without numba."""
    cache = work_dir / "numba-cold-cache"
    shutil.rmtree(cache, ignore_errors=True)
    _, _, stdout = _run_child([py, "-c", _COMPILE_CHILD], cwd, {"NUMBA_CACHE_DIR": str(cache)})
    cold = json.loads(stdout.strip().splitlines()[-1])
    shutil.rmtree(cache, ignore_errors=True)
    _run_child([py, "-c", _COMPILE_CHILD], cwd)  # the regular cache the plugin uses
    return round(cold["wall"], 2) if cold["ok"] else None


def _read_through(paths) -> None:
    """Read files once (brings them into the page cache)."""
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(16 << 20):
                pass


def _peak_child_mb(stdout_json: dict, fallback_mb: float) -> float:
    return stdout_json.get("peak_kib", fallback_mb * 1024.0) / 1024.0


def shift_accuracy() -> dict:
    """Errors (px) of our estimator and skimage's on real S2 crops moved by exact Fourier shifts."""
    if not SHARED.is_dir():
        return {"skipped": "../shared/data not present"}
    from osgeo import gdal
    from scipy import ndimage
    from skimage.registration import phase_cross_correlation

    from s2parity_plugin.core.compare.shift import estimate_shift

    gdal.UseExceptions()
    images = {
        "T29RKH_B04_100m": ("s2l2a_T29RKH_20200219_N0214_decimated/B04.tif", 1),
        "T21JUK_B04_10m": ("s2l2a_T21JUK_20231217_N0510_crop/20231217.tif", 4),
        "manila_B04_10m": (
            "sentinelhub_process_api_outputs/sh_L2A_12bands_SCL_DN_T51P_manila_2023-11_to_2024-01.tif",
            4,
        ),
        "durban_B04_10m": ("sentinelhub_process_api_outputs/sh_L2A_12bands_DN_durban_20190424.tif", 4),
    }
    shifts = [(0.3, -0.7), (1.63, 0.41), (-1.37, -1.12), (-0.05, 1.95), (0.11, 0.02)]
    out: dict = {}
    for name, (rel, band) in images.items():
        ds = gdal.Open(str(SHARED / rel))
        img = ds.GetRasterBand(band).ReadAsArray().astype(np.float64)
        ds = None
        ours, sk = [], []
        for dx, dy in shifts:
            moved = np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(img), (dy, dx))))
            a, b = img[48:-48, 48:-48], moved[48:-48, 48:-48]
            est = estimate_shift(a, b)
            ours.append(float(np.hypot(est.dx_px - dx, est.dy_px - dy)))
            s, _, _ = phase_cross_correlation(a, b, upsample_factor=100)
            sk.append(float(np.hypot(-s[1] - dx, -s[0] - dy)))
        out[name] = {
            "ours_max_err_px": round(max(ours), 4),
            "ours_mean_err_px": round(float(np.mean(ours)), 4),
            "skimage_max_err_px": round(max(sk), 4),
            "skimage_mean_err_px": round(float(np.mean(sk)), 4),
        }
    return out


def _generated_inputs(work_dir: Path) -> tuple[dict[str, Path], float]:
    """(the bench pair's uncompressed paths, seconds to generate them)."""
    t0 = time.perf_counter()
    # generated by a child process: this one must stay small (Linux hands its peak RSS on to later children)
    code = "from pathlib import Path; from bench.bench_compare import generate_inputs; "
    code += f"generate_inputs(Path({str(work_dir)!r}))"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    paths = generate_inputs(work_dir)  # now only returns the paths
    return paths, time.perf_counter() - t0


def _contenders(paths: dict[str, Path], raw: dict[str, Path], out_dir: Path, calc_out: Path) -> tuple:
    """(key, command, extra environment, inputs) of every timed run: ours and gdal_calc's on the fetch's rasters
    (``paths``), and on the uncompressed originals (``raw``)."""
    py = sys.executable
    compare_args = [py, "-c", _COMPARE_CHILD, *(str(paths[k]) for k in ("a", "b", "scl_a", "scl_b")), str(out_dir)]
    calc_cmd = [py, "/usr/bin/gdal_calc.py", "-A", str(paths["a"]), "-B", str(paths["b"]), "--calc=B-A"]
    calc_cmd += ["--type=Float32", f"--outfile={calc_out}", "--quiet", "--overwrite"]
    calc_wrap = (
        "import resource, subprocess, sys, time, json\n"
        "t0 = time.perf_counter(); subprocess.run(sys.argv[1:], check=True)\n"
        "print(json.dumps({'wall': time.perf_counter() - t0,"
        " 'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    calc_call = [py, "-c", _CALC_CALL_CHILD, str(paths["a"]), str(paths["b"]), str(calc_out)]
    raw_args = [py, "-c", _WARM_COMPARE_CHILD, *(str(raw[k]) for k in ("a", "b", "scl_a", "scl_b")), str(out_dir)]
    raw_calc = [py, "-c", _CALC_CALL_CHILD, str(raw["a"]), str(raw["b"]), str(calc_out)]
    warm_args = [py, "-c", _WARM_COMPARE_CHILD, *compare_args[3:]]
    return (
        ("compare_first_call", compare_args, {}, paths),
        ("compare", warm_args, {}, paths),
        ("compare_numpy", compare_args, {"S2PARITY_KERNEL": "numpy"}, paths),
        ("gdal_calc", [py, "-c", calc_wrap, *calc_cmd], {}, paths),
        ("gdal_calc_call", calc_call, {}, paths),
        ("raw_compare", raw_args, {}, raw),
        ("raw_gdal_calc_call", raw_calc, {}, raw),
    )


def _timed_runs(contenders: tuple, out_dir: Path, calc_out: Path) -> dict[str, list[dict]]:
    """:data:`REPEATS` interleaved runs of every contender, each in a fresh process, outputs removed beforehand."""
    runs: dict[str, list[dict]] = {key: [] for key, *_ in contenders}
    for _ in range(REPEATS):
        for key, args, env, inputs in contenders:
            shutil.rmtree(out_dir, ignore_errors=True)
            calc_out.unlink(missing_ok=True)
            # same start for every contender: inputs in the page cache, no dirty pages of an earlier run still
            # being written back (measured: without this, whichever ran after a ~0.6 GB write lost up to 2 s)
            _read_through(inputs.values())
            os.sync()
            process_s, rss_mb, stdout = _run_child(args, REPO, env)
            child = json.loads(stdout.strip().splitlines()[-1])
            child["process_s"] = process_s
            child["peak_mb"] = _peak_child_mb(child, rss_mb)
            runs[key].append(child)
    calc_out.unlink(missing_ok=True)
    return runs


def _series(runs: dict[str, list[dict]], key: str, prefix: str) -> dict:
    """Median seconds and every run's seconds of contender ``key``, as ``<prefix>_s`` / ``<prefix>_runs_s``."""
    walls = [r["wall"] for r in runs[key]]
    return {f"{prefix}_s": round(float(np.median(walls)), 3), f"{prefix}_runs_s": [round(w, 3) for w in walls]}


def _peak(runs: dict[str, list[dict]], *keys: str) -> float:
    return round(max(r["peak_mb"] for k in keys for r in runs[k]), 1)


def _uncompressed(runs: dict[str, list[dict]], raw: dict[str, Path]) -> dict:
    med = {k: float(np.median([r["wall"] for r in runs[k]])) for k in ("raw_compare", "raw_gdal_calc_call")}
    return {
        "inputs": "the same rasters uncompressed (tiled 512², no compression)",
        "input_mb": round(sum(p.stat().st_size for p in raw.values()) / 1e6, 1),
        **_series(runs, "raw_compare", "compare"),
        "compare_peak_rss_mb": _peak(runs, "raw_compare"),
        **_series(runs, "raw_gdal_calc_call", "gdal_calc_call"),
        "compare_vs_gdal_calc_ratio": round(med["raw_compare"] / med["raw_gdal_calc_call"], 3),
    }


def _ratios(runs: dict[str, list[dict]]) -> dict:
    def med(key: str, field: str = "wall") -> float:
        return float(np.median([r[field] for r in runs[key]]))

    calc_call_s = med("gdal_calc_call")
    return {
        # like for like: our call vs gdal_calc's Calc() call, each timed inside its process, one-time library
        # loading excluded (numpy/GDAL imports there; numba import and compiled-kernel load here)
        "compare_vs_gdal_calc_ratio": round(med("compare") / calc_call_s, 3),
        "compare_first_call_vs_gdal_calc_ratio": round(med("compare_first_call") / calc_call_s, 3),
        # whole processes: `python -c compare_rasters(...)` vs the gdal_calc.py command (interpreter + imports)
        "compare_process_vs_gdal_calc_ratio": round(med("compare_first_call", "process_s") / med("gdal_calc"), 3),
        "compare_numpy_vs_gdal_calc_ratio": round(med("compare_numpy") / calc_call_s, 3),
        "compare_process_s": round(med("compare_first_call", "process_s"), 3),
        "kernel_load_s": round(med("compare_first_call") - med("compare"), 3),
    }


def _shift_figures(raw: dict[str, Path], child: dict) -> dict:
    _, _, stdout = _run_child([sys.executable, "-c", _SHIFT_CHILD, str(raw["a"]), str(raw["b"])], REPO)
    wall = json.loads(stdout.strip().splitlines()[-1])["wall"]
    shift = child["shift"]
    return {
        "shift_estimate_s": round(wall, 3),
        "shift_ms_per_mpx": round(1000.0 * wall / (SIZE * SIZE / 1e6), 2),
        "bench_shift_true_px": list(SHIFT),
        "bench_shift_est_px": [shift["dx_px"], shift["dy_px"]],
        "bench_shift_confident": shift["confident"],
        "shift_accuracy": shift_accuracy(),
    }


def run(work_dir: Path) -> dict:
    """Run the whole bench (≈ 2–4 min; input generation ≈ 1 min the first time)."""
    work_dir = Path(work_dir)
    raw, gen_s = _generated_inputs(work_dir)
    out_dir, calc_out = work_dir / "out", work_dir / "gdal_calc_out.tif"
    if out_dir.exists():  # like gdal_calc's --outfile below, start without old outputs (no unlink cost inside)
        shutil.rmtree(out_dir)
    paths = fetch_format_inputs(raw, work_dir)  # the headline: rasters as the fetch writes them
    compile_s = _kernel_compile_seconds(sys.executable, REPO, work_dir)
    runs = _timed_runs(_contenders(paths, raw, out_dir, calc_out), out_dir, calc_out)
    child = runs["compare"][-1]
    return {
        "input_size_px": SIZE,
        "input_generation_s": round(gen_s, 1),
        "repeats": REPEATS,
        "compare_engine": child.get("engine"),
        **_series(runs, "compare", "compare"),
        "compare_peak_rss_mb": _peak(runs, "compare", "compare_first_call"),
        "compare_timings_s": child.get("timings", {}),
        **_series(runs, "compare_first_call", "compare_first_call"),
        "kernel_compile_s": compile_s,
        **_series(runs, "compare_numpy", "compare_numpy"),
        "compare_numpy_peak_rss_mb": _peak(runs, "compare_numpy"),
        **_series(runs, "gdal_calc", "gdal_calc"),
        "gdal_calc_peak_rss_mb": round(max(r["peak_kib"] for r in runs["gdal_calc"]) / 1024.0, 1),
        **_series(runs, "gdal_calc_call", "gdal_calc_call"),
        **_ratios(runs),
        "inputs": "rasters as the fetch writes them (core.fetch.mosaic.CREATION_OPTIONS)",
        "input_creation_options": _creation_options(),
        "input_mb": round(sum(p.stat().st_size for p in paths.values()) / 1e6, 1),
        "uncompressed": _uncompressed(runs, raw),
        **_shift_figures(raw, child),
    }


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "bench" / "work" / "compare"), indent=2))
