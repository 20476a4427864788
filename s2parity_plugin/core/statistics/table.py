"""Feature × interval rows, A beside B, with the derived differences; CSV and GeoPackage writers.

Columns (units: those of the evalscript's value, NDVI for the NDVI preset; counts in pixels):

``feature_id, interval_from, interval_to, date, presence`` (``both`` / ``only_a`` / ``only_b``),
``mean_a, mean_b, stdev_a, stdev_b, min_a, min_b, max_a, max_b, sample_count_a, sample_count_b, nodata_count_a,
nodata_count_b`` (NULL where a side has no value: NaN statistics, interval error or absent interval),
``delta_mean`` = mean_b − mean_a, ``rel_delta`` = delta_mean / |mean_a|, ``delta_stdev``, ``delta_sample_count``,
``delta_nodata_count`` (≠ 0: the mask changed), ``over_tolerance`` (|delta_mean| > tolerance),
``baseline_a, baseline_b`` (baselines of the acquisitions sensed in the interval, from each side's catalog),
``error_a, error_b`` (an interval error left after the client's retries).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from osgeo import ogr

from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.statistics.baselines import Acquisition, baselines_in
from s2parity_plugin.core.statistics.evalscripts import VALUE_BAND

COLUMNS = (
    "feature_id",
    "interval_from",
    "interval_to",
    "date",
    "presence",
    "mean_a",
    "mean_b",
    "stdev_a",
    "stdev_b",
    "min_a",
    "min_b",
    "max_a",
    "max_b",
    "sample_count_a",
    "sample_count_b",
    "nodata_count_a",
    "nodata_count_b",
    "delta_mean",
    "rel_delta",
    "delta_stdev",
    "delta_sample_count",
    "delta_nodata_count",
    "over_tolerance",
    "baseline_a",
    "baseline_b",
    "error_a",
    "error_b",
)
_STATS = (("mean", "mean"), ("stdev", "stDev"), ("min", "min"), ("max", "max"))
_COUNTS = (("sample_count", "sampleCount"), ("nodata_count", "noDataCount"))
INTEGER_COLUMNS = {"sample_count_a", "sample_count_b", "nodata_count_a", "nodata_count_b"}
INTEGER_COLUMNS |= {"delta_sample_count", "delta_nodata_count", "over_tolerance"}
REAL_COLUMNS = {c for c in COLUMNS if c.startswith(("mean_", "stdev_", "min_", "max_"))}
REAL_COLUMNS |= {"delta_mean", "rel_delta", "delta_stdev"}


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def intervals_of(answer: dict[str, Any], output: str) -> dict[str, dict[str, Any]]:
    """``{interval from: {"to", "stats" | "error"}}`` of one answer (band ``B0`` of ``output``)."""
    out = {}
    for entry in answer.get("data") or []:
        interval = entry.get("interval") or {}
        start = str(interval.get("from", ""))
        if "error" in entry:
            err = entry["error"]
            out[start] = {"to": interval.get("to"), "error": err.get("type") if isinstance(err, dict) else str(err)}
            continue
        band = ((entry.get("outputs") or {}).get(output) or {}).get("bands", {}).get(VALUE_BAND) or {}
        out[start] = {"to": interval.get("to"), "stats": band.get("stats") or {}}
    return out


def _side_values(entry: dict[str, Any] | None, suffix: str) -> dict[str, Any]:
    row: dict[str, Any] = {f"error_{suffix}": (entry or {}).get("error")}
    stats = (entry or {}).get("stats") or {}
    for col, key in _STATS:
        row[f"{col}_{suffix}"] = _number(stats.get(key))
    for col, key in _COUNTS:
        value = stats.get(key)
        row[f"{col}_{suffix}"] = int(value) if isinstance(value, (int, float)) else None
    return row


def _sub(b: Any, a: Any) -> Any:
    return None if a is None or b is None else b - a


def _derived(row: dict[str, Any], tolerance: float) -> None:
    row["delta_mean"] = _sub(row["mean_b"], row["mean_a"])
    d, a = row["delta_mean"], row["mean_a"]
    row["rel_delta"] = d / abs(a) if d is not None and a else None
    row["delta_stdev"] = _sub(row["stdev_b"], row["stdev_a"])
    row["delta_sample_count"] = _sub(row["sample_count_b"], row["sample_count_a"])
    row["delta_nodata_count"] = _sub(row["nodata_count_b"], row["nodata_count_a"])
    row["over_tolerance"] = None if d is None else int(abs(d) > tolerance)


def feature_rows(
    feature_id: str,
    answer_a: dict[str, Any],
    answer_b: dict[str, Any],
    output: str,
    acqs: dict[str, Sequence[Acquisition]],
    tolerance: float,
) -> list[dict[str, Any]]:
    """Rows of one feature: the union of both sides' intervals, in time order."""
    ia, ib = intervals_of(answer_a, output), intervals_of(answer_b, output)
    rows = []
    for start in sorted(set(ia) | set(ib)):
        ea, eb = ia.get(start), ib.get(start)
        end = (ea or eb)["to"]
        t0, t1 = s2facts.parse_datetime(start), s2facts.parse_datetime(end)
        row: dict[str, Any] = {
            "feature_id": feature_id,
            "interval_from": start,
            "interval_to": end,
            "date": start[:10],
            "presence": "both" if ea and eb else ("only_a" if ea else "only_b"),
            **_side_values(ea, "a"),
            **_side_values(eb, "b"),
            "baseline_a": baselines_in(acqs.get("A", ()), t0, t1),
            "baseline_b": baselines_in(acqs.get("B", ()), t0, t1),
        }
        _derived(row, tolerance)
        rows.append({c: row.get(c) for c in COLUMNS})
    return rows


def build_table(
    feature_ids: Sequence[str],
    responses: dict[str, dict[str, dict[str, Any]]],
    output: str,
    acqs: dict[str, Sequence[Acquisition]],
    tolerance: float,
) -> list[dict[str, Any]]:
    """Rows of every feature answered on both sides (in ``feature_ids`` order)."""
    rows = []
    for fid in feature_ids:
        a, b = responses.get("A", {}).get(fid), responses.get("B", {}).get(fid)
        if a is not None and b is not None:
            rows.extend(feature_rows(fid, a, b, output, acqs, tolerance))
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """The table as CSV (UTF-8, header row, empty cells for NULL)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def _field_type(column: str) -> int:
    if column in INTEGER_COLUMNS:
        return ogr.OFTInteger64
    if column in REAL_COLUMNS:
        return ogr.OFTReal
    return ogr.OFTString


def write_gpkg_table(rows: Sequence[dict[str, Any]], path: str | Path, layer_name: str = "statistics") -> None:
    """The table as a GeoPackage attribute table (no geometry), replacing ``path``."""
    Path(path).unlink(missing_ok=True)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer(layer_name, geom_type=ogr.wkbNone)
    for column in COLUMNS:
        layer.CreateField(ogr.FieldDefn(column, _field_type(column)))
    defn = layer.GetLayerDefn()
    layer.StartTransaction()
    for row in rows:
        feat = ogr.Feature(defn)
        for column in COLUMNS:
            value = row.get(column)
            if value is None:
                feat.SetFieldNull(column)
            else:
                feat.SetField(column, value)
        layer.CreateFeature(feat)
    layer.CommitTransaction()
    ds = None
