"""The documented evalscript utility functions and visualizers, called from scripts sent through the real sentinelhub
client: every value below is an example of the "Utility Functions" page (Sentinel Hub / CDSE evalscript docs)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sample_endpoints_support as sup
from sentinelhub import CRS, BBox, MimeType, SentinelHubRequest

from s2parity_plugin.sample_endpoints import SampleEndpoints
from s2parity_plugin.sample_endpoints.evalscript_utilities import UTILITIES_JS, UTILITY_NAMES, uses_utilities

RAMP = "[[200, 0xFF0000], [300, 0x0000FF]]"
STEPS = (0.0, 0.3, 0.5, 0.8, 1.0)
WHITE, BLACK, RED_128 = (255, 255, 255), (0, 0, 0), (128, 0, 0)


def _steps(factory: str, rgb255: tuple[tuple[int, int, int], ...]) -> list[tuple[str, object]]:
    """``factory(0.0, 1.0).process(v)`` for the page's five example values, expected 8-bit colours / 255."""
    return [(f"{factory}(0.0, 1.0).process({v})", [c / 255 for c in rgb]) for v, rgb in zip(STEPS, rgb255)]


# (expression, documented value) — a number or an [r, g, b] triplet
EXAMPLES: list[tuple[str, object]] = [
    ("valueMap(5, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 500),
    ("valueMap(1, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 100),
    ("valueMap(2, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 300),
    ("valueMap(12, [1, 3, 5, 7, 10], [100, 300, 500, 700, 900])", 900),
    ("valueMap(50)", 50),
    ("valueInterpolate(9, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", 810),
    ("valueInterpolate(-10, [-10, -5, 0, 5, 10], [-1000, -50, 0, 50, 1000])", -1000),
    ("valueInterpolate(0.1, [0, 0.2, 0.4], [[0, 0, 0], [0.1, 0.2, 0.5], [0.25, 0.4, 0.5]])", [0.05, 0.1, 0.25]),
    ("colorBlend(2.5, [0, 5], [[0, 0, 0], [1, 0.5, 0.2]])", [0.5, 0.25, 0.1]),  # deprecated alias, midpoint
    ("combine([100, 0, 0], [0, 100, 0], 0.5)", [50, 50, 0]),
    ("combine([100, 0, 0], [0, 100, 0], 1)", [100, 0, 0]),
    ("index(0.5, -0.5)", 0.0),
    ("inverse(5.0)", 0.2),
    ("int2rgb(65537)", [1, 0, 1]),
    ("rgb2int([1, 0, 1])", 65537),
    ("normalizeRGB([255, 51, 0])", [1.0, 0.2, 0.0]),
    (f"new ColorMapVisualizer({RAMP}).process(299)", [1, 0, 0]),
    (f"new ColorMapVisualizer({RAMP}).process(300)", [0, 0, 1]),
    (f"new ColorRampVisualizer({RAMP}).process(199)", [1, 0, 0]),
    (f"new ColorRampVisualizer({RAMP}).process(250)", [0.4980392156862745, 0, 0.4980392156862745]),
    ("new ColorRampVisualizer([[200, [1, 0, 0]], [300, [0, 0, 1]]]).process(299)", [2 / 255, 0, 252 / 255]),
    (f"new ColorRampVisualizer({RAMP}, 0, 1).process(0.5)", [127 / 255, 0, 127 / 255]),  # minVal/maxVal override
    (f"new ColorRampVisualizer({RAMP}).inverse().process(200)", [0, 0, 1]),
    *_steps("ColorRampVisualizer.createRedTemperature", (BLACK, (255, 110, 0), (255, 131, 0), (255, 204, 147), WHITE)),
    *_steps("ColorRampVisualizer.createWhiteGreen", (BLACK, (0, 102, 0), (85, 153, 0), (191, 217, 127), WHITE)),
    *_steps("ColorRampVisualizer.createBlueRed", ((0, 0, 128), (0, 178, 255), (127, 255, 127), (255, 76, 0), RED_128)),
    *_steps("ColorGradientVisualizer.createRedTemperature", (BLACK, (110, 0, 0), (183, 12, 0), (255, 158, 51), WHITE)),
    ("ColorGradientVisualizer.createWhiteGreen(0.0, 1.0).process(0.3)", [0, 76 / 255, 0]),
    ("ColorGradientVisualizer.createBlueRed(0.0, 1.0).process(0.3)", [0, 179 / 255, 1]),
    *[
        (f"new HighlightCompressVisualizer(0.1, 0.4).process({v})", out)
        for v, out in ((0, 0), (0.1, 0), (0.25, 0.5), (0.376, 0.92), (0.4, 0.925926), (0.7, 1), (1.1, 1))
    ],
    ("new HighlightCompressVisualizer(0, 1, 2.0).process(0.2)", 0.4),  # gain
    ("new HighlightCompressVisualizerSingle(0.1, 0.4).process(0.25)", [0.5]),
    ("new Identity().process(0.7)", [0.7]),
]


def _flat(value: object) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]  # type: ignore[arg-type]


def _script(examples: list[tuple[str, object]]) -> str:
    """A FLOAT32 script whose pixels hold every example's value, flattened in order."""
    n = sum(len(_flat(v)) for _, v in examples)
    calls = ",\n    ".join(e for e, _ in examples)
    return f"""//VERSION=3
function setup() {{ return {{input: ["B04"], output: {{bands: {n}, sampleType: "FLOAT32"}}}}; }}
function evaluatePixel(s) {{
  var values = [
    {calls}
  ];
  var out = [];
  for (var i = 0; i < values.length; i++) out = out.concat(Array.isArray(values[i]) ? values[i] : [values[i]]);
  return out;
}}
"""


@pytest.fixture(scope="module")
def eps():
    with SampleEndpoints() as e:
        yield e
    sup.clear_sessions()


def _run(eps: SampleEndpoints, evalscript: str) -> np.ndarray:
    """Pixel (0, 0) of the script's FLOAT32 output, requested through sentinelhub-py from the 'cdse' deployment."""
    req = SentinelHubRequest(
        evalscript=evalscript,
        input_data=[
            SentinelHubRequest.input_data(
                sup.collection(eps.info, "cdse"), time_interval=("2020-10-01T00:00:00Z", "2020-10-05T23:59:59Z")
            )
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox((450000.0, 4520000.0, 450020.0, 4520020.0), crs=CRS(32633)),
        size=(2, 2),
        config=sup.sh_config(eps.info, "cdse"),
    )
    data = req.get_data()[0]
    return np.atleast_3d(data)[0, 0, :]


def test_documented_utility_examples_through_the_client(eps, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    got = _run(eps, _script(EXAMPLES))
    expected = [v for _, value in EXAMPLES for v in _flat(value)]
    assert got.shape == (len(expected),)
    pos = 0
    for expr, value in EXAMPLES:
        want = np.asarray(_flat(value), dtype=np.float32)
        have = got[pos : pos + want.size]
        pos += want.size
        np.testing.assert_allclose(have, want, rtol=0, atol=1e-6, err_msg=expr)


def test_a_script_may_redefine_any_utility(eps, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sup.clear_sessions()
    script = """//VERSION=3
const blueRed = 7;
class Identity { process(v) { return [v * 2]; } }
function combine(a, b, t) { return 3; }
function setup() { return {input: ["B04"], output: {bands: 3, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [blueRed, new Identity().process(2)[0], combine(0, 0, 0)]; }
"""
    np.testing.assert_array_equal(_run(eps, script), [7, 4, 3])


def test_every_installed_name_triggers_the_install():
    installed = set(re.findall(r"(\w+): \w+[,\n]", UTILITIES_JS[UTILITIES_JS.index("var names = {") :]))
    assert installed == {*UTILITY_NAMES, "index"}  # index is in the engine's base prelude as well
    assert uses_utilities("var v = new ColorRampVisualizer(r);") and not uses_utilities("x.indexOf(3); myCombine()")
