"""SCL pixels outside the scene classes 0–11: counted and reported, never dropped silently (QGIS-free).

The compare engine treats an SCL value outside 0–11 as no data (it is no scene class). This module counts those
pixels per side (GDAL's histogram, one pass in C over the band) and adds the counts to the report — under
``scl.out_of_range`` — and a sentence to the diagnosis, so a user learns that part of a mask was not a mask.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from osgeo import gdal

from s2parity_plugin.core.gdal_scope import gdal_exceptions
from s2parity_plugin.core.model.scl import SCL_CLASS_COUNT

SCL_CLASSES = range(SCL_CLASS_COUNT)  # 0..11


@gdal_exceptions()
def out_of_range(path: str | Path) -> dict[str, Any]:
    """``{"pixels": n, "values": {"12": n12, "255": n255, …}}``: pixels of band 1 with a value outside 0–11 that is
    not the band's no-data value (integer bands; other values are counted by their rounded value)."""
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    histogram = band.GetHistogram(-0.5, 65535.5, 65536, include_out_of_range=1, approx_ok=0)
    ds = None
    values: dict[str, int] = {}
    for value, count in enumerate(histogram):
        skip = value in SCL_CLASSES or (nodata is not None and not math.isnan(nodata) and value == int(nodata))
        if count and not skip:
            values[str(value)] = int(count)
    return {"pixels": sum(values.values()), "values": values}


def annotate(report: dict[str, Any], scl_a: str | Path | None, scl_b: str | Path | None) -> str | None:
    """Add ``scl.out_of_range`` (per side) to ``report`` and, when any pixel is out of range, a sentence to the
    diagnosis (returned too)."""
    if scl_a is None or scl_b is None or not isinstance(report.get("scl"), dict):
        return None
    counts = {"a": out_of_range(scl_a), "b": out_of_range(scl_b)}
    report["scl"]["out_of_range"] = counts
    parts = [
        f"SCL {side.upper()} has {c['pixels']} pixels with values outside the classes 0–11 "
        f"({', '.join(sorted(c['values'], key=int))})"
        for side, c in counts.items()
        if c["pixels"]
    ]
    if not parts:
        return None
    sentence = "; ".join(parts) + ": they are no scene class and were treated as no data."
    diagnosis = report.setdefault("diagnosis", {})
    diagnosis["explanation"] = f"{diagnosis.get('explanation', '')} {sentence}".strip()
    for side, c in counts.items():
        if c["pixels"]:
            diagnosis.setdefault("claims", []).append(
                {
                    "claim": f"SCL {side.upper()} pixels outside the classes 0–11",
                    "evidence_key": f"scl.out_of_range.{side}.pixels",
                    "value": c["pixels"],
                }
            )
    return sentence
