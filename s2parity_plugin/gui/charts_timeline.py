"""The archive timeline chart, drawn with QPainter on a QImage (no matplotlib; works headless for the demo PNG).

One lane per side (A above, B below); each acquisition is a mark coloured by the baseline that side serves, a red
cross where the side lacks it; periods expected to differ are shaded behind both lanes; year ticks below; a legend
of the baselines shown. It renders the timeline report (``core.archive.report.report_dict``) and computes nothing
of its own beyond pixel positions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QImage, QPainter, QPen

from s2parity_plugin.core.model import s2facts
from s2parity_plugin.gui.plots import chart_image, style_painter
from s2parity_plugin.i18n import tr

MARGIN_L, MARGIN_R, MARGIN_T = 34, 12, 22
LANE_H = 34
AXIS_H = 18
LEGEND_ROW_H = 16
LEGEND_ITEM_W = 64
MARK_W = 2.0
MARK_INSET = 9  # px above and below each mark where the period shading shows
DIFFER_SHADE = QColor(231, 76, 60, 70)
MISSING = QColor("#c0392b")
SELECTED = QColor("#2c3e50")
#: One distinct colour per baseline the facts module knows (neighbours in time differ clearly); others are grey.
BASELINE_COLOURS = {
    "02.07": "#8c564b",
    "02.08": "#c49c94",
    "02.09": "#9467bd",
    "02.11": "#c5b0d5",
    "02.12": "#bcbd22",
    "02.13": "#d4a017",
    "02.14": "#ff7f0e",
    "03.00": "#ffbb78",
    "03.01": "#e377c2",
    "04.00": "#17becf",
    "05.00": "#1f77b4",
    "05.09": "#9edae5",
    "05.10": "#2ca02c",
    "05.11": "#98df8a",
}
UNKNOWN_COLOUR = "#7f8c8d"


def baseline_colour(baseline: str | None) -> QColor:
    """The baseline's colour in every chart (grey when the facts module does not know it)."""
    return QColor(BASELINE_COLOURS.get(baseline or "", UNKNOWN_COLOUR))


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(str(text)[:10])


def _span(report: dict[str, Any]) -> tuple[dt.date, dt.date]:
    query = report.get("query", {})
    return _day(query["date_from"]), _day(query["date_to"])


def plot_rect(width: int, height: int) -> QRectF:
    """Where the lanes are drawn (pixels) in a chart of ``width`` × ``height``."""
    return QRectF(MARGIN_L, MARGIN_T, width - MARGIN_L - MARGIN_R, 2 * LANE_H)


def x_of(report: dict[str, Any], day: dt.date, plot: QRectF) -> float:
    """Pixel x of a date (UTC day) on the chart's time axis."""
    first, last = _span(report)
    total = max(1, (last - first).days + 1)
    return plot.left() + ((day - first).days + 0.5) / total * plot.width()


def date_at(report: dict[str, Any], x: float, width: int, height: int) -> dt.date:
    """The date under pixel x (clamped to the period)."""
    first, last = _span(report)
    plot = plot_rect(width, height)
    total = max(1, (last - first).days + 1)
    offset = int((x - plot.left()) / max(1.0, plot.width()) * total)
    return min(last, max(first, first + dt.timedelta(days=offset)))


def _baselines(report: dict[str, Any]) -> list[str]:
    found = {r[k] for r in report.get("acquisitions", []) for k in ("baseline_a", "baseline_b") if r.get(k)}
    return sorted(found, key=s2facts.baseline_key)


def preferred_height(report: dict[str, Any], width: int) -> int:
    """Height that fits the lanes, the axis and the legend at ``width``."""
    per_row = max(1, (width - MARGIN_L) // LEGEND_ITEM_W)
    items = len(_baselines(report)) + 4
    return MARGIN_T + 2 * LANE_H + AXIS_H + 6 + LEGEND_ROW_H * (-(-items // per_row)) + 6


def timeline_image(
    report: dict[str, Any], width: int = 900, height: int | None = None, selected: str | None = None
) -> QImage:
    """The chart of a timeline report as an image (``selected``: a ``YYYY-MM-DD`` to mark with a line)."""
    height = height or preferred_height(report, width)
    image = chart_image(width, height)
    painter = QPainter(image)
    style_painter(painter)
    plot = plot_rect(width, height)
    _title(painter, report, width)
    _shade_periods(painter, report, plot)
    _lanes(painter, report, plot)
    _marks(painter, report, plot)
    _axis(painter, report, plot)
    if selected:
        x = x_of(report, _day(selected), plot)
        painter.setPen(QPen(SELECTED, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x, plot.top() - 4), QPointF(x, plot.bottom() + 4))
    _legend(painter, report, QRectF(MARGIN_L, plot.bottom() + AXIS_H + 6, width - MARGIN_L - MARGIN_R, height))
    painter.end()
    return image


def _title(painter: QPainter, report: dict[str, Any], width: int) -> None:
    summary = report.get("summary", {})
    text = tr("{n} acquisitions, {p:.0f} % expected to differ").format(
        n=summary.get("acquisitions", 0), p=100 * summary.get("share_differ", 0.0)
    )
    if not report.get("complete", True):
        text += tr(" — INCOMPLETE: one side could not be searched")
    painter.setPen(QColor("black"))
    painter.drawText(QRectF(0, 2, width, MARGIN_T - 4), Qt.AlignmentFlag.AlignCenter, text)


def _shade_periods(painter: QPainter, report: dict[str, Any], plot: QRectF) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(DIFFER_SHADE)
    half_day = plot.width() / max(1, (_span(report)[1] - _span(report)[0]).days + 1) / 2
    for period in report.get("periods", []):
        if period.get("parity") == s2facts.IDENTICAL:
            continue
        x0 = x_of(report, _day(period["first"]), plot) - half_day
        x1 = x_of(report, _day(period["last"]), plot) + half_day
        painter.drawRect(QRectF(x0, plot.top(), max(1.0, x1 - x0), plot.height()))


def _lanes(painter: QPainter, report: dict[str, Any], plot: QRectF) -> None:
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor("#999999")))
    painter.drawRect(plot)
    painter.drawLine(QPointF(plot.left(), plot.center().y()), QPointF(plot.right(), plot.center().y()))
    painter.setPen(QColor("black"))
    sides = report.get("sides", {})
    for index, key in enumerate(("a", "b")):
        lane = QRectF(0, plot.top() + index * LANE_H, MARGIN_L - 4, LANE_H)
        label = key.upper() + ("" if sides.get(key, {}).get("complete", True) else "!")
        painter.drawText(lane, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)


def _marks(painter: QPainter, report: dict[str, Any], plot: QRectF) -> None:
    """Baseline marks first, then the crosses of missing acquisitions on top (a neighbour's mark never hides one)."""
    missing = []
    painter.setPen(Qt.PenStyle.NoPen)
    for row in report.get("acquisitions", []):
        x = x_of(report, _day(row["date"]), plot)
        for index, side in enumerate(("a", "b")):
            top = plot.top() + index * LANE_H + MARK_INSET
            if row.get(f"product_{side}"):
                painter.setBrush(baseline_colour(row.get(f"baseline_{side}")))
                painter.drawRect(QRectF(x - MARK_W / 2, top, MARK_W, LANE_H - 2 * MARK_INSET))
            else:
                missing.append(QPointF(x, plot.top() + (index + 0.5) * LANE_H))
    for centre in missing:
        _cross(painter, centre)


def _cross(painter: QPainter, centre: QPointF, size: float = 4.0) -> None:
    painter.setPen(QPen(MISSING, 1.6))
    painter.drawLine(centre + QPointF(-size, -size), centre + QPointF(size, size))
    painter.drawLine(centre + QPointF(-size, size), centre + QPointF(size, -size))


def _axis(painter: QPainter, report: dict[str, Any], plot: QRectF) -> None:
    first, last = _span(report)
    painter.setPen(QColor("#555555"))
    years = range(first.year, last.year + 1)
    step = max(1, len(years) // 12)
    for year in years[::step]:
        day = max(first, dt.date(year, 1, 1))
        x = x_of(report, day, plot)
        painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
        painter.drawText(QRectF(x + 2, plot.bottom() + 2, 60, AXIS_H - 2), Qt.AlignmentFlag.AlignLeft, str(year))


def _legend(painter: QPainter, report: dict[str, Any], area: QRectF) -> None:
    entries: list[tuple[str, Any]] = [(b, baseline_colour(b)) for b in _baselines(report)]
    entries += [(tr("missing"), "missing"), (tr("expected to differ"), "shade")]
    x, y = area.left(), area.top()
    metrics = painter.fontMetrics()
    for label, swatch in entries:
        item_w = max(LEGEND_ITEM_W, 22 + metrics.horizontalAdvance(label))
        if x + item_w > area.right():
            x, y = area.left(), y + LEGEND_ROW_H
        if swatch == "missing":
            _cross(painter, QPointF(x + 5, y + 7), 3.5)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(DIFFER_SHADE if swatch == "shade" else swatch)
            painter.drawRect(QRectF(x, y + 2, 11, 11))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(x + 15, y, item_w - 15, LEGEND_ROW_H), Qt.AlignmentFlag.AlignVCenter, label)
        x += item_w
