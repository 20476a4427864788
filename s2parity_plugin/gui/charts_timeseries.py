"""Time-series chart of one feature's statistics, drawn with QPainter (the plugin's one charting approach, as
``gui/plots.py``): A and B means over time in the upper panel, Δ = B − A below it (with the ± tolerance band), and
a dashed vertical marker where either side's processing baseline changes. It renders rows of the statistics table
(:mod:`s2parity_plugin.core.statistics.table`); it computes nothing of its own but the axes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QImage, QPainter, QPen

from s2parity_plugin.gui.plots import chart_image, style_painter
from s2parity_plugin.i18n import tr

MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B, GAP = 56, 12, 22, 26, 14
UPPER_SHARE = 0.62  # share of the plot height for the A/B panel
COLOUR_A = QColor("#2b83ba")
COLOUR_B = QColor("#d7191c")
COLOUR_DELTA = QColor("#444444")
COLOUR_MARKER = QColor("#8e44ad")
COLOUR_BAND = QColor(230, 230, 230)


@dataclass
class Series:
    """One feature's series: interval start days, A and B means (None = no value), Δ, baseline change markers
    ``(day, label)``, tolerance (units of the value) and the value's unit for the axis title."""

    days: list[dt.date]
    mean_a: list[float | None]
    mean_b: list[float | None]
    delta: list[float | None]
    markers: list[tuple[dt.date, str]] = field(default_factory=list)
    tolerance: float = 0.0
    unit: str = "NDVI"
    title: str = ""


def _num(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def series_from_rows(rows: Sequence[dict[str, Any]], feature_id: str, tolerance: float, unit: str = "NDVI") -> Series:
    """The series of ``feature_id`` from table rows (dicts with the table's columns, values as numbers or text)."""
    mine = sorted((r for r in rows if str(r["feature_id"]) == str(feature_id)), key=lambda r: r["interval_from"])
    days = [dt.date.fromisoformat(str(r["date"])[:10]) for r in mine]
    markers: list[tuple[dt.date, str]] = []
    last = {"a": "", "b": ""}
    for day, r in zip(days, mine):
        for side in ("a", "b"):
            b = str(r.get(f"baseline_{side}") or "")
            if b and last[side] and b != last[side]:
                markers.append((day, f"{side.upper()} {last[side]}→{b}"))
            last[side] = b or last[side]
    return Series(
        days,
        [_num(r["mean_a"]) for r in mine],
        [_num(r["mean_b"]) for r in mine],
        [_num(r["delta_mean"]) for r in mine],
        markers,
        tolerance,
        unit,
        tr("Feature {fid}").format(fid=feature_id),
    )


def _range(values: Sequence[float | None], pad: float = 0.05) -> tuple[float, float]:
    vals = [v for v in values if v is not None]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    span = hi - lo or max(abs(hi), 1e-3)
    return lo - pad * span, hi + pad * span


class _Axes:
    """Maps days and values to pixels inside ``rect``."""

    def __init__(self, rect: QRectF, d0: dt.date, d1: dt.date, lo: float, hi: float) -> None:
        self.rect, self.d0, self.lo, self.hi = rect, d0, lo, hi
        self.days = max(1, (d1 - d0).days)

    def x(self, day: dt.date) -> float:
        return self.rect.left() + (day - self.d0).days / self.days * self.rect.width()

    def y(self, value: float) -> float:
        return self.rect.bottom() - (value - self.lo) / ((self.hi - self.lo) or 1.0) * self.rect.height()


def _line(painter: QPainter, axes: _Axes, days: Sequence[dt.date], values: Sequence[float | None], colour: QColor):
    painter.setPen(QPen(colour, 1.6))
    previous = None
    for day, value in zip(days, values):
        if value is None:
            previous = None
            continue
        point = QPointF(axes.x(day), axes.y(value))
        if previous is not None:
            painter.drawLine(previous, point)
        painter.setBrush(colour)
        painter.drawEllipse(point, 2.6, 2.6)
        previous = point


def _y_labels(painter: QPainter, axes: _Axes) -> None:
    painter.setPen(QColor("black"))
    r = axes.rect
    painter.drawText(QRectF(0, r.top() - 7, MARGIN_L - 4, 14), Qt.AlignmentFlag.AlignRight, f"{axes.hi:.3g}")
    painter.drawText(QRectF(0, r.bottom() - 7, MARGIN_L - 4, 14), Qt.AlignmentFlag.AlignRight, f"{axes.lo:.3g}")


def _upper(painter: QPainter, s: Series, rect: QRectF, d0: dt.date, d1: dt.date) -> None:
    axes = _Axes(rect, d0, d1, *_range(s.mean_a + s.mean_b))
    painter.setPen(QPen(QColor("#888888")))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    _line(painter, axes, s.days, s.mean_a, COLOUR_A)
    _line(painter, axes, s.days, s.mean_b, COLOUR_B)
    _y_labels(painter, axes)
    legend = QRectF(rect.left() + 6, rect.top() + 2, 200, 14)
    painter.setPen(COLOUR_A)
    painter.drawText(legend, Qt.AlignmentFlag.AlignLeft, tr("A mean ({unit})").format(unit=s.unit))
    painter.setPen(COLOUR_B)
    painter.drawText(legend.translated(110, 0), Qt.AlignmentFlag.AlignLeft, tr("B mean"))


def _lower(painter: QPainter, s: Series, rect: QRectF, d0: dt.date, d1: dt.date) -> None:
    lo, hi = _range([*s.delta, s.tolerance, -s.tolerance, 0.0])
    axes = _Axes(rect, d0, d1, lo, hi)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(COLOUR_BAND)
    painter.drawRect(QRectF(rect.left(), axes.y(s.tolerance), rect.width(), axes.y(-s.tolerance) - axes.y(s.tolerance)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor("#888888")))
    painter.drawRect(rect)
    painter.setPen(QPen(QColor("#999999"), 1, Qt.PenStyle.DashLine))
    painter.drawLine(QPointF(rect.left(), axes.y(0)), QPointF(rect.right(), axes.y(0)))
    bar = max(2.0, min(8.0, rect.width() / max(1, len(s.days)) * 0.6))
    for day, value in zip(s.days, s.delta):
        if value is None:
            continue
        colour = COLOUR_B if abs(value) > s.tolerance else COLOUR_DELTA
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        top, bottom = sorted((axes.y(value), axes.y(0)))
        painter.drawRect(QRectF(axes.x(day) - bar / 2, top, bar, max(1.0, bottom - top)))
    _y_labels(painter, axes)
    painter.setPen(COLOUR_DELTA)
    label = QRectF(rect.left() + 6, rect.top() + 2, 260, 14)
    painter.drawText(label, Qt.AlignmentFlag.AlignLeft, tr("Δ = B − A (band: ± tolerance)"))


def _markers(painter: QPainter, s: Series, plot: QRectF, d0: dt.date, d1: dt.date) -> None:
    axes = _Axes(plot, d0, d1, 0.0, 1.0)
    for i, (day, label) in enumerate(s.markers):
        x = axes.x(day) - 1.5
        painter.setPen(QPen(COLOUR_MARKER, 1.2, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        painter.setPen(COLOUR_MARKER)
        painter.drawText(QRectF(x + 3, plot.top() + 16 + 12 * (i % 3), 160, 12), Qt.AlignmentFlag.AlignLeft, label)


def draw_timeseries(painter: QPainter, rect: QRectF, s: Series) -> None:
    """Draw the chart of ``s`` into ``rect`` (white background, title, two panels, markers, date labels)."""
    painter.save()
    style_painter(painter)
    painter.fillRect(rect, QColor("white"))
    painter.setPen(QColor("black"))
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), MARGIN_T), Qt.AlignmentFlag.AlignCenter, s.title)
    plot = QRectF(
        rect.left() + MARGIN_L,
        rect.top() + MARGIN_T,
        rect.width() - MARGIN_L - MARGIN_R,
        rect.height() - MARGIN_T - MARGIN_B,
    )
    if not s.days:
        painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, tr("No interval for this feature"))
        painter.restore()
        return
    d0, d1 = s.days[0], max(s.days[-1], s.days[0] + dt.timedelta(days=1))
    upper_h = (plot.height() - GAP) * UPPER_SHARE
    upper = QRectF(plot.left(), plot.top(), plot.width(), upper_h)
    lower = QRectF(plot.left(), plot.top() + upper_h + GAP, plot.width(), plot.height() - upper_h - GAP)
    _upper(painter, s, upper, d0, d1)
    _lower(painter, s, lower, d0, d1)
    _markers(painter, s, plot, d0, d1)
    painter.setPen(QColor("black"))
    painter.drawText(QRectF(plot.left(), plot.bottom() + 4, 90, 14), Qt.AlignmentFlag.AlignLeft, d0.isoformat())
    painter.drawText(QRectF(plot.right() - 90, plot.bottom() + 4, 90, 14), Qt.AlignmentFlag.AlignRight, d1.isoformat())
    painter.restore()


def timeseries_image(s: Series, width: int = 640, height: int = 360) -> QImage:
    """The chart as an image (for the demo's PNG and tests); works without a display."""
    image = chart_image(width, height)
    painter = QPainter(image)
    draw_timeseries(painter, QRectF(0, 0, width, height), s)
    painter.end()
    return image
