"""Real Sentinel-2 L2A pixels (../shared/data, read in place) served by the sample endpoints through the raster-backed
scene source, fetched with the real sentinelhub client: exact values, harmonizeValues on a real 04.00 product,
catalog ids from real product names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import sample_endpoints_support as sup
from osgeo import gdal
from sentinelhub import CRS, BBox, MimeType, SentinelHubCatalog, SentinelHubRequest

from s2parity_plugin.sample_endpoints import SampleEndpoints
from s2parity_plugin.sample_endpoints.raster_source import RasterProduct, RasterSceneSource

MANILA = "sentinelhub_process_api_outputs/sh_L2A_12bands_SCL_DN_T51P_manila_2023-11_to_2024-01.tif"
MANILA_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12", "SCL")
# The Manila file's acquisition date is not recorded (PROVENANCE.md); the 2023-11-03 T51PTS product of the real
# catalog item in shared/data is used as its (assumed) name.
MANILA_ID = "S2B_MSIL2A_20231103T021839_N0509_R003_T51PTS_20231103T052521"
UNU_ID = "S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454"
RKH_ID_SH = "S2A_MSIL2A_20200219T112111_N0214_R037_T29RKH_20200219T123947"
RKH_ID_CDSE = "S2A_MSIL2A_20200219T112111_N0500_R037_T29RKH_20230402T094521"  # label only: same pixels (no gold pair)

DN_EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "SCL", "dataMask"], units: "DN"}],
          output: [{id: "default", bands: 2, sampleType: "UINT16"}, {id: "scl", bands: 1, sampleType: "UINT8"}]};
}
function evaluatePixel(s) { return {default: [s.B04, s.B08], scl: [s.SCL]}; }
"""


@pytest.fixture(scope="module")
def real_eps(shared_data: Path):
    d = shared_data
    unu = d / "s2l2a_T29UNU_20221005_N0400"
    rkh = d / "s2l2a_T29RKH_20200219_N0214_decimated"
    products = [
        RasterProduct.create(
            MANILA_ID, {b: (d / MANILA, i + 1) for i, b in enumerate(MANILA_BANDS)}, values="harmonized"
        ),
        RasterProduct.create(
            UNU_ID,
            {
                "B02": unu / "T29UNU_20221005T115411_B02_60m.jp2",
                "B04": unu / "T29UNU_20221005T115411_B04_60m.jp2",
                "B8A": unu / "T29UNU_20221005T115411_B8A_60m.jp2",
                "SCL": unu / "T29UNU_20221005T115411_SCL_60m.jp2",
            },
            cloud_cover=59.8,
        ),
        RasterProduct.create(
            {"sh": RKH_ID_SH, "cdse": RKH_ID_CDSE},
            {b: rkh / f"{b}.tif" for b in ("B02", "B03", "B04", "B08", "B8A", "B11", "SCL")},
            cloud_cover=4.05,
        ),
    ]
    with SampleEndpoints(scene_source=RasterSceneSource(products), record_bodies=True) as eps:
        yield eps


@pytest.fixture(autouse=True)
def _loopback(monkeypatch):
    yield from sup.loopback_session(monkeypatch)


def read(path: Path, band: int = 1) -> np.ndarray:
    ds = gdal.Open(str(path))
    arr = ds.GetRasterBand(band).ReadAsArray()
    ds = None
    return arr


def fetch(eps, deployment, evalscript, bbox, epsg, size, time, responses, harmonize=True, other_processing=None, **kw):
    req = SentinelHubRequest(
        evalscript=evalscript,
        input_data=[
            SentinelHubRequest.input_data(
                sup.collection(eps.info, deployment),
                time_interval=time,
                other_args={"processing": {"harmonizeValues": harmonize, **(other_processing or {})}},
                **kw,
            )
        ],
        responses=[SentinelHubRequest.output_response(r, t) for r, t in responses],
        bbox=BBox(bbox, crs=CRS(epsg)),
        size=size,
        config=sup.sh_config(eps.info, deployment),
    )
    return req.get_data()[0]


def test_manila_real_pixels_exact(real_eps, shared_data):
    # a 200 x 200 px window aligned with the file's 10 m grid (GT 230400, 10, 0, 1598400, 0, -10)
    bbox = (230400 + 1000, 1598400 - 3000, 230400 + 3000, 1598400 - 1000)
    got = fetch(
        real_eps,
        "cdse",
        DN_EVALSCRIPT,
        bbox,
        32651,
        (200, 200),
        ("2023-11-01", "2024-01-01"),
        [("default", MimeType.TIFF), ("scl", MimeType.TIFF)],
    )
    b04 = read(shared_data / MANILA, 4)[100:300, 100:300]
    b08 = read(shared_data / MANILA, 8)[100:300, 100:300]
    scl = read(shared_data / MANILA, 13)[100:300, 100:300]
    valid = b04 > 0
    assert valid.mean() > 0.9
    np.testing.assert_array_equal(got["default.tif"][..., 0][valid], b04[valid])
    np.testing.assert_array_equal(got["default.tif"][..., 1][valid], b08[valid])
    np.testing.assert_array_equal(got["scl.tif"][valid], scl[valid])
    assert 6 in np.unique(got["scl.tif"])  # Manila Bay water


def test_real_n0400_product_harmonize_values(real_eps, shared_data):
    unu = shared_data / "s2l2a_T29UNU_20221005_N0400"
    # 100 x 100 px of valid data at 60 m: rows/cols 300..400 of the tile (origin 499980, 5900040)
    bbox = (499980 + 300 * 60, 5900040 - 400 * 60, 499980 + 400 * 60, 5900040 - 300 * 60)
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                            output: {bands: 1, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
    kw = dict(time=("2022-10-05", "2022-10-06"), responses=[("default", MimeType.TIFF)])
    raw = fetch(real_eps, "sh", script, bbox, 32629, (100, 100), harmonize=False, **kw)
    harm = fetch(real_eps, "sh", script, bbox, 32629, (100, 100), harmonize=True, **kw)
    truth = read(unu / "T29UNU_20221005T115411_B04_60m.jp2")[300:400, 300:400].astype(np.int64)
    np.testing.assert_array_equal(raw, truth)  # product DN, offset kept
    np.testing.assert_array_equal(harm, np.maximum(truth - 1000, 0))  # offset removed, negatives clamped
    # reflectance units: (DN - 1000) / 10000 with harmonization
    refl = fetch(
        real_eps,
        "sh",
        script.replace('units: "DN"', 'units: "REFLECTANCE"').replace("UINT16", "FLOAT32"),
        bbox,
        32629,
        (100, 100),
        harmonize=True,
        **kw,
    )
    np.testing.assert_allclose(refl, np.maximum(truth - 1000, 0) / 10000.0, atol=1e-6)


def test_real_product_names_in_catalog_and_userdata(real_eps):
    bbox = BBox((-11.6, 24.6, -11.2, 24.9), crs=CRS.WGS84)  # inside tile 29RKH (Western Sahara)
    for dep, expected in (("sh", RKH_ID_SH), ("cdse", RKH_ID_CDSE + ".SAFE")):
        cat = SentinelHubCatalog(config=sup.sh_config(real_eps.info, dep))
        ids = list(
            cat.search(sup.collection(real_eps.info, dep), bbox=bbox, time=("2020-02-01", "2020-03-01")).get_ids()
        )
        assert ids == [expected]
    script = sup.SEED_EVALSCRIPT.read_text()
    got = fetch(
        real_eps,
        "sh",
        script,
        (300000.0, 2700000.0, 310000.0, 2710000.0),
        32629,
        (100, 100),
        ("2020-02-19", "2020-02-20"),
        [("default", MimeType.TIFF), ("scl", MimeType.TIFF), ("userdata", MimeType.JSON)],
    )
    tile = got["userdata.json"]["acquisitions"][0]["tiles"][0]
    assert tile["productId"] == RKH_ID_SH and tile["cloudCoverage"] == pytest.approx(4.05)
    assert tile["dataPath"] == "s3://sentinel-s2-l2a/tiles/29/R/KH/2020/2/19/0"
    assert (got["default.tif"] > 1500).mean() > 0.9  # bright desert, old baseline: no offset, B04 p1 = 2108
    assert set(np.unique(got["scl.tif"])) <= {0, 2, 5, 7, 8, 9, 10} and (got["scl.tif"] == 5).mean() > 0.5


def test_real_data_requests_valid_openapi(real_eps):
    if not sup.openapi_available():
        pytest.skip("../shared/data is not beside this checkout")
    assert sup.validate_recorded(real_eps.request_bodies, rejected_may_be_invalid=True) >= 1
    assert dt.date(2023, 11, 3).isoformat() in MANILA_ID.replace("20231103", "2023-11-03")


def test_real_swath_edge_gives_datamask_0(real_eps, shared_data):
    """The real T29UNU 2022-10-05 product ends at its swath edge: pixels beyond it come back with dataMask 0 and
    band values 0, the others with the product's DN."""
    unu = shared_data / "s2l2a_T29UNU_20221005_N0400"
    rows, cols = slice(450, 550), slice(1150, 1300)  # the edge crosses column ~1221 at row 500
    bbox = (499980 + 1150 * 60, 5900040 - 550 * 60, 499980 + 1300 * 60, 5900040 - 450 * 60)
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                            output: {bands: 2, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04, s.dataMask]; }
"""
    kw = dict(time=("2022-10-05", "2022-10-06"), responses=[("default", MimeType.TIFF)])
    got = fetch(real_eps, "sh", script, bbox, 32629, (150, 100), harmonize=False, **kw)
    b04, mask = got[..., 0], got[..., 1]
    real_scl = read(unu / "T29UNU_20221005T115411_SCL_60m.jp2")[rows, cols]
    real_b04 = read(unu / "T29UNU_20221005T115411_B04_60m.jp2")[rows, cols]
    assert 0.2 < mask.mean() < 0.8  # both sides of the edge
    real_b02 = read(unu / "T29UNU_20221005T115411_B02_60m.jp2")[rows, cols]
    np.testing.assert_array_equal(mask == 1, real_b02 > 0)  # the product's own no-data (DN 0)
    assert ((mask == 1) == (real_scl > 0)).mean() > 0.99  # the SCL's edge differs by a pixel here and there
    assert (b04[mask == 0] == 0).all()
    np.testing.assert_array_equal(b04[mask == 1], real_b04[mask == 1])


def test_modelled_swath_edge_follows_the_real_tile(shared_data):
    """The synthetic pair's orbit model (S2A R023) puts T29UNU's swath edge where the real product's no-data starts."""
    from s2parity_plugin.sample_endpoints import scene_generator as sg

    scl = read(shared_data / "s2l2a_T29UNU_20221005_N0400" / "T29UNU_20221005T115411_SCL_60m.jp2")[::10, ::10]
    cols, rows = np.meshgrid(np.arange(0, 1830, 10), np.arange(0, 1830, 10))
    e, n = 499980 + (cols + 0.5) * 60, 5900040 - (rows + 0.5) * 60
    lon, lat = sg.transformer("EPSG:32629", "EPSG:4326").transform(e.ravel(), n.ravel())
    model = sg.in_swath(np.asarray(lon), np.asarray(lat), 23).reshape(e.shape)
    assert ((scl > 0) == model).mean() > 0.98
    assert sg.relative_orbits_of_tile(sg.tile_for_lonlat(-8.2, 52.8)) == (23, 80, 123)


def test_real_raster_source_honours_bilinear(real_eps, shared_data):
    """Upsampling the real 60 m B04 to 5 m with BILINEAR interpolates between the file's pixels (float DN); NEAREST
    repeats them in 12 × 12 blocks."""
    bbox = (499980 + 300 * 60, 5900040 - 320 * 60, 499980 + 320 * 60, 5900040 - 300 * 60)  # 20 × 20 px at 60 m
    script = """//VERSION=3
function setup() { return {input: [{bands: ["B04", "dataMask"], units: "DN"}],
                            output: {bands: 1, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
    kw = dict(time=("2022-10-05", "2022-10-06"), responses=[("default", MimeType.TIFF)], harmonize=False)
    near = fetch(real_eps, "sh", script, bbox, 32629, (240, 240), **kw)
    bil = fetch(real_eps, "sh", script, bbox, 32629, (240, 240), other_processing={"upsampling": "BILINEAR"}, **kw)
    truth = read(shared_data / "s2l2a_T29UNU_20221005_N0400" / "T29UNU_20221005T115411_B04_60m.jp2")[300:320, 300:320]
    truth = truth.astype(np.float64)
    np.testing.assert_array_equal(near[6::12, 6::12], truth)
    assert (bil != np.round(bil)).mean() > 0.3
    step = np.abs(np.diff(truth, axis=1)).mean()  # typical difference between neighbouring 60 m pixels
    assert np.abs(bil[6::12, 6::12] - truth)[1:-1, 1:-1].mean() < 0.1 * step  # 2.5 m from the 60 m centres
