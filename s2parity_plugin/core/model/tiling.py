"""Split a :class:`~.spec.Grid` into tiles of at most ``max_tile_px`` × ``max_tile_px`` pixels.

Tiles are windows of the one snapped grid (integer pixel offsets, same origin lattice and resolution), so the
mosaic of the tiles *is* the requested grid: no gaps, no overlaps, no resampling at seams. Tile sizes are balanced
(e.g. 5001 px → 1667 + 1667 + 1667 rather than 2500 + 2500 + 1). 2500 px is the Process API's maximum output size.
sentinelhub-py's ``BBoxSplitter``/``UtmZoneSplitter`` split in CRS units and may produce fractional pixel counts,
so they are not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from s2parity_plugin.core.model.spec import Grid

PROCESS_API_MAX_PX = 2500


@dataclass(frozen=True)
class Tile:
    """One tile: its pixel offset in the full grid and its own (sub-)grid."""

    index: int
    col: int  # pixel column of the tile's upper-left pixel in the full grid
    row: int  # pixel row
    grid: Grid


def _splits(total: int, max_px: int) -> list[tuple[int, int]]:
    n = max(1, math.ceil(total / max_px))
    base, extra = divmod(total, n)
    out, start = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        out.append((start, size))
        start += size
    return out


def split_grid(grid: Grid, max_tile_px: int = PROCESS_API_MAX_PX) -> list[Tile]:
    """Row-major tiles covering ``grid`` exactly; each ≤ ``max_tile_px`` pixels wide and high."""
    if max_tile_px < 1 or max_tile_px > PROCESS_API_MAX_PX:
        raise ValueError(f"max_tile_px must be 1…{PROCESS_API_MAX_PX}, not {max_tile_px}")
    tiles: list[Tile] = []
    for row, h in _splits(grid.height, max_tile_px):
        for col, w in _splits(grid.width, max_tile_px):
            tiles.append(Tile(len(tiles), col, row, grid.window(col, row, w, h)))
    return tiles
