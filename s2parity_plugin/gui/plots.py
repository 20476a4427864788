"""Small plots drawn with QPainter (no matplotlib needed inside QGIS): histogram of B − A and an A-vs-B
density plot. They render numbers already in the report; they compute nothing of their own."""

from __future__ import annotations

import math
from collections.abc import Sequence

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QFont, QPainter, QPen, QPixmap

MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 60, 10, 18, 30


def _frame(width: int, height: int, title: str) -> tuple[QPixmap, QPainter, QRectF]:
    pixmap = QPixmap(width, height)
    pixmap.fill(QColor("white"))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    font = QFont()
    font.setPointSize(8)
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, width, MARGIN_T), Qt.AlignCenter, title)
    plot = QRectF(MARGIN_L, MARGIN_T, width - MARGIN_L - MARGIN_R, height - MARGIN_T - MARGIN_B)
    painter.setPen(QPen(QColor("#555555")))
    painter.drawRect(plot)
    return pixmap, painter, plot


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def histogram_pixmap(
    bin_edges: Sequence[float], counts: Sequence[int], width: int = 320, height: int = 180, title: str = "B − A"
) -> QPixmap:
    """Bar histogram of ``counts`` over ``bin_edges`` (len(counts) + 1 edges), with a line at 0."""
    pixmap, painter, plot = _frame(width, height, title)
    if len(counts) and len(bin_edges) == len(counts) + 1 and max(counts) > 0:
        lo, hi, top = float(bin_edges[0]), float(bin_edges[-1]), float(max(counts))
        span = (hi - lo) or 1.0

        def x_of(value: float) -> float:
            return plot.left() + (value - lo) / span * plot.width()

        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor("#4a7ab7"))
        for left, right, count in zip(bin_edges[:-1], bin_edges[1:], counts):
            h = count / top * plot.height()
            painter.drawRect(QRectF(x_of(left), plot.bottom() - h, max(1.0, x_of(right) - x_of(left)), h))
        if lo < 0 < hi:
            painter.setPen(QPen(QColor("#c0392b"), 1, Qt.DashLine))
            painter.drawLine(QPointF(x_of(0), plot.top()), QPointF(x_of(0), plot.bottom()))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, 80, 14), Qt.AlignLeft, _fmt(lo))
        painter.drawText(QRectF(plot.right() - 80, plot.bottom() + 2, 80, 14), Qt.AlignRight, _fmt(hi))
        painter.drawText(QRectF(0, plot.top(), MARGIN_L - 4, 14), Qt.AlignRight, str(int(top)))
    else:
        painter.drawText(plot, Qt.AlignCenter, "no valid pixels")
    painter.end()
    return pixmap


def density_pixmap(
    counts: Sequence[Sequence[int]],
    a_range: tuple[float, float],
    b_range: tuple[float, float],
    width: int = 320,
    height: int = 260,
    title: str = "A (x) vs B (y)",
) -> QPixmap:
    """2-D histogram ``counts[row=B bin][col=A bin]`` as a log-scaled density image, with the 1:1 line."""
    pixmap, painter, plot = _frame(width, height, title)
    rows = len(counts)
    cols = len(counts[0]) if rows else 0
    peak = max((max(r) for r in counts), default=0)
    if rows and cols and peak > 0:
        cw, ch = plot.width() / cols, plot.height() / rows
        log_peak = math.log1p(peak)
        painter.setPen(Qt.NoPen)
        for r, row in enumerate(counts):
            for c, count in enumerate(row):
                if count:
                    t = math.log1p(count) / log_peak
                    painter.setBrush(QColor.fromHsvF(0.66 - 0.66 * t, 0.85, 0.95))
                    painter.drawRect(QRectF(plot.left() + c * cw, plot.bottom() - (r + 1) * ch, cw + 0.5, ch + 0.5))
        lo = max(a_range[0], b_range[0])
        hi = min(a_range[1], b_range[1])
        if hi > lo:

            def px(a: float, b: float) -> QPointF:
                x = plot.left() + (a - a_range[0]) / ((a_range[1] - a_range[0]) or 1) * plot.width()
                y = plot.bottom() - (b - b_range[0]) / ((b_range[1] - b_range[0]) or 1) * plot.height()
                return QPointF(x, y)

            painter.setPen(QPen(QColor("#333333"), 1, Qt.DashLine))
            painter.drawLine(px(lo, lo), px(hi, hi))
        painter.setPen(QColor("black"))
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, 80, 14), Qt.AlignLeft, _fmt(a_range[0]))
        painter.drawText(QRectF(plot.right() - 80, plot.bottom() + 2, 80, 14), Qt.AlignRight, _fmt(a_range[1]))
        painter.drawText(QRectF(0, plot.bottom() - 14, MARGIN_L - 4, 14), Qt.AlignRight, _fmt(b_range[0]))
        painter.drawText(QRectF(0, plot.top(), MARGIN_L - 4, 14), Qt.AlignRight, _fmt(b_range[1]))
    else:
        painter.drawText(plot, Qt.AlignCenter, "no valid pixels")
    painter.end()
    return pixmap
