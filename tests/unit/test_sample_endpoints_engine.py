"""Evalscript V3 semantics (real V8), Process API options and the scene generator's documented behaviour."""

from __future__ import annotations

import io
import json
import tarfile
import time

import numpy as np
import pytest
import requests
import sample_endpoints_support as sup
import tifffile
from PIL import Image
from sentinelhub import CRS, Geometry, SentinelHubCatalog

from s2parity_plugin.sample_endpoints import SampleEndpoints, baseline_for, baselines, reprocessing_truth
from s2parity_plugin.sample_endpoints import scene_generator as sg
from s2parity_plugin.sample_endpoints.evalscript_engine import EvalscriptError, EvalscriptRun, to_sample_type

UTM_BBOX = [450000.0, 4520000.0, 450640.0, 4520480.0]  # 64 x 48 px at 10 m in EPSG:32633 (tile 33TVF)
SIMPLE_DN = """//VERSION=3
function setup() { return {input: [{bands: ["B04"], units: "DN"}], output: {bands: 1, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


@pytest.fixture(scope="module")
def eps():
    with SampleEndpoints(record_bodies=True) as e:
        yield e


def body(evalscript: str, responses=None, **over) -> dict:
    b = {
        "input": {
            "bounds": {"bbox": UTM_BBOX, "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": "2020-09-20T00:00:00Z", "to": "2020-10-10T23:59:59Z"}},
                }
            ],
        },
        "output": {
            "width": 64,
            "height": 48,
            "responses": responses or [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": evalscript,
    }
    for k, v in over.items():
        if k == "data":
            b["input"]["data"][0].update(v)
        elif k == "output":
            b["output"].update(v)
        elif k == "bounds":
            b["input"]["bounds"] = v
    return b


def post(eps, b, deployment="cdse") -> requests.Response:
    return _post_with(eps, b, {}, deployment)


def tar_members(content: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_signed_sample_types():
    v = np.array([[-40000.0, -200.0, -1.5, 3.6, 200.0, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(to_sample_type(v, "INT8")[0], [-128, -128, -1, 4, 127, 0])
    np.testing.assert_array_equal(to_sample_type(v, "INT16")[0], [-32768, -200, -1, 4, 200, 0])


def test_sample_type_semantics():
    v = np.array([[-0.4, 0.0, 0.5, 0.9999, 1.2, np.nan, 300.5, 70000.0]], dtype=np.float32)
    np.testing.assert_array_equal(to_sample_type(v, "AUTO")[0], [0, 0, 128, 255, 255, 0, 255, 255])
    np.testing.assert_array_equal(to_sample_type(v, "UINT8")[0], [0, 0, 1, 1, 1, 0, 255, 255])
    np.testing.assert_array_equal(to_sample_type(v, "UINT16")[0], [0, 0, 1, 1, 1, 0, 301, 65535])
    assert to_sample_type(v, "FLOAT32").dtype == np.float32


def test_engine_errors_and_setup_forms():
    with pytest.raises(EvalscriptError, match="VERSION=3"):
        EvalscriptRun("function setup() {}")
    with pytest.raises(EvalscriptError, match="SyntaxError"):
        EvalscriptRun("//VERSION=3\nfunction setup( {")
    with pytest.raises(EvalscriptError, match="sampleType"):
        EvalscriptRun('//VERSION=3\nfunction setup(){return {input:["B04"], output:{bands:1, sampleType:"INT99"}}}\n'
                      "function evaluatePixel(s){return [1];}")  # fmt: skip
    script = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {bands: 1, sampleType: SampleType.FLOAT32},
                           mosaicking: Mosaicking.TILE}; }
function evaluatePixel(samples) { return [samples.length ? index(samples[0].B08, samples[0].B04) : -1]; }
"""
    with EvalscriptRun(script) as run:
        assert run.setup.bands == ["B04", "B08"] and run.setup.units == {}
        assert run.setup.mosaicking == "TILE" and run.setup.outputs[0].sample_type == "FLOAT32"
        out = run.evaluate({"B04": [np.full(3, 0.1, np.float32)], "B08": [np.full(3, 0.3, np.float32)]}, 3, {})
        np.testing.assert_allclose(out["default"][0], 0.5, rtol=1e-6)
    bad = script.replace("return [samples.length", "return [samples.length, 2")
    with EvalscriptRun(bad) as run, pytest.raises(EvalscriptError, match="1 bands in setup"):
        run.evaluate({"B04": [np.zeros(2, np.float32)], "B08": [np.zeros(2, np.float32)]}, 2, {})


def test_vectorised_seed_orbit_evalscript_is_fast():
    n = 505 * 447
    bands, ctx = sup.seed_orbit_inputs(n)
    with EvalscriptRun(sup.SEED_EVALSCRIPT.read_text()) as run:
        t0 = time.perf_counter()
        out = run.evaluate(bands, n, ctx)
        elapsed = time.perf_counter() - t0
    valid = ~np.isin(bands["SCL"][0], [1, 2, 3, 7, 8, 9, 10, 11])
    np.testing.assert_array_equal(out["default"][0][valid], bands["B04"][0][valid])
    np.testing.assert_array_equal(out["scl"][0], bands["SCL"][0])
    assert elapsed < 1.0  # generous bound for slow CI; measured ~50 ms (see bench_endpoints)


def test_orbit_tile_simple_and_preprocess_scenes(eps):
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                           output: {bands: 1, sampleType: "UINT16"}, mosaicking: "%s"}; }
function preProcessScenes(collections) {
  %s
  return collections;
}
function evaluatePixel(samples) { return [samples.length]; }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {scenes: scenes, im: inputMetadata};
}
"""
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    keep_two = "collections.scenes.orbits = collections.scenes.orbits.slice(0, 2);"
    r = post(eps, body(script % ("ORBIT", keep_two), responses))
    assert r.status_code == 200, r.text
    m = tar_members(r.content)
    assert list(m) == ["default.tif", "userdata.json"]
    ud = json.loads(m["userdata.json"])
    orbits = ud["scenes"]["orbits"]
    assert len(orbits) == 2 and orbits[0]["dateFrom"] > orbits[1]["dateFrom"]  # mostRecent first
    assert orbits[0]["dateFrom"] == "2020-10-09T00:00:00Z" and orbits[0]["dateTo"] == "2020-10-09T23:59:59Z"
    t = orbits[0]["tiles"][0]
    assert set(t) >= {"date", "shId", "cloudCoverage", "dataPath", "productId"} and "_N0500_" in t["productId"]
    assert ud["im"]["serviceVersion"] and ud["im"]["normalizationFactor"] == pytest.approx(1e-4)
    assert (tifffile.imread(io.BytesIO(m["default.tif"])) == 2).all()

    r = post(eps, body(script % ("TILE", "collections.scenes.tiles = collections.scenes.tiles.slice(1);"), responses))
    ud = json.loads(tar_members(r.content)["userdata.json"])
    assert len(ud["scenes"]["tiles"]) == 4 - 1
    simple = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                           output: {bands: 2, sampleType: "UINT16"}}; }
function evaluatePixel(sample) { return [sample.B04, sample.dataMask]; }
"""
    r1 = post(eps, body(simple, data={"dataFilter": {"timeRange": {"from": "2020-09-20T00:00:00Z",
                                                                     "to": "2020-10-10T00:00:00Z"},
                                                       "mosaickingOrder": "leastRecent"}}))  # fmt: skip
    r2 = post(eps, body(simple, data={"dataFilter": {"timeRange": {"from": "2020-09-24T00:00:00Z",
                                                                     "to": "2020-09-24T23:00:00Z"}}}))  # fmt: skip
    a1, a2 = tifffile.imread(io.BytesIO(r1.content)), tifffile.imread(io.BytesIO(r2.content))
    np.testing.assert_array_equal(a1, a2)  # leastRecent SIMPLE = the oldest acquisition (2020-09-24)


def test_max_cloud_coverage_and_least_cc(eps):
    script = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "UINT8"}, mosaicking: "ORBIT"}; }
function evaluatePixel(samples) { return [samples.length]; }
function updateOutputMetadata(scenes, im, om) { om.userData = scenes.orbits.map(o => o.tiles[0].cloudCoverage); }
"""
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    ccs = json.loads(tar_members(post(eps, body(script, responses)).content)["userdata.json"])
    assert len(ccs) == 4
    limit = sorted(ccs)[1]
    time_range = {"from": "2020-09-20T00:00:00Z", "to": "2020-10-10T23:59:59Z"}
    data_filter = {"timeRange": time_range, "maxCloudCoverage": limit, "mosaickingOrder": "leastCC"}
    b = body(script, responses, data={"dataFilter": data_filter})
    got = json.loads(tar_members(post(eps, b).content)["userdata.json"])
    assert got == sorted(c for c in ccs if c <= limit)


def test_geometry_crs84_alias_formats(eps):
    script = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04", "dataMask"], output: {bands: 4}}; }
function evaluatePixel(s) { return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask]; }
"""
    lon0, lat0, lon1, lat1 = 14.40, 40.83, 14.44, 40.86
    tri = {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon0, lat1], [lon0, lat0]]]}
    b = body(
        script,
        [{"identifier": "default", "format": {"type": "image/png"}}],
        bounds={"geometry": tri, "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        data={"type": "S2L2A"},
    )
    r = post(eps, b, "sh")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)))
    assert img.shape == (48, 64, 4) and img.dtype == np.uint8
    alpha = img[..., 3]
    assert alpha[-1, 0] == 255 and alpha[0, -1] == 0  # lower-left triangle inside, upper-right corner outside
    assert 0.35 < (alpha == 255).mean() < 0.65
    assert (img[..., :3][alpha == 0] == 0).all()
    b["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/jpeg"}}]
    b["evalscript"] = script.replace("s.dataMask]", "]").replace("bands: 4", "bands: 3")
    r = post(eps, b, "sh")
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    b["output"]["responses"] = [{"identifier": "nope", "format": {"type": "image/tiff"}}]
    r = post(eps, b, "sh")
    assert r.status_code == 400 and "nope" in r.json()["error"]["message"]


def test_harmonize_false_keeps_offset_on_new_baselines(eps):
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "B08"], units: "DN"}], output: {bands: 2, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04, s.B08]; }
"""
    later = {"dataFilter": {"timeRange": {"from": "2023-11-03T00:00:00Z", "to": "2023-11-03T23:59:59Z"}}}
    on = tifffile.imread(io.BytesIO(post(eps, body(script, data=later)).content)).astype(int)
    off = tifffile.imread(
        io.BytesIO(post(eps, body(script, data={**later, "processing": {"harmonizeValues": False}})).content)
    ).astype(int)
    assert baseline_for("cdse", "2023-11-03") == "05.10" and baseline_for("sh", "2023-11-03") == "05.09"
    np.testing.assert_array_equal(on, np.maximum(off - 1000, 0))
    assert (off >= 1000).mean() > 0.99


def test_reflectance_applies_the_offset_whatever_harmonize_says(eps):
    """REFLECTANCE = (DN − 1000)/10000 on a ≥ 04.00 product: negatives kept with harmonizeValues false, clamped with
    true; never the raw DN / 10000 (+0.1)."""
    dn_script = SIMPLE_DN
    refl_script = SIMPLE_DN.replace('units: "DN"', 'units: "REFLECTANCE"').replace("UINT16", "FLOAT32")
    later = {"dataFilter": {"timeRange": {"from": "2023-11-03T00:00:00Z", "to": "2023-11-03T23:59:59Z"}}}
    off = {**later, "processing": {"harmonizeValues": False}}

    def get(script, data):
        return tifffile.imread(io.BytesIO(post(eps, body(script, data=data)).content)).astype(np.float64)

    raw = get(dn_script, off)
    refl_off, refl_on = get(refl_script, off), get(refl_script, later)
    np.testing.assert_allclose(refl_off, (raw - 1000) / 10000, atol=1e-6)
    np.testing.assert_allclose(refl_on, np.maximum(raw - 1000, 0) / 10000, atol=1e-6)
    assert abs(refl_off.mean() - refl_on.mean()) < 0.01


def test_aot_defaults_to_optical_depth_and_unknown_units_are_a_400(eps):
    aot = """//VERSION=3
function setup() { return {input: [{bands: ["AOT"]}], output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.AOT]; }
"""
    one_day = {"dataFilter": {"timeRange": {"from": "2020-10-04T00:00:00Z", "to": "2020-10-04T23:59:59Z"}}}
    depth = tifffile.imread(io.BytesIO(post(eps, body(aot, data=one_day)).content))
    dn = tifffile.imread(
        io.BytesIO(post(eps, body(aot.replace('["AOT"]}', '["AOT"], units: "DN"}'), data=one_day)).content)
    )
    np.testing.assert_allclose(depth, dn / 1000.0, rtol=1e-6)
    assert 0.05 < float(depth.mean()) < 0.6
    bad = post(eps, body(SIMPLE_DN.replace('units: "DN"', 'units: "RADIANCE"'), data=one_day))
    assert bad.status_code == 400
    err = bad.json()["error"]
    assert err["code"] == "COMMON_BAD_PAYLOAD" and "RADIANCE" in err["message"]


def test_baseline_table_and_truth():
    assert baseline_for("sh", "2020-10-04") == "02.14" and baseline_for("cdse", "2020-10-04") == "05.00"
    assert baseline_for("sh", "2019-03-01") == "02.12" and baseline_for("cdse", "2019-03-01") == "05.00"
    assert baseline_for("sh", "2022-01-25") == "04.00" and baseline_for("cdse", "2022-01-25") == "05.10"
    assert baseline_for("sh", "2024-01-10") == baseline_for("cdse", "2024-01-10") == "05.10"
    assert baseline_for("sh", "2023-12-20") == "05.10" and baseline_for("sh", "2024-08-01") == "05.11"
    assert baselines.boa_add_offset("02.14") == 0 and baselines.boa_add_offset("05.00") == -1000
    t = reprocessing_truth("2020-10-04")
    assert 3.0 <= np.hypot(*t["shift_m"]) <= 8.0 and 0.985 <= t["gain"] <= 1.015 and abs(t["offset_dn"]) <= 6
    assert reprocessing_truth("2024-01-10")["shift_m"] == (0.0, 0.0)
    assert t == reprocessing_truth("2020-10-04")  # deterministic


@pytest.mark.parametrize(
    ("day", "era", "shift_range", "gain_hw", "offset_hw", "scl_changes"),
    [
        ("2020-10-04", "unrefined", (3.0, 8.0), 0.015, 6, True),
        ("2021-06-15", "refined", (0.5, 1.5), 0.015, 6, True),
        ("2022-06-15", "offset_era", (0.2, 0.8), 0.005, 2, True),  # 04.00 (Sen2Cor 2.10) vs 05.10 (2.11)
        ("2023-03-01", "offset_era", (0.2, 0.8), 0.002, 0, False),  # 05.09 vs 05.10, both Sen2Cor 2.11
    ],
)
def test_truth_models_each_era_of_the_baseline_history(day, era, shift_range, gain_hw, offset_hw, scl_changes):
    """2022–2023 pairs differ too (both GRI-refined, sub-pixel shift, small radiometric and SCL change)."""
    t = reprocessing_truth(day)
    assert t["reprocessed"] is True and t["era"] == era
    assert shift_range[0] <= np.hypot(*t["shift_m"]) <= shift_range[1] + 0.01
    assert abs(t["gain"] - 1) <= gain_hw + 1e-9 and abs(t["offset_dn"]) <= offset_hw
    assert bool(t["scl_rules"]) is scl_changes
    assert (t["scl_thresholds_sh"] != baselines.SCL_THRESHOLDS_NEW) is scl_changes


def test_2022_acquisition_differs_between_the_deployments():
    """The generator renders a 2022 acquisition differently on sh (04.00) and cdse (05.10): shifted, SCL ring."""
    import datetime as dt

    tile = sg.tile_for_lonlat(14.29, 40.86)
    utc = dt.timezone.utc
    acq = next(
        a
        for a in sg.acquisitions_for_tile(
            tile, dt.datetime(2022, 6, 1, tzinfo=utc), dt.datetime(2022, 6, 30, tzinfo=utc)
        )
        if sg._cloudiness(a.date) > 0.2
    )
    src = sg.SyntheticSceneSource()
    e, n = np.meshgrid(450005.0 + 20 * np.arange(150), 4520005.0 + 20 * np.arange(150))
    sh = src.render(acq, "sh", ["B04", "SCL"], sg.PixelPoints(e.ravel(), n.ravel(), "EPSG:32633"))
    cdse = src.render(acq, "cdse", ["B04", "SCL"], sg.PixelPoints(e.ravel(), n.ravel(), "EPSG:32633"))
    assert acq.baseline("sh") == "04.00" and acq.baseline("cdse") == "05.10"
    assert 0 < (sh["SCL"] != cdse["SCL"]).mean() < 0.2
    assert 0 < np.abs(sh["B04"] - cdse["B04"]).mean() < 200


def test_generator_tile_ids_and_schedule():
    assert sg.tile_for_lonlat(14.29, 40.86).tile_id == "33TVF"
    assert sg.tile_for_lonlat(120.7, 14.9).tile_id == "51PTS"  # the real catalog item's tile (Manila)
    assert sg.tile_for_lonlat(-8.2, 52.8).tile_id == "29UNU"  # west Ireland (shared/data 1a)
    import datetime as dt

    utc = dt.timezone.utc
    acqs = sg.acquisitions_for_tile(
        sg.tile_for_lonlat(14.29, 40.86), dt.datetime(2020, 10, 1, tzinfo=utc), dt.datetime(2020, 10, 31, tzinfo=utc)
    )
    # real relative orbits over Campania: R079 (the seed: S2B 2020-10-04 ~09:50 UTC) and R122, 10-day cycles, S2B
    # flying each 5 days after S2A
    assert sg.relative_orbits_of_tile(acqs[0].tile) == (79, 122)
    r079 = [a for a in acqs if a.relative_orbit == 79]
    assert [a.date.day for a in r079] == [4, 9, 14, 19, 24, 29]
    assert [a.satellite for a in r079] == ["S2B", "S2A"] * 3
    assert [a.date.day for a in acqs if a.relative_orbit == 122] == [2, 7, 12, 17, 22, 27]
    pid = r079[0].product_id("sh")
    assert pid.startswith("S2B_MSIL2A_20201004T095") and "_N0214_R079_" in pid and pid.split("_")[5] == "T33TVF"


def test_generator_old_version_is_the_shifted_field():
    """sh(E, N) == cdse(E - dx, N - dy) exactly on the native grid (truth convention)."""
    import datetime as dt

    tile = sg.tile_for_lonlat(14.29, 40.86)
    acq = sg.acquisitions_for_tile(
        tile, dt.datetime(2020, 10, 4, tzinfo=dt.timezone.utc), dt.datetime(2020, 10, 5, tzinfo=dt.timezone.utc)
    )[0]
    src = sg.SyntheticSceneSource()
    e = 450005.0 + 10 * np.arange(200)  # native 10 m pixel centres
    n = np.full(200, 4520005.0)
    truth = reprocessing_truth(acq.date)
    dx, dy = truth["shift_m"]
    old = src.render(acq, "sh", ["B04"], sg.PixelPoints(e, n, "EPSG:32633"))["B04"]
    f = sg.scene_fields(e - dx, n - dy, acq.date, True, truth["gain"], truth["offset_dn"])
    np.testing.assert_array_equal(old, np.clip(np.round(f["refl"][3] * 10000), 0, 65535))


def test_upsampling_bilinear_is_smoother_than_nearest(eps):
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04"], units: "DN"}], output: {bands: 1, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
    fine = {"width": 128, "height": 96}  # 5 m pixels over the 10 m grid
    one_day = {"timeRange": {"from": "2020-10-04T00:00:00Z", "to": "2020-10-04T23:59:59Z"}}
    near = body(script, output=fine, data={"dataFilter": one_day})
    bil = body(script, output=fine, data={"dataFilter": one_day, "processing": {"upsampling": "BILINEAR"}})
    a = tifffile.imread(io.BytesIO(post(eps, near).content)).astype(float)
    b = tifffile.imread(io.BytesIO(post(eps, bil).content)).astype(float)
    # nearest repeats each 10 m value in 2 x 2 blocks; bilinear interpolates between them
    assert (a[0::2, 0::2] == a[1::2, 1::2]).mean() > 0.95
    assert (b[0::2, 0::2] == b[1::2, 1::2]).mean() < 0.5
    assert np.abs(np.diff(b, axis=1)).mean() < np.abs(np.diff(a, axis=1)).mean()
    bad = body(script, data={"dataFilter": one_day, "processing": {"upsampling": "LANCZOS"}})
    assert post(eps, bad).status_code == 400


def test_forbidden_and_catalog_intersects(eps, monkeypatch):
    r = post(eps, body(SIMPLE_DN, data={"type": "byoc-017aa0ae-33a6-45d3-8548-0f7d1041b40c"}))
    assert r.status_code == 403 and r.json()["error"]["code"] == "COMMON_INSUFFICIENT_PERMISSIONS"
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    ring = [[14.40, 40.83], [14.44, 40.83], [14.40, 40.86], [14.40, 40.83]]
    geom = Geometry({"type": "Polygon", "coordinates": [ring]}, CRS.WGS84)
    sup.clear_sessions()
    try:
        cat = SentinelHubCatalog(config=sup.sh_config(eps.info, "sh"))
        found = cat.search(sup.collection(eps.info, "sh"), geometry=geom, time=("2020-10-01", "2020-10-10"))
        ids = list(found.get_ids())
    finally:
        sup.clear_sessions()
    assert [i.split("_")[2][:8] for i in ids] == ["20201004", "20201009"]


def test_recorded_engine_requests_valid_openapi(eps):
    if not sup.openapi_available():
        pytest.skip("../shared/data is not beside this checkout")
    # the legacy "S2L2A" type alias is accepted by the real service but not listed in the OpenAPI enum
    recorded = [r for r in eps.request_bodies if "S2L2A" not in json.dumps(r["body"])]
    assert sup.validate_recorded(recorded, rejected_may_be_invalid=True) >= 8


ORBIT_FIRST_VALID = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}], mosaicking: "ORBIT",
                            output: [{id: "default", bands: 2, sampleType: "UINT16"}]}; }
function evaluatePixel(samples) {
  for (let i = 0; i < samples.length; i++) { if (samples[i].dataMask === 1) { return [samples[i].B04, i + 1]; } }
  return [0, 0];
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {orbits: scenes.orbits.map(function (o) {
    return o.tiles.map(function (t) { return t.productId; }); })};
}
"""


def _utm_body(bbox, time_range, order="mostRecent"):
    return body(
        ORBIT_FIRST_VALID,
        responses=[
            {"identifier": "default", "format": {"type": "image/tiff"}},
            {"identifier": "userdata", "format": {"type": "application/json"}},
        ],
        bounds={"bbox": bbox, "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"}},
        data={"dataFilter": {"timeRange": time_range, "mosaickingOrder": order}},
        output={"width": 100, "height": 50},
    )


def test_aoi_across_two_tiles_gets_pixels_from_both(eps):
    """One pass, two tiles: T33TVF ends at E 509760, T33TWF starts at E 499980; an AOI across E 509760 is mosaicked
    from both and both product ids are listed in the orbit's tiles."""
    bbox = [505000.0, 4520000.0, 515000.0, 4525000.0]
    day = {"from": "2020-10-04T00:00:00Z", "to": "2020-10-04T23:59:59Z"}
    members = tar_members(post(eps, _utm_body(bbox, day)).content)
    tiles = json.loads(members["userdata.json"])["orbits"]
    assert len(tiles) == 1 and {pid.split("_")[5] for pid in tiles[0]} == {"T33TVF", "T33TWF"}
    img = tifffile.imread(io.BytesIO(members["default.tif"]))
    assert (img[..., 1] == 1).all()  # every pixel has data: east of 509760 from T33TWF
    tvf = sg.tile_for_lonlat(14.29, 40.86)
    e = np.array([505005.0, 512005.0])
    n = np.array([4522005.0, 4522005.0])
    acq = [a for a in sg.SyntheticSceneSource().acquisitions((14.9, 40.8, 15.2, 40.9), *_days("2020-10-04"))]
    a_tvf = next(a for a in acq if a.tile == tvf)
    assert sg.SyntheticSceneSource.data_mask(a_tvf, e, n).tolist() == [True, False]


def _days(day):
    import datetime as dt

    d = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc)
    return d, d + dt.timedelta(hours=23, minutes=59)


def test_first_valid_sample_falls_through_at_a_swath_edge(eps):
    """R122's swath ends east of Naples: over an AOI across that edge the 2020-10-02 (R122) pass has dataMask 0 on
    the east side, so a first-valid script takes those pixels from the next pass (2020-10-04, R079)."""
    from s2parity_plugin.sample_endpoints.scene_generator import cross_track_km, transformer

    # find the easting where R122's swath ends at northing 4525000 (zone 33)
    es = np.arange(440000.0, 560000.0, 100.0)
    lon, lat = transformer("EPSG:32633", "EPSG:4326").transform(es, np.full(es.shape, 4525000.0))
    edge = es[np.argmin(np.abs(np.abs(cross_track_km(np.asarray(lon), np.asarray(lat), 122)) - 145.0))]
    bbox = [edge - 500.0, 4524750.0, edge + 500.0, 4525250.0]
    rng = {"from": "2020-10-02T00:00:00Z", "to": "2020-10-04T23:59:59Z"}
    members = tar_members(post(eps, _utm_body(bbox, rng, order="leastRecent")).content)
    first = tifffile.imread(io.BytesIO(members["default.tif"]))[..., 1]
    assert set(np.unique(first)) == {1, 2}  # west of the edge the R122 pass, east of it the R079 pass
    assert first[:, :10].mean() < first[:, -10:].mean()
    orbits = json.loads(members["userdata.json"])["orbits"]
    assert [o[0].split("_")[4] for o in orbits] == ["R122", "R079"]


def _post_with(eps, b, headers, deployment="cdse"):
    url = eps.info[deployment]["base_url"] + "/api/v1/process"
    return requests.post(url, json=b, headers={**sup.bearer(eps.info, deployment), **headers}, timeout=60)


def test_nodata_value_is_written_into_tiffs(eps):
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04"], units: "DN"}],
                            output: {bands: 1, sampleType: "UINT16", nodataValue: 65535}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
    from osgeo import gdal

    r = post(eps, body(script))
    assert r.status_code == 200, r.text
    gdal.FileFromMemBuffer("/vsimem/nodata.tif", r.content)
    ds = gdal.Open("/vsimem/nodata.tif")
    assert ds.GetRasterBand(1).GetNoDataValue() == 65535
    ds = None
    gdal.Unlink("/vsimem/nodata.tif")


def test_jpeg_quality_is_honoured(eps):
    script = """//VERSION=3
function setup() { return {input: ["B04", "B03", "B02"], output: {bands: 3}}; }
function evaluatePixel(s) { return [3 * s.B04, 3 * s.B03, 3 * s.B02]; }
"""
    sizes = {}
    for q in (10, 95):
        fmt = {"type": "image/jpeg", "quality": q}
        r = post(eps, body(script, responses=[{"identifier": "default", "format": fmt}]))
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        sizes[q] = len(r.content)
    assert sizes[10] < 0.6 * sizes[95]
    bad = post(
        eps, body(script, responses=[{"identifier": "default", "format": {"type": "image/jpeg", "quality": 101}}])
    )
    assert bad.status_code == 400 and "quality" in bad.json()["error"]["message"]


def test_accept_multipart_mixed_answers_one_part_per_response(eps):
    from email import message_from_bytes

    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "SCL"], units: "DN"}],
                            output: [{id: "default", bands: 1, sampleType: "UINT16"}, {id: "scl", bands: 1,
                            sampleType: "UINT8"}]}; }
function evaluatePixel(s) { return {default: [s.B04], scl: [s.SCL]}; }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) { outputMetadata.userData = {n: 1}; }
"""
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "scl", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    r = _post_with(eps, body(script, responses=responses), {"Accept": "multipart/mixed"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    msg = message_from_bytes(b"Content-Type: " + r.headers["Content-Type"].encode() + b"\r\n\r\n" + r.content)
    parts = msg.get_payload()
    assert [p.get_param("name", header="content-disposition") for p in parts] == ["default", "scl", "userdata"]
    assert [p.get_content_type() for p in parts] == ["image/tiff", "image/tiff", "application/json"]
    assert json.loads(parts[2].get_payload(decode=True)) == {"n": 1}
    assert tifffile.imread(io.BytesIO(parts[0].get_payload(decode=True))).shape == (48, 64)


def test_catalog_errors_have_the_catalog_shape(eps):
    d = eps.info["cdse"]
    tok = requests.post(
        d["token_url"],
        data={"grant_type": "client_credentials", "client_id": d["client_id"], "client_secret": d["client_secret"]},
        timeout=10,
    ).json()["access_token"]
    r = requests.post(
        d["base_url"] + "/api/v1/catalog/1.0.0/search",
        json={"collections": ["sentinel-2-l2a"], "datetime": "not-a-date"},
        headers={"Authorization": f"Bearer {tok}"},
        timeout=10,
    )
    assert r.status_code == 400
    doc = r.json()
    assert set(doc) == {"code", "description"} and "datetime" in doc["description"]
    # a Process API error keeps the {"error": {...}} shape on the same connection afterwards
    assert set(post(eps, body("not a script")).json()) == {"error"}


def test_evalscript_runtime_as_documented(eps):
    """updateOutput runs (one band per orbit), evaluatePixel may return nothing (no data → nodataValue),
    preProcessScenes gets Date objects, orbits carry __idx and a dateTo of 23:59:59, index(0, 0) is 0, INT16 out."""
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}], mosaicking: "ORBIT",
                            output: {bands: 1, sampleType: "INT16", nodataValue: -9}}; }
function updateOutput(outputs, collection) { outputs.default.bands = collection.scenes.length; }
var seen = {};
function preProcessScenes(collections) {
  seen = {isDate: collections.from instanceof Date && collections.to instanceof Date,
          year: collections.from.getUTCFullYear()};
  return collections;
}
function evaluatePixel(samples, scenes) {
  if (samples[0].B04 % 2 === 1) return;  // no data for odd DN
  var out = [];
  for (var i = 0; i < samples.length; i++) out.push(index(0, 0) - scenes.orbits[i].__idx - 1);
  return out;
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {seen: seen, dateTo: scenes.orbits.map(function (o) { return o.dateTo; })};
}
"""
    rng = {"from": "2020-10-01T00:00:00Z", "to": "2020-10-10T23:59:59Z"}
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    r = post(eps, body(script, responses=responses, data={"dataFilter": {"timeRange": rng}}))
    assert r.status_code == 200, r.text
    members = tar_members(r.content)
    img = tifffile.imread(io.BytesIO(members["default.tif"]))
    user = json.loads(members["userdata.json"])
    assert user["seen"] == {"isDate": True, "year": 2020}
    n_orbits = len(user["dateTo"])
    assert user["dateTo"][0].endswith("T23:59:59Z") and n_orbits >= 2 and img.shape[-1] == n_orbits
    assert img.dtype == np.int16
    valid = img[..., 0] != -9
    assert 0.3 < valid.mean() < 0.7  # about half the pixels returned nothing
    np.testing.assert_array_equal(img[valid], np.tile(-1 - np.arange(n_orbits), (int(valid.sum()), 1)))
    assert (img[~valid] == -9).all()


def test_resampling_is_decided_per_band_and_interpolated_dn_stay_floats(eps):
    """15 m pixels: finer than B05's 20 m (upsampling: BILINEAR → non-integer DN), coarser than B04's 10 m
    (downsampling: NEAREST → the product's integer DN)."""
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "B05"], units: "DN"}], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B04, s.B05]; }
"""
    one_day = {"timeRange": {"from": "2020-10-04T00:00:00Z", "to": "2020-10-04T23:59:59Z"}}
    processing = {"upsampling": "BILINEAR", "downsampling": "NEAREST"}
    b = body(script, output={"width": 40, "height": 32}, data={"dataFilter": one_day, "processing": processing})
    img = tifffile.imread(io.BytesIO(post(eps, b).content)).astype(np.float64)  # 640 m / 40 px = 16 m pixels
    b04, b05 = img[..., 0], img[..., 1]
    assert (b04 == np.round(b04)).all()
    assert (b05 != np.round(b05)).mean() > 0.5


def test_garbage_collection_is_paused_while_v8_works():
    """A collection during a V8 callback could free a handle of the running context and deadlock it: automatic
    collection is paused inside every V8 section (nested too) and restored after the outermost one."""
    import gc

    from s2parity_plugin.sample_endpoints import evalscript_engine

    assert gc.isenabled()
    with evalscript_engine._v8():
        assert not gc.isenabled()
        with evalscript_engine._v8():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
