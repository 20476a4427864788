"""Statistics parity core against the local sample pair over real HTTP: table A beside B with baselines from one
catalog search per side, resume from the cache, failing features listed, cancel, rate limiter, request building."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sample_endpoints_support as sup

from s2parity_plugin.core.errors import AoiError, DateRangeError, FetchCancelled, PresetError
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES
from s2parity_plugin.core.service.endpoints import resolve_endpoint
from s2parity_plugin.core.service.rate_limit import Budget, RateLimiter
from s2parity_plugin.core.statistics import evalscripts, intervals
from s2parity_plugin.core.statistics.job import StatisticsJob, run_job
from s2parity_plugin.core.statistics.requests import StatisticsSettings, build_requests
from s2parity_plugin.core.statistics.runner import RunControl, Side
from s2parity_plugin.sample_endpoints import statistical_api
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

X0, Y0 = 4682000.0, 1982000.0  # seed area, EPSG:3035
CELL_M = 200.0


def cells(n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        x, y = X0 + (i % 4) * CELL_M, Y0 + (i // 4) * CELL_M
        out.append((f"c{i}", f"POLYGON(({x} {y},{x + CELL_M} {y},{x + CELL_M} {y + CELL_M},{x} {y + CELL_M},{x} {y}))"))
    return out


def settings(**kw) -> StatisticsSettings:
    base = dict(
        date_from=dt.datetime(2020, 9, 1, tzinfo=dt.timezone.utc),
        date_to=dt.datetime(2020, 9, 20, tzinfo=dt.timezone.utc),
        interval=intervals.parse_interval("P1D"),
        evalscript=evalscripts.preset_evalscript("NDVI", DEFAULT_INVALID_CLASSES),
        input_bands=evalscripts.input_band_count("NDVI"),
        resolution_m=10.0,
    )
    base.update(kw)
    return StatisticsSettings(**base)


def job(tmp_path, n=3, **kw) -> StatisticsJob:
    return StatisticsJob(
        features=cells(n),
        layer_epsg=3035,
        settings=settings(**kw),
        side_a=Side("A", resolve_endpoint("sample-sh")),
        side_b=Side("B", resolve_endpoint("sample-cdse")),
        folder=tmp_path,
        tolerance=0.01,
    )


@pytest.fixture(autouse=True)
def _clean():
    eps = sample_endpoints()
    eps.clear_faults()
    for name in ("sh", "cdse"):
        statistical_api.configure(eps, name, None)
    sup.clear_sessions()
    yield eps
    eps.clear_faults()
    for name in ("sh", "cdse"):
        statistical_api.configure(eps, name, None)


def test_table_a_beside_b_with_baselines_and_one_catalog_search_per_side(tmp_path, _clean):
    eps = _clean
    before = len(eps.request_log)
    out = run_job(job(tmp_path))
    log = eps.request_log[before:]
    searches = [e for e in log if e[2].endswith("/search")]
    assert sorted(e[0] for e in searches) == ["cdse", "sh"]  # one per side, not one per feature
    assert sum(1 for e in log if e[2].endswith("/statistics") and e[3] == 200) == 6
    assert not out.result.failures and not out.result.partial
    rows = out.rows
    assert {r["feature_id"] for r in rows} == {"c0", "c1", "c2"}
    both = [r for r in rows if r["presence"] == "both"]
    assert both and all(r["date"] >= "2020-09-01" and r["date"] <= "2020-09-20" for r in rows)
    for r in both:
        if r["mean_a"] is not None and r["mean_b"] is not None:
            assert r["delta_mean"] == pytest.approx(r["mean_b"] - r["mean_a"])
            assert r["rel_delta"] == pytest.approx(r["delta_mean"] / abs(r["mean_a"]))
        assert r["delta_sample_count"] == 0  # same grid on both sides
        assert r["delta_nodata_count"] == r["nodata_count_b"] - r["nodata_count_a"]
    # 2020: Sentinel Hub serves the operational 02.14 products, CDSE the Collection-1 05.00 reprocessing
    assert {r["baseline_a"] for r in both} == {"02.14"}
    assert {r["baseline_b"] for r in both} == {"05.00"}
    assert any(abs(r["delta_mean"] or 0) > 1e-4 for r in both)
    assert out.paths["table"].is_file() and out.paths["csv"].is_file() and out.paths["report"].is_file()
    assert out.report["by_baseline_pair"]["02.14 → 05.00"]["count"] == len(
        [r for r in both if r["delta_mean"] is not None]
    )
    assert out.summaries["c0"]["intervals_compared"] > 0


def test_rows_equal_the_raw_answers(tmp_path):
    out = run_job(job(tmp_path, n=1))
    answer_a = out.result.responses["A"]["c0"]
    first = next(d for d in answer_a["data"] if "outputs" in d)
    stats = first["outputs"]["value"]["bands"]["B0"]["stats"]
    row = next(r for r in out.rows if r["interval_from"] == first["interval"]["from"])
    grid = out.requests[0].grid  # the cell in its UTM zone, snapped outward to 10 m
    assert row["sample_count_a"] == stats["sampleCount"] == grid.width * grid.height
    if isinstance(stats["mean"], float):
        assert row["mean_a"] == stats["mean"]


def _one_interval(day_from: str, day_to: str, sample_count: int = 4, **stats) -> dict:
    """A Statistical API answer with one interval (``day_from``..``day_to``) whose ``value`` band B0 has ``stats``
    (as the API writes them, ``"NaN"`` included) over ``sample_count`` pixels."""
    interval = {"from": f"{day_from}T00:00:00Z", "to": f"{day_to}T00:00:00Z"}
    band = {"stats": {**stats, "sampleCount": sample_count}}
    return {"data": [{"interval": interval, "outputs": {"value": {"bands": {"B0": band}}}}]}


def test_one_side_only_intervals_are_rows_of_their_own(tmp_path):
    from s2parity_plugin.core.statistics.table import feature_rows

    a = _one_interval("2020-09-04", "2020-09-05", mean=0.5, stDev=0.1, min=0.1, max=0.9, noDataCount=1)
    b = _one_interval("2020-09-09", "2020-09-10", mean="NaN", stDev="NaN", min="NaN", max="NaN", noDataCount=4)
    rows = feature_rows("f", a, b, "value", {}, 0.01)
    assert [r["presence"] for r in rows] == ["only_a", "only_b"]
    assert rows[0]["mean_a"] == 0.5 and rows[0]["mean_b"] is None and rows[0]["delta_mean"] is None
    assert rows[1]["mean_b"] is None and rows[1]["nodata_count_b"] == 4


def test_resume_fetches_only_what_is_missing_and_yields_the_same_table(tmp_path, _clean):
    eps = _clean
    first = run_job(job(tmp_path, n=3))
    (tmp_path / "statistics_cache" / "B").joinpath(
        next(iter(sorted((tmp_path / "statistics_cache" / "B").glob("*.json")))).name
    ).unlink()
    before = len(eps.request_log)
    second = run_job(job(tmp_path, n=3))
    stat_calls = [e for e in eps.request_log[before:] if e[2].endswith("/statistics")]
    assert len(stat_calls) == 1  # only the missing feature × side
    assert second.result.from_cache == 5 and second.result.fetched == 1
    assert second.rows == first.rows


def test_a_failing_feature_is_listed_and_the_run_goes_on(tmp_path, monkeypatch):
    from s2parity_plugin.core.statistics import client

    real_fetch = client.fetch

    def flaky(request, endpoint, cl):
        if request.feature_id == "c1" and endpoint.profile_id == "sample-cdse":
            raise RuntimeError("simulated outage")
        return real_fetch(request, endpoint, cl)

    monkeypatch.setattr(client, "fetch", flaky)
    out = run_job(job(tmp_path, n=3))
    assert set(out.result.failures) == {"c1"} and "simulated outage" in out.result.failures["c1"]
    assert out.result.partial and out.report["totals"]["partial"] is True
    assert out.summaries["c1"]["status"].startswith("failed:")
    assert {r["feature_id"] for r in out.rows} == {"c0", "c2"}
    assert out.report["failures"]["c1"]


def test_interval_errors_are_absorbed_by_the_client_retries(tmp_path, _clean):
    statistical_api.configure(_clean, "cdse", statistical_api.StatisticsFaults(interval_error_rate=0.5, seed=5))
    out = run_job(job(tmp_path, n=2))
    assert not out.result.failures
    assert all(r["error_b"] is None for r in out.rows)


def test_429_is_absorbed(tmp_path, _clean):
    _clean.set_faults("sh", rate_limit_burst=3, retry_after_ms=50)
    out = run_job(job(tmp_path, n=2))
    assert not out.result.failures
    assert sum(1 for e in _clean.request_log if e[0] == "sh" and e[3] == 429) >= 3


def test_cancel_returns_promptly_and_writes_no_table(tmp_path):
    cancel = threading.Event()
    slow = Budget(requests_per_minute=1, pu_per_minute=None)  # one request a minute: everything else waits
    j = job(tmp_path, n=4)
    j.side_a.budget = slow
    j.side_b.budget = slow
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    out = run_job(j, control=RunControl(cancel=cancel))
    timer.cancel()
    assert out.result.cancelled and out.result.partial
    assert not out.paths and not (tmp_path / "statistics.gpkg").exists()


def test_rate_limiter_paces_requests_and_pu_on_a_fake_clock():
    now = [0.0]
    limiter = RateLimiter(Budget(60, 30), clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    starts = []
    for _ in range(4):
        limiter.acquire(1.0)
        starts.append(now[0])
    # 60 req/min → 1 s apart; 30 PU/min with 1 PU each → 2 s apart: the PU budget dominates
    assert starts == pytest.approx([0.0, 2.0, 4.0, 6.0], abs=0.11)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FetchCancelled):
        limiter.acquire(1.0, cancel)


def test_budget_lower_bound():
    assert Budget(300, 300).lower_bound_s(1000, 100.0) == pytest.approx(200.0)
    assert Budget(300, 300).lower_bound_s(10, 600.0) == pytest.approx(120.0)


def test_bad_inputs_are_refused_before_any_request():
    with pytest.raises(DateRangeError, match="shorter than a day"):
        intervals.parse_interval("PT6H")
    with pytest.raises(PresetError, match="dataMask"):
        evalscripts.check_custom(
            "//VERSION=3\nfunction setup(){return {output:[{id:'v'}]}}\nfunction evaluatePixel(s){}"
        )
    with pytest.raises(AoiError, match="Feature bad"):
        build_requests([("bad", "LINESTRING(0 0, 1 1)")], 3035, settings())
    ok = evalscripts.check_custom(
        '//VERSION=3\nfunction setup(){return {output:[{id:"v"},{id: "dataMask"}]}}\nfunction evaluatePixel(s){}'
    )
    assert evalscripts.value_output(ok) == "v"


def test_requests_share_one_lattice():
    reqs = build_requests(cells(3), 3035, settings())
    assert len({r.grid.epsg for r in reqs}) == 1
    for r in reqs:
        assert r.grid.epsg == 32633  # UTM zone of the layer's centroid (Campania)
        assert 20 <= r.grid.width <= 23 and 20 <= r.grid.height <= 23
        assert r.grid.x0 / 10 == pytest.approx(round(r.grid.x0 / 10))
        assert r.body["aggregation"]["timeRange"] == {"from": "2020-09-01T00:00:00Z", "to": "2020-09-21T00:00:00Z"}


@pytest.mark.skipif(not sup.openapi_available(), reason="../shared OpenAPI document absent")
def test_the_core_request_follows_the_openapi_schema():
    from s2parity_plugin.core.statistics import client as stat_client

    [req] = build_requests(cells(1), 3035, settings())
    endpoint = resolve_endpoint("sample-sh")
    cl = stat_client.make_client(endpoint, threading.Event())
    body = json.loads(json.dumps(stat_client.download_request(req, endpoint, cl).post_values))  # as sent
    assert sup.schema_errors(body, ("StatisticalRequest",)) == []
    answer, pu = stat_client.fetch(req, endpoint, cl)
    errors = sup.schema_errors(answer, ("StatisticalResponse",))
    # The real service writes an all-masked interval's statistics as "NaN" (see test_sample_endpoints_statistical).
    assert [e for e in errors if "'NaN' is not of type 'number'" not in e] == []
    assert answer["data"] and pu >= 0.01
