"""core.service.retry on a fake clock: which answers are retried, how long it waits, and where the deadline stops it."""

from __future__ import annotations

import random
import threading

import pytest
import requests
from sentinelhub.exceptions import DownloadFailedException, OutOfRequestsException

from s2parity_plugin.core.errors import FetchCancelled
from s2parity_plugin.core.service import retry
from s2parity_plugin.core.service.retry import RetryPolicy, send_with_retries


class FakeClock:
    """The retry module's clock: each wait (one ``sleep_cancellable`` call) is recorded and advances the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float, cancel=None) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(retry.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(retry, "sleep_cancellable", fake.wait)
    return fake


def answer(status: int, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = b"{}"
    return response


def scripted(*outcomes):
    """A ``send`` that returns/raises the given outcomes in order and counts its calls."""
    queue = list(outcomes)
    calls = []

    def send():
        calls.append(1)
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    send.calls = calls
    return send


def waited_s(clock: FakeClock) -> float:
    return sum(clock.slept)


def test_5xx_timeouts_and_cut_bodies_are_retried_with_growing_backoff(clock):
    policy = RetryPolicy(deadline_s=300, backoff_initial_s=1.0, backoff_factor=2.0, jitter=0.5)
    send = scripted(
        answer(500),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
        requests.ConnectionError("reset"),
        answer(200),
    )
    assert send_with_retries(send, policy, rng=random.Random(1)).status_code == 200
    assert len(send.calls) == 5
    waits = clock.slept
    assert len(waits) == 4
    for n, wait in enumerate(waits):  # 1, 2, 4, 8 s, each with up to 50 % jitter taken off
        assert 0.5 * 2**n <= wait <= 2**n


def test_jitter_spreads_workers_that_failed_together(clock):
    policy = RetryPolicy(backoff_initial_s=1.0, jitter=0.5)
    rng = random.Random(7)
    waits = {round(policy.backoff_s(1, rng), 6) for _ in range(20)}
    assert len(waits) == 20 and min(waits) >= 0.5 and max(waits) <= 1.0


def test_gives_up_at_the_deadline_with_the_last_failure(clock):
    policy = RetryPolicy(deadline_s=10, backoff_initial_s=1.0, jitter=0.0)
    send = scripted(*[answer(503)] * 10)
    with pytest.raises(DownloadFailedException) as info:
        send_with_retries(send, policy)
    assert clock.slept == [1.0, 2.0, 4.0]  # the next wait (8 s) would end after the 10 s deadline
    assert len(send.calls) == 4
    assert info.value.request_exception.response.status_code == 503


def test_429_waits_retry_after_in_milliseconds(clock):
    send = scripted(answer(429, {"Retry-After": "1500"}), answer(429, {"Retry-After": "250"}), answer(200))
    slowed = []
    send_with_retries(send, RetryPolicy(), on_rate_limit=slowed.append)
    assert clock.slept == pytest.approx([1.5, 0.25])
    assert slowed == pytest.approx([1.5, 0.25])


def test_429_without_retry_after_waits_30_s(clock):
    send = scripted(answer(429), answer(200))
    assert send_with_retries(send, RetryPolicy(deadline_s=300)).status_code == 200
    assert waited_s(clock) == pytest.approx(retry.RATE_LIMIT_DEFAULT_S)


def test_429_past_the_deadline_fails_at_once_instead_of_sleeping(clock):
    send = scripted(answer(429), answer(200))
    with pytest.raises(OutOfRequestsException, match=r"30 s.*20 s deadline"):
        send_with_retries(send, RetryPolicy(deadline_s=20))
    assert clock.slept == []


def test_429_is_waited_out_for_as_long_as_the_deadline_allows(clock):
    send = scripted(*[answer(429, {"Retry-After": "10000"})] * 6, answer(200))
    with pytest.raises(OutOfRequestsException):
        send_with_retries(send, RetryPolicy(deadline_s=45))
    assert clock.slept == [10.0, 10.0, 10.0, 10.0]  # the fifth wait would end at 50 s


def test_503_with_retry_after_waits_that_long(clock):
    send = scripted(answer(503, {"Retry-After": "3000"}), answer(200))
    send_with_retries(send, RetryPolicy(backoff_initial_s=0.1))
    assert clock.slept == pytest.approx([3.0])


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_returned_at_once(clock, status):
    send = scripted(answer(status), answer(200))
    assert send_with_retries(send, RetryPolicy()).status_code == status
    assert len(send.calls) == 1 and clock.slept == []


def test_other_exceptions_propagate(clock):
    send = scripted(requests.exceptions.InvalidURL("no"))
    with pytest.raises(requests.exceptions.InvalidURL):
        send_with_retries(send, RetryPolicy())


def test_cancel_stops_a_wait_within_a_slice(monkeypatch):
    cancel = threading.Event()
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        cancel.set()  # cancelled during the first slice

    monkeypatch.setattr(retry.time, "sleep", nap)
    with pytest.raises(FetchCancelled):
        retry.sleep_cancellable(60.0, cancel)
    assert naps == [retry.WAIT_SLICE_S]
