"""Sentinel-2 L2A Scene Classification (SCL) classes and the SCL-mismatch categories, QGIS-free.

One source for names and colours, used by the compare engine (GeoTIFF colour tables and category names), the
QGIS layer styles and the reports.
"""

from __future__ import annotations

#: SCL value of a pixel without data (also the no-data value of every SCL raster the plugin writes).
SCL_NODATA = 0

#: SCL value -> (class name, colour #rrggbb): the standard Sen2Cor palette.
SCL_CLASSES: dict[int, tuple[str, str]] = {
    0: ("No data", "#000000"),
    1: ("Saturated/Defective", "#ff0000"),
    2: ("Dark area", "#2f2f2f"),
    3: ("Cloud shadow", "#643200"),
    4: ("Vegetation", "#00a000"),
    5: ("Not vegetated", "#ffe65a"),
    6: ("Water", "#0000ff"),
    7: ("Unclassified", "#808080"),
    8: ("Cloud medium", "#c0c0c0"),
    9: ("Cloud high", "#ffffff"),
    10: ("Thin cirrus", "#64c8ff"),
    11: ("Snow/ice", "#ff96ff"),
}

#: Number of SCL classes (values 0 … 11); a value outside is no scene class.
SCL_CLASS_COUNT = len(SCL_CLASSES)

#: SCL classes treated as invalid by default (the seed request's set).
DEFAULT_INVALID_CLASSES: frozenset[int] = frozenset({1, 2, 3, 7, 8, 9, 10, 11})

#: SCL-mismatch value -> (category name, colour). 0 is nodata (either side's SCL is 0 / nodata).
MISMATCH_NODATA = 0
MISMATCH_CLASSES: dict[int, tuple[str, str]] = {
    1: ("Valid in both", "#e0e0e0"),
    2: ("Invalid in both", "#636363"),
    3: ("Valid only in A", "#2b83ba"),
    4: ("Valid only in B", "#d7191c"),
}


def scl_name(value: int) -> str:
    """Class name of an SCL value, or ``"Unknown (<value>)"``."""
    return SCL_CLASSES.get(int(value), (f"Unknown ({int(value)})", ""))[0]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> (r, g, b) in 0–255."""
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)
