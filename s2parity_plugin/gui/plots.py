"""Small plots drawn with QPainter (no matplotlib needed inside QGIS): histogram of B − A and an A-vs-B
density plot with a colour bar. They render numbers already in the report; they compute nothing of their own
beyond choosing what range to show.

Other chart modules reuse :func:`style_painter` and :func:`chart_image` (the look and canvas all charts share),
:func:`frame` (a white pixmap with a title and a plot rectangle), :func:`nice_ticks` and :func:`viridis`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qgis.PyQt.QtCore import QPointF, QRectF, Qt
from qgis.PyQt.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPen, QPixmap

from s2parity_plugin.i18n import tr

MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 60, 10, 18, 30
COLOUR_BAR_PX = 12
CHART_FONT_PT = 8
#: Viridis (matplotlib's perceptually uniform colour map) at 9 stops, dark blue → yellow.
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725")
#: The histogram shows the central part of the distribution: from the 1st to the 99th percentile.
HIST_CLIP_PERCENT = (1.0, 99.0)
AXIS = "#555555"
ZERO_LINE = "#c0392b"


def style_painter(painter: QPainter) -> None:
    """The look every S2 Parity chart shares: antialiasing and an 8-point font."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPointSize(CHART_FONT_PT)
    painter.setFont(font)


def chart_image(width: int, height: int) -> QImage:
    """A white ``width``×``height`` ARGB32 image to paint a chart on; unlike a pixmap it needs no display (demo PNGs,
    tests)."""
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    return image


def frame(width: int, height: int, title: str, margin_r: int = MARGIN_R) -> tuple[QPixmap, QPainter, QRectF]:
    """A white ``width``×``height`` pixmap with ``title`` on top; returns (pixmap, active painter, plot rectangle).
    The caller draws into the rectangle and ends the painter."""
    pixmap = QPixmap(width, height)
    pixmap.fill(QColor("white"))
    painter = QPainter(pixmap)
    style_painter(painter)
    painter.drawText(QRectF(0, 0, width, MARGIN_T), int(Qt.AlignmentFlag.AlignCenter), title)
    plot = QRectF(MARGIN_L, MARGIN_T, width - MARGIN_L - margin_r, height - MARGIN_T - MARGIN_B)
    painter.setPen(QPen(QColor(AXIS)))
    painter.drawRect(plot)
    return pixmap, painter, plot


_frame = frame  # the name other modules used first


def _fmt(value: float) -> str:
    text = f"{value:.3g}"
    return "0" if text in ("-0", "0") else text.replace("-", "−")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2, 5 × 10^k steps) within [lo, hi], 0 included when in range."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return [lo]
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    first = math.ceil(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else round(value, 12))
        value += step
    return ticks


def viridis(t: float) -> QColor:
    """Colour of ``t`` in 0..1 on the viridis scale (linear interpolation between its stops)."""
    t = min(1.0, max(0.0, t))
    pos = t * (len(VIRIDIS) - 1)
    i = min(int(pos), len(VIRIDIS) - 2)
    c0, c1 = QColor(VIRIDIS[i]), QColor(VIRIDIS[i + 1])
    f = pos - i
    return QColor(
        round(c0.red() + (c1.red() - c0.red()) * f),
        round(c0.green() + (c1.green() - c0.green()) * f),
        round(c0.blue() + (c1.blue() - c0.blue()) * f),
    )


def clip_range(bin_edges: Sequence[float], counts: Sequence[int], below: int = 0, above: int = 0) -> tuple[int, int]:
    """Indices [first, last] of the bins spanning the 1st–99th percentile of all pixels (those outside the edges,
    ``below``/``above``, included in the total)."""
    total = sum(counts) + below + above
    lo_target, hi_target = (total * p / 100.0 for p in HIST_CLIP_PERCENT)
    cumulative, first, last = below, 0, len(counts) - 1
    for i, count in enumerate(counts):
        if cumulative + count < lo_target:
            first = i + 1
        if cumulative < hi_target:
            last = i
        cumulative += count
    first = min(first, last)
    return first, last


def histogram_pixmap(
    bin_edges: Sequence[float],
    counts: Sequence[int],
    width: int = 320,
    height: int = 180,
    title: str = "B − A",
    below: int = 0,
    above: int = 0,
) -> QPixmap:
    """Bar histogram of ``counts`` over ``bin_edges`` (len(counts) + 1 edges) clipped to the 1st–99th percentile,
    with round ticks and a dashed line at 0."""
    pixmap, painter, plot = frame(width, height, title)
    if len(counts) and len(bin_edges) == len(counts) + 1 and max(counts) > 0:
        first, last = clip_range(bin_edges, counts, below, above)
        edges, shown = list(bin_edges[first : last + 2]), list(counts[first : last + 1])
        lo, hi, top = float(edges[0]), float(edges[-1]), float(max(shown) or 1)
        if lo > 0:
            lo = 0.0 if lo < 0.25 * (hi - lo) else lo
        if hi < 0:
            hi = 0.0 if -hi < 0.25 * (hi - lo) else hi
        span = (hi - lo) or 1.0

        def x_of(value: float) -> float:
            return plot.left() + (value - lo) / span * plot.width()

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#4a7ab7"))
        for left, right, count in zip(edges[:-1], edges[1:], shown):
            h = count / top * plot.height()
            painter.drawRect(QRectF(x_of(left), plot.bottom() - h, max(1.0, x_of(right) - x_of(left)), h))
        if lo <= 0 <= hi:
            painter.setPen(QPen(QColor(ZERO_LINE), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x_of(0), plot.top()), QPointF(x_of(0), plot.bottom()))
        painter.setPen(QColor("black"))
        for tick in nice_ticks(lo, hi):
            x = x_of(tick)
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3))
            painter.drawText(QRectF(x - 30, plot.bottom() + 3, 60, 14), int(Qt.AlignmentFlag.AlignHCenter), _fmt(tick))
        painter.drawText(QRectF(0, plot.top(), MARGIN_L - 4, 14), int(Qt.AlignmentFlag.AlignRight), f"{int(top):,}")
        painter.drawText(QRectF(0, plot.bottom() - 14, MARGIN_L - 4, 14), int(Qt.AlignmentFlag.AlignRight), "0")
        painter.drawText(
            QRectF(plot.left(), height - 12, plot.width(), 12),
            int(Qt.AlignmentFlag.AlignCenter),
            tr("pixels per bin; 1st–99th percentile shown"),
        )
    else:
        painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), tr("no valid pixels"))
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
    """2-D histogram ``counts[row=B bin][col=A bin]`` as a log-scaled viridis density image with the 1:1 line and a
    colour bar (pixels per cell)."""
    bar_space = COLOUR_BAR_PX + 58
    pixmap, painter, plot = frame(width, height, title, margin_r=bar_space)
    rows = len(counts)
    cols = len(counts[0]) if rows else 0
    peak = max((max(r) for r in counts), default=0)
    if rows and cols and peak > 0:
        cw, ch = plot.width() / cols, plot.height() / rows
        log_peak = math.log1p(peak)
        painter.setPen(Qt.PenStyle.NoPen)
        for r, row in enumerate(counts):
            for c, count in enumerate(row):
                if count:
                    painter.setBrush(viridis(math.log1p(count) / log_peak))
                    painter.drawRect(QRectF(plot.left() + c * cw, plot.bottom() - (r + 1) * ch, cw + 0.5, ch + 0.5))
        lo = max(a_range[0], b_range[0])
        hi = min(a_range[1], b_range[1])
        if hi > lo:

            def px(a: float, b: float) -> QPointF:
                x = plot.left() + (a - a_range[0]) / ((a_range[1] - a_range[0]) or 1) * plot.width()
                y = plot.bottom() - (b - b_range[0]) / ((b_range[1] - b_range[0]) or 1) * plot.height()
                return QPointF(x, y)

            painter.setPen(QPen(QColor("#333333"), 1, Qt.PenStyle.DashLine))
            painter.drawLine(px(lo, lo), px(hi, hi))
        painter.setPen(QColor("black"))
        align_l, align_r = int(Qt.AlignmentFlag.AlignLeft), int(Qt.AlignmentFlag.AlignRight)
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, 80, 14), align_l, _fmt(a_range[0]))
        painter.drawText(QRectF(plot.right() - 80, plot.bottom() + 2, 80, 14), align_r, _fmt(a_range[1]))
        painter.drawText(QRectF(0, plot.bottom() - 14, MARGIN_L - 4, 14), align_r, _fmt(b_range[0]))
        painter.drawText(QRectF(0, plot.top(), MARGIN_L - 4, 14), align_r, _fmt(b_range[1]))
        painter.drawText(
            QRectF(plot.left(), height - 12, plot.width(), 12),
            int(Qt.AlignmentFlag.AlignCenter),
            tr("dashed: B = A"),
        )
        _colour_bar(painter, QRectF(plot.right() + 8, plot.top(), COLOUR_BAR_PX, plot.height()), peak)
    else:
        painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), tr("no valid pixels"))
    painter.end()
    return pixmap


def _colour_bar(painter: QPainter, rect: QRectF, peak: int) -> None:
    """Vertical viridis bar (log scale) labelled 1 at the bottom and ``peak`` at the top."""
    gradient = QLinearGradient(rect.bottomLeft(), rect.topLeft())
    for i, colour in enumerate(VIRIDIS):
        gradient.setColorAt(i / (len(VIRIDIS) - 1), QColor(colour))
    painter.setPen(QPen(QColor(AXIS)))
    painter.setBrush(gradient)
    painter.drawRect(rect)
    painter.setPen(QColor("black"))
    align = int(Qt.AlignmentFlag.AlignLeft)
    painter.drawText(QRectF(rect.right() + 3, rect.top() - 2, 44, 14), align, f"{peak:,}")
    painter.drawText(QRectF(rect.right() + 3, rect.bottom() - 12, 44, 14), align, "1")
    painter.save()
    painter.translate(rect.right() + 44, rect.center().y())
    painter.rotate(-90)
    painter.drawText(QRectF(-60, -7, 120, 14), int(Qt.AlignmentFlag.AlignCenter), tr("pixels (log)"))
    painter.restore()
