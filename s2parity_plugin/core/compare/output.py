"""The comparison's output folder (``<run>/compare``): no debris from a killed or failed comparison (QGIS-free).

The compare engine writes every output to a hidden ``.<name>.<tag>.partial.<ext>`` file and renames it when done,
and removes its own temporary files when it fails. Two things it cannot do are done here: remove the temporary
files a *killed* comparison left (on the next comparison into the same folder), and turn a failure to write (full
disk, GDAL write error) into a clear message while removing a ``compare/`` folder that this comparison created and
that holds nothing.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

from s2parity_plugin.core.errors import OutputFolderError

PARTIAL_GLOBS = (".*.partial.tif", ".*.partial.tif.aux.xml", ".*.partial.json", ".*.json.tmp")
DISK_FULL_HINTS = ("no space left", "free disk space", "disk full")


def remove_stale_partials(out_dir: Path) -> list[Path]:
    """Remove the temporary files of an earlier comparison that was killed; the removed paths."""
    removed: list[Path] = []
    if not out_dir.is_dir():
        return removed
    for pattern in PARTIAL_GLOBS:
        for path in out_dir.glob(pattern):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return any(hint in str(exc).lower() for hint in DISK_FULL_HINTS)


@contextlib.contextmanager
def guarded(out_dir: Path) -> Iterator[None]:
    """Run a comparison into ``out_dir``: stale temporary files go first; an ``OSError``/GDAL ``RuntimeError``
    becomes :class:`OutputFolderError` saying what to do, and a ``out_dir`` created here and left empty is removed."""
    existed = out_dir.exists()
    remove_stale_partials(out_dir)
    try:
        yield
    except (OSError, RuntimeError) as exc:
        remove_stale_partials(out_dir)
        if not existed:
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # only when empty
        if _disk_full(exc):
            raise OutputFolderError(
                f"The disk holding {out_dir.parent} is full: the comparison could not be written. Free some disk "
                "space (or choose another output folder) and run it again; the fetched rasters are kept."
            ) from exc
        raise OutputFolderError(
            f"The comparison into {out_dir} could not be completed ({exc}). Check that the folder is writable and "
            "the rasters are readable, then run it again."
        ) from exc
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
