"""The archive timeline as documents: the JSON report (query, sides, summary, periods, diagnosis, rows) and the
columns of the per-acquisition table (GeoPackage table or CSV, written by the Processing algorithm)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from s2parity_plugin.core.archive.search import SideListing
from s2parity_plugin.core.archive.timeline import AcquisitionRow, ArchiveTimeline

REPORT_KIND = "s2parity-archive-timeline"
REPORT_VERSION = 1

#: (column, type) of the per-acquisition table: "str", "int", "float" or "bool".
TABLE_FIELDS: tuple[tuple[str, str], ...] = (
    ("date", "str"),
    ("tile", "str"),
    ("relative_orbit", "int"),
    ("presence", "str"),
    ("parity", "str"),
    ("differs", "bool"),
    ("baseline_a", "str"),
    ("baseline_b", "str"),
    ("product_a", "str"),
    ("product_b", "str"),
    ("sensing_a", "str"),
    ("sensing_b", "str"),
    ("cloud_a", "float"),
    ("cloud_b", "float"),
    ("reasons", "str"),
)


def table_values(row: AcquisitionRow) -> list[Any]:
    """The row's values in :data:`TABLE_FIELDS` order (reasons joined by ``"; "``; None stays None)."""
    data = row.to_dict()
    data["reasons"] = "; ".join(row.reasons)
    return [data[name] for name, _ in TABLE_FIELDS]


def _side(listing: SideListing) -> dict[str, Any]:
    return {
        "endpoint": listing.endpoint_id,
        "base_url": listing.base_url,
        "listed": len(listing.items),
        "complete": listing.complete,
        "error": listing.error,
        "catalog_requests": listing.requests,
        "cached_chunks": listing.cached_chunks,
    }


def report_dict(timeline: ArchiveTimeline) -> dict[str, Any]:
    """The whole timeline as one JSON-ready document (what every view renders)."""
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "query": timeline.query.to_dict(),
        "sides": {"a": _side(timeline.listing_a), "b": _side(timeline.listing_b)},
        "complete": timeline.complete,
        "summary": {**timeline.counts(), "share_differ": round(timeline.share_differ, 4)},
        "periods": [p.to_dict() for p in timeline.periods],
        "diagnosis": timeline.diagnosis,
        "statements": timeline.statements,
        "acquisitions": [r.to_dict() for r in timeline.rows],
    }


def write_report(timeline: ArchiveTimeline, path: str | Path) -> Path:
    """Write :func:`report_dict` as UTF-8 JSON (via a temporary file, so a failure leaves no half-written report)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(report_dict(timeline), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_report(path: str | Path) -> dict[str, Any]:
    """Read a report written by :func:`write_report`; raises ValueError when it is not one."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if doc.get("kind") != REPORT_KIND:
        raise ValueError(f"{path} is not an S2 Parity archive timeline report")
    return doc
