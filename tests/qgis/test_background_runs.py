"""Several comparisons in background tasks in one QGIS process, as an analyst runs them from the dock.

On QGIS 3.40 with pyproj 3.7.x (Debian 13) the second ``QgsProcessingAlgRunnerTask`` on a reused pool thread
crashed QGIS (signal 11) until the algorithms ran their body in a Python-created thread
(``processing/python_thread.py``); a crash here takes the whole pytest process down, so `make test-matrix` and
CI's Debian 13 run see it as a failure.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)

import s2parity_plugin
from s2parity_plugin.core.model.seed import SEED_DATE, write_seed_aoi_geojson
from s2parity_plugin.processing.python_thread import in_python_thread

TIMEOUT_S = 600.0  # a hang (not speed) guard; the machine is shared and slow under load
RESOLUTION_M = 20.0
SEED_WIDTH_AT_20_M = 253  # the seed AOI is 506 px wide at 10 m


@pytest.fixture(scope="module")
def plugin(qgis_processing):
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    yield plugin
    plugin.unload()


def start(tmp_path: Path, index: int) -> dict:
    """Start ``compareendpoints`` on the seed case against the sample pair in a task; return its outcome dict,
    filled when the task finishes."""
    alg = QgsApplication.processingRegistry().createAlgorithmById("s2parity:compareendpoints")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    params = {
        "AOI": str(write_seed_aoi_geojson(tmp_path / f"seed_aoi_{index}.geojson")),
        "DATE_FROM": SEED_DATE,
        "DATE_TO": SEED_DATE,
        "PRESET": "B04",
        "UNITS": "DN",
        "ENDPOINT_A": "sample-sh",
        "ENDPOINT_B": "sample-cdse",
        "RESOLUTION": RESOLUTION_M,
        "CRS": "EPSG:3035",
        "OUTPUT_FOLDER": str(tmp_path / f"runs_{index}"),
    }
    task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
    outcome: dict = {"objects": (alg, context, feedback, task)}  # kept alive until the task is done
    task.executed.connect(lambda ok, results: outcome.update(ok=ok, results=results))
    QgsApplication.taskManager().addTask(task)
    return outcome


def wait(outcomes: list[dict]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not all("ok" in o for o in outcomes):
        if time.monotonic() > deadline:
            pytest.fail(f"{sum('ok' not in o for o in outcomes)} background comparison(s) did not finish")
        QgsApplication.processEvents()
        time.sleep(0.02)


def assert_compared(outcome: dict) -> None:
    assert outcome["ok"] is True
    report = json.loads(Path(outcome["results"]["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
    assert report["grid"]["width"] == SEED_WIDTH_AT_20_M
    assert "02.14" in report["diagnosis"]["explanation"]


def test_every_algorithm_runs_its_body_in_a_python_thread(plugin):
    provider = QgsApplication.processingRegistry().providerById("s2parity")
    algorithms = provider.algorithms()
    assert len(algorithms) >= 4
    for alg in algorithms:
        method = type(alg).processAlgorithm
        assert getattr(method, "__wrapped__", None) is not None, alg.id()
        assert method.__code__ is in_python_thread(lambda: None).__code__, alg.id()


def test_two_then_five_background_comparisons(plugin, tmp_path):
    for index in range(2):  # one after the other: the second reuses the first one's pool thread
        outcome = start(tmp_path, index)
        wait([outcome])
        assert_compared(outcome)
    outcomes = [start(tmp_path, index) for index in range(2, 7)]  # five queued at once
    wait(outcomes)
    for outcome in outcomes:
        assert_compared(outcome)
