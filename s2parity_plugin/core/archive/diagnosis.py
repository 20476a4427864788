"""The archive timeline in words: one sentence per period, what is missing where, and the share expected to differ.

English text (the core has no Qt); the dock shows it as it is, the JSON report stores it."""

from __future__ import annotations

from s2parity_plugin.core.archive.search import SideListing
from s2parity_plugin.core.archive.timeline import ArchiveTimeline, Period
from s2parity_plugin.core.model import s2facts


def describe_period(period: Period) -> str:
    """``2019-01-28 – 2019-07-03 (36 acquisitions): A 02.12, B 05.00 — expected to differ: …``."""
    span = period.first if period.first == period.last else f"{period.first} – {period.last}"
    n = f"{period.count} acquisition{'s' if period.count != 1 else ''}"
    missing = _missing_words(period.only_a, period.only_b)
    head = f"{span} ({n}{missing}): A {period.baseline_a or '—'}, B {period.baseline_b or '—'}"
    if period.parity == s2facts.IDENTICAL:
        return f"{head} — the same products on both sides, no difference expected" + _except(period)
    if period.parity in (s2facts.ONLY_A, s2facts.ONLY_B):
        return f"{head} — listed on one side only"
    return f"{head} — expected to differ: " + "; ".join(period.reasons[1:] or period.reasons)


def _missing_words(only_a: int, only_b: int) -> str:
    parts = []
    if only_b:
        parts.append(f"{only_b} missing on B")
    if only_a:
        parts.append(f"{only_a} missing on A")
    return (", " + ", ".join(parts)) if parts else ""


def _except(period: Period) -> str:
    return " except where one side lacks the product" if period.differ else ""


def side_statements(listing: SideListing, other: SideListing, query_words: str) -> list[str]:
    """Clear statements about one side: unreachable (incomplete list) or no acquisitions at all."""
    out = []
    name = f"Endpoint {listing.side} ({listing.endpoint_id})"
    if not listing.complete:
        out.append(
            f"{name} could not be searched completely: {listing.error} Its list is incomplete "
            f"({len(listing.items)} acquisitions listed before the failure); acquisitions shown as missing on "
            f"{listing.side} may exist there."
        )
    elif not listing.items:
        tail = (
            f" — all {len(other.items)} acquisitions of {other.side} are missing on {listing.side}"
            if other.items
            else ""
        )
        out.append(f"{name} lists no acquisition {query_words}{tail}.")
    return out


def diagnose(timeline: ArchiveTimeline) -> tuple[str, list[str]]:
    """``(diagnosis, statements)``: the diagnosis paragraph (summary + one sentence per period) and the separate
    statements about unreachable or empty sides."""
    q = timeline.query
    cloud = f" with cloud cover ≤ {q.max_cloud_coverage:g} %" if q.max_cloud_coverage < 100 else ""
    query_words = f"over this AOI between {q.date_from} and {q.date_to}{cloud}"
    statements = side_statements(timeline.listing_a, timeline.listing_b, query_words)
    statements += side_statements(timeline.listing_b, timeline.listing_a, query_words)
    one_sided = sum(r.presence != "both" for r in timeline.rows)
    if cloud and one_sided:
        statements.append(
            f"With a cloud limit, {one_sided} acquisition(s) can be listed on one side only because the two "
            "baselines estimate cloud cover differently: set the limit to 100 % to see the archives' own gaps."
        )
    if not timeline.rows:
        text = (
            f"Neither endpoint lists an acquisition {query_words}: widen the period, raise the cloud limit or check "
            "the AOI."
        )
        return text, statements
    counts = timeline.counts()
    summary = (
        f"{counts['expected_to_differ']} of {counts['acquisitions']} acquisitions "
        f"({100 * timeline.share_differ:.0f} %) are expected to differ between A and B in "
        f"{len(timeline.periods)} period{'s' if len(timeline.periods) != 1 else ''}"
    )
    if counts["a_only"] or counts["b_only"]:
        summary += f"; {counts['a_only']} are listed only by A and {counts['b_only']} only by B"
    if not timeline.complete:
        summary += " (incomplete: see below)"
    lines = [summary + "."] + [describe_period(p) + "." for p in timeline.periods]
    return "\n".join(lines), statements
