"""``processing/python_thread.py``: algorithm bodies run in a Python-created thread when called from a thread
Python did not start (QGIS's task pool), directly otherwise."""

from __future__ import annotations

import _thread
import threading

import pytest

from s2parity_plugin.processing.python_thread import (
    THREAD_NAME,
    in_python_thread,
    is_foreign_thread,
    run_in_python_thread,
)


class Algorithm:
    """Stands in for a QgsProcessingAlgorithm subclass."""

    @in_python_thread
    def processAlgorithm(self, parameters: dict, context, feedback) -> dict:
        if parameters.get("fail"):
            raise ValueError("bad parameter FAIL: give a smaller value")
        return {"thread": threading.current_thread().name, "foreign": is_foreign_thread(), "self": self}


def in_foreign_thread(function):
    """Call ``function`` in a raw OS thread started with ``_thread`` (as Qt starts pool threads: ``threading``
    knows nothing of it), wait for it and return what it returned or raised."""
    done = threading.Event()
    outcome: dict = {}

    def body() -> None:
        try:
            outcome["foreign"] = is_foreign_thread()
            outcome["result"] = function()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    _thread.start_new_thread(body, ())
    assert done.wait(30)
    return outcome


def test_main_thread_is_not_foreign_and_runs_directly():
    alg = Algorithm()
    result = alg.processAlgorithm({}, None, None)
    assert result == {"thread": "MainThread", "foreign": False, "self": alg}


def test_python_thread_runs_directly():
    results: list = []
    worker = threading.Thread(target=lambda: results.append(Algorithm().processAlgorithm({}, None, None)), name="w")
    worker.start()
    worker.join()
    assert results[0]["thread"] == "w"


def test_foreign_thread_runs_the_body_in_a_python_thread():
    alg = Algorithm()
    outcome = in_foreign_thread(lambda: alg.processAlgorithm({}, None, None))
    assert outcome["foreign"] is True
    assert outcome["result"] == {"thread": THREAD_NAME, "foreign": False, "self": alg}


def test_foreign_thread_gets_the_exception_with_its_message():
    outcome = in_foreign_thread(lambda: Algorithm().processAlgorithm({"fail": True}, None, None))
    assert isinstance(outcome["error"], ValueError)
    assert str(outcome["error"]) == "bad parameter FAIL: give a smaller value"


def test_the_helper_thread_is_joined_before_returning():
    seen: list[threading.Thread] = []

    def add(x: int, y: int = 0) -> int:
        seen.append(threading.current_thread())
        return x + y

    assert run_in_python_thread(add, 2, y=3) == 5
    assert seen[0].name == THREAD_NAME
    assert not seen[0].is_alive()


def test_run_in_python_thread_reraises():
    with pytest.raises(KeyError, match="RUN_FOLDER"):
        run_in_python_thread(lambda: {}["RUN_FOLDER"])
