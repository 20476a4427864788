"""Statistical API (``POST /api/v1/statistics``, also ``/statistics/v1``) on the Process API's engine.

Field names follow the OpenAPI reference (``StatisticalRequest`` / ``StatisticalResponse``) and the Statistical API
page (``cdse_docs/Statistical.qmd``). Pipeline of one request:

1. :func:`parse_request` validates the body (``input`` as the Process API's, ``aggregation`` with ``timeRange``,
   ``aggregationInterval.of``, ``lastIntervalBehavior``, ``evalscript``, ``width``/``height`` or ``resx``/``resy``,
   optional ``calculations``) and splits the time range into intervals (:func:`split_intervals`).
2. The evalscript's ``setup()`` must declare an output ``dataMask`` (400 otherwise, before any interval runs).
3. Every interval is rendered by the Process API itself (:func:`.process_api.parse_request` +
   :func:`.process_api.execute` with the interval as ``timeRange`` and every output as a GeoTIFF), so the data are
   mosaicked per interval exactly as a Process API request of that interval and grid would be. Intervals in which
   the deployment has no acquisition are left out of ``data[]``.
4. :func:`band_statistics` computes the statistics of each output band over the pixels whose ``dataMask`` is not 0.

Definitions (the documentation names the statistics but not their estimators; these are ours, stated here):

* ``sampleCount``: pixels of the sample matrix (``width`` × ``height``); ``noDataCount``: pixels with ``dataMask``
  0 (pixels outside ``input.bounds.geometry`` have dataMask 0 in the engine) or a non-finite value;
* ``min``, ``max``, ``mean``: of the remaining values; ``stDev``: the sample standard deviation (``ddof=1``; 0 for a
  single value); all four are the string ``"NaN"`` when no value remains (as the real service sends them);
* ``percentiles``: ``k`` in percent (0–100, as in the documentation's example; the OpenAPI text says 0–1), keys
  formatted as floats (``"50.0"``), values ``numpy.percentile(values, k, method="weibull")`` (Hyndman & Fan type 6,
  position ``p·(n+1)``);
* ``histogram``: ``bins`` edges ``[v1, v2), [v2, v3), …, [vn-1, vn]``; with ``nBins`` the edges are ``lowEdge`` plus
  repeated additions of ``(highEdge − lowEdge) / nBins`` (as in the real answers, e.g. −0.3999999999999999), with
  ``binWidth`` repeated additions of ``binWidth`` until ``highEdge`` is reached; ``lowEdge``/``highEdge`` default to
  ``min``/``max``; ``underflow`` / ``overflow`` count values below ``lowEdge`` / above ``highEdge``. Counting is
  ``numpy.histogram`` with those edges.

Known simplifications: an output without ``sampleType`` is AUTO (UINT8) in the Process API engine, while the
Statistical API's default is FLOAT32 — declare ``sampleType: "FLOAT32"`` (every preset of the plugin does);
integer histogram math is not distinguished; one ``dataMask`` output applies to every output.

Faults (per deployment, off by default, see :func:`configure`): interval-level ``EXECUTION_ERROR`` on a
deterministic schedule, and a requests/min + processing-units/min budget answered with ``429`` and ``Retry-After``
in milliseconds (sliding one-minute window on an injectable clock, so tests and the bench can scale time).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import re
import tarfile
import threading
import time
import uuid
from typing import Any, Callable, Optional

import numpy as np
from osgeo import gdal

from s2parity_plugin.core.statistics.intervals import Interval
from s2parity_plugin.sample_endpoints import process_api
from s2parity_plugin.sample_endpoints.errors import bad_payload, rate_limited, renderer_error
from s2parity_plugin.sample_endpoints.evalscript_engine import EvalscriptError, EvalscriptRun, ScriptSetup
from s2parity_plugin.sample_endpoints.process_api import required

STATISTICS_PATHS = ("/api/v1/statistics", "/statistics/v1")
LAST_INTERVAL_BEHAVIORS = ("SKIP", "SHORTEN", "EXTEND")
DATA_MASK = "dataMask"
MIN_REQUEST_PU = 0.01  # Overview_ProcessingUnit.qmd: minimal cost of a Statistical API request
MIN_AREA_FACTOR = 0.01  # ... and minimal area multiplication factor
PU_AREA_PX = 512 * 512
PU_BANDS = 3
WINDOW_S = 60.0  # rate-limit policies are per minute (Overview_RateLimiting.qmd)
_DURATION_RE = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


# -- request ---------------------------------------------------------------------------------------------------


def parse_duration(text: Any) -> Interval:
    """``P1D``, ``P10D``, ``P1W``, ``P1M``, ``P1Y`` or ``PT24H``…; at least one day; period or time part, not both.
    The duration is the core's :class:`~s2parity_plugin.core.statistics.intervals.Interval` (one calendar
    arithmetic for the plugin and the sample pair); errors are the service's 400s."""
    m = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise bad_payload(f"Invalid aggregation.aggregationInterval.of {text!r}: an ISO-8601 duration such as P1D.")
    y, mo, w, d, h, mi, s = (int(g or 0) for g in m.groups())
    if (y or mo or w or d) and (h or mi or s):
        raise bad_payload("Invalid aggregationInterval: use a period (P5D) or a time designator (PT48H), not both.")
    dur = Interval(text, 12 * y + mo, dt.timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s))
    if dur.months == 0 and dur.delta < dt.timedelta(days=1):
        raise bad_payload(f"Invalid aggregationInterval {text}: aggregation intervals must be at least one day long.")
    return dur


def split_intervals(
    t_from: dt.datetime, t_to: dt.datetime, of: Interval, behavior: str
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Consecutive ``[from, to)`` intervals of ``of`` from ``t_from``; a last partial one is dropped (SKIP),
    cut at ``t_to`` (SHORTEN) or kept whole (EXTEND)."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    start = t_from
    while start < t_to:
        end = of.add_to(start)
        if end > t_to:
            if behavior == "SHORTEN":
                out.append((start, t_to))
            elif behavior == "EXTEND":
                out.append((start, end))
            break
        out.append((start, end))
        start = end
    return out


@dataclasses.dataclass
class StatisticalPlan:
    """A validated Statistical API request: the Process API body template, intervals and calculations."""

    process_body: dict[str, Any]
    intervals: list[tuple[dt.datetime, dt.datetime]]
    calculations: dict[str, Any]
    evalscript: str


def _size_fields(agg: dict[str, Any]) -> dict[str, Any]:
    has_wh = "width" in agg or "height" in agg
    has_res = "resx" in agg or "resy" in agg
    if has_wh and has_res:
        raise bad_payload("Only one pair of parameters 'width'/'height' or 'resx'/'resy' must be set.")
    keys = ("resx", "resy") if has_res else ("width", "height")
    return {k: agg[k] for k in keys if k in agg}


def parse_request(body: Any) -> StatisticalPlan:
    """Validate a Statistical API body (JSON-decoded) into a :class:`StatisticalPlan` (or raise a 400)."""
    if not isinstance(body, dict):
        raise bad_payload("Invalid request: 'input' is required.")
    required(body, "input", "input", dict)
    agg = required(body, "aggregation", "aggregation", dict)
    evalscript = required(agg, "evalscript", "aggregation.evalscript", str)
    tr = agg.get("timeRange")
    if not isinstance(tr, dict) or "from" not in tr or "to" not in tr:
        raise bad_payload("Invalid aggregation.timeRange: 'from' and 'to' are required.")
    t_from, t_to = process_api._parse_time(tr["from"], "from"), process_api._parse_time(tr["to"], "to")
    if t_to <= t_from:
        raise bad_payload("Invalid aggregation.timeRange: 'from' must be before 'to'.")
    ai = agg.get("aggregationInterval")
    if not isinstance(ai, dict) or "of" not in ai:
        raise bad_payload("Invalid request: 'aggregation.aggregationInterval.of' is required.")
    behavior = ai.get("lastIntervalBehavior", "SKIP")
    if behavior not in LAST_INTERVAL_BEHAVIORS:
        raise bad_payload(f"Invalid lastIntervalBehavior {behavior!r}: one of {', '.join(LAST_INTERVAL_BEHAVIORS)}.")
    calculations = body.get("calculations") or {}
    if not isinstance(calculations, dict):
        raise bad_payload("Invalid 'calculations': an object keyed by output id is required.")
    inp = copy.deepcopy(body["input"])
    data = inp.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data[0].setdefault("dataFilter", {})["timeRange"] = {"from": tr["from"], "to": tr["to"]}
    process_body = {"input": inp, "output": _size_fields(agg), "evalscript": evalscript}
    process_api.parse_request(process_body)  # validates bounds, data and size like the Process API
    intervals = split_intervals(t_from, t_to, parse_duration(ai["of"]), behavior)
    return StatisticalPlan(process_body, intervals, calculations, evalscript)


_SETUPS: collections.OrderedDict[str, ScriptSetup] = collections.OrderedDict()
_SETUPS_LOCK = threading.Lock()
SETUP_CACHE_SIZE = 32  # evalscripts whose setup() result is kept (a grid run sends one script thousands of times)


def script_setup(evalscript: str, timeout_ms: int) -> ScriptSetup:
    """The evalscript's ``setup()`` (memoised per script text); 400 when there is no ``dataMask`` output (checked
    before any interval runs)."""
    key = hashlib.sha256(evalscript.encode("utf-8")).hexdigest()
    with _SETUPS_LOCK:
        setup = _SETUPS.get(key)
    if setup is None:
        try:
            with EvalscriptRun(evalscript, timeout_ms=timeout_ms) as run:
                setup = run.setup
        except EvalscriptError as exc:
            raise renderer_error(str(exc)) from exc
        with _SETUPS_LOCK:
            _SETUPS[key] = setup
            while len(_SETUPS) > SETUP_CACHE_SIZE:
                _SETUPS.popitem(last=False)
    if DATA_MASK not in [o.id for o in setup.outputs]:
        raise bad_payload(
            "Invalid evalscript: the Statistical API needs an output named 'dataMask' in setup() (and a dataMask "
            "value returned by evaluatePixel()), which says which pixels count. Add "
            '{id: "dataMask", bands: 1} to the outputs and return dataMask: [samples.dataMask].'
        )
    return setup


def sensing_times(plan: StatisticalPlan, deployment: Any) -> list[dt.datetime]:
    """Sensing times of every acquisition the deployment serves over the request's bounds in its whole time range
    (before any cloud filter; :func:`.process_api.served_acquisitions`): intervals without one are skipped without
    rendering."""
    grid = process_api.parse_request(plan.process_body)
    start, end = plan.intervals[0][0], plan.intervals[-1][1]
    acqs = process_api.served_acquisitions(
        deployment.source, deployment.name, process_api._bbox_lonlat(grid), start, end
    )
    return [a.sensing_time for a in acqs]


# -- one interval through the Process API -----------------------------------------------------------------------


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def interval_process_body(plan: StatisticalPlan, interval: tuple[dt.datetime, dt.datetime], ids: list[str]) -> dict:
    """The Process API request of one interval: same bounds, grid and evalscript, every output as a GeoTIFF."""
    body = copy.deepcopy(plan.process_body)
    body["input"]["data"][0]["dataFilter"]["timeRange"] = {"from": _iso(interval[0]), "to": _iso(interval[1])}
    body["output"]["responses"] = [{"identifier": i, "format": {"type": "image/tiff"}} for i in ids]
    return body


def decode_tiff(content: bytes) -> np.ndarray:
    """A GeoTIFF body → array (bands, rows, cols)."""
    path = f"/vsimem/s2parity_stat_{uuid.uuid4().hex}.tif"
    gdal.FileFromMemBuffer(path, content)
    try:
        ds = gdal.Open(path)
        arr = ds.ReadAsArray()
        ds = None
    finally:
        gdal.Unlink(path)
    return arr if arr.ndim == 3 else arr[np.newaxis]


def decode_outputs(result: process_api.ProcessResult, ids: list[str]) -> dict[str, np.ndarray]:
    """The Process API answer (one TIFF or a TAR of ``<id>.tif``) → ``{output id: (bands, rows, cols)}``."""
    if result.content_type != "application/x-tar":
        return {ids[0]: decode_tiff(result.body)}
    out: dict[str, np.ndarray] = {}
    with tarfile.open(fileobj=io.BytesIO(result.body)) as tar:
        for member in tar.getmembers():
            name = member.name.rsplit(".", 1)[0]
            if name in ids:
                out[name] = decode_tiff(tar.extractfile(member).read())
    return out


# -- statistics -------------------------------------------------------------------------------------------------


def _num(value: float) -> Any:
    return float(value) if math.isfinite(value) else "NaN"


def _edges(values: np.ndarray, spec: dict[str, Any]) -> Optional[np.ndarray]:
    """Histogram edges per the module docstring, or None when they cannot be built (no values, empty range)."""
    if isinstance(spec.get("bins"), list):
        edges = np.asarray([float(v) for v in spec["bins"]], dtype=float)
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise bad_payload("Invalid histogram 'bins': at least two increasing edges are required.")
        return edges
    low = float(spec["lowEdge"]) if "lowEdge" in spec else (float(values.min()) if values.size else math.nan)
    high = float(spec["highEdge"]) if "highEdge" in spec else (float(values.max()) if values.size else math.nan)
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        return None
    if "binWidth" in spec:
        width = float(spec["binWidth"])
        if not width > 0:
            raise bad_payload("Invalid histogram 'binWidth': a positive number is required.")
        n = max(1, math.ceil((high - low) / width - 1e-9))
    elif "nBins" in spec:
        n = int(spec["nBins"])
        if n < 1:
            raise bad_payload("Invalid histogram 'nBins': a positive integer is required.")
        width = (high - low) / n
    else:
        raise bad_payload("Invalid histogram: give 'bins', 'binWidth' or 'nBins'.")
    edges = [low]
    for _ in range(n):
        edges.append(edges[-1] + width)
    if "binWidth" not in spec:
        edges[-1] = high
    return np.asarray(edges, dtype=float)


def histogram(values: np.ndarray, spec: dict[str, Any]) -> dict[str, Any]:
    """``{"bins": [{lowEdge, highEdge, count}], "overflow", "underflow"}`` of ``values`` (definitions above)."""
    edges = _edges(values, spec)
    if edges is None:
        return {"bins": [], "overflow": 0, "underflow": 0}
    counts, _ = np.histogram(values, bins=edges)
    bins = [
        {"lowEdge": float(lo), "highEdge": float(hi), "count": int(c)}
        for lo, hi, c in zip(edges[:-1], edges[1:], counts)
    ]
    return {"bins": bins, "overflow": int(np.sum(values > edges[-1])), "underflow": int(np.sum(values < edges[0]))}


def band_statistics(band: np.ndarray, mask: np.ndarray, stat_spec: dict[str, Any], hist_spec: Any) -> dict:
    """Statistics of one output band (float64 math) over pixels with ``mask`` true (definitions above)."""
    raw = band.astype(np.float64).ravel()
    keep = mask.ravel() & np.isfinite(raw)
    values = raw[keep]
    n = values.size
    stats: dict[str, Any] = {
        "min": _num(values.min()) if n else "NaN",
        "max": _num(values.max()) if n else "NaN",
        "mean": _num(values.mean()) if n else "NaN",
        "stDev": _num(values.std(ddof=1)) if n > 1 else (0.0 if n == 1 else "NaN"),
        "sampleCount": int(raw.size),
        "noDataCount": int(raw.size - n),
    }
    ks = ((stat_spec or {}).get("percentiles") or {}).get("k")
    if ks:
        if not isinstance(ks, list) or not all(isinstance(k, (int, float)) and 0 <= k <= 100 for k in ks):
            raise bad_payload("Invalid percentiles.k: an array of percentages between 0 and 100 is required.")
        stats["percentiles"] = {
            str(float(k)): (_num(float(np.percentile(values, k, method="weibull"))) if n else "NaN") for k in ks
        }
    out: dict[str, Any] = {"stats": stats}
    if isinstance(hist_spec, dict):
        out["histogram"] = histogram(values, hist_spec)
    return out


def _for_band(section: Any, band: str) -> Any:
    if not isinstance(section, dict):
        return None
    return section.get(band, section.get("default"))


def output_statistics(arrays: dict[str, np.ndarray], calculations: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` of one interval: every output except ``dataMask``, bands named ``B0``, ``B1``…"""
    mask = arrays[DATA_MASK][0] != 0
    outputs: dict[str, Any] = {}
    for ident, arr in arrays.items():
        if ident == DATA_MASK:
            continue
        calc = calculations.get(ident, calculations.get("default")) or {}
        bands = {}
        for i in range(arr.shape[0]):
            name = f"B{i}"
            bands[name] = band_statistics(
                arr[i], mask, _for_band(calc.get("statistics"), name), _for_band(calc.get("histograms"), name)
            )
        outputs[ident] = {"bands": bands}
    return outputs


# -- faults and budget ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class StatisticsFaults:
    """Per-deployment Statistical API faults.

    :param interval_error_rate: share (0–1) of (bounds, interval) pairs whose first ``interval_error_attempts``
        computations answer ``error: {type: EXECUTION_ERROR}``; which pairs is a hash of ``seed`` and the pair, so the
        schedule does not depend on request order or threads.
    :param requests_per_minute: budget of statistical requests per (clock) minute; beyond it: 429.
    :param pu_per_minute: budget of processing units per (clock) minute; beyond it: 429.
    :param clock: seconds (monotonic); a scaled clock makes a "minute" shorter for tests and the bench.
    """

    interval_error_rate: float = 0.0
    interval_error_attempts: int = 1
    seed: int = 0
    requests_per_minute: Optional[float] = None
    pu_per_minute: Optional[float] = None
    clock: Callable[[], float] = time.monotonic
    attempts: dict[str, int] = dataclasses.field(default_factory=dict)
    window: collections.deque = dataclasses.field(default_factory=collections.deque)  # (time, pu)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    rejected: int = 0

    def interval_fails(self, bounds: Any, interval: tuple[dt.datetime, dt.datetime]) -> bool:
        """True when this computation of the interval is scheduled to fail (counts the attempt)."""
        if self.interval_error_rate <= 0:
            return False
        key = json.dumps([bounds, _iso(interval[0]), _iso(interval[1])], sort_keys=True)
        digest = hashlib.sha256(f"{self.seed}|{key}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.interval_error_rate:
            return False
        with self.lock:
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
        return n < self.interval_error_attempts

    def admit(self, pu_estimate: float) -> None:
        """Count one request of ``pu_estimate`` PU in the one-minute window, or raise 429 with Retry-After (ms)."""
        if self.requests_per_minute is None and self.pu_per_minute is None:
            return
        with self.lock:
            now = self.clock()
            while self.window and self.window[0][0] <= now - WINDOW_S:
                self.window.popleft()
            over_n = self.requests_per_minute is not None and len(self.window) + 1 > self.requests_per_minute
            used = sum(pu for _, pu in self.window)
            over_pu = self.pu_per_minute is not None and used + pu_estimate > self.pu_per_minute and self.window
            if over_n or over_pu:
                self.rejected += 1
                wait_s = self.window[0][0] + WINDOW_S - now
                raise rate_limited(max(1, math.ceil(wait_s * 1000)))
            self.window.append((now, pu_estimate))


FAULTS_ATTRIBUTE = "statistics_faults"  # kept on the server's Deployment object itself


def configure(endpoints: Any, deployment: str, faults: Optional[StatisticsFaults] = None) -> StatisticsFaults:
    """Set (or with None: clear) the Statistical API faults of one deployment of a running ``SampleEndpoints``."""
    dep = endpoints.deployments[deployment]
    setattr(dep, FAULTS_ATTRIBUTE, faults or StatisticsFaults())
    return getattr(dep, FAULTS_ATTRIBUTE)


def faults_for(deployment: Any) -> StatisticsFaults:
    """The faults of a server ``Deployment`` (none configured: all off)."""
    faults = getattr(deployment, FAULTS_ATTRIBUTE, None)
    if faults is None:
        faults = StatisticsFaults()
        setattr(deployment, FAULTS_ATTRIBUTE, faults)
    return faults


# -- processing units -------------------------------------------------------------------------------------------


def interval_pu(width: int, height: int, n_input_bands: int, n_samples: int) -> float:
    """PU of one interval (Overview_ProcessingUnit.qmd): area factor (min 0.01) × input bands / 3 × samples."""
    area = max(MIN_AREA_FACTOR, width * height / PU_AREA_PX)
    return area * max(1, n_input_bands) / PU_BANDS * max(1, n_samples)


def request_pu(interval_pus: list[float]) -> float:
    """PU of a request: the sum over its computed intervals, at least 0.01."""
    return max(MIN_REQUEST_PU, float(sum(interval_pus)))


# -- the endpoint -----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class StatisticalAnswer:
    """What the HTTP layer sends: the JSON body and the processing units spent."""

    body: dict[str, Any]
    processing_units: float


def answer(body: Any, deployment: Any, service_version: str, timeout_ms: int = 30_000) -> StatisticalAnswer:
    """Answer one Statistical API request on a server ``Deployment`` (``.name``, ``.source``)."""
    plan = parse_request(body)
    setup = script_setup(plan.evalscript, timeout_ms)
    ids = [o.id for o in setup.outputs]
    n_bands = len([b for b in setup.bands if b != DATA_MASK]) or 1
    faults = faults_for(deployment)
    grid = process_api.parse_request(plan.process_body)
    faults.admit(request_pu([interval_pu(grid.width, grid.height, n_bands, 1)]))
    data: list[dict[str, Any]] = []
    pus: list[float] = []
    bounds = plan.process_body["input"]["bounds"]
    times = sensing_times(plan, deployment) if plan.intervals else []
    for interval in plan.intervals:
        if not any(interval[0] <= t < interval[1] for t in times):
            continue
        entry = _interval_entry(plan, interval, ids, deployment, service_version, timeout_ms)
        if entry is None:
            continue
        n_scenes = entry.pop("_scenes")
        pus.append(interval_pu(grid.width, grid.height, n_bands, 1 if setup.mosaicking == "SIMPLE" else n_scenes))
        if faults.interval_fails(bounds, interval):
            entry = {"interval": entry["interval"], "error": {"type": "EXECUTION_ERROR"}}
        data.append(entry)
    status = "PARTIAL" if any("error" in d for d in data) else "OK"
    return StatisticalAnswer({"data": data, "status": status}, request_pu(pus))


def _interval_entry(
    plan: StatisticalPlan,
    interval: tuple[dt.datetime, dt.datetime],
    ids: list[str],
    deployment: Any,
    service_version: str,
    timeout_ms: int,
) -> Optional[dict[str, Any]]:
    """``{interval, outputs}`` of one interval, or None when the deployment has no acquisition in it."""
    pplan = process_api.parse_request(interval_process_body(plan, interval, ids))
    result = process_api.execute(pplan, deployment.name, deployment.source, service_version, timeout_ms)
    if not result.acquisitions:
        return None
    arrays = decode_outputs(result, ids)
    return {
        "interval": {"from": _iso(interval[0]), "to": _iso(interval[1])},
        "outputs": output_statistics(arrays, plan.calculations),
        "_scenes": len(result.acquisitions),
    }
