"""Run an algorithm's body in a thread Python created, never directly in a QGIS task-pool thread.

``QgsProcessingAlgRunnerTask`` runs ``processAlgorithm`` in a ``QThreadPool`` thread that Python did not create.
PyQt gives such a thread a temporary Python thread state and discards it after the task; the next task on the same
pool thread gets a new one. pyproj 3.7.x (Debian 13's QGIS 3.40) keeps its per-thread PROJ context in C
thread-local storage but frees it with the discarded Python state, so the next task on that pool thread uses
freed memory and QGIS crashes (signal 11) on the second comparison of a session. A ``threading.Thread`` has one
Python thread state for its whole life and a fresh OS thread, so that cannot happen there.

:func:`in_python_thread` wraps ``processAlgorithm``: called from a foreign thread (a task-pool thread), it runs the
body in a new ``threading.Thread`` and joins it, returning its result or re-raising its exception in the caller.
Called from the main thread or from a Python-created thread (``processing.run`` in a script, a child algorithm of
``compareendpoints``) it runs the body directly. The same ``feedback`` object is passed through, so progress and
cancel work as before (``QgsFeedback`` is made for use from worker threads); the helper thread never outlives
the call. This module imports no QGIS so that it is tested with plain pytest.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")

THREAD_NAME = "s2parity-algorithm"


def is_foreign_thread() -> bool:
    """True in a thread Python did not start (a Qt/QGIS pool thread), where ``threading`` only has a dummy."""
    return isinstance(threading.current_thread(), threading._DummyThread)


def run_in_python_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in a new ``threading.Thread``, joined before returning; its exception, if
    any, is re-raised here with its original traceback."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the calling thread below
            outcome["error"] = exc

    worker = threading.Thread(target=body, name=THREAD_NAME, daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def in_python_thread(method: Callable[..., T]) -> Callable[..., T]:
    """Decorator for ``processAlgorithm``: run it via :func:`run_in_python_thread` when called from a foreign
    thread, directly otherwise."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if is_foreign_thread():
            return run_in_python_thread(method, *args, **kwargs)
        return method(*args, **kwargs)

    return wrapper
