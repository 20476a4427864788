"""ISO-8601 aggregation intervals as the Statistical API reads them (``aggregationInterval.of``).

The API splits ``timeRange`` into consecutive intervals of the given duration starting at ``timeRange.from``; a last
partial interval is skipped by default (``lastIntervalBehavior`` SKIP; ``Statistical.qmd``). Intervals must be at
least one day long; a duration is either a period (``P5D``) or a time designator (``PT48H``), not both.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from s2parity_plugin.core.errors import DateRangeError

_DURATION_RE = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Interval:
    """A parsed ISO-8601 duration: calendar months plus a fixed part."""

    text: str
    months: int
    delta: dt.timedelta

    def add_to(self, t: dt.datetime) -> dt.datetime:
        """``t`` plus this duration (months first, the day clamped to the month's length)."""
        if self.months:
            m = t.month - 1 + self.months
            year, month = t.year + m // 12, m % 12 + 1
            last = (dt.date(year + month // 12, month % 12 + 1, 1) - ONE_DAY).day
            t = t.replace(year=year, month=month, day=min(t.day, last))
        return t + self.delta


def parse_interval(text: str) -> Interval:
    """Parse ``P1D``, ``P10D``, ``P1W``, ``P1M``, ``PT48H`` …; raise :class:`DateRangeError` saying what to change."""
    value = (text or "").strip().upper()
    m = _DURATION_RE.match(value)
    if not m or not any(m.groups()):
        raise DateRangeError(
            f"The interval {text!r} is not an ISO-8601 duration: write e.g. P1D (one day), P10D or P1M."
        )
    y, mo, w, d, h, mi, s = (int(g or 0) for g in m.groups())
    if (y or mo or w or d) and (h or mi or s):
        raise DateRangeError(f"The interval {text!r} mixes days and hours: use a period such as P1D or P2D.")
    interval = Interval(value, 12 * y + mo, dt.timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s))
    if interval.months == 0 and interval.delta < ONE_DAY:
        raise DateRangeError(
            f"The interval {text!r} is shorter than a day; the Statistical API aggregates over at least one day: "
            "use P1D or longer."
        )
    return interval


def split(t_from: dt.datetime, t_to: dt.datetime, interval: Interval) -> list[tuple[dt.datetime, dt.datetime]]:
    """The ``[from, to)`` intervals the API computes for ``[t_from, t_to]`` (last partial interval skipped)."""
    out = []
    start = t_from
    while True:
        end = interval.add_to(start)
        if end > t_to:
            return out
        out.append((start, end))
        start = end
