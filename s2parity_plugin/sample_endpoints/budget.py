"""Rate-limit mode of the sample pair: request and processing-unit budgets per window, as Sentinel Hub / CDSE enforce.

Off by default (:meth:`SampleEndpoints.set_budget` turns it on per deployment). Rules, from the CDSE pages in
``../shared/data/sentinelhub_api/cdse_docs``:

* Rate limiting ("Overview_RateLimiting"): every policy must hold — *N* requests and *P* processing units per
  minute (the free tier: 300 / 300, "Quotas"); a request that would break one is answered **429** with
  ``Retry-After`` in **milliseconds** until the window has room again; unused budget does not accumulate.
  Processing units count only for successful (2xx) requests, so the PU policy admits a request while the PU spent
  in the window is below the budget and charges it afterwards.
  ``Retry-After`` is the longest wait of the policies a request breaks (for PU: until enough charges have left the
  window), so one wait as told is enough. Headers as sentinelhub-py (3.7.0 on, "Updated rate limit headers
  according to changes in SH service") reads them: ``Retry-After`` on a 429 — the only header its rate limiter
  reads — and ``X-ProcessingUnits-Spent`` on every successful Process / Statistical API answer. The older per-policy
  headers (``X-ProcessingUnits-Retry-After``, ``X-RateLimit-Remaining``, ``X-RateLimit-ViolatedPolicy``, read by
  sentinelhub-py < 3.7) are no longer sent by the service and are not sent here.
* Token endpoint: its own request budget; a 429 there has the same ``Retry-After``.
* Processing units ("Overview_ProcessingUnit", :func:`processing_units`): area factor ``w × h / 512²`` (minimum
  0.01), input bands / 3 (``dataMask`` not counted unless it is the only band), × 2 for FLOAT32 output, × the number
  of data samples per pixel (scenes), minimum 0.005 PU per Process API request.

``window_s`` defaults to 60 s; tests shrink it so a run under budget takes seconds, not minutes.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from typing import Callable, Optional

PU_AREA_PX = 512 * 512
PU_BANDS = 3
PU_MIN_AREA_FACTOR = 0.01
PU_FLOAT32_FACTOR = 2.0
PU_MIN_PROCESS = 0.005
#: Response headers sentinelhub-py's rate limiter knows (``sentinelhub/download/rate_limit.py``,
#: ``SentinelHubRateLimit.RETRY_HEADER`` / ``UNITS_SPENT_HEADER``, 3.7.0 on): one wait for every policy, in ms.
#: HTTP header names are case-insensitive, but sentinelhub-py's ``DownloadResponse.headers`` is a plain dict, so a
#: reader of it sees the case as sent: lowercase, as the service's gateway writes names (the rate-limiting page's
#: response example shows ``"retry-after": "3398"``; assumed for the units header too).
RETRY_AFTER_HEADER = "Retry-After"
PU_SPENT_HEADER = "x-processingunits-spent"


def processing_units(width: int, height: int, input_bands: list[str], float32_output: bool, samples: int) -> float:
    """Processing units of one Process API request (rules in the module docstring)."""
    area = max(PU_MIN_AREA_FACTOR, width * height / PU_AREA_PX)
    counted = [b for b in input_bands if b != "dataMask"] or list(input_bands)
    bands = len(counted) / PU_BANDS
    fmt = PU_FLOAT32_FACTOR if float32_output else 1.0
    return max(PU_MIN_PROCESS, area * bands * fmt * max(1, samples))


@dataclasses.dataclass(frozen=True)
class BudgetConfig:
    """Budgets of one deployment per ``window_s`` seconds (None = unlimited)."""

    requests: Optional[int] = None
    processing_units: Optional[float] = None
    token_requests: Optional[int] = None
    window_s: float = 60.0


class Budget:
    """Sliding-window accounting of one deployment (thread-safe). ``clock`` returns seconds (monotonic)."""

    def __init__(self, config: BudgetConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: collections.deque[float] = collections.deque()
        self._tokens: collections.deque[float] = collections.deque()
        self._pu: collections.deque[tuple[float, float]] = collections.deque()

    def _trim(self, now: float) -> None:
        edge = now - self.config.window_s
        for q in (self._requests, self._tokens):
            while q and q[0] <= edge:
                q.popleft()
        while self._pu and self._pu[0][0] <= edge:
            self._pu.popleft()

    def _wait_ms(self, oldest: float, now: float) -> int:
        return max(1, math.ceil((oldest + self.config.window_s - now) * 1000.0))

    def _count_wait(self, queue: collections.deque[float], cap: Optional[int], now: float) -> Optional[int]:
        """ms until ``queue`` (times of counted requests) has room under ``cap``; None when it has room now."""
        if cap is None or len(queue) < cap:
            return None
        return self._wait_ms(queue[len(queue) - cap], now)

    def _pu_wait(self, now: float) -> Optional[int]:
        """ms until the PU spent in the window drops below the PU budget (enough charges, oldest first, have left
        it); None when it is below now."""
        cap = self.config.processing_units
        spent = sum(p for _, p in self._pu)
        if cap is None or not self._pu or spent < cap:
            return None
        for t, p in self._pu:
            spent -= p
            if spent < cap:
                return self._wait_ms(t, now)
        return self._wait_ms(self._pu[-1][0], now)

    def _admit(self, queue: collections.deque[float], cap: Optional[int], with_pu: bool) -> Optional[int]:
        """Count one request in ``queue``, or (nothing counted) the ``Retry-After`` in ms: the longest wait of the
        policies it breaks, so a client that waits as told is admitted (as the live service computes it)."""
        with self._lock:
            now = self._clock()
            self._trim(now)
            waits = [self._count_wait(queue, cap, now), self._pu_wait(now) if with_pu else None]
            late = [w for w in waits if w is not None]
            if late:
                return max(late)
            queue.append(now)
            return None

    def admit_request(self) -> Optional[int]:
        """Count one API request; None when admitted, else the ``Retry-After`` in ms (request and PU budgets)."""
        return self._admit(self._requests, self.config.requests, with_pu=True)

    def admit_token(self) -> Optional[int]:
        """Count one token request; None when admitted, else the ``Retry-After`` in ms."""
        return self._admit(self._tokens, self.config.token_requests, with_pu=False)

    def charge(self, units: float) -> None:
        """Charge the processing units of a successful request."""
        with self._lock:
            self._pu.append((self._clock(), float(units)))

    def remaining(self) -> dict[str, Optional[float]]:
        """What is left in the current window (for the response headers and tests)."""
        with self._lock:
            self._trim(self._clock())
            req, pu = self.config.requests, self.config.processing_units
            return {
                "requests": None if req is None else req - len(self._requests),
                "processing_units": None if pu is None else pu - sum(p for _, p in self._pu),
            }
