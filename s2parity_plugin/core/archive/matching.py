"""Pair the items two catalogs list for the same acquisitions.

The same acquisition does not carry the same id or datetime on two deployments: ids differ in baseline, processing
time and a ``.SAFE`` suffix; datetimes differ in precision (``…29Z`` vs ``…29.024Z``) and by seconds to minutes
(granule vs datatake time). Items are therefore paired by **tile** (from the product id) and **sensing time**
within :data:`DEFAULT_TOLERANCE_S`, nearest first; a differing known relative orbit forbids a pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from s2parity_plugin.core.archive.search import CatalogItem

#: Two items of one tile whose sensing times differ by at most this many seconds are the same acquisition.
#: Consecutive acquisitions of one tile are ≥ 2 days apart; real deployments differ by up to ≈ 15 minutes.
DEFAULT_TOLERANCE_S = 30 * 60.0


@dataclass(frozen=True)
class MatchedPair:
    """One acquisition: its item on A and on B (either None when that side does not list it)."""

    a: CatalogItem | None
    b: CatalogItem | None

    @property
    def any(self) -> CatalogItem:
        return self.a if self.a is not None else self.b  # type: ignore[return-value]


def match_items(
    items_a: list[CatalogItem], items_b: list[CatalogItem], tolerance_s: float = DEFAULT_TOLERANCE_S
) -> list[MatchedPair]:
    """Pairs (and singles) of the two listings, sorted by sensing time then tile. Within one tile, candidate pairs
    are taken closest in time first, so one item is never used twice."""
    by_tile_a, by_tile_b = _by_tile(items_a), _by_tile(items_b)
    pairs: list[MatchedPair] = []
    for tile in sorted(set(by_tile_a) | set(by_tile_b), key=str):
        pairs.extend(_match_tile(by_tile_a.get(tile, []), by_tile_b.get(tile, []), tolerance_s))
    return sorted(pairs, key=lambda p: (p.any.sensing, p.any.tile or "", p.any.id))


def _by_tile(items: list[CatalogItem]) -> dict[str | None, list[CatalogItem]]:
    out: dict[str | None, list[CatalogItem]] = {}
    for item in items:
        out.setdefault(item.tile, []).append(item)
    return out


def _compatible(a: CatalogItem, b: CatalogItem, tolerance_s: float) -> bool:
    if a.relative_orbit is not None and b.relative_orbit is not None and a.relative_orbit != b.relative_orbit:
        return False
    return abs((a.sensing - b.sensing).total_seconds()) <= tolerance_s


def _match_tile(items_a: list[CatalogItem], items_b: list[CatalogItem], tolerance_s: float) -> list[MatchedPair]:
    candidates = []
    j0 = 0
    sorted_b = sorted(items_b, key=lambda i: i.sensing)
    for i, a in enumerate(sorted(items_a, key=lambda i: i.sensing)):
        while j0 < len(sorted_b) and (a.sensing - sorted_b[j0].sensing).total_seconds() > tolerance_s:
            j0 += 1
        j = j0
        while j < len(sorted_b) and (sorted_b[j].sensing - a.sensing).total_seconds() <= tolerance_s:
            if _compatible(a, sorted_b[j], tolerance_s):
                candidates.append((abs((a.sensing - sorted_b[j].sensing).total_seconds()), i, j))
            j += 1
    sorted_a = sorted(items_a, key=lambda i: i.sensing)
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, i, j in sorted(candidates):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append(MatchedPair(sorted_a[i], sorted_b[j]))
    pairs += [MatchedPair(a, None) for i, a in enumerate(sorted_a) if i not in used_a]
    pairs += [MatchedPair(None, b) for j, b in enumerate(sorted_b) if j not in used_b]
    return pairs
