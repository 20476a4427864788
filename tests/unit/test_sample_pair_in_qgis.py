"""The sample pair runs inside QGIS (demo, offline try-out): no per-request ``gc.collect()`` (a full collection
holds the GIL for tens of ms in QGIS and stalls its GUI), and closing a V8 context with JS handles still alive
is safe without one."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

pytest.importorskip("py_mini_racer")
from s2parity_plugin.sample_endpoints.evalscript_engine import EvalscriptError, EvalscriptRun

SCRIPT = (
    '//VERSION=3\nfunction setup(){return {input:["B04"], output:{bands:1}}}\nfunction evaluatePixel(s){return [s.B04]}'
)


def test_evalscript_runs_never_collect_garbage(monkeypatch):
    def forbidden(*args):
        raise AssertionError("gc.collect() called while serving a request")

    monkeypatch.setattr(gc, "collect", forbidden)
    with EvalscriptRun(SCRIPT) as run:
        assert run.setup is not None
    with pytest.raises(EvalscriptError):
        EvalscriptRun("//VERSION=3\nfunction setup( {")


def test_js_handles_outliving_their_context_are_freed_safely():
    code = (
        "import gc\n"
        "from py_mini_racer import MiniRacer\n"
        "for i in range(30):\n"
        "    ctx = MiniRacer()\n"
        "    obj = ctx.eval('({a: [1, 2, 3], b: \"x\"})')\n"
        "    cycle = [obj]\n"
        "    cycle.append(cycle)\n"
        "    try:\n"
        "        ctx.eval('throw new Error(\"boom\")')\n"
        "    except Exception as exc:\n"
        "        err = exc\n"
        "        err.cycle = err\n"
        "    ctx.close()\n"
        "    del obj, cycle, err\n"
        "gc.collect()\n"
        "print('freed')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "freed", out.stderr
