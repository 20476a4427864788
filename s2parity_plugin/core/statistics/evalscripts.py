"""Statistical evalscripts: presets NDVI / B04 / B08 with SCL classes masked through ``dataMask``, or the user's.

The Statistical API counts only pixels whose ``dataMask`` output is not 0 (``Statistical.qmd``). The presets set
``dataMask`` to 0 where the input has no data or the SCL class is one of the invalid classes (default: as the
raster compare, :data:`~s2parity_plugin.core.model.scl.DEFAULT_INVALID_CLASSES`). Values are reflectances (FLOAT32),
the Statistical API's default sample type. A custom evalscript must declare a ``dataMask`` output; that is checked
before any request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from s2parity_plugin.core.errors import PresetError
from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

PRESETS = ("NDVI", "B04", "B08", "CUSTOM")
VALUE_OUTPUT = "value"
VALUE_BAND = "B0"
_EXPRESSIONS = {
    "NDVI": (("B04", "B08"), "(s.B08 - s.B04) / (s.B08 + s.B04)"),
    "B04": (("B04",), "s.B04"),
    "B08": (("B08",), "s.B08"),
}
_DATAMASK_OUTPUT = re.compile(r"""\bid\s*:\s*["']dataMask["']""")
_OUTPUT_ID = re.compile(r"""\bid\s*:\s*["']([A-Za-z0-9_\-]+)["']""")

_TEMPLATE = """//VERSION=3
// S2 Parity statistics preset "{preset}" (reflectance, FLOAT32); dataMask = 0 for no data and SCL classes {classes}.
function setup() {{
  return {{
    input: [{{ bands: [{bands}, "SCL", "dataMask"], units: ["REFLECTANCE"{more_units}, "DN", "DN"] }}],
    output: [
      {{ id: "value", bands: 1, sampleType: "FLOAT32" }},
      {{ id: "dataMask", bands: 1, sampleType: "UINT8" }}
    ],
    mosaicking: "SIMPLE"
  }};
}}

var INVALID = [{classes}];

function evaluatePixel(s) {{
  var ok = s.dataMask === 1 && INVALID.indexOf(s.SCL) < 0;
  return {{ value: [ok ? {expr} : 0], dataMask: [ok ? 1 : 0] }};
}}
"""


def preset_evalscript(preset: str, invalid_classes: Iterable[int]) -> str:
    """The evalscript of a preset (``NDVI``, ``B04``, ``B08``) masking ``invalid_classes`` (SCL values 0–11)."""
    key = (preset or "").strip().upper()
    if key not in _EXPRESSIONS:
        raise PresetError(f"Unknown statistics preset {preset!r}: use NDVI, B04, B08 or CUSTOM with your evalscript.")
    classes = sorted({int(c) for c in invalid_classes})
    if any(c < 0 or c >= SCL_CLASS_COUNT for c in classes):
        raise PresetError(f"SCL classes are 0–11; {classes} contains others: fix INVALID_CLASSES.")
    bands, expr = _EXPRESSIONS[key]
    return _TEMPLATE.format(
        preset=key,
        bands=", ".join(f'"{b}"' for b in bands),
        more_units=', "REFLECTANCE"' * (len(bands) - 1),
        classes=", ".join(map(str, classes)),
        expr=expr,
    )


def check_custom(evalscript: str) -> str:
    """The user's evalscript, or :class:`PresetError` when it has no ``dataMask`` output (refused before sending)."""
    script = (evalscript or "").strip()
    if not script or "setup" not in script or "evaluatePixel" not in script:
        raise PresetError("The custom evalscript must define setup() and evaluatePixel() (start it with //VERSION=3).")
    if not _DATAMASK_OUTPUT.search(script):
        raise PresetError(
            "The custom evalscript has no 'dataMask' output, which the Statistical API needs to know which pixels "
            'count: add { id: "dataMask", bands: 1 } to setup().output and return dataMask: [samples.dataMask] '
            "(0 = excluded) from evaluatePixel()."
        )
    return script


def value_output(evalscript: str) -> str:
    """The output compared: ``value`` when the script has it, else its first output other than ``dataMask``."""
    ids = [i for i in _OUTPUT_ID.findall(evalscript or "") if i != "dataMask"]
    return VALUE_OUTPUT if VALUE_OUTPUT in ids or not ids else ids[0]


def input_band_count(preset: str) -> int:
    """Input bands a preset reads, for the PU estimate (dataMask is not counted; SCL is)."""
    key = (preset or "").strip().upper()
    return len(_EXPRESSIONS[key][0]) + 1 if key in _EXPRESSIONS else 3
