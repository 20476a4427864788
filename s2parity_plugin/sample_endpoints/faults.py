"""Fault injection per deployment (off by default): latency, 429 bursts, 5xx, truncated bodies, token expiry.

Deterministic whatever the thread order: the outcome of an API request is a pure function of
``(seed, request key, attempt number)``, where the request key is a hash of method, path and body (so one tile's
request is the same key on every retry) and the attempt number counts how often that key was seen since the last
:meth:`FaultState.set`. Two threads racing each other therefore cannot swap their faults, and a test can say
"every request fails its first two attempts" (``schedule``) or "30 % of attempts fail, seeded" (``error_rate``) and
get the same answers on every run. Only ``rate_limit_burst`` counts requests across keys (the *number* of 429s is
fixed; which requests get them depends on arrival order, by design: it imitates a shared rate limit).

Every decision is recorded in :attr:`FaultState.history` (key, attempt, outcome), the server-side log tests use to
check that retries happened.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from typing import Optional

from s2parity_plugin.sample_endpoints.errors import ServiceError, internal_error, rate_limited

OK = "ok"
TRUNCATE = "truncate"
API_OUTCOMES = ("429", "500", "503", "504", TRUNCATE, OK)
TRUNCATE_MODES = ("content-length", "chunked")


@dataclasses.dataclass
class FaultConfig:
    """What to inject on one deployment's API requests (process + catalog; the token endpoint only gets latency).

    :param latency_s: extra delay before answering every request (s).
    :param rate_limit_burst: the next N API requests are answered ``429`` with ``Retry-After: retry_after_ms``.
    :param retry_after_ms: ``Retry-After`` value (ms, as Sentinel Hub sends it); ``None`` = a 429 without the header.
    :param error_rate: share (0–1) of attempts answered with a 500/503 error, decided per (request, attempt).
    :param truncate_rate: share (0–1) of successful API bodies cut in half (connection closed), per (request, attempt).
    :param truncate_mode: ``"content-length"`` (default): the full ``Content-Length`` is announced and half the body
        sent — note that requests 2.28 / urllib3 1.26 do **not** detect this, the client receives a short body and
        fails when decoding it (what a dropped connection does to sentinelhub-py 3.12 too); ``"chunked"``: the body is
        sent with ``Transfer-Encoding: chunked`` and the terminating chunk never comes, which requests reports as
        ``ChunkedEncodingError`` (a temporary error sentinelhub-py retries).
    :param expire_tokens_after: tokens are rejected (401) once older than this many seconds, whatever ``expires_in``
        said (token expiry mid-run); ``None`` = off.
    :param expire_tokens_after_uses: tokens are rejected (401) after this many API requests each (token expiry
        mid-run at a fixed point of the run, independent of timing); ``None`` = off.
    :param seed: seed of the per-(request, attempt) error/truncation decisions.
    :param schedule: outcomes of the first attempts of *every* distinct request, in order, each one of
        ``"429"``, ``"500"``, ``"503"``, ``"504"``, ``"truncate"``, ``"ok"``; later attempts follow the rates.
        ``("503", "503")`` = every request fails twice, then succeeds.
    """

    latency_s: float = 0.0
    rate_limit_burst: int = 0
    retry_after_ms: Optional[int] = 200
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    truncate_mode: str = "content-length"
    expire_tokens_after: Optional[float] = None
    expire_tokens_after_uses: Optional[int] = None
    seed: int = 0
    schedule: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.truncate_mode not in TRUNCATE_MODES:
            raise ValueError(f"truncate_mode must be one of {TRUNCATE_MODES}, not {self.truncate_mode!r}")
        self.schedule = tuple(self.schedule)
        unknown = [o for o in self.schedule if o not in API_OUTCOMES]
        if unknown:
            raise ValueError(f"unknown fault outcome(s) {unknown}: expected {API_OUTCOMES}")


def request_key(method: str, path: str, body: bytes = b"") -> str:
    """The identity of a request for fault decisions: the same on every retry of it, different between tiles."""
    digest = hashlib.sha256(f"{method} {path}\n".encode() + body)
    return digest.hexdigest()[:16]


def _unit(seed: int, key: str, attempt: int, what: str) -> float:
    """A uniform number in [0, 1) fixed by its arguments (no generator state shared between threads)."""
    digest = hashlib.sha256(f"{seed}|{key}|{attempt}|{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


class FaultState:
    """Thread-safe runtime state of the faults of one deployment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._burst_left = 0
        self._attempts: dict[str, int] = {}
        self._current: dict[str, str] = {}
        self._token_uses: dict[str, int] = {}
        self.history: list[tuple[str, int, str]] = []

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._burst_left = int(config.rate_limit_burst)
            self._attempts = {}
            self._current = {}
            self._token_uses = {}
            self.history = []

    def clear(self) -> None:
        self.set(FaultConfig())

    def sleep_latency(self) -> None:
        lat = self.config.latency_s
        if lat > 0:
            time.sleep(lat)

    def token_spent(self, authorization: Optional[str]) -> bool:
        """Count one API use of the bearer token; True once it was used more than ``expire_tokens_after_uses``."""
        limit = self.config.expire_tokens_after_uses
        if limit is None or not authorization:
            return False
        with self._lock:
            uses = self._token_uses.get(authorization, 0) + 1
            self._token_uses[authorization] = uses
        return uses > limit

    def _decide(self, key: str) -> tuple[int, str]:
        cfg = self.config
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        if self._burst_left > 0:
            self._burst_left -= 1
            return attempt, "429"
        if attempt < len(cfg.schedule):
            return attempt, cfg.schedule[attempt]
        if cfg.error_rate > 0 and _unit(cfg.seed, key, attempt, "error") < cfg.error_rate:
            return attempt, "503" if _unit(cfg.seed, key, attempt, "status") < 0.5 else "500"
        if cfg.truncate_rate > 0 and _unit(cfg.seed, key, attempt, TRUNCATE) < cfg.truncate_rate:
            return attempt, TRUNCATE
        return attempt, OK

    def draw_api_fault(self, key: str = "") -> Optional[str]:
        """``"429"``, ``"500"``, ``"503"``, ``"504"`` or ``None`` for this attempt of request ``key`` (counts the
        attempt; a ``"truncate"`` decision is kept for :meth:`draw_truncate` of the same key)."""
        with self._lock:
            attempt, outcome = self._decide(key)
            self.history.append((key, attempt, outcome))
            self._current[key] = outcome
        return None if outcome in (OK, TRUNCATE) else outcome

    def draw_truncate(self, key: str = "") -> bool:
        """Whether the (successful) answer to the current attempt of ``key`` is cut off."""
        with self._lock:
            return self._current.pop(key, OK) == TRUNCATE

    def api_error(self, key: str = "") -> Optional[ServiceError]:
        """The error answer for this attempt of request ``key`` (in the service's JSON shape), or None."""
        fault = self.draw_api_fault(key)
        if fault == "429":
            if self.config.retry_after_ms is None:
                return ServiceError(429, "You have exceeded your rate limit", "RATE_LIMIT_EXCEEDED")
            return rate_limited(self.config.retry_after_ms)
        if fault == "500":
            return internal_error("Injected fault: internal server error")
        if fault in ("503", "504"):
            message = "Injected fault: service temporarily unavailable"
            return ServiceError(int(fault), message, "COMMON_EXCEPTION")
        return None

    def attempts_by_request(self) -> dict[str, list[str]]:
        """``{request key: [outcome of attempt 0, attempt 1, …]}`` from :attr:`history`."""
        with self._lock:
            out: dict[str, list[str]] = {}
            for key, _attempt, outcome in self.history:
                out.setdefault(key, []).append(outcome)
            return out
