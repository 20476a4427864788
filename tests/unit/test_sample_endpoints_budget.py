"""Rate-limit mode of the sample pair: request / PU / token budgets, 429 with Retry-After in ms (the longest wait of the
broken policies) that sentinelhub-py waits as told, X-ProcessingUnits-Spent, PU per the docs, and the plugin's fetch
finishing a 30-request run under such a budget with one token per endpoint."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import requests
import sample_endpoints_support as sup
from sentinelhub import CRS, BBox, MimeType, SentinelHubRequest, SentinelHubStatistical
from shapely.geometry import box

from s2parity_plugin.core.fetch import run_folder
from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair
from s2parity_plugin.core.model.spec import build_spec
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint
from s2parity_plugin.sample_endpoints import SampleEndpoints
from s2parity_plugin.sample_endpoints.budget import PU_SPENT_HEADER, Budget, BudgetConfig, processing_units

SMALL = box(14.200, 40.800, 14.212, 40.809)  # ~1 km² near Naples
STAT_SCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: [{id: "b04", bands: 1, sampleType: "FLOAT32"},
                                                                {id: "dataMask", bands: 1}]}; }
function evaluatePixel(s) { return {b04: [s.B04], dataMask: [s.dataMask]}; }
"""


@pytest.mark.parametrize(
    ("args", "pu"),
    [
        ((512, 512, ["B04", "B08", "B11"], False, 1), 1.0),
        ((20, 20, ["B04", "B08"], False, 1), 0.01 * 2 / 3),  # the docs' worked example: minimum area, 2 bands
        ((512, 512, ["B04", "dataMask"], True, 2), 1 / 3 * 2 * 2),  # dataMask not counted; FLOAT32 × 2; 2 samples
        ((10, 10, ["dataMask"], False, 1), 0.005),  # minimum per Process API request
    ],
)
def test_processing_units_per_the_docs(args, pu):
    assert processing_units(*args) == pytest.approx(pu)


def test_budget_window_and_retry_after():
    now = [100.0]
    b = Budget(BudgetConfig(requests=2, processing_units=1.0, window_s=60.0), clock=lambda: now[0])
    assert b.admit_request() is None and b.admit_request() is None
    assert b.admit_request() == 60_000  # the oldest request leaves the window in 60 s
    now[0] += 59.5
    assert b.admit_request() == 500
    now[0] += 1.0
    assert b.admit_request() is None
    b.charge(1.2)
    assert b.admit_request() == 60_000  # PU spent: the next request waits for the charge to leave the window


def test_retry_after_is_the_longest_wait_of_the_broken_policies():
    now = [0.0]
    b = Budget(BudgetConfig(requests=1, processing_units=1.0, window_s=60.0), clock=lambda: now[0])
    assert b.admit_request() is None
    now[0] = 10.0
    b.charge(1.2)  # the request's units, charged when it finished
    now[0] = 20.0
    assert b.admit_request() == 50_000  # the request slot frees at t=60, the PU budget only at t=70
    now[0] = 70.0
    assert b.admit_request() is None


def test_pu_retry_after_waits_until_enough_units_have_left_the_window():
    now = [0.0]
    b = Budget(BudgetConfig(processing_units=1.0, window_s=60.0), clock=lambda: now[0])
    for t, pu in ((0.0, 0.1), (1.0, 0.5), (2.0, 0.6)):
        now[0] = t
        assert b.admit_request() is None  # spent 0, 0.1, 0.6: below the budget
        b.charge(pu)
    now[0] = 3.0
    assert b.admit_request() == 58_000  # 1.2 spent; without the 0.1 still 1.1, without the 0.5 too: 0.6
    now[0] = 60.5
    assert b.admit_request() == 500  # the 0.5 (t=1) is still in the window
    now[0] = 61.0
    assert b.admit_request() is None


def _token(info, dep):
    return sup.token_response(info, dep)


def test_budget_answers_429_with_retry_after_in_ms():
    with SampleEndpoints() as eps:
        eps.set_budget("cdse", requests=1, token_requests=2, window_s=30.0)
        tok = _token(eps.info, "cdse").json()["access_token"]
        url = eps.info["cdse"]["base_url"] + "/api/v1/process"
        body = sup.seed_request_10m()
        body["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
        ok = requests.post(url, json=body, headers={"Authorization": f"Bearer {tok}"}, timeout=60)
        assert ok.status_code == 200 and float(ok.headers["x-processingunits-spent"]) > 0
        limited = requests.post(url, json=body, headers={"Authorization": f"Bearer {tok}"}, timeout=60)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert 25_000 < int(limited.headers["Retry-After"]) <= 30_000
        assert _token(eps.info, "cdse").status_code == 200
        third = _token(eps.info, "cdse")
        assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
        assert _token(eps.info, "sh").status_code == 200  # the other deployment has no budget


def _client_request(info, api: str):
    """A small Process or Statistical API request of sentinelhub-py against the 'cdse' deployment."""
    bbox, cfg = BBox((4682000.0, 1982000.0, 4682200.0, 1982200.0), crs=CRS(3035)), sup.sh_config(info, "cdse")
    day = ("2020-10-04T00:00:00Z", "2020-10-05T00:00:00Z")
    if api == "process":
        return SentinelHubRequest(
            evalscript=sup.SEED_EVALSCRIPT.read_text(),
            input_data=[SentinelHubRequest.input_data(sup.collection(info, "cdse"), time_interval=day)],
            responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
            bbox=bbox,
            resolution=(10, 10),
            config=cfg,
        )
    return SentinelHubStatistical(
        aggregation=SentinelHubStatistical.aggregation(
            evalscript=STAT_SCRIPT, time_interval=day, aggregation_interval="P1D", resolution=(10, 10)
        ),
        input_data=[SentinelHubStatistical.input_data(sup.collection(info, "cdse"))],
        bbox=bbox,
        config=cfg,
    )


@pytest.mark.parametrize("api", ["process", "statistics"])
def test_a_pu_budget_429_carries_retry_after_and_the_official_client_waits_as_told(api, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    window_s = 1.5
    with SampleEndpoints() as eps:
        eps.set_budget("cdse", processing_units=0.004, window_s=window_s)  # one request (>= 0.005 PU) spends it
        req = _client_request(eps.info, api)
        call = req.download_list[0]
        auth = {"Authorization": f"Bearer {_token(eps.info, 'cdse').json()['access_token']}"}
        t0 = time.monotonic()
        ok = requests.post(call.url, json=call.post_values, headers=auth, timeout=60)
        assert ok.status_code == 200 and float(ok.headers[PU_SPENT_HEADER]) >= 0.005
        limited = requests.post(call.url, json=call.post_values, headers=auth, timeout=60)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert 0 < int(limited.headers["Retry-After"]) <= window_s * 1000
        before = len(eps.request_log)
        assert req.get_data()  # sentinelhub-py: 429, waits Retry-After (SentinelHubRateLimit.update), then 200
        elapsed = time.monotonic() - t0
        statuses = [r[3] for r in eps.request_log[before:] if r[2] == urlsplit(call.url).path]
    sup.clear_sessions()
    assert statuses == [429, 200]  # an earlier retry would have met another 429: the client waited as told
    assert elapsed >= window_s  # the charge of the first request (after t0) left the window before the 200


def test_fetch_finishes_a_30_request_run_under_a_budget_with_one_token(tmp_path, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    with SampleEndpoints() as eps:
        for dep in ("sh", "cdse"):
            eps.set_budget(dep, requests=3, token_requests=3, window_s=2.0)
        info = eps.info
        a, b = (
            Endpoint(f"sample-{d}", info[d]["base_url"], info[d]["token_url"], Credentials(info[d]["client_id"],
                                                                                           info[d]["client_secret"]))
            for d in ("sh", "cdse")
        )  # fmt: skip
        spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
        run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=25))
        assert run_folder.load_manifest(run)["tiles"] >= 15
        log = eps.request_log
    sup.clear_sessions()
    process = [r for r in log if r[2].endswith("/process")]
    assert sum(1 for r in process if r[3] == 200) >= 30
    assert any(r[3] == 429 for r in process), "the budget should have rate-limited some requests"
    for dep in ("sh", "cdse"):
        assert sum(1 for r in log if r[0] == dep and r[2].endswith("/token") and r[3] == 200) == 1
