"""Checks of a custom evalscript before any request is sent (QGIS-free, static: the script is not run).

S2 Parity compares one band per side: the ``value`` output (see :func:`~.evalscripts.custom_outputs`). A script
whose value output declares several bands would otherwise be compared on its first band only, silently; it is
refused here with a message saying what to change. Scripts that compute ``bands`` at run time cannot be checked
statically: an answer with several bands is refused when it arrives (:func:`check_band_count`).
"""

from __future__ import annotations

import re

from s2parity_plugin.core.errors import PresetError

_OBJECT = re.compile(r"\{[^{}]*\}")  # innermost object literals, e.g. {id: "value", bands: 3, sampleType: ...}
_BANDS = re.compile(r"\bbands\s*:\s*(\d+)")
_ID = re.compile(r"""\bid\s*:\s*["']([A-Za-z0-9_\-]+)["']""")


def declared_bands(evalscript: str, output_id: str) -> int | None:
    """The ``bands`` count the script's ``setup()`` declares for output ``output_id`` (an output without ``id`` is
    ``default``), or None when no literal count is found."""
    for literal in _OBJECT.findall(evalscript or ""):
        count = _BANDS.search(literal)
        if count is None:
            continue  # input objects list band names (bands: ["B04", ...]), not a count
        ids = _ID.findall(literal)
        if (ids[0] if ids else "default") == output_id:
            return int(count.group(1))
    return None


def _refusal(output_id: str, bands: int) -> PresetError:
    return PresetError(
        f"The custom evalscript's '{output_id}' output has {bands} bands, but S2 Parity compares one band per "
        f"endpoint: make '{output_id}' a 1-band output (e.g. return [index] from evaluatePixel with bands: 1), or "
        "run one comparison per band."
    )


def check_single_band(evalscript: str, output_id: str) -> None:
    """Raise :class:`PresetError` when output ``output_id`` declares more than one band."""
    bands = declared_bands(evalscript, output_id)
    if bands is not None and bands > 1:
        raise _refusal(output_id, bands)


def check_band_count(output_id: str, bands: int) -> None:
    """Raise :class:`PresetError` when an answer's value raster has more than one band."""
    if bands > 1:
        raise _refusal(output_id, bands)
