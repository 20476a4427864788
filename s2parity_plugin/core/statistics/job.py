"""One statistics comparison end to end: requests → both Statistical APIs → table, summaries, report on disk.

Outputs in ``folder`` (or the paths given): ``statistics.csv`` and ``statistics.gpkg`` (the feature × interval
table, :mod:`.table`), ``statistics_report.json`` (:func:`.summary.report`) and the resumable cache
``statistics_cache/``. Nothing is written when the inputs are refused (all checks run before the first request).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2parity_plugin.core.statistics import summary, table
from s2parity_plugin.core.statistics.requests import FeatureRequest, StatisticsSettings, build_requests
from s2parity_plugin.core.statistics.runner import RunControl, RunResult, Side, run_statistics


@dataclass
class StatisticsJob:
    """Inputs: features ``(id, geometry in EPSG:layer_epsg)``, settings, the two sides, tolerance, output paths."""

    features: Sequence[tuple[str, Any]]
    layer_epsg: int | str
    settings: StatisticsSettings
    side_a: Side
    side_b: Side
    folder: Path
    value_output: str = "value"
    tolerance: float = 0.01
    table_path: Path | None = None  # .gpkg; the CSV goes beside it (.csv)
    report_path: Path | None = None
    proxies: dict[str, str] | None = None


@dataclass
class StatisticsOutcome:
    """What a run produced (rows, per-feature summaries, report) and where it was written."""

    requests: list[FeatureRequest]
    result: RunResult
    rows: list[dict[str, Any]]
    summaries: dict[str, dict[str, Any]]
    report: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def prepare(job: StatisticsJob) -> list[FeatureRequest]:
    """Build every feature's request (raises an input error naming what to change; nothing is sent or written)."""
    return build_requests(job.features, job.layer_epsg, job.settings)


def run_job(
    job: StatisticsJob,
    requests: list[FeatureRequest] | None = None,
    control: RunControl | None = None,
) -> StatisticsOutcome:
    """Fetch, compare and write (see the module docstring); ``requests`` None: :func:`prepare`; ``control``: cancel,
    progress, log (:class:`~.runner.RunControl`). A cancelled run writes nothing but the cache."""
    requests = requests if requests is not None else prepare(job)
    sides = [job.side_a, job.side_b]
    result = run_statistics(requests, sides, job.settings, job.folder, proxies=job.proxies, control=control)
    ids = [r.feature_id for r in requests]
    rows = table.build_table(ids, result.responses, job.value_output, result.acquisitions, job.tolerance)
    sums = summary.summaries(ids, rows, job.tolerance, result.failures)
    run_info = {
        "endpoint_a": job.side_a.endpoint.profile_id,
        "endpoint_b": job.side_b.endpoint.profile_id,
        "interval": job.settings.interval.text,
        "pu_estimate": result.pu_estimate,
        "pu_spent": result.pu_spent,
        "requests_fetched": result.fetched,
        "requests_from_cache": result.from_cache,
        "partial": result.partial,
        "cancelled": result.cancelled,
    }
    outcome = StatisticsOutcome(requests, result, rows, sums, summary.report(rows, sums, job.tolerance, run_info))
    if not result.cancelled:
        outcome.paths = write_outputs(job, outcome)
    return outcome


def write_outputs(job: StatisticsJob, outcome: StatisticsOutcome) -> dict[str, Path]:
    """Write the table (GeoPackage + CSV) and the report; returns their paths."""
    gpkg = Path(job.table_path or Path(job.folder) / "statistics.gpkg")
    csv_path = gpkg.with_suffix(".csv")
    report_path = Path(job.report_path or Path(job.folder) / "statistics_report.json")
    for p in (gpkg, csv_path, report_path):
        p.parent.mkdir(parents=True, exist_ok=True)
    table.write_gpkg_table(outcome.rows, gpkg)
    table.write_csv(outcome.rows, csv_path)
    report_path.write_text(json.dumps(outcome.report, indent=2), encoding="utf-8")
    return {"table": gpkg, "csv": csv_path, "report": report_path}
