"""``s2parity:fetchpair`` inside QGIS (pytest-qgis, headless) against the local sample endpoint pair."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from processing_feedback import RecordingFeedback
from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsSettings,
)
from sample_pair_support import AOI_WKT, memory_layer, seed_parameters

from s2parity_plugin.core.fetch import run_folder
from s2parity_plugin.sample_endpoints.profiles import ensure_sample_endpoints

AOI2_WKT = "POLYGON((14.220 40.800, 14.224 40.800, 14.224 40.803, 14.220 40.803, 14.220 40.800))"
MASTER_PASSWORD = "s2parity-test-master"


def _run_failing(params: dict) -> str:
    """Run the algorithm expecting failure; return every error message it reported or raised."""
    import processing

    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as info:
        processing.run("s2parity:fetchpair", params, feedback=feedback)
    return "\n".join([*feedback.errors, str(info.value)])


def _params(layer, tmp_path, **extra) -> dict:
    return seed_parameters(layer, tmp_path, **{"RESOLUTION": 10, **extra})


def test_algorithm_registered(provider):
    alg = QgsApplication.processingRegistry().algorithmById("s2parity:fetchpair")
    assert alg is not None
    names = {p.name() for p in alg.parameterDefinitions()}
    for name in ("AOI", "SELECTED_ONLY", "DATE_FROM", "DATE_TO", "PRESET", "EVALSCRIPT", "ENDPOINT_A", "ENDPOINT_B",
                 "AUTH_A", "AUTH_B", "RESOLUTION", "CRS", "MOSAICKING", "HARMONIZE", "OUTPUT_FOLDER"):  # fmt: skip
        assert name in names
    assert not (int(alg.flags()) & int(alg.FlagNoThreading))


def test_fetch_pair_memory_layer(provider, tmp_path):
    import processing

    layer = memory_layer("Polygon", [AOI_WKT, AOI2_WKT])
    result = processing.run("s2parity:fetchpair", _params(layer, tmp_path, CRS="EPSG:32633"))
    run = result["RUN_FOLDER"]
    manifest = run_folder.load_manifest(run)
    assert set(manifest["files"]) == set(run_folder.FILE_KEYS)
    assert manifest["grid"]["crs"] == "EPSG:32633"
    assert manifest["sides"]["a"]["endpoint_id"] == "sample-sh"
    assert manifest["sides"]["b"]["endpoint_id"] == "sample-cdse"
    assert manifest["request"]["input"]["bounds"]["geometry"]["type"] == "MultiPolygon"
    for key in run_folder.FILE_KEYS:
        assert run_folder.file_path(run, manifest, key) is not None


def test_selected_only(provider, tmp_path):
    import processing

    layer = memory_layer("Polygon", [AOI_WKT, AOI2_WKT])
    assert "No feature of 'aoi' is selected" in _run_failing(_params(layer, tmp_path, SELECTED_ONLY=True))
    layer.selectByIds([layer.allFeatureIds()[1]])
    run = processing.run("s2parity:fetchpair", _params(layer, tmp_path, SELECTED_ONLY=True))["RUN_FOLDER"]
    assert run_folder.load_manifest(run)["request"]["input"]["bounds"]["geometry"]["type"] == "Polygon"


def test_not_a_polygon_layer(provider, tmp_path):
    points = memory_layer("Point", ["POINT(14.2 40.8)"], name="pts")
    assert "'pts' is a point layer, not a polygon layer" in _run_failing(_params(points, tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_reversed_dates_message(provider, tmp_path):
    layer = memory_layer("Polygon", [AOI_WKT])
    assert "reversed" in _run_failing(_params(layer, tmp_path, DATE_FROM="2020-10-05", DATE_TO="2020-10-04"))


def _auth_config(client_id: str, secret: str) -> str:
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER_PASSWORD, True)
    config = QgsAuthMethodConfig("Basic")
    config.setName(f"s2parity test {client_id}")
    config.setConfig("username", client_id)
    config.setConfig("password", secret)
    assert manager.storeAuthenticationConfig(config)
    return config.id()


def test_credentials_from_auth_manager(provider, tmp_path, caplog):
    import processing

    caplog.set_level(logging.DEBUG)
    info = ensure_sample_endpoints()
    good = _auth_config(info["cdse"]["client_id"], info["cdse"]["client_secret"])
    bad = _auth_config(info["cdse"]["client_id"], "not-the-secret-4711")
    layer = memory_layer("Polygon", [AOI_WKT])
    run = processing.run("s2parity:fetchpair", _params(layer, tmp_path, AUTH_B=good))["RUN_FOLDER"]
    assert run_folder.load_manifest(run)
    assert "rejected client id" in _run_failing(_params(layer, tmp_path, AUTH_B=bad))
    assert "neither a QGIS authentication configuration" in _run_failing(_params(layer, tmp_path, AUTH_B="nosuch1"))
    # the secrets never reach settings, the run folder or the log
    secrets = [info["cdse"]["client_secret"], "not-the-secret-4711"]
    settings = QgsSettings()
    for key in settings.allKeys():
        for secret in secrets:
            assert secret not in str(settings.value(key))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            for secret in secrets:
                assert secret.encode() not in path.read_bytes()
    for secret in secrets:
        assert secret not in caplog.text


def test_runs_in_a_background_task(provider, tmp_path):
    """The algorithm as the dock will run it: QgsProcessingAlgRunnerTask (processAlgorithm off the main thread)."""
    layer = memory_layer("Polygon", [AOI_WKT])
    alg = QgsApplication.processingRegistry().createAlgorithmById("s2parity:fetchpair")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    outcome: dict = {}
    task = QgsProcessingAlgRunnerTask(alg, _params(layer, tmp_path), context, feedback)
    task.executed.connect(lambda ok, results: outcome.update(ok=ok, results=results))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 60
    while "ok" not in outcome and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert outcome.get("ok") is True
    assert run_folder.load_manifest(outcome["results"]["RUN_FOLDER"])


def test_oauth2_auth_config_is_accepted(qgis_app):
    import json

    from s2parity_plugin.adapters.auth import credentials_from_auth_config

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER_PASSWORD, True)
    config = QgsAuthMethodConfig("OAuth2")
    config.setName("s2parity oauth2 test")
    config.setConfig("oauth2config", json.dumps({"clientId": "cid-oauth", "clientSecret": "sec-oauth", "grantFlow": 2}))
    if not manager.storeAuthenticationConfig(config):
        pytest.skip("the OAuth2 auth method is not available in this QGIS build")
    creds = credentials_from_auth_config(config.id())
    assert (creds.client_id, creds.client_secret) == ("cid-oauth", "sec-oauth")


def test_qgis_proxy_settings(qgis_app):
    from s2parity_plugin.adapters.auth import qgis_proxies

    settings = QgsSettings()
    try:
        settings.setValue("proxy/proxyEnabled", False)
        assert qgis_proxies(settings) is None
        settings.setValue("proxy/proxyEnabled", True)
        settings.setValue("proxy/proxyType", "HttpProxy")
        settings.setValue("proxy/proxyHost", "proxy.example")
        settings.setValue("proxy/proxyPort", "3128")
        settings.setValue("proxy/proxyUser", "u@x")
        settings.setValue("proxy/proxyPassword", "p:w")
        url = "http://u%40x:p%3Aw@proxy.example:3128"
        assert qgis_proxies(settings) == {"http": url, "https": url}
        settings.setValue("proxy/proxyType", "DefaultProxy")
        assert qgis_proxies(settings) is None
    finally:
        settings.remove("proxy")


def test_empty_polygon_layer(provider, tmp_path):
    empty = memory_layer("Polygon", [], name="nothing")
    assert "'nothing' has no polygon" in _run_failing(_params(empty, tmp_path))


def test_units_and_custom_evalscript(provider, tmp_path):
    import processing

    seed_js = (Path(__file__).resolve().parent.parent / "data" / "seed_evalscript_b04_scl_orbit.js").read_text()
    layer = memory_layer("Polygon", [AOI_WKT])
    run = processing.run("s2parity:fetchpair", _params(layer, tmp_path, UNITS="REFLECTANCE"))["RUN_FOLDER"]
    assert run_folder.load_manifest(run)["sides"]["a"]["units"] == "REFLECTANCE"
    params = _params(layer, tmp_path, PRESET="CUSTOM", EVALSCRIPT=seed_js)
    manifest = run_folder.load_manifest(processing.run("s2parity:fetchpair", params)["RUN_FOLDER"])
    assert manifest["request"]["evalscript"] == seed_js and manifest["sides"]["b"]["units"] == "DN"
