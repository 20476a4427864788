"""Per-feature summary fields and the JSON report (totals, Δ per baseline pair, diagnosis in words).

Summary fields per feature (units of the compared value; NDVI for the NDVI preset):
``intervals_compared`` (both sides have a mean), ``only_a``, ``only_b`` (intervals one side lacks), ``mean_delta``
(mean of Δ = B − A), ``mean_abs_delta``, ``max_abs_delta``, ``share_over_tolerance`` (0–1), ``worst_date`` (date of
max |Δ|), ``baselines_seen`` (``A 02.14/02.13 · B 05.00``), ``status`` (``ok`` / ``failed: <error>``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

#: The baseline change "explains most of the difference" when intervals with different baselines differ on average
#: by more than this many times those with the same baseline.
BASELINE_EXPLAINS_RATIO = 2


def _baselines(rows: Sequence[dict[str, Any]], col: str) -> str:
    seen = sorted({b for r in rows for b in (r[col] or "").split("/") if b})
    return "/".join(seen) or "?"


def feature_summary(rows: Sequence[dict[str, Any]], tolerance: float, failure: str | None = None) -> dict[str, Any]:
    """Summary fields of one feature from its table rows (see the module docstring)."""
    both = [r for r in rows if r["delta_mean"] is not None]
    deltas = np.array([r["delta_mean"] for r in both], dtype=float)
    worst = both[int(np.argmax(np.abs(deltas)))] if both else None
    return {
        "intervals_compared": len(both),
        "only_a": sum(1 for r in rows if r["presence"] == "only_a"),
        "only_b": sum(1 for r in rows if r["presence"] == "only_b"),
        "mean_delta": float(deltas.mean()) if both else None,
        "mean_abs_delta": float(np.abs(deltas).mean()) if both else None,
        "max_abs_delta": float(np.abs(deltas).max()) if both else None,
        "share_over_tolerance": float(np.mean(np.abs(deltas) > tolerance)) if both else None,
        "worst_date": worst["date"] if worst else None,
        "baselines_seen": f"A {_baselines(rows, 'baseline_a')} · B {_baselines(rows, 'baseline_b')}" if rows else "",
        "status": f"failed: {failure}" if failure else "ok",
    }


def summaries(
    feature_ids: Sequence[str], rows: Sequence[dict[str, Any]], tolerance: float, failures: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """``{feature id: summary}`` for every feature (failed ones with empty figures)."""
    by_feature: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_feature[r["feature_id"]].append(r)
    return {fid: feature_summary(by_feature.get(fid, []), tolerance, failures.get(fid)) for fid in feature_ids}


def _distribution(deltas: Sequence[float], tolerance: float) -> dict[str, Any]:
    d = np.asarray(deltas, dtype=float)
    a = np.abs(d)
    return {
        "count": int(d.size),
        "mean_delta": float(d.mean()),
        "mean_abs_delta": float(a.mean()),
        "median_abs_delta": float(np.median(a)),
        "p95_abs_delta": float(np.percentile(a, 95)),
        "max_abs_delta": float(a.max()),
        "share_over_tolerance": float(np.mean(a > tolerance)),
    }


def grouped(rows: Sequence[dict[str, Any]], key: Any, tolerance: float) -> dict[str, dict[str, Any]]:
    """Δ distribution of compared rows grouped by ``key(row)``."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["delta_mean"] is not None:
            groups[key(r)].append(r["delta_mean"])
    return {k: _distribution(v, tolerance) for k, v in sorted(groups.items())}


def pair_key(row: dict[str, Any]) -> str:
    """``"02.14 → 05.00"`` (``?`` for a side without a known baseline)."""
    return f"{row['baseline_a'] or '?'} → {row['baseline_b'] or '?'}"


def diagnosis(by_pair: dict[str, dict[str, Any]], by_month: dict[str, dict[str, Any]], tolerance: float) -> list[str]:
    """Sentences saying which baseline pairs and periods carry the differences, and by how much."""
    if not by_pair:
        return ["No interval was computed by both sides: nothing to compare (check the dates and the failures)."]
    lines = []
    for pair, d in sorted(by_pair.items(), key=lambda kv: -kv[1]["mean_abs_delta"]):
        a, b = pair.split(" → ")
        kind = "the same baseline" if a == b else "different baselines"
        lines.append(
            f"{pair} ({kind}): {d['count']} feature-intervals, mean Δ {d['mean_delta']:+.4f}, mean |Δ| "
            f"{d['mean_abs_delta']:.4f}, 95th percentile |Δ| {d['p95_abs_delta']:.4f}; "
            f"{100 * d['share_over_tolerance']:.0f}% over the tolerance {tolerance:g}."
        )
    worst_month = max(by_month.items(), key=lambda kv: kv[1]["mean_abs_delta"])
    lines.append(
        f"The largest differences are in {worst_month[0]} (mean |Δ| {worst_month[1]['mean_abs_delta']:.4f} over "
        f"{worst_month[1]['count']} feature-intervals)."
    )
    same = [d for p, d in by_pair.items() if p.split(" → ")[0] == p.split(" → ")[1]]
    diff = [d for p, d in by_pair.items() if p.split(" → ")[0] != p.split(" → ")[1]]
    if same and diff:
        ms = np.mean([d["mean_abs_delta"] for d in same])
        md = np.mean([d["mean_abs_delta"] for d in diff])
        explains = md > BASELINE_EXPLAINS_RATIO * ms
        verdict = "explains most of the difference." if explains else "does not explain it alone."
        lines.append(
            f"Intervals where the deployments serve different processing baselines differ by {md:.4f} on average, "
            f"those with the same baseline by {ms:.4f}: the baseline change {verdict}"
        )
    return lines


def report(
    rows: Sequence[dict[str, Any]], feature_summaries: dict[str, dict[str, Any]], tolerance: float, run: dict[str, Any]
) -> dict[str, Any]:
    """The JSON report: totals, Δ per baseline pair and per month, failures, diagnosis."""
    by_pair = grouped(rows, pair_key, tolerance)
    by_month = grouped(rows, lambda r: r["date"][:7], tolerance)
    compared = [r for r in rows if r["delta_mean"] is not None]
    failures = {k: v["status"][len("failed: ") :] for k, v in feature_summaries.items() if v["status"] != "ok"}
    totals = {
        "features": len(feature_summaries),
        "features_failed": len(failures),
        "rows": len(rows),
        "intervals_compared": len(compared),
        "only_a": sum(1 for r in rows if r["presence"] == "only_a"),
        "only_b": sum(1 for r in rows if r["presence"] == "only_b"),
        "mask_changed": sum(1 for r in compared if r["delta_nodata_count"]),
        "over_tolerance": sum(1 for r in compared if r["over_tolerance"]),
        "tolerance": tolerance,
        **run,
    }
    if compared:
        totals["delta"] = _distribution([r["delta_mean"] for r in compared], tolerance)
    return {
        "totals": totals,
        "by_baseline_pair": by_pair,
        "by_month": by_month,
        "failures": failures,
        "diagnosis": diagnosis(by_pair, by_month, tolerance),
    }
