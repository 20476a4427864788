"""A per-endpoint rate limiter with a requests/minute and a processing-units/minute budget.

Sentinel Hub enforces rate-limit policies per minute (``cdse_docs/Overview_RateLimiting.qmd``: e.g. 300 requests and
300 PU per minute on CDSE's free tier) and recommends spreading requests over the minute instead of bursting. This
limiter does exactly that with the generic cell rate algorithm (GCRA), once per budget:

* requests: request *i* may start at ``t_i ≥ t_{i-1} + 60 / requests_per_minute``;
* PU: a request of ``p`` PU may start when the PU "theoretical arrival time" has passed; it then advances by
  ``p × 60 / pu_per_minute`` seconds.

So over any minute at most the budget is spent, and a steady stream runs at the budget's pace. Waits are sliced
(≤ :data:`WAIT_SLICE_S`) and check a cancel event, so a cancel is honoured within a slice. The clock and sleep
function are injectable: tests and the bench run a scaled clock (a "minute" of a few seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from s2parity_plugin.core.errors import FetchCancelled

SECONDS_PER_MINUTE = 60.0
WAIT_SLICE_S = 0.1
#: CDSE free tier (Overview_RateLimiting.qmd / Quotas.qmd): the defaults of every budget.
DEFAULT_REQUESTS_PER_MINUTE = 300.0
DEFAULT_PU_PER_MINUTE = 300.0


@dataclass(frozen=True)
class Budget:
    """Per-minute budgets of one endpoint (``None`` = unlimited)."""

    requests_per_minute: Optional[float] = DEFAULT_REQUESTS_PER_MINUTE
    pu_per_minute: Optional[float] = DEFAULT_PU_PER_MINUTE

    def lower_bound_s(self, n_requests: int, total_pu: float) -> float:
        """The least wall time (s) ``n_requests`` of ``total_pu`` PU can take under this budget."""
        bounds = [0.0]
        if self.requests_per_minute:
            bounds.append(n_requests / self.requests_per_minute * SECONDS_PER_MINUTE)
        if self.pu_per_minute:
            bounds.append(total_pu / self.pu_per_minute * SECONDS_PER_MINUTE)
        return max(bounds)


class RateLimiter:
    """Thread-safe GCRA limiter for one endpoint (see the module docstring).

    :param budget: the per-minute budgets.
    :param clock: seconds, monotonic (default :func:`time.monotonic`).
    :param sleep: sleeps that many seconds (default :func:`time.sleep`).
    :param time_scale: how many real seconds one budget second lasts (1 = real time; 0.05 = a minute lasts 3 s).
    """

    def __init__(
        self,
        budget: Budget,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        time_scale: float = 1.0,
    ) -> None:
        self.budget = budget
        self.clock = clock
        self.sleep = sleep
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        self._next_request = -float("inf")
        self._next_pu = -float("inf")
        self.granted = 0
        self.waited_s = 0.0

    def _interval(self, per_minute: Optional[float], amount: float) -> float:
        if not per_minute:
            return 0.0
        return amount * SECONDS_PER_MINUTE / per_minute * self.time_scale

    def _try(self, pu: float) -> float:
        """Take a slot now (returns 0) or return how long to wait (s) before trying again."""
        with self._lock:
            now = self.clock()
            start = max(self._next_request, self._next_pu)
            if start > now:
                return start - now
            self._next_request = max(self._next_request, now) + self._interval(self.budget.requests_per_minute, 1)
            self._next_pu = max(self._next_pu, now) + self._interval(self.budget.pu_per_minute, pu)
            self.granted += 1
            return 0.0

    def acquire(self, pu: float, cancel: Optional[threading.Event] = None) -> None:
        """Block until a request of ``pu`` PU may start; raise :class:`FetchCancelled` when ``cancel`` is set."""
        while True:
            if cancel is not None and cancel.is_set():
                raise FetchCancelled("Cancelled while waiting for the rate limit.")
            wait = self._try(pu)
            if wait <= 0:
                return
            step = min(wait, WAIT_SLICE_S)
            self.waited_s += step
            self.sleep(step)
