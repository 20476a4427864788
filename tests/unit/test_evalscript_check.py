"""A custom evalscript whose value output has several bands is refused, never compared on band 1 only."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from s2parity_plugin.core.errors import PresetError
from s2parity_plugin.core.model.evalscript_check import check_single_band, declared_bands

THREE_BANDS = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "SCL", "dataMask"], units: "DN"}],
          output: [{id: "value", bands: 3, sampleType: "UINT16"}, {id: "scl", bands: 1, sampleType: "UINT8"}]};
}
function evaluatePixel(s) { return {value: [s.B04, s.B03, s.B02], scl: [s.SCL]}; }
"""
DYNAMIC_BANDS = THREE_BANDS.replace("bands: 3,", "bands: N,").replace("function setup", "var N = 3;\nfunction setup")


def test_declared_bands_per_output():
    assert declared_bands(THREE_BANDS, "value") == 3
    assert declared_bands(THREE_BANDS, "scl") == 1
    assert declared_bands("function setup() { return {input: ['B04'], output: {bands: 2}}; }", "default") == 2
    assert declared_bands(DYNAMIC_BANDS, "value") is None


def test_multi_band_value_is_refused_with_what_to_change():
    with pytest.raises(PresetError, match=r"'value' output has 3 bands.*compares one band.*1-band output"):
        check_single_band(THREE_BANDS, "value")
    check_single_band(THREE_BANDS.replace("bands: 3", "bands: 1"), "value")


@pytest.mark.parametrize("quantity", ["B04", "B8A", "NDVI"])
def test_presets_pass(quantity):
    from s2parity_plugin.core.model.spec import Preset, build_spec

    spec = build_spec(box(14.2, 40.8, 14.21, 40.81), 4326, "2020-10-04", "2020-10-04", preset=Preset(quantity=quantity))
    assert declared_bands(spec.evalscript, spec.outputs.value) in (None, 1)
    check_single_band(spec.evalscript, spec.outputs.value)


def _custom_spec(evalscript: str):
    """A one-day request over a small AOI near the seed (EPSG:4326) with ``evalscript`` as the custom script."""
    from s2parity_plugin.core.model.spec import Preset, build_spec

    preset = Preset(quantity="CUSTOM", evalscript=evalscript)
    return build_spec(box(14.2, 40.8, 14.21, 40.81), 4326, "2020-10-04", "2020-10-04", preset=preset)


def test_refused_before_any_request(tmp_path):
    from s2parity_plugin.core.fetch.pipeline import fetch_pair
    from s2parity_plugin.core.service.endpoints import Credentials, Endpoint

    nowhere = Endpoint("custom", "http://127.0.0.1:9", "http://127.0.0.1:9/token", Credentials("id", "secret"))
    with pytest.raises(PresetError, match="3 bands"):
        fetch_pair(_custom_spec(THREE_BANDS), nowhere, nowhere, tmp_path)  # port 9: any request would fail
    assert list(tmp_path.iterdir()) == []


def test_answer_with_several_bands_is_refused(pair, tmp_path):
    """A script whose band count is computed at run time: the 3-band answer is refused when it arrives."""
    from s2parity_plugin.core.fetch.pipeline import FetchOptions, fetch_pair
    from s2parity_plugin.core.service.retry import RetryPolicy

    a, b = pair
    options = FetchOptions(retry=RetryPolicy(deadline_s=5.0, backoff_initial_s=0.05))
    with pytest.raises(PresetError, match="'value' output has 3 bands"):
        fetch_pair(_custom_spec(DYNAMIC_BANDS), a, b, tmp_path, options=options)
    assert not list(tmp_path.rglob("*.tif"))
