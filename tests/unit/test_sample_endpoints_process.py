"""The sample endpoint pair through the real sentinelhub client over real HTTP (no patching): seed request, catalog,
documented fractional-size behaviour, error shapes, OpenAPI validity of every request sent."""

from __future__ import annotations

import datetime as dt
import io
import tarfile

import numpy as np
import pytest
import requests
import sample_endpoints_support as sup
import tifffile
from osgeo import gdal
from sentinelhub import (
    CRS,
    BBox,
    MimeType,
    SentinelHubCatalog,
    SentinelHubRequest,
)

from s2parity_plugin.core.model import grid as core_grid
from s2parity_plugin.core.model.spec import process_body_warnings, snap_grid
from s2parity_plugin.sample_endpoints import SampleEndpoints, reprocessing_truth
from s2parity_plugin.sample_endpoints.catalog import is_listed, tile_centre_lonlat
from s2parity_plugin.sample_endpoints.scene_generator import (
    SyntheticSceneSource,
    reprocessing_shift_in_crs,
    tile_for_lonlat,
)

SEED_DAY = ("2020-10-04T00:00:00Z", "2020-10-04T23:59:59Z")
SEED_LONLAT = (14.27, 40.85, 14.31, 40.89)  # around sup.SEED_BBOX_3035


@pytest.fixture(scope="module")
def eps():
    with SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0, record_bodies=True) as e:
        yield e
    sup.clear_sessions()


@pytest.fixture(autouse=True)
def _insecure_loopback(monkeypatch):
    yield from sup.loopback_session(monkeypatch)


def seed_via_sentinelhub(eps: SampleEndpoints, deployment: str) -> dict:
    """The seed request (B04 + SCL ORBIT, EPSG:3035 bbox, 10 m) built and decoded by sentinelhub-py."""
    req = SentinelHubRequest(
        evalscript=sup.SEED_EVALSCRIPT.read_text(),
        input_data=[
            SentinelHubRequest.input_data(
                sup.collection(eps.info, deployment),
                time_interval=SEED_DAY,
                mosaicking_order="mostRecent",
                other_args={"processing": {"harmonizeValues": True}},
            )
        ],
        responses=[
            SentinelHubRequest.output_response("default", MimeType.TIFF),
            SentinelHubRequest.output_response("scl", MimeType.TIFF),
            SentinelHubRequest.output_response("userdata", MimeType.JSON),
        ],
        bbox=BBox(sup.SEED_BBOX_3035, crs=CRS(3035)),
        resolution=(10, 10),
        config=sup.sh_config(eps.info, deployment),
    )
    return req.get_data()[0]


def post_process(eps: SampleEndpoints, deployment: str, body: dict) -> requests.Response:
    url = eps.info[deployment]["base_url"] + "/api/v1/process"
    return requests.post(url, json=body, headers=sup.bearer(eps.info, deployment), timeout=60)


def _fourier_shift(img: np.ndarray, dcol: float, drow: float) -> np.ndarray:
    h, w = img.shape
    u = np.fft.fftfreq(w)[None, :]
    v = np.fft.fftfreq(h)[:, None]
    return np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (u * dcol + v * drow))).real


def estimate_shift_px(moving: np.ndarray, ref: np.ndarray, iters: int = 5) -> tuple[float, float, float, float]:
    """Iterative Lucas-Kanade fit ``moving ~ gain * ref(r - drow, c - dcol) + offset`` (test-only estimator).

    :return: (dcol, drow, gain, offset); columns grow east, rows grow south.
    """
    s = np.zeros(2)
    m = (slice(20, -20), slice(20, -20))
    coef = np.zeros(4)
    for _ in range(iters):
        shifted = _fourier_shift(ref, s[0], s[1])
        gy, gx = np.gradient(shifted)
        design = np.stack([shifted[m].ravel(), np.ones(shifted[m].size), -gx[m].ravel(), -gy[m].ravel()], 1)
        coef, *_ = np.linalg.lstsq(design, moving[m].ravel(), rcond=None)
        s = s + coef[2:] / coef[0]
    return float(s[0]), float(s[1]), float(coef[0]), float(coef[1])


def test_info_shape(eps):
    for dep, realm in (("sh", "main"), ("cdse", "CDSE")):
        d = eps.info[dep]
        assert set(d) >= {"base_url", "token_url", "client_id", "client_secret"}
        assert d["base_url"].startswith("http://127.0.0.1:")
        assert d["token_url"] == d["base_url"] + f"/auth/realms/{realm}/protocol/openid-connect/token"
    assert eps.info["sh"]["base_url"] != eps.info["cdse"]["base_url"]


def test_seed_request_through_sentinelhub_both_deployments(eps):
    sh = seed_via_sentinelhub(eps, "sh")
    cdse = seed_via_sentinelhub(eps, "cdse")
    for d in (sh, cdse):
        assert set(d) == {"default.tif", "scl.tif", "userdata.json"}
        assert d["default.tif"].shape == (447, 505) and d["default.tif"].dtype == np.uint16
        assert d["scl.tif"].shape == (447, 505) and d["scl.tif"].dtype == np.uint8
    # baselines in the userdata product ids
    pid_sh = sh["userdata.json"]["acquisitions"][0]["tiles"][0]["productId"]
    pid_cdse = cdse["userdata.json"]["acquisitions"][0]["tiles"][0]["productId"]
    assert "_N0214_" in pid_sh and pid_sh.startswith("S2B_MSIL2A_20201004T")
    assert "_N0500_" in pid_cdse
    assert pid_sh.split("_")[2] == pid_cdse.split("_")[2]  # same datatake sensing time
    assert sh["userdata.json"]["normalizationFactor"] == pytest.approx(0.0001)
    assert cdse["userdata.json"]["acquisitions"][0]["tiles"][0]["dataPath"].startswith(
        "s3://EODATA/Sentinel-2/MSI/L2A_N0500/2020/10/04/"
    )
    assert sh["userdata.json"]["acquisitions"][0]["tiles"][0]["dataPath"] == (
        "s3://sentinel-s2-l2a/tiles/33/T/VF/2020/10/4/0"
    )

    truth = reprocessing_truth("2020-10-04")
    assert truth["reprocessed"] and truth["baseline_sh"] == "02.14" and truth["baseline_cdse"] == "05.00"
    # geolocation: estimate the displacement of the sh B04 relative to cdse, compare with the truth (in EPSG:3035)
    a = sh["default.tif"].astype(float)
    b = cdse["default.tif"].astype(float)
    dc, dr, gain, offset = estimate_shift_px(a, b)
    px_x = (sup.SEED_BBOX_3035[2] - sup.SEED_BBOX_3035[0]) / 505
    px_y = (sup.SEED_BBOX_3035[3] - sup.SEED_BBOX_3035[1]) / 447
    est = np.array([dc * px_x, -dr * px_y])  # metres east/north in EPSG:3035
    cx = (sup.SEED_BBOX_3035[0] + sup.SEED_BBOX_3035[2]) / 2
    cy = (sup.SEED_BBOX_3035[1] + sup.SEED_BBOX_3035[3]) / 2
    expected = np.array(reprocessing_shift_in_crs("2020-10-04", "EPSG:3035", cx, cy))
    assert np.hypot(*expected) == pytest.approx(np.hypot(*truth["shift_m"]), abs=0.05)  # conformal-ish, ~same size
    assert np.hypot(*truth["shift_m"]) > 2.9
    assert np.hypot(*(est - expected)) < 1.0, (est, expected)
    # radiometry: after undoing the shift, sh DN ~ gain * cdse DN + offset
    assert gain == pytest.approx(truth["gain"], abs=0.004)
    assert offset == pytest.approx(truth["offset_dn"], abs=5)
    # SCL: differences exist and are of the kinds the truth lists (cloud/shadow rings, unclassified)
    s_sh, s_cd = sh["scl.tif"], cdse["scl.tif"]
    diff = s_sh != s_cd
    assert 0.005 < diff.mean() < 0.25
    assert np.isin(s_sh[diff], [3, 4, 5, 6, 7, 8, 9, 10]).all()
    # old clouds are larger: more cloud-medium in sh than in cdse
    assert (s_sh == 8).sum() > (s_cd == 8).sum()
    assert (s_sh == 7).sum() > (s_cd == 7).sum()


def test_seed_georeferencing_identical_on_both(eps):
    body = sup.seed_request_10m()
    grids = {}
    for dep in ("sh", "cdse"):
        r = post_process(eps, dep, body)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "application/x-tar"
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
            names = tar.getnames()
            assert names == ["default.tif", "scl.tif", "userdata.json"]
            tif = tar.extractfile("default.tif").read()
        gdal.FileFromMemBuffer(f"/vsimem/{dep}.tif", tif)
        ds = gdal.Open(f"/vsimem/{dep}.tif")
        grids[dep] = (ds.RasterXSize, ds.RasterYSize, ds.GetGeoTransform(), ds.GetSpatialRef().GetAuthorityCode(None))
        assert ds.GetRasterBand(1).DataType == gdal.GDT_UInt16
        ds = None
        gdal.Unlink(f"/vsimem/{dep}.tif")
        with tifffile.TiffFile(io.BytesIO(tif)) as tf:
            assert tf.byteorder == ">"  # big-endian like the real service's files
    assert grids["sh"] == grids["cdse"]
    w, h, gt, epsg = grids["sh"]
    assert (w, h, epsg) == (505, 447, "3035")
    assert gt[0] == pytest.approx(sup.SEED_BBOX_3035[0]) and gt[3] == pytest.approx(sup.SEED_BBOX_3035[3])
    assert gt[1] == pytest.approx((sup.SEED_BBOX_3035[2] - sup.SEED_BBOX_3035[0]) / 505)
    assert gt[5] == pytest.approx(-(sup.SEED_BBOX_3035[3] - sup.SEED_BBOX_3035[1]) / 447)


def test_seed_body_as_is_fractional_size_is_truncated(eps):
    """The Request Builder's 501.2608 × 420.7543 is answered (ASSUMED truncation, core.grid.coerce_output_size)."""
    body = sup.seed_request()
    assert body["output"]["width"] == 501.2608
    body["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    for dep in ("sh", "cdse"):
        r = post_process(eps, dep, body)
        assert r.status_code == 200, r.text
        gdal.FileFromMemBuffer(f"/vsimem/frac_{dep}.tif", r.content)
        ds = gdal.Open(f"/vsimem/frac_{dep}.tif")
        assert (ds.RasterXSize, ds.RasterYSize) == (501, 420)
        assert ds.GetGeoTransform() == pytest.approx(core_grid.bbox_geotransform(sup.SEED_BBOX_3035, 501, 420))
        ds = None
        gdal.Unlink(f"/vsimem/frac_{dep}.tif")
    if sup.openapi_available():  # the reference types them integer: a documented leniency of the live service
        assert any("501.2608 is not of type 'integer'" in e for e in sup.schema_errors(body, ("ProcessRequest",)))
    assert len(process_body_warnings(body)) == 2 and "501 px" in process_body_warnings(body)[0]


def test_resx_grid_is_derived_as_in_core(eps):
    """One derivation of a resx/resy grid: the server's size and geotransform are core.grid's, and the plugin's
    snap="nearest" grid has the same size (its pixels are exact, the server's stretched to the bbox)."""
    bbox = (4681903.305609, 1981958.981233, 4686951.734307, 1986431.434369)
    for res in (10.0, 20.0, 60.0, 7.3):
        body = sup.seed_request_10m()
        body["output"].update(resx=res, resy=res)
        body["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
        r = post_process(eps, "cdse", body)
        assert r.status_code == 200, r.text
        gdal.FileFromMemBuffer("/vsimem/resx.tif", r.content)
        ds = gdal.Open("/vsimem/resx.tif")
        size, gt = (ds.RasterXSize, ds.RasterYSize), ds.GetGeoTransform()
        ds = None
        gdal.Unlink("/vsimem/resx.tif")
        expected = (
            core_grid.size_for_resolution(bbox[2] - bbox[0], res),
            core_grid.size_for_resolution(bbox[3] - bbox[1], res),
        )
        assert size == expected
        assert gt == pytest.approx(core_grid.bbox_geotransform(bbox, *expected))
        nearest = snap_grid(bbox, 3035, res, "nearest")
        assert (nearest.width, nearest.height) == expected
        assert nearest.geotransform[:4] == pytest.approx([bbox[0], res, 0.0, bbox[3]])


def test_integral_float_size_accepted_and_rounding_of_resx(eps):
    body = sup.seed_request()
    body["output"]["width"], body["output"]["height"] = 505.0, 447
    r = post_process(eps, "cdse", body)
    assert r.status_code == 200, r.text


def test_catalog_via_sentinelhub(eps):
    bbox = BBox(sup.SEED_BBOX_3035, crs=CRS(3035))
    ids = {}
    for dep in ("sh", "cdse"):
        cat = SentinelHubCatalog(config=sup.sh_config(eps.info, dep))
        it = cat.search(sup.collection(eps.info, dep), bbox=bbox, time=("2020-09-20", "2020-10-10"), limit=2)
        items = list(it)
        ids[dep] = [i["id"] for i in items]
        assert len(items) == 8  # relative orbits 79 and 122 (S2A and S2B, 10-day cycles), paged by 2
        for i in items:
            p = i["properties"]
            assert p["proj:epsg"] == 32633 and len(p["proj:bbox"]) == 4 and "eo:cloud_cover" in p
            assert p["proj:geometry"]["type"] == "MultiPolygon"
    assert any(i.startswith("S2B_MSIL2A_20201004T") and "_N0214_R" in i for i in ids["sh"])
    assert all("_N0214_" in i and "T33TVF" in i and not i.endswith(".SAFE") for i in ids["sh"])
    assert all("_N0500_" in i and i.endswith(".SAFE") for i in ids["cdse"])
    # the same acquisitions (sensing times) on both
    assert [i.split("_")[2] for i in ids["sh"]] == [i.split("_")[2] for i in ids["cdse"]]


def test_catalog_item_shape_and_assets(eps):
    d = eps.info["cdse"]
    body = {
        "collections": ["sentinel-2-l2a"],
        "datetime": "2020-10-04T00:00:00Z/2020-10-04T23:59:59Z",
        "bbox": [14.27, 40.85, 14.31, 40.88],
        "limit": 10,
        "filter": "eo:cloud_cover < 100",
        "filter-lang": "cql2-text",
    }
    for dep, prefix in (("sh", "s3://sentinel-s2-l2a/tiles/33/T/VF/2020/10/4/"), ("cdse", "s3://EODATA/")):
        d = eps.info[dep]
        r = requests.post(
            d["base_url"] + "/api/v1/catalog/1.0.0/search",
            json=body,
            headers=sup.bearer(eps.info, dep),
            timeout=30,
        )
        assert r.status_code == 200
        doc = r.json()
        assert doc["type"] == "FeatureCollection" and doc["context"]["returned"] == 1
        item = doc["features"][0]
        assert item["assets"]["data"]["href"].startswith(prefix)
        assert item["stac_version"] == "1.0.0" and item["collection"] == "sentinel-2-l2a"
        assert item["properties"]["datetime"].startswith("2020-10-04T")


def test_acquisitions_since_same_products_identical_on_both(eps):
    # A window that both catalogs list completely: each lacks a few products the other has (catalog.is_listed), and
    # the Process API serves only what its catalog lists (2024-01-07 is missing from "cdse").
    start, end = (dt.datetime(2024, 1, d, tzinfo=dt.timezone.utc) for d in (1, 6))
    acqs = SyntheticSceneSource().acquisitions(SEED_LONLAT, start, end)
    assert acqs and all(is_listed(a, "sh") and is_listed(a, "cdse") for a in acqs)
    body = sup.seed_request_10m()
    body["input"]["data"][0]["dataFilter"]["timeRange"] = {"from": "2024-01-01T00:00:00Z", "to": "2024-01-06T00:00:00Z"}
    body["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    got = {}
    for dep in ("sh", "cdse"):
        r = post_process(eps, dep, body)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/tiff"
        got[dep] = tifffile.imread(io.BytesIO(r.content))
    np.testing.assert_array_equal(got["sh"], got["cdse"])


def test_recorded_requests_valid_against_openapi(eps):
    if not sup.openapi_available():
        pytest.skip("../shared/data is not beside this checkout")
    assert sup.validate_recorded(eps.request_bodies, rejected_may_be_invalid=True) >= 4
    fractional = [b for b in eps.request_bodies if b["body"].get("output", {}).get("width") == 501.2608]
    assert fractional and all(b["status"] == 200 for b in fractional)


def test_concurrent_requests_to_both_deployments_match_sequential(eps):
    from concurrent.futures import ThreadPoolExecutor

    from s2parity_plugin.sample_endpoints import process_api

    process_api.clear_render_cache()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(seed_via_sentinelhub, eps, dep) for dep in ("sh", "cdse", "sh", "cdse")]
        results = [f.result(timeout=120) for f in futures]
    process_api.clear_render_cache()
    sequential = {dep: seed_via_sentinelhub(eps, dep) for dep in ("sh", "cdse")}
    for dep, got in zip(("sh", "cdse", "sh", "cdse"), results):
        np.testing.assert_array_equal(got["default.tif"], sequential[dep]["default.tif"])
        np.testing.assert_array_equal(got["scl.tif"], sequential[dep]["scl.tif"])


def test_tar_and_tiff_layout_like_the_real_service(eps, shared_data):
    """Member headers (ustar, 0644, uid/gid 0) and GeoTIFF structure (big-endian, DEFLATE, pixel-interleaved strips)
    compared with the real Process API TAR in shared/data."""
    real_path = shared_data / "sentinelhub_api" / "process_api_tar_response_S2L1C_20171215_madagascar.tar"
    real_bytes = real_path.read_bytes()
    r = post_process(eps, "cdse", sup.seed_request_10m())
    assert r.status_code == 200
    ours_bytes = r.content
    assert ours_bytes[257:265] == real_bytes[257:265] == b"ustar\x0000"  # POSIX ustar magic + version
    assert ours_bytes[100:124] == real_bytes[100:124] == b"0100644 0000000 0000000 "  # mode, uid, gid fields
    with tarfile.open(fileobj=io.BytesIO(real_bytes)) as real, tarfile.open(fileobj=io.BytesIO(ours_bytes)) as ours:
        rm, om = real.getmembers(), ours.getmembers()
        assert [m.name for m in rm] == ["default.tif", "userdata.json"]
        assert om[0].name == "default.tif" and om[-1].name == "userdata.json"
        for a, b in zip(rm, om):
            assert (a.mode, a.uid, a.gid, a.type) == (b.mode, b.uid, b.gid, b.type)
        real_tif = real.extractfile("default.tif").read()
        our_tif = ours.extractfile("default.tif").read()
    with tifffile.TiffFile(io.BytesIO(real_tif)) as a, tifffile.TiffFile(io.BytesIO(our_tif)) as b:
        assert a.byteorder == b.byteorder == ">"
        pa, pb = a.pages[0], b.pages[0]
        assert {pa.compression.name, pb.compression.name} <= {"DEFLATE", "ADOBE_DEFLATE"}  # zlib, codes 32946 / 8
        assert pa.rowsperstrip == pb.rowsperstrip == 8
        assert pa.planarconfig == pb.planarconfig  # contiguous (pixel interleaved)
        assert "ModelTiepointTag" in pb.tags and "ModelPixelScaleTag" in pb.tags and "GeoKeyDirectoryTag" in pb.tags


def test_catalog_get_feature(eps):
    for tile in ("33TVF", "51PTS", "29UNU", "29RKH", "21JUK"):
        lon, lat = tile_centre_lonlat(tile)
        assert tile_for_lonlat(lon, lat).tile_id == tile
    for dep in ("sh", "cdse"):
        cat = SentinelHubCatalog(config=sup.sh_config(eps.info, dep))
        coll = sup.collection(eps.info, dep)
        ids = list(cat.search(coll, bbox=BBox(sup.SEED_BBOX_3035, crs=CRS(3035)), time="2020-10-04").get_ids())
        assert len(ids) == 1
        item = cat.get_feature(coll, ids[0])
        assert item["id"] == ids[0] and item["properties"]["datetime"].startswith("2020-10-04")
        with pytest.raises(Exception, match="404"):
            cat.get_feature(coll, ids[0].replace("T33TVF", "T33TVG"))


def _catalog(eps, method, sub, deployment="cdse", auth=True, **kw):
    url = eps.info[deployment]["base_url"] + "/api/v1/catalog/1.0.0" + sub
    headers = sup.bearer(eps.info, deployment) if auth else {}
    return requests.request(method, url, headers=headers, timeout=30, **kw)


SEED_LONLAT_BBOX = [14.27, 40.84, 14.33, 40.88]
OCT_2020 = "2020-10-01T00:00:00Z/2020-10-31T23:59:59Z"


def test_catalog_fields_merge_with_the_default_set(eps):
    """Catalog docs: include is merged with the default set, exclude removed from it."""
    base = {"collections": ["sentinel-2-l2a"], "bbox": SEED_LONLAT_BBOX, "datetime": OCT_2020, "limit": 1}
    only_include = _catalog(eps, "POST", "/search", json={**base, "fields": {"include": ["properties.eo:cloud_cover"]}})
    item = only_include.json()["features"][0]
    assert set(item) == {"id", "type", "geometry", "bbox", "links", "assets", "properties"}
    assert set(item["properties"]) == {"datetime", "eo:cloud_cover"}
    only_exclude = _catalog(eps, "POST", "/search", json={**base, "fields": {"exclude": ["links", "assets"]}})
    item = only_exclude.json()["features"][0]
    assert set(item) == {"id", "type", "geometry", "bbox", "properties"} and set(item["properties"]) == {"datetime"}
    empty = _catalog(eps, "POST", "/search", json={**base, "fields": {}}).json()["features"][0]
    assert set(empty["properties"]) == {"datetime"}


@pytest.mark.parametrize(
    "flt",
    [
        "eo:cloud_cover BETWEEN 0 AND 100 AND eo:cloud_cover <> 12.5",
        {"op": "between", "args": [{"property": "eo:cloud_cover"}, 0, 100]},
        {"op": "neq", "args": [{"property": "eo:cloud_cover"}, -1]},
    ],
)
def test_catalog_cql2_neq_and_between(eps, flt):
    base = {"collections": ["sentinel-2-l2a"], "bbox": SEED_LONLAT_BBOX, "datetime": OCT_2020, "limit": 100}
    everything = _catalog(eps, "POST", "/search", json=base).json()["features"]
    filtered = _catalog(eps, "POST", "/search", json={**base, "filter": flt}).json()["features"]
    assert len(filtered) == len(everything) == 12
    none = {"op": "between", "args": [{"property": "eo:cloud_cover"}, 101, 200]}
    assert _catalog(eps, "POST", "/search", json={**base, "filter": none}).json()["features"] == []


def test_catalog_distinct_date_get_search_conformance_queryables_and_open_landing_page(eps):
    body = {"collections": ["sentinel-2-l2a"], "bbox": SEED_LONLAT_BBOX, "datetime": OCT_2020, "distinct": "date"}
    dates = _catalog(eps, "POST", "/search", json=body).json()["features"]
    assert dates[:4] == ["2020-10-02", "2020-10-04", "2020-10-07", "2020-10-09"] and len(dates) == 10
    params = {"collections": "sentinel-2-l2a", "bbox": ",".join(map(str, SEED_LONLAT_BBOX)), "datetime": OCT_2020}
    got = _catalog(eps, "GET", "/search", params={**params, "limit": 3})
    assert got.status_code == 200 and len(got.json()["features"]) == 3
    assert "https://api.stacspec.org/v1.0.0/item-search" in _catalog(eps, "GET", "/conformance").json()["conformsTo"]
    q = _catalog(eps, "GET", "/collections/sentinel-2-l2a/queryables").json()
    assert "eo:cloud_cover" in q["properties"]
    landing = _catalog(eps, "GET", "/", auth=False)
    assert landing.status_code == 200 and landing.json()["type"] == "Catalog"
    assert _catalog(eps, "GET", "/conformance", auth=False).status_code == 401
