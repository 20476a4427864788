"""metadata.txt says which QGIS versions load the plugin (QGIS's plugin manager reads these keys)."""

from __future__ import annotations

import configparser
from pathlib import Path

METADATA = Path(__file__).resolve().parents[2] / "metadata.txt"


def test_loads_from_qgis_3_22_to_qgis_4_on_qt6():
    parser = configparser.ConfigParser()
    parser.read(METADATA, encoding="utf-8")
    general = parser["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"] == "4.99"
    # QGIS 4 (Qt6) refuses plugins without this flag.
    assert general["supportsQt6"] == "True"
