"""What every script that runs inside the real QGIS desktop (``qgis --code``: tests/e2e/desktop_*.py) shares: the
findings dict, error capture, screenshots, opening the S2 Parity dock, a polygon grid layer, and quitting without
QGIS's "save the project?" question.

Those scripts import it as the top-level module ``desktop_session``: :func:`tests.e2e.desktop.run_desktop` puts this
folder on the QGIS child's PYTHONPATH (``qgis --code`` runs the script's text, so it has no ``__file__`` to find
its folder by). It imports only QGIS (no pytest: the child may lack the dev packages), and reads the environment
($S2PARITY_E2E_RESULT, $S2PARITY_E2E_SCREENSHOT_DIR) only when used, so QGIS tests can import its layer helpers.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from qgis.core import QgsApplication, QgsFeature, QgsField, QgsGeometry, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar, QWidget

from s2parity_plugin.adapters.compat import FIELD_STRING

WINDOW_SIZE = (1600, 1000)
POLL_MS = 250
#: What a script found; written as JSON to $S2PARITY_E2E_RESULT by :func:`finish`.
RESULT: dict = {}
_CLOCK = {"started": 0.0}  # time.monotonic() of the last watch_run


def finish() -> None:
    """Write :data:`RESULT`, drop the project unsaved and quit QGIS (on the next event-loop turn)."""
    from qgis.utils import iface

    with open(os.environ["S2PARITY_E2E_RESULT"], "w", encoding="utf-8") as fh:
        json.dump(RESULT, fh)
    iface.newProject(False)
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(0, iface.actionExit().trigger)


def guard(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` for a timer: an exception records its traceback as ``RESULT["error"]`` and ends the session."""

    def run() -> None:
        try:
            step()
        except Exception:
            RESULT["error"] = traceback.format_exc()
            finish()

    return run


def watch_run(key: str, started: bool, next_step: Callable[[], None], delay_ms: int = POLL_MS) -> None:
    """A run was just started: record whether it did (``RESULT[key]``), start the clock :func:`poll_again` and
    :func:`elapsed` read, and call ``next_step`` in ``delay_ms``."""
    RESULT[key] = started
    _CLOCK["started"] = time.monotonic()
    QTimer.singleShot(delay_ms, next_step)


def elapsed() -> float:
    """Seconds since the last :func:`watch_run` (two decimals)."""
    return round(time.monotonic() - _CLOCK["started"], 2)


def poll_again(owner: QWidget, limit_s: float, poll: Callable[[], None]) -> bool:
    """While ``owner``'s run (``owner.run``, a dock or a view) is still going and ``limit_s`` seconds since
    :func:`watch_run` have not passed: call ``poll`` again in :data:`POLL_MS` and return True."""
    if owner.run is not None and time.monotonic() - _CLOCK["started"] < limit_s:
        QTimer.singleShot(POLL_MS, poll)
        return True
    return False


def save(widget: QWidget, name: str) -> bool:
    """Screenshot ``widget`` (after pending paints) into $S2PARITY_E2E_SCREENSHOT_DIR/``name``; True if saved."""
    QgsApplication.processEvents()
    return widget.grab().save(str(Path(os.environ["S2PARITY_E2E_SCREENSHOT_DIR"]) / name))


def open_dock(layer: QgsVectorLayer) -> QDockWidget:
    """Size the main window, add ``layer`` as the active layer and open the S2 Parity dock by its toolbar button."""
    from qgis.utils import iface

    window = iface.mainWindow()
    window.resize(*WINDOW_SIZE)
    QgsProject.instance().addMapLayer(layer)
    iface.setActiveLayer(layer)
    button = next(
        a for tb in window.findChildren(QToolBar) for a in tb.actions() if a.objectName() == "s2parity_toggle_dock"
    )
    button.trigger()
    return window.findChild(QDockWidget, "S2ParityDock")


def grid_layer(x0: float, y0: float, cell: float, n: int = 4) -> QgsVectorLayer:
    """A memory layer (EPSG:3035) of ``n`` square cells of ``cell`` m, two per row from (``x0``, ``y0``), with a
    unique text field ``cell_id`` = ``cell0`` … (not added to the project)."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035", "cells", "memory")
    layer.dataProvider().addAttributes([QgsField("cell_id", FIELD_STRING)])
    layer.updateFields()
    feats = []
    for i in range(n):
        x, y = x0 + (i % 2) * cell, y0 + (i // 2) * cell
        f = QgsFeature(layer.fields())
        f.setGeometry(
            QgsGeometry.fromWkt(f"POLYGON(({x} {y},{x + cell} {y},{x + cell} {y + cell},{x} {y + cell},{x} {y}))")
        )
        f.setAttributes([f"cell{i}"])
        feats.append(f)
    layer.dataProvider().addFeatures(feats)
    layer.updateExtents()
    return layer
