"""Fault injection per deployment (off by default): latency, 429 bursts, random 5xx, truncated bodies, token expiry.

All randomness comes from one ``random.Random(seed)`` per deployment, so a test run is reproducible.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from typing import Optional


@dataclasses.dataclass
class FaultConfig:
    """What to inject on one deployment's API requests (process + catalog; the token endpoint only gets latency).

    :param latency_s: extra delay before answering every request (s).
    :param rate_limit_burst: the next N API requests are answered ``429`` with ``Retry-After: retry_after_ms``.
    :param retry_after_ms: ``Retry-After`` value (ms, as Sentinel Hub sends it).
    :param error_rate: probability (0–1) that an API request is answered with a 500/503 error.
    :param truncate_rate: probability (0–1) that a successful API body is cut in half and the connection closed.
    :param truncate_mode: ``"content-length"`` (default): the full ``Content-Length`` is announced and half the body
        sent — note that requests 2.28 / urllib3 1.26 do **not** detect this, the client receives a short body and
        fails when decoding it (what a dropped connection does to sentinelhub-py 3.12 too); ``"chunked"``: the body is
        sent with ``Transfer-Encoding: chunked`` and the terminating chunk never comes, which requests reports as
        ``ChunkedEncodingError`` (a temporary error sentinelhub-py retries).
    :param expire_tokens_after: tokens are rejected (401) once older than this many seconds, whatever ``expires_in``
        said (token expiry mid-run); ``None`` = off.
    :param seed: seed of the random generator for error/truncation draws.
    """

    latency_s: float = 0.0
    rate_limit_burst: int = 0
    retry_after_ms: int = 200
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    truncate_mode: str = "content-length"
    expire_tokens_after: Optional[float] = None
    seed: int = 0


class FaultState:
    """Thread-safe runtime state of the faults of one deployment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random(0)
        self._burst_left = 0

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._burst_left = int(config.rate_limit_burst)

    def clear(self) -> None:
        self.set(FaultConfig())

    def sleep_latency(self) -> None:
        lat = self.config.latency_s
        if lat > 0:
            time.sleep(lat)

    def draw_api_fault(self) -> Optional[str]:
        """``"429"``, ``"500"``, ``"503"`` or ``None`` for the next API request (consumes the burst / random draw)."""
        with self._lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                return "429"
            if self.config.error_rate > 0 and self._rng.random() < self.config.error_rate:
                return "503" if self._rng.random() < 0.5 else "500"
        return None

    def draw_truncate(self) -> bool:
        with self._lock:
            return self.config.truncate_rate > 0 and self._rng.random() < self.config.truncate_rate
