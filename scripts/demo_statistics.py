"""The statistics part of the offline demo: ``s2parity:comparestatistics`` on a grid of 20 one-kilometre cells over
the seed area (EPSG:3035, Campania), 2020-09-01..2020-10-31, NDVI per acquisition day (P1D), against the bundled
sample pair. Writes into ``<out>/statistics/``: the table (``statistics.gpkg`` + ``.csv``), the summary layer
(``statistics_summary.gpkg``), the report (``statistics_report.json``) and ``statistics_chart.png`` (the time
series of the cell with the largest mean |Δ|, drawn by the dock's chart code).
"""

from __future__ import annotations

import json
from pathlib import Path

CELL_M = 1000.0
COLS, ROWS = 5, 4  # 20 cells
DATE_FROM, DATE_TO = "2020-09-01", "2020-10-31"


def grid_layer():
    """A memory polygon layer of COLS × ROWS cells from the seed bbox's lower-left corner (EPSG:3035)."""
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorLayer

    from s2parity_plugin.adapters.compat import FIELD_STRING
    from s2parity_plugin.core.model.seed import SEED_BBOX_3035

    x0, y0 = SEED_BBOX_3035[0], SEED_BBOX_3035[1]
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035", "seed grid", "memory")
    layer.dataProvider().addAttributes([QgsField("cell_id", FIELD_STRING)])
    layer.updateFields()
    feats = []
    for r in range(ROWS):
        for c in range(COLS):
            x, y = x0 + c * CELL_M, y0 + r * CELL_M
            f = QgsFeature(layer.fields())
            ring = f"{x} {y},{x + CELL_M} {y},{x + CELL_M} {y + CELL_M},{x} {y + CELL_M},{x} {y}"
            f.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({ring}))"))
            f.setAttributes([f"r{r}c{c}"])
            feats.append(f)
    layer.dataProvider().addFeatures(feats)
    layer.updateExtents()
    return layer


def run_statistics_demo(out: Path) -> dict:
    """Run the algorithm and write the chart; returns the algorithm's results plus ``CHART``."""
    import processing

    from s2parity_plugin.gui.charts_timeseries import series_from_rows, timeseries_image
    from s2parity_plugin.gui.statistics_view import read_rows

    folder = out / "statistics"
    folder.mkdir(parents=True, exist_ok=True)
    layer = grid_layer()
    params = {
        "INPUT": layer,
        "FIELD_ID": "cell_id",
        "DATE_FROM": DATE_FROM,
        "DATE_TO": DATE_TO,
        "INTERVAL": "P1D",
        "PRESET": "NDVI",
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "RESOLUTION": 10.0,
        "TOLERANCE": 0.01,
        "OUTPUT_TABLE": str(folder / "statistics.gpkg"),
        "OUTPUT_LAYER": str(folder / "statistics_summary.gpkg"),
        "OUTPUT_REPORT": str(folder / "statistics_report.json"),
    }
    results = processing.run("s2parity:comparestatistics", params)
    report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    rows = read_rows(Path(results["OUTPUT_TABLE"]).with_suffix(".csv"))
    worst = max(
        (r for r in rows if r["delta_mean"]),
        key=lambda r: abs(float(r["delta_mean"])),
        default=rows[0] if rows else None,
    )
    chart = folder / "statistics_chart.png"
    if worst is not None:
        timeseries_image(series_from_rows(rows, worst["feature_id"], 0.01), 900, 420).save(str(chart))
    results["CHART"] = str(chart)
    print(f"statistics table:  {results['OUTPUT_TABLE']} (+ .csv), {report['totals']['rows']} rows")
    print(f"summary layer:     {results['OUTPUT_LAYER']}")
    print(f"statistics report: {results['OUTPUT_REPORT']}")
    print(f"chart:             {chart}")
    for line in report["diagnosis"]:
        print("Statistics: " + line)
    return results
