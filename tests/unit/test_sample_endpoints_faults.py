"""Fault injection, auth and error shapes of the sample endpoints, seen by the real sentinelhub client over HTTP."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests
import sample_endpoints_support as sup
from sentinelhub import CRS, BBox, MimeType, SentinelHubRequest
from sentinelhub.exceptions import DownloadFailedException

from s2parity_plugin.sample_endpoints import SampleEndpoints

SMALL_EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "dataMask"], units: "DN"}], output: {bands: 1, sampleType: "UINT16"}};
}
function evaluatePixel(s) { return [s.B04]; }
"""
BBOX_UTM = (450000.0, 4520000.0, 450640.0, 4520480.0)  # 64 x 48 px at 10 m, EPSG:32633 (tile 33TVF)


@pytest.fixture()
def eps(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    with SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0, record_bodies=True) as e:
        yield e
    sup.clear_sessions()
    if sup.openapi_available():  # every body these tests sent: valid, or rejected by the emulator (negative cases)
        sup.validate_recorded(e.request_bodies, rejected_may_be_invalid=True)


def small_request(eps: SampleEndpoints, deployment: str, **cfg) -> SentinelHubRequest:
    return SentinelHubRequest(
        evalscript=SMALL_EVALSCRIPT,
        input_data=[SentinelHubRequest.input_data(sup.collection(eps.info, deployment), time_interval="2020-10-04")],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox(BBOX_UTM, crs=CRS(32633)),
        resolution=(10, 10),
        config=sup.sh_config(eps.info, deployment, **cfg),
    )


def api_statuses(eps: SampleEndpoints, deployment: str, suffix: str = "/api/v1/process") -> list[int]:
    return [s for d, _, p, s in eps.request_log if d == deployment and p.endswith(suffix)]


def bearer(eps: SampleEndpoints, deployment: str) -> dict[str, str]:
    return sup.bearer(eps.info, deployment)


def test_429_burst_retried_by_sentinelhub_with_retry_after_ms(eps):
    eps.set_faults("sh", rate_limit_burst=2, retry_after_ms=300)
    t0 = time.monotonic()
    with pytest.warns(Warning, match="rate limit"):
        data = small_request(eps, "sh").get_data()[0]
    assert data.shape == (48, 64)
    assert api_statuses(eps, "sh") == [429, 429, 200]
    assert time.monotonic() - t0 >= 0.55  # waited Retry-After (ms) twice
    assert api_statuses(eps, "cdse") == []  # faults are per deployment


def test_429_answer_shape(eps):
    eps.set_faults("cdse", rate_limit_burst=1, retry_after_ms=1234)
    r = requests.post(
        eps.info["cdse"]["base_url"] + "/api/v1/process", json=sup.seed_request_10m(), headers=bearer(eps, "cdse")
    )
    assert r.status_code == 429 and r.headers["Retry-After"] == "1234"
    assert r.json() == {
        "error": {
            "status": 429,
            "reason": "Too Many Requests",
            "message": "You have exceeded your rate limit",
            "code": "RATE_LIMIT_EXCEEDED",
        }
    }


def test_5xx_retried_by_sentinelhub(eps):
    eps.set_faults("cdse", schedule=("500",))  # every request: first attempt fails, the next one passes
    data = small_request(eps, "cdse").get_data()[0]
    assert data.shape == (48, 64)
    assert api_statuses(eps, "cdse") == [500, 200]


def test_5xx_persistent_gives_up(eps):
    eps.set_faults("sh", error_rate=1.0)
    with pytest.raises(DownloadFailedException):
        small_request(eps, "sh", max_download_attempts=3).get_data()
    assert len(api_statuses(eps, "sh")) == 3 and all(s >= 500 for s in api_statuses(eps, "sh"))


def test_truncated_chunked_body_retried(eps):
    eps.set_faults("sh", schedule=("truncate",), truncate_mode="chunked")  # first answer truncated
    data = small_request(eps, "sh").get_data()[0]
    assert data.shape == (48, 64)
    assert api_statuses(eps, "sh") == [200, 200]
    [attempts] = eps.deployments["sh"].faults.attempts_by_request().values()
    assert attempts == ["truncate", "ok"]


def test_truncated_content_length_body_is_shorter_than_announced(eps):
    """The fault announces the full Content-Length and sends half the body. Checked on the wire (http.client),
    not through requests: urllib3 1.26 hands the short body on silently, urllib3 2 raises — the fault is the same."""
    eps.set_faults("sh", truncate_rate=1.0)
    url = urlsplit(eps.info["sh"]["base_url"] + "/api/v1/process")
    body = json.dumps({**sup.seed_request_10m(), "output": {"resx": 10, "resy": 10}})
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", url.path, body, {**bearer(eps, "sh"), "Content-Type": "application/json"})
        response = conn.getresponse()
        announced = int(response.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as short:
            response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert 0 < len(short.value.partial) < announced
    assert len(short.value.partial) + short.value.expected == announced


def test_token_expiry_mid_run_gives_401_then_new_session_works(eps):
    small_request(eps, "sh").get_data()
    eps.set_faults("sh", expire_tokens_after=0.3)
    time.sleep(0.4)
    with pytest.raises(DownloadFailedException) as info:
        small_request(eps, "sh").get_data()  # cached session, token now rejected
    assert "401" in str(info.value) and "COMMON_UNAUTHORIZED" in str(info.value)
    sup.clear_sessions()  # a fresh session fetches a fresh token
    assert small_request(eps, "sh").get_data()[0].shape == (48, 64)
    assert api_statuses(eps, "sh") == [200, 401, 200]


def test_short_lived_tokens_are_refreshed_by_the_client(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    with SampleEndpoints(token_ttl_s=1.0) as eps:
        small_request(eps, "cdse").get_data()
        time.sleep(1.1)
        small_request(eps, "cdse").get_data()  # the old token is expired: the client must fetch a new one
        token_calls = [s for d, _, p, s in eps.request_log if d == "cdse" and p.endswith("/token")]
        assert len(token_calls) >= 2 and api_statuses(eps, "cdse") == [200, 200]
        # and an expired token is refused with the real 401 body
        hdr = bearer(eps, "cdse")
        time.sleep(1.1)
        r = requests.post(eps.info["cdse"]["base_url"] + "/api/v1/process", json=sup.seed_request_10m(), headers=hdr)
        assert r.status_code == 401 and r.json()["error"]["code"] == "COMMON_UNAUTHORIZED"
    sup.clear_sessions()


def test_auth_errors(eps):
    sh, cdse = eps.info["sh"], eps.info["cdse"]
    # wrong secret -> Keycloak-style 401
    r = requests.post(
        sh["token_url"],
        data={"grant_type": "client_credentials", "client_id": sh["client_id"], "client_secret": "nope"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    # the other deployment's realm path does not exist here
    r = requests.post(sh["base_url"] + "/auth/realms/CDSE/protocol/openid-connect/token", data={})
    assert r.status_code == 404
    # no token / token of the other deployment -> 401 in the service's error shape
    for headers in ({}, bearer(eps, "cdse"), {"Authorization": "Bearer a.b.c"}):
        r = requests.post(sh["base_url"] + "/api/v1/process", json=sup.seed_request_10m(), headers=headers)
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["status"] == 401 and err["reason"] == "Unauthorized" and err["code"] == "COMMON_UNAUTHORIZED"
    r = requests.post(cdse["base_url"] + "/api/v1/catalog/1.0.0/search", json={})
    assert r.status_code == 401


def _post(eps, body, deployment="sh"):
    return requests.post(
        eps.info[deployment]["base_url"] + "/api/v1/process", json=body, headers=bearer(eps, deployment), timeout=60
    )


def test_invalid_evalscript_error_shape(eps):
    body = sup.seed_request_10m()
    body["evalscript"] = '//VERSION=3\nfunction setup() { return {input: ["B04"], output: {bands: 1}}; }\n' + (
        "function evaluatePixel(s) { return [s.B04 * undefinedThing]; }\n"
    )
    body["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    r = _post(eps, body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "RENDERER_EXCEPTION" and "undefinedThing" in err["message"]
    body["evalscript"] = "//VERSION=3\nfunction setup( {"
    r = _post(eps, body)
    assert r.status_code == 400 and "SyntaxError" in r.json()["error"]["message"]
    body["evalscript"] = SMALL_EVALSCRIPT.replace('"B04", "dataMask"', '"B99"')
    r = _post(eps, body)
    assert r.status_code == 400 and "B99" in r.json()["error"]["message"]


def test_invalid_evalscript_through_sentinelhub(eps):
    req = small_request(eps, "cdse")
    req.payload["evalscript"] = (
        "//VERSION=3\nfunction setup() { throw new Error('boom in setup'); }\nfunction evaluatePixel(s) { return [0]; }"
    )
    with pytest.raises(DownloadFailedException, match="boom in setup"):
        req.get_data()


def test_oversize_and_bad_payloads(eps):
    body = sup.seed_request()
    body["output"]["width"], body["output"]["height"] = 2501, 100
    r = _post(eps, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "COMMON_BAD_PAYLOAD"
    assert "2500" in r.json()["error"]["message"]
    body = sup.seed_request_10m()
    body["output"]["resx"] = body["output"]["resy"] = 1.0  # 5048 x 4472 px
    r = _post(eps, body)
    assert r.status_code == 400 and "2500" in r.json()["error"]["message"]
    body = sup.seed_request_10m()
    body["input"]["data"][0]["type"] = "sentinel-2-l3z"
    r = _post(eps, body)
    assert r.status_code == 404 and r.json()["error"]["code"] == "COMMON_NOT_FOUND"
    r = requests.post(
        eps.info["sh"]["base_url"] + "/api/v1/process",
        data=b"{not json",
        headers={**bearer(eps, "sh"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "COMMON_BAD_PAYLOAD"
    body = sup.seed_request_10m()
    body["input"]["bounds"]["properties"]["crs"] = "EPSG:3035"
    r = _post(eps, body)
    assert r.status_code == 400 and "opengis" in r.json()["error"]["message"]
    body = sup.seed_request_10m()  # 2500 x 2500 px over 3 years of ORBIT scenes: refused before rendering
    body["input"]["bounds"]["bbox"] = [4660000.0, 1960000.0, 4685000.0, 1985000.0]
    body["input"]["data"][0]["dataFilter"]["timeRange"] = {"from": "2018-01-01T00:00:00Z", "to": "2020-12-31T00:00:00Z"}
    r = _post(eps, body)
    assert r.status_code == 400 and "input samples" in r.json()["error"]["message"]
    r = requests.get(eps.info["sh"]["base_url"] + "/api/v1/nothing", headers=bearer(eps, "sh"))
    assert r.status_code == 404 and r.json()["error"]["status"] == 404


def test_latency_fault(eps):
    eps.set_faults("cdse", latency_s=1.0)
    t0 = time.monotonic()
    _post(eps, {**sup.seed_request_10m(), "output": {"resx": 100, "resy": 100}}, "cdse")
    assert time.monotonic() - t0 >= 2.0  # token + process both delayed (sleeps: never shorter)
    eps.clear_faults()
    t0 = time.monotonic()
    bearer(eps, "cdse")
    assert time.monotonic() - t0 < 1.0  # no latency left (a delayed answer would take ≥ 1 s)


def test_requests_sent_here_are_valid_openapi(eps):
    if not sup.openapi_available():
        pytest.skip("../shared/data is not beside this checkout")
    small_request(eps, "sh").get_data()
    assert sup.validate_recorded(eps.request_bodies) >= 1


def test_runaway_evalscript_times_out(monkeypatch):
    with SampleEndpoints(evalscript_timeout_ms=300) as eps:
        body = sup.seed_request_10m()
        body["output"] = {"resx": 100, "resy": 100}
        body["evalscript"] = SMALL_EVALSCRIPT.replace("return [s.B04];", "while (true) {} return [s.B04];")
        t0 = time.monotonic()
        r = requests.post(eps.info["sh"]["base_url"] + "/api/v1/process", json=body, headers=bearer(eps, "sh"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "RENDERER_EXCEPTION"
        assert "timed out" in r.json()["error"]["message"] and time.monotonic() - t0 < 10
        body["evalscript"] = SMALL_EVALSCRIPT  # the server is still healthy
        r = requests.post(eps.info["sh"]["base_url"] + "/api/v1/process", json=body, headers=bearer(eps, "sh"))
        assert r.status_code == 200


def test_fault_decisions_do_not_depend_on_thread_order():
    """Outcomes are keyed by (request, attempt): serving the same requests in another order, from racing
    threads, gives every request the same sequence of outcomes."""
    import random
    import threading

    from s2parity_plugin.sample_endpoints.faults import FaultConfig, FaultState, request_key

    keys = [request_key("POST", "/api/v1/process", f'{{"tile": {i}}}'.encode()) for i in range(12)]
    attempts = [k for k in keys for _ in range(4)]

    def serve(order, threads: int) -> dict:
        state = FaultState()
        state.set(FaultConfig(error_rate=0.3, truncate_rate=0.2, seed=5))
        chunks = [order[i::threads] for i in range(threads)]
        workers = [threading.Thread(target=lambda c=c: [state.draw_api_fault(k) for k in c]) for c in chunks]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return state.attempts_by_request()

    reference = serve(attempts, 1)
    shuffled = list(attempts)
    random.Random(0).shuffle(shuffled)
    assert serve(shuffled, 4) == reference
    outcomes = [o for v in reference.values() for o in v]
    assert {"ok", "truncate"} <= set(outcomes) and {"500", "503"} & set(outcomes)


def test_schedule_then_rates_and_unknown_outcomes():
    from s2parity_plugin.sample_endpoints.faults import FaultConfig, FaultState

    state = FaultState()
    state.set(FaultConfig(schedule=("429", "504", "ok")))
    assert [state.draw_api_fault("k") for _ in range(4)] == ["429", "504", None, None]
    assert state.attempts_by_request() == {"k": ["429", "504", "ok", "ok"]}
    with pytest.raises(ValueError, match="unknown fault outcome"):
        FaultConfig(schedule=("418",))


def test_429_without_retry_after_header(eps):
    eps.set_faults("cdse", rate_limit_burst=1, retry_after_ms=None)
    r = requests.post(
        eps.info["cdse"]["base_url"] + "/api/v1/process", json=sup.seed_request_10m(), headers=bearer(eps, "cdse")
    )
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
