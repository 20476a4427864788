"""Preset evalscripts: the ``preset.js`` template with the ``evaluatePixel`` of ``orbit.js`` / ``simple.js``, filled by
:func:`build_evalscript`.

Presets (``quantity``):

* any Sentinel-2 L2A band ``B01``…``B09``, ``B8A``, ``B11``, ``B12`` (there is no ``B10`` in L2A), in
  ``REFLECTANCE`` (0–1, FLOAT32, no data = NaN) or ``DN`` (digital numbers, UINT16, no data = 0);
* ``NDVI`` = (B08 − B04) / (B08 + B04) from reflectances (FLOAT32, −1…1, no data = NaN);
* ``CUSTOM``: the user's evalscript, sent unchanged (see :func:`custom_outputs` for how its outputs are read).

Every preset returns the response ids ``value`` and ``scl`` (UINT8, 0 = no data) plus ``userdata`` (the scene
metadata written by ``updateOutputMetadata``). ``dataMask`` is not a separate output: it is folded into the
no-data value of ``value`` (NaN for FLOAT32, 0 for UINT16 DN — DN 0 is Sentinel-2's own no-data value) and SCL 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from s2parity_plugin.core.errors import PresetError
from s2parity_plugin.core.model.scl import DEFAULT_INVALID_CLASSES, SCL_NODATA

EVALSCRIPT_DIR = Path(__file__).resolve().parent
L2A_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
UNITS = ("REFLECTANCE", "DN")
MOSAICKING = ("ORBIT", "SIMPLE")
CUSTOM = "CUSTOM"
NDVI = "NDVI"


@dataclass(frozen=True)
class Outputs:
    """Which response identifiers a request asks for (``None`` = not produced by the evalscript)."""

    value: str = "value"
    scl: str | None = "scl"
    userdata: bool = True


def normalize_quantity(quantity: str) -> str:
    """Upper-case preset id; ``"b8a"`` → ``"B8A"``, ``"b4"`` → ``"B04"``; raises :class:`PresetError` if unknown."""
    q = (quantity or "").strip().upper()
    match = re.fullmatch(r"B(\d{1,2}|8A)", q)
    if match and match.group(1) != "8A":
        q = f"B{int(match.group(1)):02d}"
    if q == "B10":
        raise PresetError("Band B10 (cirrus) does not exist in Sentinel-2 L2A: choose another band or use L1C data.")
    if q in L2A_BANDS or q in (NDVI, CUSTOM):
        return q
    raise PresetError(
        f"Unknown preset {quantity!r}: use a band ({', '.join(L2A_BANDS)}), NDVI, or CUSTOM with your own evalscript."
    )


def default_units(quantity: str) -> str:
    """Units a preset uses when none is given: DN for bands (what the seed compares), REFLECTANCE for NDVI."""
    return "REFLECTANCE" if quantity == NDVI else "DN"


def build_evalscript(quantity: str, units: str | None = None, mosaicking: str = "ORBIT") -> tuple[str, str]:
    """Fill the template for a preset. Returns ``(evalscript, units)``; ``quantity`` must not be ``CUSTOM``."""
    q = normalize_quantity(quantity)
    if q == CUSTOM:
        raise PresetError("CUSTOM needs your own evalscript: paste it in the EVALSCRIPT parameter.")
    u = (units or default_units(q)).upper()
    if u not in UNITS:
        raise PresetError(f"Units must be REFLECTANCE or DN, not {units!r}.")
    if q == NDVI:
        if u != "REFLECTANCE":
            raise PresetError("NDVI is computed from reflectances: use units REFLECTANCE (or leave units empty).")
        bands, expr = ("B04", "B08"), "(s.B08 - s.B04) / (s.B08 + s.B04)"
    else:
        bands, expr = (q,), f"s.{q}"
    mosaic = (mosaicking or "ORBIT").upper()
    if mosaic not in MOSAICKING:
        raise PresetError(f"Mosaicking must be ORBIT or SIMPLE, not {mosaicking!r}.")
    sample_type, nodata, nodata_text = ("FLOAT32", "NaN", "NaN") if u == "REFLECTANCE" else ("UINT16", "0", "0")
    filled = (
        _template(mosaic)
        .replace("{{QUANTITY}}", q)
        .replace("{{MOSAICKING}}", mosaic)
        .replace("{{INVALID_SCL}}", ", ".join(str(c) for c in sorted({SCL_NODATA, *DEFAULT_INVALID_CLASSES})))
        .replace("{{UNITS}}", u)
        .replace("{{BANDS}}", ", ".join(f'"{b}"' for b in (*bands, "SCL", "dataMask")))
        .replace("{{SAMPLE_TYPE}}", sample_type)
        .replace("{{NODATA_TEXT}}", nodata_text)
        .replace("{{NODATA}}", nodata)
        .replace("{{VALUE_EXPR}}", expr)
    )
    assert "{{" not in filled, "unfilled placeholder in evalscript template"
    return filled, u


def _template(mosaic: str) -> str:
    """``preset.js`` (setup, value expression, userdata: shared by every preset) with the ``evaluatePixel`` of
    ``mosaic`` (``orbit.js`` / ``simple.js``) inserted: one self-contained evalscript once filled."""
    evaluate = (EVALSCRIPT_DIR / f"{mosaic.lower()}.js").read_text(encoding="utf-8").rstrip("\n")
    return (EVALSCRIPT_DIR / "preset.js").read_text(encoding="utf-8").replace("{{EVALUATE_PIXEL}}", evaluate)


_OUTPUT_ID = re.compile(r"""\bid\s*:\s*["']([A-Za-z0-9_\-]+)["']""")
_UNITS = re.compile(r"""\bunits\s*:\s*["']([A-Za-z]+)["']""")


def custom_outputs(evalscript: str) -> Outputs:
    """Response ids of a user evalscript: ``value`` (else ``default``, else the first output id) as the value
    raster, ``scl`` when an output has that id, ``userdata`` when it defines ``updateOutputMetadata``."""
    if not evalscript or "setup" not in evalscript or "evaluatePixel" not in evalscript:
        raise PresetError("The custom evalscript must define setup() and evaluatePixel() (start it with //VERSION=3).")
    ids = _OUTPUT_ID.findall(evalscript)
    if not ids:
        ids = ["default"]
    value = "value" if "value" in ids else "default" if "default" in ids else ids[0]
    return Outputs(value=value, scl="scl" if "scl" in ids else None, userdata="updateOutputMetadata" in evalscript)


def custom_units(evalscript: str) -> str:
    """``DN`` or ``REFLECTANCE`` as declared by the first ``units:`` of the script (default REFLECTANCE)."""
    match = _UNITS.search(evalscript or "")
    return "DN" if match and match.group(1).upper() == "DN" else "REFLECTANCE"
