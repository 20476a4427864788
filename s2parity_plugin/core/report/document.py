"""The compare Report: one JSON document, and its CSV and self-contained HTML renderings.

Top-level keys: ``grid``, ``stats``, ``scl``, ``shift``, ``diagnosis`` (fixed by the compare issue), plus
``schema``, ``units``, ``inputs``, ``options``, ``outputs`` and ``timings``. Every view (dock, Processing output,
HTML/CSV export) renders this document and computes nothing of its own.

Units: ``stats`` values are in ``units`` (DN or REFLECTANCE, "unknown" when the metadata did not say); shifts in
px and m (see :mod:`s2parity_plugin.core.compare.shift` for the sign convention).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

SCHEMA = 1


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, tuples → lists, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Findings:
    """What a comparison found, one field per report section: the grid (its own CRS), the difference statistics
    (units of the inputs), the SCL section (None without SCL rasters), the shift (px and m), the diagnosis, the
    statistics after shift correction (None when not corrected) and the units ("DN", "REFLECTANCE", None)."""

    grid: dict[str, Any]
    stats: dict[str, Any]
    scl: dict[str, Any] | None
    shift: dict[str, Any]
    diagnosis: dict[str, Any]
    shift_corrected_stats: dict[str, Any] | None = None
    units: str | None = None


@dataclass
class RunRecord:
    """How the comparison ran: input paths, resolved options, output file names and seconds per stage."""

    inputs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def build_report(findings: Findings, run: RunRecord | None = None) -> dict[str, Any]:
    """Assemble the report document (JSON-safe; NaN → null)."""
    run = run or RunRecord()
    if findings.scl is None:
        scl = {"available": False, "counts": None, "shares": None, "confusion": None, "class_names": None}
    else:
        scl = {"available": True, **findings.scl}
    shift = dict(findings.shift)
    shift["corrected_stats"] = findings.shift_corrected_stats
    report = {
        "schema": SCHEMA,
        "units": findings.units or "unknown",
        "grid": findings.grid,
        "stats": findings.stats,
        "scl": scl,
        "shift": shift,
        "diagnosis": findings.diagnosis,
        "inputs": run.inputs,
        "options": run.options,
        "outputs": run.outputs,
        "timings": {k: round(v, 3) for k, v in run.timings.items()},
    }
    return _clean(report)


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Write ``report`` as UTF-8 JSON (indented) at ``path`` (via a temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a report written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------------------
# CSV


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):  # matrix: one row per line
            for i, row in enumerate(value):
                _flatten(f"{prefix}.{i}", row, rows)
        elif value and any(isinstance(v, dict) for v in value):
            for i, v in enumerate(value):
                _flatten(f"{prefix}.{i}", v, rows)
        else:
            rows.append((prefix, ";".join("" if v is None else str(v) for v in value)))
    else:
        rows.append((prefix, "" if value is None else str(value)))


def render_csv(report: dict[str, Any]) -> str:
    """The report as CSV text with columns ``key,value`` (dotted keys; lists joined with ';'; matrix rows as
    ``scl.confusion.<A class>``). Per-window shift details are left out."""
    rows: list[tuple[str, str]] = []
    trimmed = dict(report)
    if isinstance(trimmed.get("shift"), dict):
        trimmed["shift"] = {k: v for k, v in trimmed["shift"].items() if k != "windows"}
    _flatten("", trimmed, rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("key", "value"))
    writer.writerows(rows)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------------------------
# HTML


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _histogram_png(stats: dict[str, Any]) -> str | None:
    hist = stats.get("histogram") or {}
    edges, counts = hist.get("bin_edges") or [], hist.get("counts") or []
    if not counts:
        return None
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#3b75af")
    if edges[0] <= 0 <= edges[-1]:  # the zero line only when zero is in range (else it squashes the bars)
        ax.axvline(0, color="black", linewidth=0.8)
    if stats.get("bias") is not None:
        ax.axvline(stats["bias"], color="#d62728", linestyle="--", linewidth=1, label=f"bias {stats['bias']:.4g}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(f"B − A ({stats.get('units', '')})")
    ax.set_ylabel("pixels")
    ax.set_title("Difference histogram (pixels valid in both)")
    return _png(fig)


def _confusion_png(scl: dict[str, Any]) -> str | None:
    conf = scl.get("confusion")
    if not conf:
        return None
    import numpy as np
    from matplotlib.figure import Figure

    arr = np.array(conf, dtype=float)
    fig = Figure(figsize=(5.0, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(np.log10(arr + 1), cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10(pixels + 1)")
    ax.set_xticks(range(SCL_CLASS_COUNT))
    ax.set_yticks(range(SCL_CLASS_COUNT))
    ax.set_xlabel("SCL class in B")
    ax.set_ylabel("SCL class in A")
    ax.set_title("SCL confusion matrix")
    return _png(fig)


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.6g}"
    return html.escape(str(v))


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _features_section(rows: list[dict[str, Any]]) -> list[str]:
    """The per-feature table (one row per AOI feature, columns as in the report), or nothing."""
    if not rows:
        return []
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return ["<h2>Per feature</h2>", f"<table><tr>{head}</tr>{body}</table>"]


#: The report keys each HTML table shows, in order.
_HTML_STATS_KEYS = (
    "n",
    "bias",
    "mae",
    "rmse",
    "std",
    "pearson_r",
    "fit_slope",
    "fit_intercept",
    "p50_abs",
    "p95_abs",
    "tolerance",
    "share_over_tolerance",
)
_HTML_SHIFT_KEYS = ("dx_px", "dy_px", "dx_m", "dy_m", "magnitude_m", "quality", "confident", "method", "note")
_HTML_GRID_KEYS = ("crs", "geotransform", "width", "height")
_HTML_HEAD = (
    "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    "th{background:#f3f3f3}td.num{text-align:right}.expl{background:#eef5ff;padding:.7em;border-radius:4px}"
    "</style></head><body>"
)


def _fields_table(section: dict[str, Any], keys: tuple[str, ...]) -> str:
    """``keys`` of ``section`` as a two-column table (missing keys shown as —)."""
    return _table([(k, section.get(k)) for k in keys])


def _diagnosis_section(diag: dict[str, Any]) -> list[str]:
    """The explanation and its evidence table (claim, report key, value)."""
    rows = "".join(
        f"<tr><td>{html.escape(c['claim'])}</td><td><code>{html.escape(c['evidence_key'])}</code></td>"
        f"<td>{_fmt(c['value'])}</td></tr>"
        for c in diag.get("claims", [])
    )
    return [
        f"<p class='expl'>{html.escape(diag.get('explanation', ''))}</p>",
        "<h2>Evidence</h2>",
        f"<table><tr><th>claim</th><th>report key</th><th>value</th></tr>{rows}</table>",
    ]


def _stats_section(stats: dict[str, Any]) -> list[str]:
    """Difference statistics and the histogram plot."""
    parts = [
        f"<h2>Difference statistics (B − A, {html.escape(str(stats.get('units', '')))})</h2>",
        _fields_table(stats, _HTML_STATS_KEYS),
    ]
    png = _histogram_png(stats)
    if png:
        parts.append(f"<img alt='difference histogram' src='{png}'>")
    return parts


def _scl_section(scl: dict[str, Any]) -> list[str]:
    """SCL validity counts, edges, confusion plot and class names (or why there are none)."""
    parts = ["<h2>SCL validity</h2>"]
    if not scl.get("available"):
        return [*parts, "<p>No SCL rasters were compared.</p>"]
    counts, shares = scl.get("counts") or {}, scl.get("shares") or {}
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td class='num'>{counts.get(k)}</td>"
        f"<td class='num'>{_fmt(shares.get(k))}</td></tr>"
        for k in counts
    )
    parts.append(f"<table><tr><th>category</th><th>pixels</th><th>share</th></tr>{rows}</table>")
    edges = scl.get("edges") or {}
    if edges:
        parts.append(_table([(f"edges.{k}", v) for k, v in edges.items()]))
    png = _confusion_png(scl)
    if png:
        parts.append(f"<img alt='SCL confusion matrix' src='{png}'>")
    names = scl.get("class_names") or []
    parts.append("<p>SCL classes: " + ", ".join(f"{i} {html.escape(n)}" for i, n in enumerate(names)) + "</p>")
    return parts


def render_html(report: dict[str, Any], title: str = "S2 Parity comparison report") -> str:
    """A self-contained HTML page (inline CSS, base64 PNG plots) of the report."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        _HTML_HEAD,
        f"<h1>{html.escape(title)}</h1>",
        *_diagnosis_section(report.get("diagnosis") or {}),
        *_stats_section(report.get("stats") or {}),
        *_scl_section(report.get("scl") or {}),
        "<h2>Geometric shift (feature at A(x, y) appears at B(x + dx, y + dy); y down)</h2>",
        _fields_table(report.get("shift") or {}, _HTML_SHIFT_KEYS),
        *_features_section(report.get("features") or []),
        "<h2>Grid</h2>",
        _fields_table(report.get("grid") or {}, _HTML_GRID_KEYS),
        "</body></html>",
    ]
    return "\n".join(parts)
