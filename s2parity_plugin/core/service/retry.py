"""Retrying one HTTP request until it succeeds, fails for good, or runs out of its deadline (QGIS-free).

What is retried (the official client's temporary errors, and more patiently): HTTP 5xx, connection errors, read
timeouts and cut-off bodies (``ChunkedEncodingError``), with exponential backoff and jitter; HTTP 429 waits the
server's ``Retry-After`` (milliseconds, as Sentinel Hub sends it; ``RATE_LIMIT_DEFAULT_S`` when the header is
missing), and a 503 with ``Retry-After`` waits that long too. Every wait is cut into ``WAIT_SLICE_S`` slices that
check the cancel event, and no wait goes past the request's deadline: when the next attempt could not start before
the deadline, the last failure is raised (``DownloadFailedException`` with the underlying ``requests`` exception,
or ``OutOfRequestsException`` for 429), so the caller's error mapping sees the real cause.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

import requests
from sentinelhub.exceptions import DownloadFailedException, OutOfRequestsException

from s2parity_plugin.core.errors import FetchCancelled

LOGGER = logging.getLogger(__name__)

WAIT_SLICE_S = 0.1
RATE_LIMIT_DEFAULT_S = 30.0
DEFAULT_DEADLINE_S = 300.0
DEADLINE_ENV = "S2PARITY_RETRY_DEADLINE_S"  # overrides DEFAULT_DEADLINE_S (scripts, tests)
TEMPORARY_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often one request is retried.

    :param deadline_s: time budget of one request including every retry and wait (s, from its first attempt).
    :param backoff_initial_s: wait after the first failure (s); doubled (``backoff_factor``) after each further one.
    :param backoff_factor: growth of the wait per failed attempt.
    :param backoff_max_s: upper bound of one backoff wait (s).
    :param jitter: each backoff wait is drawn uniformly from ``[(1 - jitter) × w, w]`` so parallel workers that
        failed together do not retry together.
    :param rate_limit_default_s: wait after a 429 without ``Retry-After`` (s).
    """

    deadline_s: float = DEFAULT_DEADLINE_S
    backoff_initial_s: float = 1.0
    backoff_factor: float = 2.0
    backoff_max_s: float = 30.0
    jitter: float = 0.5
    rate_limit_default_s: float = RATE_LIMIT_DEFAULT_S

    def backoff_s(self, failures: int, rng: random.Random) -> float:
        """The wait before the next attempt after ``failures`` (≥ 1) failed attempts (s)."""
        wait = min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor ** (failures - 1))
        return wait * (1.0 - self.jitter * rng.random())


def default_policy(deadline_s: float | None = None) -> RetryPolicy:
    """The production policy; ``deadline_s`` (s) if given, else ``$S2PARITY_RETRY_DEADLINE_S``, else 5 min."""
    if deadline_s is None:
        try:
            deadline_s = float(os.environ.get(DEADLINE_ENV, "") or DEFAULT_DEADLINE_S)
        except ValueError:
            deadline_s = DEFAULT_DEADLINE_S
    return RetryPolicy(deadline_s=max(0.0, deadline_s))


def retry_after_s(response: requests.Response, default_s: float | None) -> float | None:
    """The ``Retry-After`` of ``response`` in seconds (Sentinel Hub sends milliseconds), else ``default_s``."""
    raw = (response.headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(raw) / 1000.0)
    except ValueError:
        return default_s


def sleep_cancellable(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep ``seconds``, checking ``cancel`` every ``WAIT_SLICE_S``; raise :class:`FetchCancelled` when set."""
    end = time.monotonic() + seconds
    while True:
        if cancel is not None and cancel.is_set():
            raise FetchCancelled("Cancelled while waiting to retry.")
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(WAIT_SLICE_S, left))


def _http_error(response: requests.Response) -> requests.HTTPError:
    return requests.HTTPError(f"{response.status_code} Server Error for url: {response.url}", response=response)


def send_with_retries(
    send: Callable[[], requests.Response],
    policy: RetryPolicy,
    *,
    cancel: threading.Event | None = None,
    rng: random.Random | None = None,
    on_rate_limit: Callable[[float], None] | None = None,
    what: str = "request",
) -> requests.Response:
    """Call ``send`` until it returns a response that is neither 429 nor 5xx (returned as is, 4xx included).

    ``send`` makes one attempt; it may raise a ``requests`` exception (temporary ones are retried, others
    propagate). ``on_rate_limit(wait_s)`` is told of every 429 (to slow down the other workers of the client).
    """
    rng = rng or random.Random()
    start = time.monotonic()
    failures = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise FetchCancelled("Cancelled before sending a request.")
        failure: requests.RequestException
        try:
            response = send()
        except TEMPORARY_ERRORS as exc:
            failure, wait = exc, None
        else:
            status = response.status_code
            if status == requests.codes.too_many_requests:
                wait = retry_after_s(response, policy.rate_limit_default_s) or 0.0
                if on_rate_limit is not None:
                    on_rate_limit(wait)
                if time.monotonic() - start + wait > policy.deadline_s:
                    raise OutOfRequestsException(
                        f"HTTP 429 asks to wait {wait:g} s, past the {policy.deadline_s:g} s deadline of the {what}"
                    )
                LOGGER.debug("HTTP 429 on %s: waiting %.2f s as asked", what, wait)
                sleep_cancellable(wait, cancel)
                continue
            if status < 500:
                return response
            failure = _http_error(response)
            wait = retry_after_s(response, None) if status == requests.codes.service_unavailable else None
        failures += 1
        wait = policy.backoff_s(failures, rng) if wait is None else wait
        if time.monotonic() - start + wait > policy.deadline_s:
            raise DownloadFailedException(
                f"{what} failed {failures} times within its {policy.deadline_s:g} s deadline; last: {failure}",
                request_exception=failure,
            ) from failure
        LOGGER.debug("%s failed (%s), attempt %d: retrying in %.2f s", what, type(failure).__name__, failures, wait)
        sleep_cancellable(wait, cancel)
