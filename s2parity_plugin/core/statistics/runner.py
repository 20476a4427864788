"""Drive the Statistical API for every feature × side: rate-limited, concurrent, resumable, cancellable.

Per side (A, B): one client (:mod:`.client`), one catalog search over the whole extent (:mod:`.baselines`), one
:class:`~s2parity_plugin.core.service.rate_limit.RateLimiter` with that endpoint's budgets, and a thread pool of
:func:`workers_for` threads. Each job first looks in the cache (:mod:`.cache`); otherwise it waits for the limiter
(with the request's PU estimate), sends the request through the official client (429s and interval errors are
retried there) and stores the answer. A job that still fails marks its feature as failed with the error; the run
goes on and reports partial. Cancel: waiting jobs stop within one limiter slice (0.1 s) and :func:`run_statistics`
returns at once; a request already on the wire finishes in its thread (its answer is still cached for the rerun).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from s2parity_plugin.core.errors import FetchCancelled
from s2parity_plugin.core.service.endpoints import Endpoint
from s2parity_plugin.core.service.rate_limit import Budget, RateLimiter
from s2parity_plugin.core.statistics import baselines, client
from s2parity_plugin.core.statistics.cache import ResponseCache, endpoint_identity, request_hash
from s2parity_plugin.core.statistics.requests import (
    FeatureRequest,
    StatisticsSettings,
    estimate_pu,
    intervals_with_data,
)

MAX_WORKERS_PER_SIDE = 16
POLL_S = 0.1  # s between checks of is_cancelled and finished jobs
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class Side:
    """One side of the comparison: label ``"A"``/``"B"``, endpoint and its per-minute budget."""

    label: str
    endpoint: Endpoint
    budget: Budget = field(default_factory=Budget)


@dataclass
class RunResult:
    """Everything one run produced (answers per side and feature, failures, acquisitions, counters)."""

    responses: dict[str, dict[str, dict[str, Any]]]
    acquisitions: dict[str, list[baselines.Acquisition]]
    failures: dict[str, str]
    pu_estimate: dict[str, float]
    pu_spent: dict[str, float]
    fetched: int = 0
    from_cache: int = 0
    cancelled: bool = False

    @property
    def partial(self) -> bool:
        return bool(self.failures) or self.cancelled


def workers_for(budget: Budget, latency_s: float = 1.0) -> int:
    """Threads needed to keep up with the request budget at ``latency_s`` per request (2–16)."""
    if not budget.requests_per_minute:
        return MAX_WORKERS_PER_SIDE
    need = math.ceil(budget.requests_per_minute / 60.0 * latency_s) + 1
    return max(2, min(MAX_WORKERS_PER_SIDE, need))


def pu_estimates(
    requests: Sequence[FeatureRequest], settings: StatisticsSettings, acqs: Sequence[baselines.Acquisition]
) -> dict[str, float]:
    """PU estimate of every feature's request on one side (intervals with one of the side's acquisitions)."""
    times = [a.sensing for a in acqs]
    out = {}
    for req in requests:
        out[req.feature_id] = estimate_pu(req, settings, intervals_with_data(settings, times))
    return out


@dataclass
class _SideRun:
    side: Side
    client: client.StatisticalClient
    limiter: RateLimiter
    cache: ResponseCache
    identity: str


def _job(run: _SideRun, req: FeatureRequest, pu: float, cancel: threading.Event) -> tuple[dict[str, Any], float, bool]:
    """(answer, PU spent, from cache) of one feature on one side."""
    dl = client.download_request(req, run.side.endpoint, run.client)
    key = request_hash(run.identity, dl.post_values or {})
    hit = run.cache.get(key)
    if hit is not None:
        return hit["response"], 0.0, True
    run.limiter.acquire(pu, cancel)
    answer, spent = client.fetch(req, run.side.endpoint, run.client)
    run.cache.put(key, {"feature_id": req.feature_id, "endpoint": run.identity, "response": answer, "pu": spent})
    return answer, spent, False


def search_catalogs(
    requests: Sequence[FeatureRequest], settings: StatisticsSettings, runs: Sequence[_SideRun]
) -> dict[str, list[baselines.Acquisition]]:
    """One catalog search per side over the whole extent."""
    spec = baselines.extent_spec(requests, settings)
    return {r.side.label: baselines.search(spec, r.side.endpoint, client.catalog_client(r.client)) for r in runs}


@dataclass(frozen=True)
class RunControl:
    """How the caller follows and steers a run; every field has a default.

    ``cancel``: set it to stop (None: the run makes its own). ``is_cancelled()``: polled every ``POLL_S`` s (e.g. a
    Processing feedback's ``isCanceled``); True sets ``cancel``. ``progress(done, total)``: jobs finished.
    ``log(text)``: the PU estimate before the first request. ``limiter_factory(budget)``: one
    :class:`RateLimiter` per side (the bench passes a time-scaled one).
    """

    cancel: threading.Event | None = None
    is_cancelled: Callable[[], bool] | None = None
    progress: Progress | None = None
    log: Callable[[str], None] = lambda _msg: None
    limiter_factory: Callable[[Budget], RateLimiter] = RateLimiter


def run_statistics(
    requests: Sequence[FeatureRequest],
    sides: Sequence[Side],
    settings: StatisticsSettings,
    folder: str | Path,
    *,
    proxies: dict[str, str] | None = None,
    control: RunControl | None = None,
) -> RunResult:
    """Fetch every feature × side (see the module docstring). ``folder`` holds the resumable cache; ``proxies``: a
    ``requests`` proxies dict; ``control``: cancel, progress, log (:class:`RunControl`)."""
    control = control or RunControl()
    cancel = control.cancel or threading.Event()
    runs = [
        _SideRun(
            s,
            client.make_client(s.endpoint, cancel, proxies),
            control.limiter_factory(s.budget),
            ResponseCache(folder, s.label),
            endpoint_identity(s.endpoint.profile_id, s.endpoint.base_url),
        )
        for s in sides
    ]
    acqs = search_catalogs(requests, settings, runs)
    estimates = {r.side.label: pu_estimates(requests, settings, acqs[r.side.label]) for r in runs}
    result = RunResult(
        {s.label: {} for s in sides},
        acqs,
        {},
        {k: sum(v.values()) for k, v in estimates.items()},
        {s.label: 0.0 for s in sides},
    )
    control.log(
        "PU estimate: "
        + ", ".join(f"{k} {v:.2f} PU" for k, v in result.pu_estimate.items())
        + f" for {len(requests)} features"
    )
    _run_jobs(requests, runs, estimates, replace(control, cancel=cancel), result)
    return result


def _run_jobs(
    requests: Sequence[FeatureRequest],
    runs: Sequence[_SideRun],
    estimates: dict[str, dict[str, float]],
    control: RunControl,
    result: RunResult,
) -> None:
    cancel = control.cancel
    pools = [
        cf.ThreadPoolExecutor(workers_for(r.side.budget), thread_name_prefix=f"s2p-stat-{r.side.label}") for r in runs
    ]
    futures: dict[cf.Future, tuple[str, str]] = {}
    for run, pool in zip(runs, pools):
        for req in requests:
            fut = pool.submit(_job, run, req, estimates[run.side.label][req.feature_id], cancel)
            futures[fut] = (run.side.label, req.feature_id)
    total, done = len(futures), 0
    pending = set(futures)
    try:
        while pending:
            finished, pending = cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                _collect(fut, futures[fut], result)
                done += 1
            if control.progress and finished:
                control.progress(done, total)
            if control.is_cancelled is not None and control.is_cancelled():
                cancel.set()
            if cancel.is_set():
                result.cancelled = True
                return
    finally:
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)


def _collect(fut: cf.Future, where: tuple[str, str], result: RunResult) -> None:
    label, fid = where
    try:
        answer, spent, cached = fut.result()
    except FetchCancelled:
        result.cancelled = True
        return
    except Exception as exc:
        msg = f"{label}: {type(exc).__name__}: {exc}"
        result.failures[fid] = (result.failures[fid] + "; " + msg) if fid in result.failures else msg
        return
    result.responses[label][fid] = answer
    result.pu_spent[label] += spent
    if cached:
        result.from_cache += 1
    else:
        result.fetched += 1
