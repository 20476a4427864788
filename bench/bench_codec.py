"""Which compression should the fetch write? Compare time and file size per codec, on the bench tile pair.

The four rasters of ``bench_compare`` (10980² float32 values, uint8 SCL; generated there) are re-written as the
fetch's :class:`~s2parity_plugin.core.fetch.mosaic.MosaicWriter` writes them (tiled 256², one band) with each candidate
codec; for each: total size, the write time (``gdal.Translate`` in a child process, as the mosaic's encode cost)
and the comparison time (:func:`compare_rasters`, kernel loaded, median of :data:`REPEATS` fresh processes,
interleaved, page cache warm).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.bench_compare import _WARM_COMPARE_CHILD, REPO, _read_through, _run_child, generate_inputs

REPEATS = 3
CODECS = {
    "deflate": ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"],
    "deflate1_pred": ["TILED=YES", "COMPRESS=DEFLATE", "ZLEVEL=1", "PREDICTOR=2", "BIGTIFF=IF_SAFER"],
    "zstd1": ["TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"],
    "lzw": ["TILED=YES", "COMPRESS=LZW", "BIGTIFF=IF_SAFER"],
    "none": ["TILED=YES", "BIGTIFF=IF_SAFER"],
}
_TRANSLATE_CHILD = """
import json, sys, time
from osgeo import gdal
gdal.UseExceptions()
t0 = time.perf_counter()
gdal.Translate(sys.argv[2], sys.argv[1], creationOptions=json.loads(sys.argv[3]))
print(json.dumps({"wall": time.perf_counter() - t0}))
"""


def _write(paths: dict[str, Path], work_dir: Path, codec: str) -> tuple[dict[str, Path], float]:
    out = {k: work_dir / f"{codec}_{k}.tif" for k in paths}
    marker = work_dir / f"{codec}.done"
    if marker.exists() and all(p.exists() for p in out.values()):
        return out, json.loads(marker.read_text())["write_s"]
    write_s = 0.0
    for key, src in paths.items():
        opts = CODECS[codec]
        if "PREDICTOR=2" in opts and key in ("a", "b"):
            opts = [o if o != "PREDICTOR=2" else "PREDICTOR=3" for o in opts]  # floats: floating-point predictor
        args = [sys.executable, "-c", _TRANSLATE_CHILD, str(src), str(out[key]), json.dumps(opts)]
        _, _, stdout = _run_child(args, REPO)
        write_s += json.loads(stdout.strip().splitlines()[-1])["wall"]
    marker.write_text(json.dumps({"write_s": write_s}))
    return out, write_s


def run(work_dir: Path) -> dict:
    """Sizes, write and compare times per codec (≈ 5–10 min on 2 CPUs)."""
    work_dir = Path(work_dir)
    compare_work = work_dir.parent / "compare"
    compare_work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from pathlib import Path; from bench.bench_compare import generate_inputs; "
            f"generate_inputs(Path({str(compare_work)!r}))",
        ],
        cwd=REPO,
        check=True,
    )
    sources = generate_inputs(compare_work)
    variants = {codec: _write(sources, work_dir, codec) for codec in CODECS}
    out_dir = work_dir / "out"
    times: dict[str, list[float]] = {codec: [] for codec in CODECS}
    for _ in range(REPEATS):
        for codec, (paths, _) in variants.items():
            _read_through(paths.values())
            os.sync()
            args = [sys.executable, "-c", _WARM_COMPARE_CHILD, *(str(paths[k]) for k in ("a", "b", "scl_a", "scl_b"))]
            _, _, stdout = _run_child([*args, str(out_dir)], REPO)
            times[codec].append(json.loads(stdout.strip().splitlines()[-1])["wall"])
    result = {}
    for codec, (paths, write_s) in variants.items():
        result[codec] = {
            "creation_options": CODECS[codec],
            "size_mb": round(sum(p.stat().st_size for p in paths.values()) / 1e6, 1),
            "write_s": round(write_s, 2),
            "compare_s": round(float(np.median(times[codec])), 3),
            "compare_runs_s": [round(t, 3) for t in times[codec]],
        }
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result
