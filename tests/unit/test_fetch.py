"""fetch_pair against the local sample endpoint pair, through the real sentinelhub client (QGIS-free)."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from shapely.geometry import MultiPolygon, box

from s2parity_plugin.core.errors import (
    AccessDeniedError,
    CredentialsError,
    FetchCancelled,
    NetworkError,
    NoAcquisitionsError,
    OutputFolderError,
    QuotaExceededError,
    ServerError,
)
from s2parity_plugin.core.fetch import run_folder
from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair, fetch_pair_per_date, map_exception
from s2parity_plugin.core.model.spec import GridChoice, Options, Preset, build_spec
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint, resolve_endpoint
from s2parity_plugin.core.service.retry import RetryPolicy

sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = json.loads((DATA / "seed_request.json").read_text())
SEED_BBOX = SEED["input"]["bounds"]["bbox"]
SEED_JS = (DATA / "seed_evalscript_b04_scl_orbit.js").read_text()
# ~1 km² near Naples (WGS 84), inside the seed's tile T33TVF
SMALL = box(14.200, 40.800, 14.212, 40.809)
# retries as in production, with waits and deadline scaled down for tests
FAST = RetryPolicy(deadline_s=60.0, backoff_initial_s=0.02, backoff_max_s=0.2)
SHORT = RetryPolicy(deadline_s=1.0, backoff_initial_s=0.02, backoff_max_s=0.2)


def _log_since(eps, start: int) -> list[tuple]:
    return list(eps.request_log[start:])


def _read(path: Path):
    ds = gdal.Open(str(path))
    arr = ds.GetRasterBand(1).ReadAsArray()
    meta = (ds.RasterXSize, ds.RasterYSize, ds.GetGeoTransform(), ds.GetSpatialRef().GetAuthorityCode(None))
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    ds = None
    return arr, meta, nodata


def _no_partial(parent: Path) -> None:
    leftovers = [p.name for p in parent.iterdir() if p.name.startswith(run_folder.PARTIAL_PREFIX)]
    assert leftovers == []


def _seed_spec():
    """The seed request: B04 + SCL over the seed AOI on 2020-10-04, 10 m in EPSG:3035 snapped to the nearest metre."""
    grid = GridChoice(crs_epsg=3035, snap="nearest")
    return build_spec(box(*SEED_BBOX), 3035, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04"), grid=grid)


# -- the seed request -------------------------------------------------------------------------------------------


def test_seed_b04_scl_identical_grids_and_hosts(eps, pair, tmp_path):
    a, b = pair
    spec = _seed_spec()
    start = len(eps.request_log)
    steps = []
    run = fetch_pair(spec, a, b, tmp_path, run_name="seed", progress=lambda d, t, m: steps.append((d, t)))
    assert run == tmp_path / "seed" and run.is_dir()
    _no_partial(tmp_path)
    manifest = run_folder.load_manifest(run)
    assert manifest["schema"] == 1
    assert manifest["grid"]["crs"] == "EPSG:3035"
    assert (manifest["grid"]["width"], manifest["grid"]["height"]) == (505, 447)
    assert manifest["files"] == {
        "value_a": "a/value.tif",
        "value_b": "b/value.tif",
        "scl_a": "a/scl.tif",
        "scl_b": "b/scl.tif",
        "userdata_a": "a/userdata.json",
        "userdata_b": "b/userdata.json",
    }
    assert manifest["request"]["output"]["width"] == 505 and manifest["request"]["output"]["height"] == 447
    assert manifest["tiles"] == 1
    metas = {}
    for key in ("value_a", "value_b", "scl_a", "scl_b"):
        arr, meta, _ = _read(run_folder.file_path(run, manifest, key))
        metas[key] = meta
        assert arr.shape == (447, 505)
        assert arr.dtype == (np.uint16 if key.startswith("value") else np.uint8)
    assert len({m for m in metas.values()}) == 1  # identical grids on all four rasters
    assert list(metas["value_a"][2]) == manifest["grid"]["geotransform"]
    assert metas["value_a"][3] == "3035"
    for side, deployment_url in (("a", a.base_url), ("b", b.base_url)):
        meta = run_folder.side_metadata(manifest, side)
        assert meta["base_url"] == deployment_url
        assert meta["units"] == "DN" and meta["quantity"] == "B04" and meta["harmonize_values"] is True
        assert meta["catalog_ids"], "catalog ids missing"
        assert meta["acquisitions"] and meta["acquisitions"][0]["product_id"]
        userdata = json.loads((run / f"{side}/userdata.json").read_text())
        assert userdata["acquisitions"]
    assert steps[-1][0] == steps[-1][1]
    # requests really went to the chosen hosts: one process call per deployment
    log = _log_since(eps, start)
    process = [(dep, status) for dep, method, path, status in log if path.endswith("/process")]
    assert sorted(process) == [("cdse", 200), ("sh", 200)]
    assert any(dep == "sh" and "catalog" in path for dep, _, path, _ in log)
    assert any(dep == "cdse" and "catalog" in path for dep, _, path, _ in log)
    assert a.host != b.host or a.base_url != b.base_url


def test_seed_evalscript_as_custom(pair, tmp_path):
    a, b = pair
    preset, grid = Preset(quantity="CUSTOM", evalscript=SEED_JS), GridChoice(crs_epsg=3035, snap="nearest")
    spec = build_spec(box(*SEED_BBOX), 3035, "2020-10-04", "2020-10-04", preset=preset, grid=grid)
    run = fetch_pair(spec, a, b, tmp_path, run_name="seed-custom")
    manifest = run_folder.load_manifest(run)
    assert (manifest["grid"]["width"], manifest["grid"]["height"]) == (505, 447)
    assert manifest["request"]["evalscript"] == SEED_JS
    assert set(manifest["files"]) == set(run_folder.FILE_KEYS)


def test_sample_profiles_resolve_without_credentials(tmp_path):
    a, b = resolve_endpoint("sample-sh"), resolve_endpoint("sample-cdse")
    assert a.is_loopback_http and b.is_loopback_http and a.credentials and b.credentials
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="NDVI"))
    run = fetch_pair(spec, a, b, tmp_path)
    arr, _, nodata = _read(run / "a/value.tif")
    assert arr.dtype == np.float32 and np.isnan(nodata)
    assert np.nanmin(arr) >= -1 and np.nanmax(arr) <= 1


# -- AOIs --------------------------------------------------------------------------------------------------------


def test_multi_feature_aoi_masks_outside(pair, tmp_path):
    a, b = pair
    multi = MultiPolygon([box(14.200, 40.800, 14.204, 40.803), box(14.208, 40.806, 14.212, 40.809)])
    spec = build_spec(multi, 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04", units="REFLECTANCE"))
    run = fetch_pair(spec, a, b, tmp_path)
    arr, (w, h, _, _), _ = _read(run / "b/value.tif")
    assert (w, h) == (spec.grid.width, spec.grid.height)
    valid = ~np.isnan(arr)
    assert 0.2 < valid.mean() < 0.6  # two small squares in the bbox, the rest masked by the geometry
    assert np.isnan(arr[-1, 0]) and np.isnan(arr[0, -1])  # corners between the two polygons are masked
    scl, _, _ = _read(run / "b/scl.tif")
    assert (scl[~valid] == 0).all()


def test_tiled_mosaic_equals_single_request(eps, pair, tmp_path):
    a, b = pair
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity="B04"))
    assert spec.grid.width > 80 and spec.grid.height > 80
    start = len(eps.request_log)
    tiled = fetch_pair(spec, a, b, tmp_path, run_name="tiled", options=FetchOptions(max_tile_px=48, max_workers=3))
    n_tiles = run_folder.load_manifest(tiled)["tiles"]
    assert n_tiles >= 4
    process = [r for r in _log_since(eps, start) if r[2].endswith("/process")]
    assert len(process) == 2 * n_tiles
    _assert_same_rasters(tiled, fetch_pair(spec, a, b, tmp_path, run_name="single"))


# -- resilience --------------------------------------------------------------------------------------------------


def test_429_bursts_are_waited_out(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("sh", rate_limit_burst=4, retry_after_ms=100)
    eps.set_faults("cdse", rate_limit_burst=3, retry_after_ms=100)
    start = len(eps.request_log)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=64))
    assert run_folder.load_manifest(run)
    statuses = [r[3] for r in _log_since(eps, start)]
    assert statuses.count(429) == 7


def test_429_forever_is_quota_error(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("cdse", rate_limit_burst=1000, retry_after_ms=300)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    with pytest.raises(QuotaExceededError, match=r"sample-cdse.*429.*deadline") as info:
        fetch_pair(spec, a, b, tmp_path, options=FetchOptions(retry=SHORT))
    assert info.value.endpoint_id == "sample-cdse"
    assert list(tmp_path.iterdir()) == []


def test_token_expiry_mid_run_is_renewed(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("sh", expire_tokens_after_uses=3)  # each token expires after 3 requests: at fixed points
    start = len(eps.request_log)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=40, max_workers=1))
    tiles = run_folder.load_manifest(run)["tiles"]
    assert tiles >= 4
    sh_log = [r for r in _log_since(eps, start) if r[0] == "sh"]
    api = 1 + tiles  # catalog search + one request per tile
    assert [r[3] for r in sh_log if r[2].endswith(("/search", "/process"))].count(200) == api
    renewals = sum(1 for r in sh_log if r[2].endswith("/token") and r[3] == 200) - 1
    assert renewals == (api - 1) // 3 and sum(1 for r in sh_log if r[3] == 401) == renewals


def test_token_refused_right_after_renewal_says_so(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("cdse", expire_tokens_after_uses=0)  # every token is refused, even a fresh one
    with pytest.raises(CredentialsError, match="refused a freshly issued access token") as info:
        fetch_pair(
            build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, b, tmp_path, options=FetchOptions(retry=SHORT)
        )
    message = str(info.value)
    assert "clock" in message and "not a wrong client secret" in message and info.value.endpoint_id == "sample-cdse"
    assert list(tmp_path.iterdir()) == []


def _outcomes(eps, deployment: str) -> dict[str, list[str]]:
    """The server's fault log: outcome of every attempt, per distinct request (process + catalog)."""
    return eps.deployments[deployment].faults.attempts_by_request()


def _assert_same_rasters(run: Path, reference: Path) -> None:
    """Value and SCL rasters of both sides equal those of ``reference``: pixels and georeferencing."""
    for rel in ("a/value.tif", "b/value.tif", "a/scl.tif", "b/scl.tif"):
        arr, meta, _ = _read(run / rel)
        ref, ref_meta, _ = _read(reference / rel)
        assert meta == ref_meta
        np.testing.assert_array_equal(arr, ref)


def test_server_errors_and_truncation_are_retried(eps, pair, tmp_path):
    """Every request fails its first attempts (5xx on A, cut-off bodies on B), then 30 % of the later attempts
    fail too (seeded per request and attempt, so thread order cannot change which): the retries are in the
    server's log and the rasters equal a fault-free run."""
    a, b = pair
    eps.set_faults("sh", schedule=("503", "500"), error_rate=0.3, seed=3)
    eps.set_faults("cdse", schedule=("truncate",), truncate_rate=0.3, seed=4)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    start = len(eps.request_log)
    run = fetch_pair(spec, a, b, tmp_path, run_name="faulty", options=FetchOptions(max_tile_px=48, retry=FAST))
    tiles = run_folder.load_manifest(run)["tiles"]
    assert tiles >= 4
    sh, cdse = _outcomes(eps, "sh"), _outcomes(eps, "cdse")
    assert len(sh) == len(cdse) == tiles + 1  # one catalog search + one request per tile, on each side
    for attempts in sh.values():
        assert attempts[:2] == ["503", "500"] and attempts[-1] == "ok"
        assert all(o in ("500", "503") for o in attempts[:-1])
    for attempts in cdse.values():
        assert attempts[0] == "truncate" and attempts[-1] == "ok"
        assert all(o == "truncate" for o in attempts[:-1])
    api_sh = [r[3] for r in _log_since(eps, start) if r[0] == "sh" and r[2].endswith(("/process", "/search"))]
    assert len(api_sh) == sum(len(v) for v in sh.values())  # the log of HTTP answers agrees: every attempt
    assert api_sh.count(200) == tiles + 1
    eps.clear_faults()
    _assert_same_rasters(
        run, fetch_pair(spec, a, b, tmp_path, run_name="fault-free", options=FetchOptions(max_tile_px=48))
    )


def test_each_request_fails_exactly_as_scheduled(eps, pair, tmp_path):
    """Fail the first two attempts of every request on both sides: exactly 3 attempts per request."""
    a, b = pair
    for dep in ("sh", "cdse"):
        eps.set_faults(dep, schedule=("503", "504"))
    start = len(eps.request_log)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=48, max_workers=3, retry=FAST))
    tiles = run_folder.load_manifest(run)["tiles"]
    for dep in ("sh", "cdse"):
        process = [r[3] for r in _log_since(eps, start) if r[0] == dep and r[2].endswith("/process")]
        assert sorted(process) == [200] * tiles + [503] * tiles + [504] * tiles
        assert all(v == ["503", "504", "ok"] for v in _outcomes(eps, dep).values())


def test_retries_end_at_the_deadline_with_a_clear_message(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("cdse", error_rate=1.0)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    with pytest.raises(ServerError, match=r"sample-cdse.*HTTP 50[03] on every retry") as info:
        fetch_pair(spec, a, b, tmp_path, options=FetchOptions(retry=SHORT))
    assert "{" not in str(info.value) and "\\n" not in str(info.value)  # the server's message as text
    attempts = next(iter(_outcomes(eps, "cdse").values()))
    assert len(attempts) >= 3  # retried with backoff until the 1 s deadline
    assert list(tmp_path.iterdir()) == []


def test_read_timeout_says_no_answer_within(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("cdse", latency_s=0.6)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    with pytest.raises(NetworkError, match=r"sample-cdse.*no answer within 0.2 s") as info:
        fetch_pair(spec, a, b, tmp_path, options=FetchOptions(timeout_s=0.2, retry=SHORT))
    assert "Cannot reach" not in str(info.value)


def test_cancel_mid_download_returns_fast_and_keeps_only_finished_tiles(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("sh", latency_s=0.6)
    eps.set_faults("cdse", latency_s=0.6)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    cancel_at: list[float] = []

    def progress(done, total, message):
        if done >= 1 and not cancel_at:
            cancel_at.append(time.perf_counter())

    with pytest.raises(FetchCancelled):
        options = FetchOptions(max_tile_px=32, max_workers=2)
        fetch_pair(spec, a, b, tmp_path, options=options, progress=progress, is_cancelled=lambda: bool(cancel_at))
    latency = time.perf_counter() - cancel_at[0]
    assert latency < 3.0, f"cancel took {latency:.2f} s"  # waiting for the queued tiles would take ≥ 5 s
    assert [p.name.startswith(run_folder.PARTIAL_PREFIX) for p in tmp_path.iterdir()] == [True]  # resumable
    assert not list(tmp_path.rglob("*.tif"))


def test_cancel_during_authentication(eps, pair, tmp_path):
    a, b = pair
    eps.set_faults("sh", latency_s=3.0)  # waiting for the token would take ≥ 3 s; the cancel takes ≈ 0.3 s
    flag = threading.Event()
    threading.Timer(0.2, flag.set).start()
    t0 = time.perf_counter()
    with pytest.raises(FetchCancelled):
        fetch_pair(build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, b, tmp_path, is_cancelled=flag.is_set)
    assert time.perf_counter() - t0 < 2.5
    assert list(tmp_path.iterdir()) == []


# -- errors ------------------------------------------------------------------------------------------------------


def test_wrong_credentials(pair, tmp_path):
    a, b = pair
    bad = Endpoint(b.profile_id, b.base_url, b.token_url, Credentials(b.credentials.client_id, "wrong-secret"))
    with pytest.raises(CredentialsError, match="sample-cdse") as info:
        fetch_pair(build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, bad, tmp_path)
    assert "client id" in str(info.value) and "wrong-secret" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_no_acquisitions(pair, tmp_path):
    a, b = pair
    # the sample pair's orbits over the seed area: R079 on 2020-10-04/09, R122 on 2020-10-02/07: nothing on 5th–6th
    with pytest.raises(NoAcquisitionsError, match=r"sample-sh.*and.*sample-cdse"):
        fetch_pair(build_spec(SMALL, 4326, "2020-10-05", "2020-10-06"), a, b, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_no_acquisitions_on_one_side(pair, tmp_path, monkeypatch):
    from s2parity_plugin.core.fetch import pipeline as fetch

    a, b = pair
    real = fetch.search_acquisitions

    def one_side_empty(spec, config, client, collection, bbox=None):
        return [] if config.sh_base_url == b.base_url else real(spec, config, client, collection, bbox)

    monkeypatch.setattr(fetch, "search_acquisitions", one_side_empty)
    with pytest.raises(NoAcquisitionsError, match="catalog of 'sample-cdse'") as info:
        fetch_pair(build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, b, tmp_path)
    assert "sample-sh" not in str(info.value)


def test_network_unreachable(pair, tmp_path):
    import socket

    a, _ = pair
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = Endpoint("custom", f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/token", Credentials("x", "y"))
    with pytest.raises(NetworkError, match="Cannot reach"):
        fetch_pair(
            build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, dead, tmp_path, options=FetchOptions(retry=SHORT)
        )
    assert list(tmp_path.iterdir()) == []


def test_output_folder_not_writable(pair, tmp_path):
    a, b = pair
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutputFolderError, match="Cannot write to the output folder"):
        fetch_pair(build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, b, blocker / "runs")


def test_http_status_mapping():
    import requests
    from sentinelhub.exceptions import DownloadFailedException

    ep = Endpoint("cdse", "https://sh.dataspace.copernicus.eu", "https://t", Credentials("c", "s"))

    def failed(status: int, text: str, code: str = "", body: bytes | None = None, ctype="application/json"):
        response = requests.Response()
        response.status_code = status
        error = {"status": status, "message": text, **({"code": code} if code else {})}
        response._content = body if body is not None else json.dumps({"error": error}).encode()
        response.headers["Content-Type"] = ctype
        return DownloadFailedException("x", request_exception=requests.HTTPError(response=response))

    denied = map_exception(failed(403, "Insufficient permissions.", "COMMON_INSUFFICIENT_PERMISSIONS"), ep)
    assert isinstance(denied, AccessDeniedError) and "processing units" not in str(denied)
    assert "403" in str(denied) and "Insufficient permissions." in str(denied)
    assert isinstance(map_exception(failed(403, "Forbidden"), ep), AccessDeniedError)
    assert isinstance(map_exception(failed(403, "Insufficient processing units"), ep), QuotaExceededError)
    assert isinstance(map_exception(failed(403, "Limit reached", "RATE_LIMIT_EXCEEDED"), ep), QuotaExceededError)
    assert isinstance(map_exception(failed(401, "Unauthorized"), ep), CredentialsError)
    multiline = str(map_exception(failed(400, "Failed to evaluate script!\nevalscript.js:3: ReferenceError"), ep))
    assert "Failed to evaluate script! evalscript.js:3: ReferenceError" in multiline
    assert "\\n" not in multiline and '{"' not in multiline
    html = b"<!DOCTYPE html><html><head><title>Hotel WiFi Login</title></head><body>...</body></html>"
    portal = str(map_exception(failed(502, "", body=html, ctype="text/html"), ep))
    assert "an HTML page titled 'Hotel WiFi Login'" in portal and "proxy" in portal


def test_cut_off_body_is_not_called_a_rejected_request():
    import requests
    from sentinelhub.exceptions import DownloadFailedException

    ep = Endpoint("cdse", "https://sh.dataspace.copernicus.eu", "https://t", Credentials("c", "s"))
    response = requests.Response()
    response.status_code = 200
    cut = requests.exceptions.ChunkedEncodingError("Incomplete answer: 10 of 20 bytes received", response=response)
    message = str(map_exception(DownloadFailedException("x", request_exception=cut), ep))
    assert "cut off" in message and "rejected" not in message and "HTTP 200" not in message


def test_junk_instead_of_a_tiff_says_what_arrived():
    from s2parity_plugin.core.fetch.pipeline import parse_response

    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    page = b"<html><head><title>Access denied by proxy</title></head></html>"
    with pytest.raises(ServerError, match="Expected a TAR archive but the answer is an HTML page titled 'Access"):
        parse_response(spec, page, "application/x-tar")


def test_secret_in_no_file_and_no_log(eps, pair, tmp_path, caplog):
    a, b = pair
    caplog.set_level(logging.DEBUG)
    eps.set_faults("sh", expire_tokens_after_uses=2)
    spec = build_spec(SMALL, 4326, "2020-10-04", "2020-10-04")
    run = fetch_pair(spec, a, b, tmp_path, options=FetchOptions(max_tile_px=48, max_workers=1))
    with pytest.raises(CredentialsError):
        bad = Endpoint(b.profile_id, b.base_url, b.token_url, Credentials(b.credentials.client_id, "bad-SECRET-x"))
        fetch_pair(spec, a, bad, tmp_path)
    secrets = [a.credentials.client_secret, b.credentials.client_secret, "bad-SECRET-x"]
    files = [p for p in run.rglob("*") if p.is_file()]
    assert len(files) >= 7
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"secret found in {path}"
    assert caplog.records, "expected DEBUG log records from the download"
    for secret in secrets:
        assert secret not in caplog.text


def test_per_date_runs(pair, tmp_path):
    a, b = pair
    spec = build_spec(
        SMALL, 4326, "2020-10-01", "2020-10-10", preset=Preset(quantity="B04"), grid=GridChoice(resolution_m=20)
    )
    runs = fetch_pair_per_date(spec, a, b, tmp_path, run_name="series")
    assert [r.name for r in runs] == ["2020-10-02", "2020-10-04", "2020-10-07", "2020-10-09"]  # R122 and R079
    for r in runs:
        manifest = run_folder.load_manifest(r)
        assert manifest["request"]["input"]["data"][0]["dataFilter"]["timeRange"]["from"].startswith(r.name)
    assert (tmp_path / "series" / "skipped_days.json").is_file()


def test_proxies_are_applied_to_every_call(pair, tmp_path):
    """An explicit (dead) proxy makes even loopback calls fail: the proxies dict reaches requests."""
    import socket

    a, b = pair
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxies = {"http": f"http://127.0.0.1:{port}", "https": f"http://127.0.0.1:{port}"}
    with pytest.raises(NetworkError, match="through the configured proxy"):
        fetch_pair(
            build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"),
            a,
            b,
            tmp_path,
            options=FetchOptions(proxies=proxies, retry=SHORT),
        )
    assert list(tmp_path.iterdir()) == []


def test_merge_userdata_of_tiles():
    from s2parity_plugin.core.fetch.pipeline import acquisitions_from_userdata, merge_userdata

    t1 = {"productId": "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001", "date": "2020-10-04",
          "cloudCoverage": 12.5, "dataPath": "s3://x"}  # fmt: skip
    t2 = {"productId": "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVG_20201004T124001", "date": "2020-10-04"}
    docs = [
        {"acquisitions": [{"dateFrom": "2020-10-04T09:50:29Z", "tiles": [t1]}], "serviceVersion": "1"},
        {"acquisitions": [{"dateFrom": "2020-10-04T09:50:29Z", "tiles": [t1, t2]}], "serviceVersion": "1"},
    ]
    merged = merge_userdata(docs)
    assert merged["serviceVersion"] == "1" and merged["s2parity_request_tiles"] == 2
    assert len(merged["acquisitions"]) == 1 and len(merged["acquisitions"][0]["tiles"]) == 2
    acqs = acquisitions_from_userdata(merged)
    assert [a["product_id"] for a in acqs] == [t1["productId"], t2["productId"]]
    assert acqs[0]["cloud_cover"] == 12.5 and acqs[0]["data_path"] == "s3://x" and "cloud_cover" not in acqs[1]
    assert merge_userdata([]) == {}


@pytest.mark.parametrize("quantity", ["B8A", "B12"])
def test_simple_mosaicking_and_20m_bands(pair, tmp_path, quantity):
    a, b = pair
    spec = build_spec(
        SMALL,
        4326,
        "2020-10-01",
        "2020-10-10",
        preset=Preset(quantity=quantity, units="REFLECTANCE"),
        grid=GridChoice(resolution_m=20),
        options=Options(mosaicking="SIMPLE", mosaicking_order="leastCC"),
    )
    run = fetch_pair(spec, a, b, tmp_path)
    manifest = run_folder.load_manifest(run)
    assert manifest["request"]["input"]["data"][0]["dataFilter"]["mosaickingOrder"] == "leastCC"
    arr, (w, h, gt, _), _ = _read(run / "a/value.tif")
    assert (w, h) == (spec.grid.width, spec.grid.height) and gt[1] == 20
    assert np.isfinite(arr).any()
    assert run_folder.side_metadata(manifest, "b")["catalog_ids"]


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", ""])
def test_bad_run_names(pair, tmp_path, name):
    a, b = pair
    with pytest.raises(OutputFolderError, match="cannot be a run folder name"):
        fetch_pair(build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"), a, b, tmp_path, run_name=name or ".")


def test_catalog_bbox_in_wgs84_is_computed_once_for_both_endpoints(pair, tmp_path, monkeypatch):
    """pyproj builds a transformer holding the GIL, again in every thread: the grid's WGS 84 bbox is computed once
    before the endpoint threads, and both catalog searches get that same bbox (no transform in their threads)."""
    from sentinelhub import CRS, BBox

    from s2parity_plugin.core.fetch import pipeline as fetch_mod

    seen = []
    real_search = fetch_mod.search_acquisitions

    def spy(spec, config, client, collection, bbox=None):
        seen.append((threading.current_thread().name, bbox))
        return real_search(spec, config, client, collection, bbox)

    monkeypatch.setattr(fetch_mod, "search_acquisitions", spy)
    a, b = pair
    spec = _seed_spec()
    fetch_pair(spec, a, b, tmp_path, run_name="bbox")
    assert len(seen) == 2 and seen[0][0] != seen[1][0]
    first, second = seen[0][1], seen[1][1]
    assert first is second and first.crs is CRS.WGS84
    expected = BBox(spec.grid.bounds, CRS(3035)).transform_bounds(CRS.WGS84)
    assert np.allclose(list(first), list(expected))
    assert 4 < first.min_x < first.max_x < 20 and 40 < first.min_y < first.max_y < 55  # degrees


def test_html_instead_of_a_token_says_what_arrived(pair, tmp_path):
    """A captive portal or proxy page answering the token URL: the message says an HTML page arrived."""
    import http.server
    import threading as th

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = b"<html><head><title>Guest WiFi - please log in</title></head><body>Accept</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Portal)
    th.Thread(target=server.serve_forever, daemon=True).start()
    try:
        a, _ = pair
        url = f"http://127.0.0.1:{server.server_address[1]}"
        portal = Endpoint("custom", url, f"{url}/token", Credentials("id", "secret"))
        with pytest.raises(CredentialsError, match="answered an HTML page titled 'Guest WiFi - please log in'"):
            fetch_pair(
                build_spec(SMALL, 4326, "2020-10-04", "2020-10-04"),
                a,
                portal,
                tmp_path,
                options=FetchOptions(retry=SHORT),
            )
    finally:
        server.shutdown()
        server.server_close()
