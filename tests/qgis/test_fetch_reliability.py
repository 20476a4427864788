"""Reliability through Processing: read timeout and retry deadline parameters, each failure reported once."""

from __future__ import annotations

import pytest
from processing_feedback import RecordingFeedback
from qgis.core import QgsApplication, QgsProcessingException
from sample_pair_support import AOI_WKT, memory_layer, seed_parameters

import s2parity_plugin
from s2parity_plugin.sample_endpoints.profiles import sample_endpoints


@pytest.fixture
def plugin(qgis_processing):
    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    yield plugin
    plugin.unload()
    sample_endpoints().clear_faults()


def _params(tmp_path, **extra) -> dict:
    return seed_parameters(memory_layer("Polygon", [AOI_WKT]), tmp_path / "runs", **extra)


@pytest.mark.parametrize("algorithm", ["s2parity:fetchpair", "s2parity:compareendpoints"])
def test_timeout_and_retry_deadline_are_parameters(plugin, algorithm):
    alg = QgsApplication.processingRegistry().algorithmById(algorithm)
    timeout, deadline = alg.parameterDefinition("TIMEOUT"), alg.parameterDefinition("RETRY_DEADLINE")
    assert timeout.defaultValue() == 60.0 and not timeout.flags() & timeout.FlagOptional
    assert deadline.defaultValue() is None and deadline.flags() & deadline.FlagOptional


def test_read_timeout_parameter_reaches_the_requests(plugin, tmp_path):
    import processing

    sample_endpoints().set_faults("cdse", latency_s=2.5)
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as info:
        processing.run("s2parity:fetchpair", _params(tmp_path, TIMEOUT=1, RETRY_DEADLINE=1), feedback=feedback)
    message = "\n".join([*feedback.errors, str(info.value)])
    assert "sent no answer within 1 s" in message and "Cannot reach" not in message


def test_compareendpoints_reports_a_fetch_failure_once(plugin, tmp_path):
    """The child fetch's error reaches the user once, as the parent's error, without Processing's generic
    "There were errors executing the algorithm."."""
    import processing

    sample_endpoints().set_faults("cdse", error_rate=1.0)
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as info:
        processing.run("s2parity:compareendpoints", _params(tmp_path, RETRY_DEADLINE=1), feedback=feedback)
    shown = [*feedback.errors, str(info.value)]
    failures = [m for m in shown if "sample-cdse" in m and "HTTP 50" in m]
    assert len(failures) == 1, shown
    assert not any("There were errors executing the algorithm" in m for m in shown), shown


def test_full_disk_during_the_compare_step_is_a_clear_message_without_debris(plugin, tmp_path, monkeypatch):
    import processing

    from s2parity_plugin.core.compare import writing

    def disk_full(*args, **kwargs):
        raise RuntimeError("TIFFAppendToStrip:Write error at scanline 0: No space left on device")

    monkeypatch.setattr(writing, "create_raster", disk_full)
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as info:
        processing.run("s2parity:compareendpoints", _params(tmp_path, RUN_NAME="full"), feedback=feedback)
    assert "is full: the comparison could not be written" in str(info.value)
    assert "Traceback" not in "\n".join([*feedback.errors, str(info.value)])
    run = tmp_path / "runs" / "full"
    assert (run / "run.json").is_file() and not (run / "compare").exists()
