"""Compare one run folder and complete its report with what a whole-workflow run adds: the A-vs-B density (for
the results plot) and, for an AOI of several features, the per-feature table. ``report.json`` is rewritten once,
atomically. This is ``s2parity:compareendpoints``'s compare step; the algorithm only converts QGIS objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s2parity_plugin.core.compare import scl_check
from s2parity_plugin.core.compare.engine import compare_run_folder
from s2parity_plugin.core.compare.options import CompareOptions, CompareResult, Progress
from s2parity_plugin.core.fetch.run_folder import file_path, load_manifest
from s2parity_plugin.core.report import document as report_mod
from s2parity_plugin.core.report.density import density_histogram
from s2parity_plugin.core.report.zonal import feature_stats

SIDE_FILES = ("value_a", "value_b", "scl_a", "scl_b")


@dataclass
class RunComparison:
    """The comparison of one run folder: the compare result and the run's input rasters (None when absent)."""

    run_dir: Path
    result: CompareResult
    inputs: dict[str, Path | None]


def run_grid_crs(run_dir: str | Path) -> str:
    """The CRS of the run's grid as stored in ``run.json`` (e.g. ``EPSG:32633``; '' when unknown)."""
    return str(load_manifest(Path(run_dir)).get("grid", {}).get("crs", "") or "")


def compare_and_complete(
    run_dir: str | Path,
    *,
    zones: list[tuple[int | str, str]] | None = None,
    quantity: str = "",
    options: CompareOptions | None = None,
    feedback: Progress | None = None,
) -> RunComparison:
    """Compare the run folder (:class:`~s2parity_plugin.core.compare.CompareOptions`; ``feedback`` as for
    :func:`~s2parity_plugin.core.compare.compare_rasters`), add the
    density and — with more than one zone (feature id, WKT polygon in the grid's CRS) — the per-feature table to
    the report, and rewrite ``report.json``."""
    run_dir = Path(run_dir)
    manifest = load_manifest(run_dir)
    result = compare_run_folder(run_dir, options=options, feedback=feedback)
    inputs = {key: file_path(run_dir, manifest, key) for key in SIDE_FILES}
    report = result.report
    scl_check.annotate(report, inputs["scl_a"], inputs["scl_b"])  # SCL values outside 0–11, counted per side
    report["density"] = density_histogram(inputs["value_a"], inputs["value_b"], result.difference)
    if zones and len(zones) > 1:
        report["features"] = feature_stats(
            inputs["value_a"], inputs["value_b"], result.difference, zones, result.mismatch, quantity
        )
    report_mod.write_json(report, result.report_path)
    return RunComparison(run_dir, result, inputs)
