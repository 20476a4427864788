"""Per-acquisition rows with expected parity, and the periods that summarise them.

A row is one acquisition (tile × sensing time) seen on A, on B or on both, with what to expect when its pixels are
compared (:func:`s2parity_plugin.core.model.s2facts.expected_parity`: identical product, different baselines with what
that implies, or missing on one side). Periods are contiguous runs of rows, in date order, with the same baseline
pair and expectation; an acquisition missing on one side is counted inside the period around it (it does not cut a
period in two). Acquisitions missing on one side count as *expected to differ* (one side has nothing to compare).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from s2parity_plugin.core.archive.matching import MatchedPair
from s2parity_plugin.core.archive.query import ArchiveQuery
from s2parity_plugin.core.archive.search import CatalogItem, SideListing
from s2parity_plugin.core.model import s2facts

BOTH, A_ONLY, B_ONLY = "both", "a_only", "b_only"


@dataclass(frozen=True)
class AcquisitionRow:
    """One acquisition. Dates/times are UTC ISO-8601; cloud cover in percent; ``presence`` is ``both``, ``a_only``
    or ``b_only``; ``parity`` a :mod:`s2facts` parity kind with its ``reasons`` in words."""

    date: str
    tile: str | None
    relative_orbit: int | None
    sensing_a: str | None
    sensing_b: str | None
    product_a: str | None
    product_b: str | None
    baseline_a: str | None
    baseline_b: str | None
    cloud_a: float | None
    cloud_b: float | None
    presence: str
    parity: str
    differs: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


def row_for(pair: MatchedPair) -> AcquisitionRow:
    """The row of one matched (or single) acquisition."""
    a, b = pair.a, pair.b
    first = pair.any
    parity = s2facts.expected_parity(
        a.baseline if a else None, b.baseline if b else None, a.id if a else None, b.id if b else None
    )
    presence = BOTH if a and b else (A_ONLY if a else B_ONLY)
    return AcquisitionRow(
        date=first.sensing.date().isoformat(),
        tile=first.tile,
        relative_orbit=(a.relative_orbit if a and a.relative_orbit is not None else (b.relative_orbit if b else None)),
        sensing_a=_iso(a),
        sensing_b=_iso(b),
        product_a=a.id if a else None,
        product_b=b.id if b else None,
        baseline_a=a.baseline if a else None,
        baseline_b=b.baseline if b else None,
        cloud_a=a.cloud_cover if a else None,
        cloud_b=b.cloud_cover if b else None,
        presence=presence,
        parity=parity.kind,
        differs=parity.differs,
        reasons=parity.reasons,
    )


def _iso(item: CatalogItem | None) -> str | None:
    if item is None:
        return None
    return item.sensing.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Period:
    """Contiguous acquisitions (dates ``first``..``last``, UTC) with the same baseline pair and expectation.

    ``count`` rows in all, of which ``only_a``/``only_b`` are missing on one side and ``differ`` are expected to
    differ (missing ones included); ``share_differ`` = ``differ / count``."""

    first: str
    last: str
    baseline_a: str | None
    baseline_b: str | None
    parity: str
    reasons: tuple[str, ...]
    count: int = 0
    only_a: int = 0
    only_b: int = 0
    differ: int = 0

    @property
    def share_differ(self) -> float:
        return self.differ / self.count if self.count else 0.0

    @property
    def differs(self) -> bool:
        return self.parity != s2facts.IDENTICAL

    def add(self, row: AcquisitionRow) -> None:
        self.count += 1
        self.last = max(self.last, row.date)
        self.only_a += row.presence == A_ONLY
        self.only_b += row.presence == B_ONLY
        self.differ += row.differs

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["share_differ"] = round(self.share_differ, 4)
        return out


def _key(row: AcquisitionRow) -> tuple:
    return (row.baseline_a, row.baseline_b, row.parity)


def _row_keys(rows: list[AcquisitionRow]) -> list[tuple]:
    """The period key of each row: its own for rows on both sides; for a row missing on one side, the key of the
    nearest row on both sides before or after it whose baseline on the present side is the same (else the one
    before, else after); its own when no row is on both sides."""
    both = [i for i, r in enumerate(rows) if r.presence == BOTH]
    keys = []
    for i, row in enumerate(rows):
        if row.presence == BOTH or not both:
            keys.append(_key(row))
            continue
        prev = next((j for j in reversed(both) if j < i), None)
        nxt = next((j for j in both if j > i), None)
        present = row.baseline_a if row.presence == A_ONLY else row.baseline_b
        side = 0 if row.presence == A_ONLY else 1
        options = [j for j in (prev, nxt) if j is not None]
        same = [j for j in options if _key(rows[j])[side] == present]
        keys.append(_key(rows[(same or options)[0]]))
    return keys


def summarise_periods(rows: list[AcquisitionRow]) -> list[Period]:
    """Periods of ``rows`` (sorted by date) — see the module docstring."""
    periods: list[Period] = []
    current_key = None
    for row, key in zip(rows, _row_keys(rows)):
        if key != current_key:
            reasons = _reasons_for(key, row)
            periods.append(Period(row.date, row.date, key[0], key[1], key[2], reasons))
            current_key = key
        periods[-1].add(row)
    return periods


def _reasons_for(key: tuple, row: AcquisitionRow) -> tuple[str, ...]:
    if _key(row) == key:
        return row.reasons
    return s2facts.expected_parity(key[0], key[1]).reasons


@dataclass
class ArchiveTimeline:
    """The result of one archive comparison: both listings, the rows, the periods and their diagnosis."""

    query: ArchiveQuery
    listing_a: SideListing
    listing_b: SideListing
    rows: list[AcquisitionRow]
    periods: list[Period]
    diagnosis: str = ""
    statements: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.listing_a.complete and self.listing_b.complete

    @property
    def differ_count(self) -> int:
        return sum(r.differs for r in self.rows)

    @property
    def share_differ(self) -> float:
        return self.differ_count / len(self.rows) if self.rows else 0.0

    def counts(self) -> dict[str, int]:
        return {
            "acquisitions": len(self.rows),
            "both": sum(r.presence == BOTH for r in self.rows),
            "a_only": sum(r.presence == A_ONLY for r in self.rows),
            "b_only": sum(r.presence == B_ONLY for r in self.rows),
            "identical": sum(r.parity == s2facts.IDENTICAL for r in self.rows),
            "expected_to_differ": self.differ_count,
            "listed_a": len(self.listing_a.items),
            "listed_b": len(self.listing_b.items),
        }
