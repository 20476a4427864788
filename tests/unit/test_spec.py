"""RequestSpec, grid snapping, evalscript presets, tiling and mosaic writing (QGIS-free, no network)."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from sentinelhub import CRS, BBox, SentinelHubRequest, bbox_to_dimensions
from sentinelhub.api.base_request import InputDataDict
from shapely.geometry import MultiPolygon, Point, box, shape

from s2parity_plugin.core.errors import AoiError, DateRangeError, PresetError
from s2parity_plugin.core.fetch.mosaic import MosaicWriter
from s2parity_plugin.core.model.evalscripts import build_evalscript, custom_outputs, normalize_quantity
from s2parity_plugin.core.model.spec import GridChoice, Preset, build_spec, reproject, snap_grid, utm_epsg
from s2parity_plugin.core.model.tiling import split_grid

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = json.loads((DATA / "seed_request.json").read_text())
SEED_BBOX = SEED["input"]["bounds"]["bbox"]
SEED_JS = (DATA / "seed_evalscript_b04_scl_orbit.js").read_text()
TODAY = date(2026, 11, 24)


def seed_spec(snap="nearest"):
    preset, grid = Preset(quantity="CUSTOM", evalscript=SEED_JS), GridChoice(crs_epsg=3035, snap=snap)
    return build_spec(box(*SEED_BBOX), 3035, "2020-10-04", "2020-10-04", preset=preset, grid=grid, today=TODAY)


# -- grid ---------------------------------------------------------------------------------------------------------


def test_seed_bbox_the_trap_three_sizes():
    """resx/resy in EPSG:3035 → 505 × 447; bbox_to_dimensions (via UTM) → 528 × 415; our outward grid 506 × 449."""
    nearest = snap_grid(SEED_BBOX, 3035, 10.0, "nearest")
    assert (nearest.width, nearest.height) == (505, 447)
    assert bbox_to_dimensions(BBox(SEED_BBOX, CRS(3035)), 10) == (528, 415)
    outward = snap_grid(SEED_BBOX, 3035, 10.0)
    assert (outward.width, outward.height) == (506, 449)
    assert (outward.x0, outward.y0) == (4681900.0, 1986440.0)
    minx, miny, maxx, maxy = outward.bounds
    assert minx <= SEED_BBOX[0] and miny <= SEED_BBOX[1] and maxx >= SEED_BBOX[2] and maxy >= SEED_BBOX[3]
    for v in outward.bounds:
        assert v % 10 == 0


def test_seed_spec_grid_and_body():
    spec = seed_spec()
    assert (spec.grid.width, spec.grid.height) == (505, 447)
    body = spec.to_process_body()
    assert body["output"]["width"] == 505 and body["output"]["height"] == 447
    assert isinstance(body["output"]["width"], int)
    assert body["input"]["bounds"]["properties"]["crs"].endswith("/EPSG/0/3035")
    assert body["input"]["data"][0]["dataFilter"]["timeRange"] == {
        "from": "2020-10-04T00:00:00Z",
        "to": "2020-10-04T23:59:59Z",
    }
    assert body["input"]["data"][0]["processing"]["harmonizeValues"] is True
    assert [r["identifier"] for r in body["output"]["responses"]] == ["default", "scl", "userdata"]
    assert body["evalscript"] == SEED_JS
    assert spec.units == "DN"
    json.dumps(body)  # JSON-able


def test_body_matches_sentinelhub_request_payload():
    spec = build_spec(box(*SEED_BBOX), 3035, "2020-10-01", "2020-10-04", today=TODAY, grid=GridChoice(crs_epsg=3035))
    body = spec.to_process_body()
    req = SentinelHubRequest(
        evalscript=spec.evalscript,
        input_data=[InputDataDict(body["input"]["data"][0])],
        responses=body["output"]["responses"],
        bbox=BBox(spec.grid.bounds, CRS(3035)),
        size=(spec.grid.width, spec.grid.height),
    )
    expected = json.loads(json.dumps(body))
    del expected["input"]["bounds"]["geometry"]
    assert json.loads(json.dumps(req.payload)) == expected


def test_outward_snapping_in_utm_hits_s2_pixel_edges():
    # a small polygon in WGS84 near Naples → UTM 33N; edges on multiples of 10 m = Sentinel-2 10 m pixel edges
    poly = box(14.20, 40.80, 14.25, 40.84)
    spec = build_spec(poly, 4326, "2020-10-04", "2020-10-04", today=TODAY)
    assert spec.grid.epsg == 32633
    assert spec.grid.x0 % 10 == 0 and spec.grid.y0 % 10 == 0
    # T33TVF origin (399960, 4600020) lies on the same lattice
    assert (spec.grid.x0 - 399960) % 10 == 0 and (spec.grid.y0 - 4600020) % 10 == 0
    spec20 = build_spec(poly, 4326, "2020-10-04", "2020-10-04", today=TODAY, grid=GridChoice(resolution_m=20))
    assert (spec20.grid.x0 - 399960) % 20 == 0 and (spec20.grid.y0 - 4600020) % 20 == 0
    aoi_utm = reproject(poly, 4326, 32633)
    minx, miny, maxx, maxy = spec.grid.bounds
    assert box(minx, miny, maxx, maxy).contains(aoi_utm)


def test_utm_zone_rules():
    assert utm_epsg(14.2, 40.8) == 32633
    assert utm_epsg(-70.0, -33.0) == 32719
    assert utm_epsg(5.0, 60.0) == 32632  # Norway exception
    assert utm_epsg(10.0, 78.0) == 32633  # Svalbard exception


def test_multipolygon_and_geojson_inputs():
    multi = MultiPolygon([box(14.20, 40.80, 14.21, 40.81), box(14.23, 40.83, 14.24, 40.84)])
    spec = build_spec(multi.wkt, 4326, "2020-10-04", "2020-10-05", today=TODAY)
    assert spec.aoi["type"] == "MultiPolygon"
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": g.__geo_interface__, "properties": {}} for g in multi.geoms],
    }
    spec2 = build_spec(fc, 4326, "2020-10-04", "2020-10-05", today=TODAY)
    assert spec2.grid == spec.grid
    assert shape(spec2.aoi).area == pytest.approx(shape(spec.aoi).area)


def test_user_crs_epsg3035():
    spec = build_spec(
        box(14.20, 40.80, 14.25, 40.84), 4326, "2020-10-04", "2020-10-04", today=TODAY, grid=GridChoice(crs_epsg=3035)
    )
    assert spec.grid.epsg == 3035 and spec.grid.x0 % 10 == 0


@pytest.mark.parametrize(
    ("aoi", "message"),
    [
        ("POLYGON EMPTY", "empty"),
        (Point(1, 1), "not a polygon"),
        ("LINESTRING (0 0, 1 1)", "not a polygon"),
        ("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "invalid"),
        ("not wkt", "could not be read"),
    ],
)
def test_bad_aoi(aoi, message):
    with pytest.raises(AoiError, match=message):
        build_spec(aoi, 32633, "2020-10-04", "2020-10-04", today=TODAY)


def test_aoi_too_large():
    with pytest.raises(AoiError, match="Mpx"):
        build_spec(box(0, 0, 200_000, 200_000), 32633, "2020-10-04", "2020-10-04", today=TODAY)


def test_geographic_request_crs_refused():
    with pytest.raises(AoiError, match="metres"):
        build_spec(
            box(14.2, 40.8, 14.3, 40.9), 4326, "2020-10-04", "2020-10-04", today=TODAY, grid=GridChoice(crs_epsg=4326)
        )


@pytest.mark.parametrize(
    ("d0", "d1", "message"),
    [
        ("2020-10-05", "2020-10-04", "reversed"),
        ("2026-11-20", "2026-12-01", "future"),
        ("2020-13-01", "2020-10-04", "YYYY-MM-DD"),
        ("2014-01-01", "2014-02-01", "Sentinel-2 data start"),
    ],
)
def test_bad_dates(d0, d1, message):
    with pytest.raises(DateRangeError, match=message):
        build_spec(box(0, 0, 100, 100), 32633, d0, d1, today=TODAY)


# -- evalscripts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("band", ["B01", "B04", "B8A", "B12"])
@pytest.mark.parametrize("units", ["DN", "REFLECTANCE"])
@pytest.mark.parametrize("mosaicking", ["ORBIT", "SIMPLE"])
def test_band_presets(band, units, mosaicking):
    script, u = build_evalscript(band, units, mosaicking)
    assert u == units
    assert "{{" not in script and script.startswith("//VERSION=3")
    assert f'"{band}", "SCL", "dataMask"' in script
    assert f'mosaicking: "{mosaicking}"' in script
    assert ('sampleType: "FLOAT32"' in script) == (units == "REFLECTANCE")
    assert ('sampleType: "UINT16"' in script) == (units == "DN")
    assert 'id: "value"' in script and 'id: "scl"' in script and "updateOutputMetadata" in script


def test_ndvi_and_names():
    script, units = build_evalscript("NDVI")
    assert units == "REFLECTANCE" and "(s.B08 - s.B04) / (s.B08 + s.B04)" in script
    assert normalize_quantity("b4") == "B04" and normalize_quantity("b8a") == "B8A"
    with pytest.raises(PresetError, match="B10"):
        normalize_quantity("B10")
    with pytest.raises(PresetError, match="Unknown preset"):
        normalize_quantity("B13")
    with pytest.raises(PresetError, match="REFLECTANCE"):
        build_evalscript("NDVI", "DN")


def test_custom_outputs():
    outs = custom_outputs(SEED_JS)
    assert (outs.value, outs.scl, outs.userdata) == ("default", "scl", True)
    with pytest.raises(PresetError, match="evaluatePixel"):
        custom_outputs("return 1")
    with pytest.raises(PresetError, match="CUSTOM needs an evalscript"):
        build_spec(
            box(0, 0, 100, 100), 32633, "2020-10-04", "2020-10-04", today=TODAY, preset=Preset(quantity="CUSTOM")
        )


# -- tiling + mosaic ------------------------------------------------------------------------------------------------


def test_tiles_cover_the_grid_exactly():
    grid = snap_grid((437840.0, 4521440.0, 437840.0 + 10 * 5001, 4521440.0 + 10 * 2600), 32633, 10.0)
    tiles = split_grid(grid, 2500)
    assert len(tiles) == 3 * 2
    assert all(t.grid.width <= 2500 and t.grid.height <= 2500 for t in tiles)
    assert sum(t.grid.width * t.grid.height for t in tiles) == grid.pixels
    for t in tiles:
        assert t.grid.x0 == grid.x0 + t.col * 10 and t.grid.y0 == grid.y0 - t.row * 10
        assert t.grid.resolution_m == grid.resolution_m and t.grid.epsg == grid.epsg
    covered = np.zeros((grid.height, grid.width), np.uint8)
    for t in tiles:
        covered[t.row : t.row + t.grid.height, t.col : t.col + t.grid.width] += 1
    assert covered.min() == 1 and covered.max() == 1


def test_mosaic_writer_windowed(tmp_path):
    grid = snap_grid((0, 0, 100, 70), 32633, 10.0)
    tiles = split_grid(grid, 4)
    assert len(tiles) == 3 * 2
    writer = MosaicWriter(tmp_path / "v.tif", grid)
    for t in tiles:
        writer.write(t.col, t.row, np.full((t.grid.height, t.grid.width), t.index + 1, np.float32))
    writer.close()
    ds = gdal.Open(str(tmp_path / "v.tif"))
    arr = ds.GetRasterBand(1).ReadAsArray()
    assert arr.shape == (7, 10)
    assert list(ds.GetGeoTransform()) == grid.geotransform
    assert math.isnan(ds.GetRasterBand(1).GetNoDataValue())
    for t in tiles:
        assert (arr[t.row : t.row + t.grid.height, t.col : t.col + t.grid.width] == t.index + 1).all()
    ds = None


def test_tile_body_geometry_is_clipped():
    spec = build_spec(
        box(0, 0, 1000, 500), 32633, "2020-10-04", "2020-10-04", today=TODAY, grid=GridChoice(crs_epsg=32633)
    )
    tiles = split_grid(spec.grid, 50)
    assert len(tiles) == 2
    body = spec.to_process_body(tiles[0].grid)
    assert body["output"]["width"] == 50 and body["output"]["height"] == 50
    clipped = shape(body["input"]["bounds"]["geometry"])
    assert box(*tiles[0].grid.bounds).buffer(1e-6).contains(clipped)


def test_non_integer_sizes_are_warned_about():
    """A body with the Request Builder's fractional sizes gets one warning per axis naming the truncated size; the
    plugin's own snap="nearest" grid warns when the AOI is not a whole number of pixels, "outward" never."""
    from s2parity_plugin.core.model.spec import process_body_warnings

    warnings = process_body_warnings({"output": {"width": 501.2608, "height": 420.7543}})
    assert len(warnings) == 2
    assert "501 px" in warnings[0] and "420 px" in warnings[1] and "assumed" in warnings[0]
    assert process_body_warnings({"output": {"width": 505, "height": 447.0}}) == []
    nearest = seed_spec()
    assert len(nearest.warnings) == 1 and "504.84 × 447.25 px" in nearest.warnings[0]
    assert seed_spec(snap="outward").warnings == ()
