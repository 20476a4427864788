"""The offline demo: the whole S2 Parity workflow on the seed case against the bundled sample endpoints.

Headless: runs the Processing algorithm ``s2parity:compareendpoints`` (the dock's code path) on the seed AOI
(EPSG:3035 bbox in Campania, 2020-10-04, B04 + SCL, 10 m), writes the rasters, the report and a PNG map of the
difference and SCL-mismatch layers rendered by QGIS into the output folder, and prints the diagnosis. Then the
archive parity timeline of the same AOI for 2019-01-01..2024-12-31 (``s2parity:comparecatalogs``): the table
(``archive_timeline.csv``), the report (``archive_timeline.json``), the chart (``s2parity_archive_timeline.png``)
and its diagnosis, which names the periods.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # demo_statistics beside it, also under runpy


def render_map_png(layers: dict, out_png: Path, width: int = 700, height: int = 620) -> Path:
    """Render the difference and mismatch layers side by side (QGIS map renderer) with titles into a PNG."""
    from qgis.core import QgsMapRendererCustomPainterJob, QgsMapSettings
    from qgis.PyQt.QtCore import QRectF, QSize, Qt
    from qgis.PyQt.QtGui import QColor, QFont, QImage, QPainter

    panels = [("Difference B − A", layers["difference"]), ("SCL mismatch", layers.get("mismatch"))]
    panels = [(title, layer) for title, layer in panels if layer is not None]
    image = QImage(QSize(width * len(panels), height + 30), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    font = QFont()
    font.setPointSize(12)
    painter.setFont(font)
    for i, (title, layer) in enumerate(panels):
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        settings.setExtent(layer.extent())
        settings.setOutputSize(QSize(width, height))
        settings.setBackgroundColor(QColor("white"))
        painter.save()
        painter.translate(i * width, 30)
        job = QgsMapRendererCustomPainterJob(settings, painter)
        job.renderSynchronously()
        painter.restore()
        painter.drawText(QRectF(i * width, 0, width, 30), Qt.AlignmentFlag.AlignCenter, title)
    painter.end()
    image.save(str(out_png))
    return out_png


TIMELINE_FROM, TIMELINE_TO = "2019-01-01", "2024-12-31"


def run_timeline(aoi, out: Path) -> None:
    """The seed area's archive parity timeline: table, report and chart PNG into ``out``; prints the diagnosis."""
    import processing

    from s2parity_plugin.core.archive.report import read_report
    from s2parity_plugin.gui.charts_timeline import timeline_image

    params = {
        "AOI": aoi,
        "DATE_FROM": TIMELINE_FROM,
        "DATE_TO": TIMELINE_TO,
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "MAX_CLOUD_COVERAGE": 100,
        "OUTPUT_TABLE": str(out / "archive_timeline.csv"),
        "OUTPUT_REPORT": str(out / "archive_timeline.json"),
    }
    t0 = time.perf_counter()
    results = processing.run("s2parity:comparecatalogs", params)
    seconds = time.perf_counter() - t0
    report = read_report(results["OUTPUT_REPORT"])
    png = out / "s2parity_archive_timeline.png"
    timeline_image(report, 1200).save(str(png))
    print()
    print(f"timeline {TIMELINE_FROM}..{TIMELINE_TO} ({seconds:.1f} s, no processing units):")
    print(f"table:       {results['OUTPUT_TABLE']}")
    print(f"report:      {results['OUTPUT_REPORT']}")
    print(f"chart:       {png}")
    print()
    for line in [*report["statements"], *report["diagnosis"].splitlines()]:
        print("Timeline: " + line)


def run_demo(out: Path) -> int:
    """The demo proper (QGIS initialised). Every QGIS object it makes is released when it returns, before
    ``exitQgis()`` — a layer outliving the application crashes at exit."""
    import processing
    from qgis.core import QgsVectorLayer

    import s2parity_plugin
    from s2parity_plugin.adapters.layers import build_layers, comparison_files
    from s2parity_plugin.core.model.seed import SEED_DATE, SEED_PRESET, SEED_RESOLUTION_M, write_seed_aoi_geojson

    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        aoi_path = write_seed_aoi_geojson(out / "seed_aoi.geojson")
        aoi = QgsVectorLayer(str(aoi_path), "seed AOI", "ogr")
        if not aoi.isValid():
            print(f"demo: cannot read {aoi_path}", file=sys.stderr)
            return 1
        params = {
            "AOI": aoi,
            "DATE_FROM": SEED_DATE,
            "DATE_TO": SEED_DATE,
            "PRESET": SEED_PRESET,
            "UNITS": "DN",
            "RESOLUTION": SEED_RESOLUTION_M,
            "CRS": "EPSG:3035",
            "MOSAICKING": "ORBIT",
            "HARMONIZE": True,
            "ENDPOINT_A": "sample-sh",
            "ENDPOINT_B": "sample-cdse",
            "SHIFT_CORRECT": True,
            "OUTPUT_FOLDER": str(out / "runs"),
        }
        results = processing.run("s2parity:compareendpoints", params)
        png = render_map_png(build_layers(comparison_files(results)), out / "s2parity_demo_map.png")
        report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
        print(f"run folder:  {results['RUN_FOLDER']}")
        print(f"difference:  {results['OUTPUT_DIFFERENCE']}")
        print(f"mismatch:    {results['OUTPUT_MISMATCH']}")
        print(f"report:      {results['OUTPUT_REPORT']}")
        print(f"map:         {png}")
        print()
        print("Diagnosis: " + report["diagnosis"]["explanation"])
        run_timeline(aoi, out)
        print()
        from demo_statistics import run_statistics_demo

        run_statistics_demo(out)
        return 0
    finally:
        plugin.unload()  # also stops the in-process sample endpoints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "demo-output", help="output folder (replaced)")
    args = parser.parse_args()

    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    try:
        sys.path.append(str(Path(QgsApplication.pkgDataPath()) / "python" / "plugins"))
        from processing.core.Processing import Processing

        Processing.initialize()
        return run_demo(args.out.resolve())
    finally:
        app.exitQgis()


if __name__ == "__main__":
    sys.exit(main())
