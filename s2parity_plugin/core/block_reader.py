"""Read full-width row ranges of an uncompressed, single-band GeoTIFF straight from its file with ``os.pread``.

The compare engine's strip reader uses this for uncompressed inputs. GDAL itself would either read them through
its block cache (a second copy), with ``GTIFF_DIRECT_IO`` (one small read per tile row: 704 system calls per
32-row strip of a 512 × 512-tiled Sentinel-2 tile) or through a memory mapping (``GTIFF_VIRTUAL_MEM_IO``). The
mapping was fast, but every page-cache folio it touched counted in the process's RSS — up to 2 MB per tile per
strip once the kernel caches the file in large folios (measured: 44 MB per float32 input, peak RSS 297 → 375 MB
for the same compare) — and a mapped file truncated by another program meanwhile kills the process (SIGBUS).

Here GDAL only tells where each block is (``BLOCK_OFFSET_x_y`` / ``BLOCK_SIZE_x_y`` of its ``TIFF`` metadata
domain); the reader then issues one ``pread`` per block and strip: for strips (stripped files) straight into the
caller's rows, for tiles into a staging array (tiles × rows × tile width) copied into place by numpy. No mapping,
nothing left in RSS, and a file that shrinks meanwhile gives a clear error (:class:`BlockReadError`), not a crash.

:func:`open_block_reader` returns None (the caller keeps GDAL's reads) unless the file is a little-endian, single
band, uncompressed GeoTIFF with every block present (no sparse blocks) at its full size, on a little-endian
machine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array


class BlockReadError(OSError):
    """The file changed under the reader (a block is shorter than the directory says)."""


class BlockReader:
    """Full-width row ranges of band 1 from the blocks of an uncompressed GeoTIFF (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        dtype: np.dtype,
        width: int,
        height: int,
        block: tuple[int, int],
        offsets: np.ndarray,
    ) -> None:
        self.path = path
        self.dtype = dtype
        self.width, self.height = width, height
        self.block_w, self.block_h = block
        self.offsets = offsets  # (block rows, block columns) byte offsets
        self.tiled = offsets.shape[1] > 1 or self.block_w != width
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._staging: np.ndarray | None = None  # tiles × rows × tile width, for tiled files

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:  # pragma: no cover - safety net; the owner closes
        self.close()

    def _pread_into(self, view: memoryview, offset: int) -> None:
        done = 0
        while done < len(view):
            n = os.preadv(self._fd, [view[done:]], offset + done)
            if n <= 0:
                raise BlockReadError(f"{self.path.name}: the file ended at byte {offset + done} while being read")
            done += n

    def read(self, r0: int, rows: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``r0 .. r0 + rows`` (all columns) of band 1, into ``out`` (C-contiguous, ``(rows, width)``, this
        reader's type) when given."""
        if out is None:
            out = np.empty((rows, self.width), dtype=self.dtype)
        row_bytes_block = self.block_w * self.dtype.itemsize
        r = r0
        while r < r0 + rows:
            by, in_block = divmod(r, self.block_h)
            n = min(self.block_h - in_block, r0 + rows - r)
            dest = out[r - r0 : r - r0 + n]
            if not self.tiled:  # a strip: the rows are contiguous in the file, read straight into place
                self._pread_into(memoryview(dest).cast("B"), int(self.offsets[by, 0]) + in_block * row_bytes_block)
            else:  # one read per tile into the staging array, then one copy of all tiles into place
                n_tiles = self.offsets.shape[1]
                need = n_tiles * n * self.block_w
                if self._staging is None or self._staging.size < need:
                    self._staging = np.empty(need, dtype=self.dtype)
                stage = self._staging[:need].reshape(n_tiles, n, self.block_w)
                for bx in range(n_tiles):
                    self._pread_into(
                        memoryview(stage[bx]).cast("B"), int(self.offsets[by, bx]) + in_block * row_bytes_block
                    )
                whole = self.width // self.block_w  # tiles entirely inside the raster
                if whole:
                    dest[:, : whole * self.block_w].reshape(n, whole, self.block_w)[...] = stage[:whole].transpose(
                        1, 0, 2
                    )
                if whole < n_tiles:  # the last tile column sticks out of the raster (padding in the file)
                    dest[:, whole * self.block_w :] = stage[whole][:, : self.width - whole * self.block_w]
            r += n
        return out


def open_block_reader(ds: gdal.Dataset, path: str | Path) -> BlockReader | None:
    """A :class:`BlockReader` for band 1 of ``ds`` (a GeoTIFF opened from ``path``), or None when the file does not
    qualify (then read with GDAL)."""
    path = Path(path)
    if not hasattr(os, "preadv") or sys.byteorder != "little":  # preadv: Linux, BSDs, macOS (not Windows)
        return None
    if ds.GetDriver().ShortName != "GTiff" or ds.RasterCount != 1:
        return None
    if (ds.GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE") or "NONE").upper() != "NONE":
        return None
    band = ds.GetRasterBand(1)
    if band.GetMetadataItem("NBITS", "IMAGE_STRUCTURE"):  # packed samples (e.g. 12 bit)
        return None
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"II":  # byte order of the file's samples
                return None
    except OSError:
        return None
    dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(band.DataType)).newbyteorder("<")
    if dtype.kind not in "uif" or dtype.itemsize * 8 != gdal.GetDataTypeSize(band.DataType):
        return None
    block_w, block_h = band.GetBlockSize()
    bx_n = -(-ds.RasterXSize // block_w)
    by_n = -(-ds.RasterYSize // block_h)
    block_bytes = block_w * block_h * dtype.itemsize
    offsets = np.zeros((by_n, bx_n), dtype=np.int64)
    for by in range(by_n):
        for bx in range(bx_n):
            offset = band.GetMetadataItem(f"BLOCK_OFFSET_{bx}_{by}", "TIFF")
            size = band.GetMetadataItem(f"BLOCK_SIZE_{bx}_{by}", "TIFF")
            if not offset or not size:  # sparse block (or not a GeoTIFF block layout GDAL exposes)
                return None
            # a strip file's last strip may be shorter (only the rows that exist)
            last_rows = ds.RasterYSize - by * block_h if bx_n == 1 and by == by_n - 1 else block_h
            if int(size) != block_bytes and int(size) != block_w * last_rows * dtype.itemsize:
                return None
            offsets[by, bx] = int(offset)
    return BlockReader(path, dtype, ds.RasterXSize, ds.RasterYSize, (block_w, block_h), offsets)
