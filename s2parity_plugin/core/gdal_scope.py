"""GDAL settings the plugin needs, scoped to its own calls (QGIS and other plugins share the process), and the
GeoTIFF compression it writes.

* :func:`gdal_exceptions` — GDAL raises Python exceptions inside the block (``gdal.UseExceptions``; OGR/OSR keep
  their error codes, as before), and the error mode GDAL had before is restored when the last block (of any
  thread) ends. Usable as a decorator.
* :func:`gdal_cache_limit` — GDAL's process-wide block cache capped while the block runs, restored afterwards.

Both count nested and concurrent users (the compare engine's reader, writer and shift threads overlap): the
first user records and changes the setting, the last one restores it. With GDAL builds whose error mode is per
thread, every thread that enters turns exceptions on for itself; the process-wide state is still restored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from osgeo import gdal

_LOCK = threading.Lock()
#: GeoTIFF options of the plugin's compressed rasters: ZSTD level 1 (decodes in half the CPU time of DEFLATE at the
#: same size, encodes ≈ 3× faster; ``docs/performance.md``), DEFLATE where this GDAL lacks ZSTD.
FAST_COMPRESSION = (
    ["COMPRESS=ZSTD", "ZSTD_LEVEL=1"]
    if "ZSTD" in (gdal.GetDriverByName("GTiff").GetMetadataItem("DMD_CREATIONOPTIONLIST") or "")
    else ["COMPRESS=DEFLATE", "ZLEVEL=1"]
)
_exceptions_users = 0
_exceptions_before = False
_cache_users = 0
_cache_before = 0


def _set_exceptions(on: bool) -> None:
    if on and not gdal.GetUseExceptions():
        gdal.UseExceptions()
    elif not on and gdal.GetUseExceptions():
        gdal.DontUseExceptions()


@contextlib.contextmanager
def gdal_exceptions() -> Iterator[None]:
    """GDAL raises exceptions inside the block; its previous error mode is restored after the last user's block."""
    global _exceptions_users, _exceptions_before
    with _LOCK:
        if _exceptions_users == 0:
            _exceptions_before = bool(gdal.GetUseExceptions())
        _exceptions_users += 1
        _set_exceptions(True)
    try:
        yield
    finally:
        with _LOCK:
            _exceptions_users -= 1
            if _exceptions_users == 0:
                _set_exceptions(_exceptions_before)


@contextlib.contextmanager
def gdal_cache_limit(limit_mb: int) -> Iterator[None]:
    """Cap GDAL's (process-wide) block cache at ``limit_mb`` MB inside the block (never raises it); the limit
    it had before is restored after the last user's block."""
    global _cache_users, _cache_before
    limit = limit_mb * 1024 * 1024
    with _LOCK:
        if _cache_users == 0:
            _cache_before = gdal.GetCacheMax()
        _cache_users += 1
        if gdal.GetCacheMax() > limit:
            gdal.SetCacheMax(limit)
    try:
        yield
    finally:
        with _LOCK:
            _cache_users -= 1
            if _cache_users == 0 and gdal.GetCacheMax() != _cache_before:
                gdal.SetCacheMax(_cache_before)
