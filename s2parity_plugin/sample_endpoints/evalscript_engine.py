"""Evalscript V3 execution in a real JavaScript engine (V8 through ``mini-racer``), vectorised.

Why mini-racer: evalscripts are JavaScript, and only a real engine gives the real semantics (``indexOf`` on arrays,
``===`` between numbers and strings, closures, ``Math``, exceptions with line numbers, ``const`` redefinition
errors…). ``mini-racer`` (``py_mini_racer``, 0.14) embeds V8 as a self-contained wheel — no Node.js process, no
compiler — and, crucially for speed, returns JS ``TypedArray``/``ArrayBuffer`` objects to Python as writable
``memoryview``\\ s over V8's own memory. The engine therefore:

1. allocates one ``Float32Array`` per (scene, band) *inside* V8 and fills it from numpy through the memoryview
   (one bulk copy, no per-pixel call, no JSON/base64 round trip);
2. runs the whole pixel loop in JS (``__s2p_run``), which builds the ``sample``/``samples`` objects, calls the user's
   ``evaluatePixel`` and writes results into one ``Float32Array`` per output (band-sequential);
3. reads the outputs back through memoryviews (one bulk copy each).

The Python side never calls into V8 per pixel. One :class:`MiniRacer` (V8 isolate) is created per evaluation, so
nothing leaks between two users' scripts. Calls into mini-racer are serialised by a process-wide lock (V8 runs
with ``--single-threaded``; the pixel loop of one request takes tens of ms, scene rendering stays parallel), and no
JS handle outlives its context: handles are never kept in locals across a raise, and the cyclic garbage collector
is run before a context is closed, so a stray handle is never finalised (from an arbitrary thread) after its
isolate is gone.

Supported V3 surface: ``setup()`` (``input`` as objects ``{bands, units}`` or the short form ``["B04", …]``;
``output`` object or array with ``id``/``bands``/``sampleType`` (AUTO, UINT8, UINT16, INT8, INT16, FLOAT32)/
``nodataValue``; ``mosaicking`` SIMPLE/ORBIT/TILE, also through the ``Mosaicking``/``SampleType`` constants),
``updateOutput(outputs, collection)`` (may set each output's ``bands``), ``preProcessScenes(collections)``
(``collections.from``/``to`` are ``Date`` objects), ``evaluatePixel(sample(s), scenes, inputMetadata, customData,
outputMetadata)`` returning an array (single output), an object keyed by output id, or nothing (no data: every band
gets the output's ``nodataValue``, 0 by default), and ``updateOutputMetadata(scenes, inputMetadata,
outputMetadata)`` (``outputMetadata.userData`` -> userdata.json). The documented utility functions and visualizers
(``valueMap``, ``valueInterpolate``/``colorBlend``, ``combine``, ``index`` (0 when ``a + b`` is 0), ``inverse``,
``int2rgb``/``rgb2int``/``normalizeRGB``, ``ColorMapVisualizer``, ``ColorRampVisualizer``, ``ColorGradientVisualizer``,
``HighlightCompressVisualizer``(``Single``), ``Identity`` and the colour-map constants) are installed before the
script runs: :mod:`.evalscript_utilities` (what is covered and how).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from s2parity_plugin.sample_endpoints.evalscript_utilities import UTILITIES_JS, uses_utilities

if TYPE_CHECKING:  # imported lazily: the package imports (and the HTTP layer starts) without mini-racer
    from py_mini_racer import MiniRacer

#: Output sample types and their numpy dtype (AUTO is delivered as UINT8 after *255 scaling).
SAMPLE_TYPES = {
    "AUTO": np.uint8,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "INT8": np.int8,
    "INT16": np.int16,
    "FLOAT32": np.float32,
}
_INT_RANGES = {"UINT8": (0, 255), "UINT16": (0, 65535), "INT8": (-128, 127), "INT16": (-32768, 32767)}
MOSAICKING = ("SIMPLE", "ORBIT", "TILE")
DEFAULT_TIMEOUT_MS = 30_000
V8_LOCK = threading.RLock()


@contextlib.contextmanager
def _v8() -> Iterator[None]:
    """Hold :data:`V8_LOCK` with Python's automatic garbage collection paused. A collection that ran while V8 is
    inside a callback into Python could free a JS value handle of the running context (``__del__`` →
    ``mr_free_value``) and deadlock on that context; paused, no collection happens during V8 work, and handles
    of closed contexts are freed later as no-ops. Nested use keeps it paused until the outermost exit."""
    with V8_LOCK:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if was_enabled:
                gc.enable()


def _mini_racer() -> Any:
    """The ``py_mini_racer`` module, or a clear error naming the package to install."""
    try:
        import py_mini_racer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "The sample endpoints run evalscripts in V8 through the 'mini-racer' package, which is not installed "
            "in this Python: pip install mini-racer==0.14.1"
        ) from exc
    return py_mini_racer


class EvalscriptError(Exception):
    """The evalscript is invalid or failed in JS; ``message`` is what the service puts into its 400 answer."""


_PRELUDE = r"""
var SampleType = {AUTO: "AUTO", UINT8: "UINT8", UINT16: "UINT16", INT8: "INT8", INT16: "INT16", FLOAT32: "FLOAT32"};
var Mosaicking = {SIMPLE: "SIMPLE", ORBIT: "ORBIT", TILE: "TILE"};
globalThis.index = function (a, b) { return a + b === 0 ? 0 : (a - b) / (a + b); };
function debug() {}
"""

_RUNNER = r"""
var __s2p_in = null;   // __s2p_in[band][scene] = Float32Array(N)
var __s2p_out = null;  // __s2p_out[id] = Float32Array(N * bands)
function __s2p_alloc(n, bands, nScenes) {
  __s2p_in = {};
  for (var b = 0; b < bands.length; b++) {
    var arr = [];
    for (var s = 0; s < nScenes; s++) arr.push(new Float32Array(n));
    __s2p_in[bands[b]] = arr;
  }
  return true;
}
function __s2p_buf(band, scene) { return __s2p_in[band][scene]; }
function __s2p_outbuf(id) { return __s2p_out[id]; }
function __s2p_run(n, bands, nScenes, multi, outIds, outBands, singleId, ctxJson, outNodata) {
  var ctx = JSON.parse(ctxJson);
  var scenes = ctx.scenes, inputMetadata = ctx.inputMetadata, customData = ctx.customData;
  var outputMetadata = {};
  __s2p_out = {};
  for (var o = 0; o < outIds.length; o++) __s2p_out[outIds[o]] = new Float32Array(n * outBands[o]);
  var nb = bands.length, k, s, p, b;
  var cols = [];
  for (b = 0; b < nb; b++) cols.push(__s2p_in[bands[b]]);
  for (p = 0; p < n; p++) {
    var res;
    if (multi) {
      var samples = new Array(nScenes);
      for (s = 0; s < nScenes; s++) {
        var smp = {};
        for (b = 0; b < nb; b++) smp[bands[b]] = cols[b][s][p];
        samples[s] = smp;
      }
      res = evaluatePixel(samples, scenes, inputMetadata, customData, outputMetadata);
    } else {
      var one = {};
      for (b = 0; b < nb; b++) one[bands[b]] = cols[b][0][p];
      res = evaluatePixel(one, scenes, inputMetadata, customData, outputMetadata);
    }
    if (res === undefined || res === null) {  // no data: every output band gets its no-data value
      for (var o0 = 0; o0 < outIds.length; o0++) {
        for (k = 0; k < outBands[o0]; k++) __s2p_out[outIds[o0]][k * n + p] = outNodata[o0];
      }
      continue;
    }
    if (Array.isArray(res) || ArrayBuffer.isView(res)) {
      if (singleId === null) {
        throw new Error("evaluatePixel returned an array, but setup() defines several outputs; " +
                        "return an object keyed by output id");
      }
      var tmp = {}; tmp[singleId] = res; res = tmp;
    }
    for (var o2 = 0; o2 < outIds.length; o2++) {
      var id = outIds[o2], v = res[id], nbo = outBands[o2], buf = __s2p_out[id];
      if (v === undefined) throw new Error("evaluatePixel did not return output '" + id + "'");
      if (typeof v === "number" || typeof v === "boolean") v = [v];
      if (v.length !== nbo) {
        throw new Error("Output '" + id + "' has " + nbo + " bands in setup() but evaluatePixel returned " +
                        v.length + " values");
      }
      for (k = 0; k < nbo; k++) buf[k * n + p] = v[k];
    }
  }
  return true;
}
function __s2p_update_output(outputsJson, collectionJson) {
  if (typeof updateOutput !== "function") return outputsJson;
  var outputs = JSON.parse(outputsJson);
  updateOutput(outputs, JSON.parse(collectionJson));
  return JSON.stringify(outputs);
}
function __s2p_update(ctxJson) {
  var ctx = JSON.parse(ctxJson);
  var outputMetadata = {};
  if (typeof updateOutputMetadata === "function") {
    updateOutputMetadata(ctx.scenes, ctx.inputMetadata, outputMetadata);
  }
  return JSON.stringify(outputMetadata.userData === undefined ? null : outputMetadata.userData);
}
function __s2p_preprocess(collectionsJson) {
  if (typeof preProcessScenes !== "function") return collectionsJson;
  var c = JSON.parse(collectionsJson);
  if (c.from) c.from = new Date(c.from);  // the documented Date objects; JSON.stringify writes them back as ISO
  if (c.to) c.to = new Date(c.to);
  var r = preProcessScenes(c);
  return JSON.stringify(r === undefined ? c : r);
}
"""


@dataclasses.dataclass
class OutputSpec:
    """One ``setup().output`` entry: id, number of bands, sample type (AUTO/UINT8/UINT16/FLOAT32)."""

    id: str
    bands: int
    sample_type: str = "AUTO"
    nodata_value: float | None = None  # ``nodataValue``: written into TIFF outputs as their no-data value

    @property
    def dtype(self) -> type:
        return SAMPLE_TYPES[self.sample_type]


@dataclasses.dataclass
class ScriptSetup:
    """Normalised ``setup()`` result."""

    bands: list[str]  # requested input band names (incl. dataMask when asked for)
    units: dict[str, str]  # band -> "DN" / "REFLECTANCE" / …; bands without explicit units are absent
    outputs: list[OutputSpec]
    mosaicking: str  # SIMPLE / ORBIT / TILE


def _js_error_message(exc: Exception) -> str:
    text = str(exc).strip()
    return re.sub(r"\s+\n", "\n", text)[:2000]


class EvalscriptRun:
    """One evalscript's lifetime: compile + setup, then (optionally) preProcessScenes, evaluate, update metadata.

    Use as a context manager (the V8 isolate is closed on exit).
    """

    def __init__(self, evalscript: str, timeout_ms: int = DEFAULT_TIMEOUT_MS):
        if not isinstance(evalscript, str) or not evalscript.strip():
            raise EvalscriptError("Invalid script! The evalscript is empty.")
        if not re.match(r"^\s*//\s*VERSION\s*=\s*3", evalscript):
            raise EvalscriptError(
                "Invalid script! Only evalscript V3 is supported: the script must start with '//VERSION=3'."
            )
        self.timeout_ms = timeout_ms
        with _v8():
            self.ctx: MiniRacer | None = _mini_racer().MiniRacer()
            message = None
            try:
                self.ctx.eval(_PRELUDE)
                if uses_utilities(evalscript):
                    self.ctx.eval(UTILITIES_JS)
                self.ctx.eval(evalscript, timeout=timeout_ms)
                self.ctx.eval(_RUNNER)
            except (_mini_racer().JSEvalException, _mini_racer().JSTimeoutException) as exc:
                message = f"Failed to evaluate script!\n{_js_error_message(exc)}"
            if message is not None:
                self.close()
                raise EvalscriptError(message)
            try:
                self.setup = self._run_setup()
            except EvalscriptError:
                self.close()
                raise

    # -- lifecycle --------
    def close(self) -> None:
        """Close the V8 context. JS value handles still alive (e.g. in cyclic garbage) are freed safely later:
        mini-racer frees them by context id, a no-op once the context is gone — so no ``gc.collect()`` here, which
        would hold the GIL for tens of ms per request in QGIS (measured: the GUI heartbeat stalled up to 84 ms)."""
        with _v8():
            ctx, self.ctx = getattr(self, "ctx", None), None
            if ctx is not None:
                ctx.close()

    def __enter__(self) -> EvalscriptRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- steps --------
    def _eval(self, code: str) -> Any:
        """Evaluate JS returning a plain value (str/number/bool); JS errors become :class:`EvalscriptError`."""
        message = None
        with _v8():
            try:
                value = self.ctx.eval(code, timeout=self.timeout_ms)
            except _mini_racer().JSTimeoutException:
                message = "Failed to evaluate script!\nEvalscript execution timed out."
            except _mini_racer().JSEvalException as exc:
                message = f"Failed to evaluate script!\n{_js_error_message(exc)}"
        if message is not None:
            raise EvalscriptError(message)
        return value

    def _eval_json(self, code: str) -> Any:
        text = self._eval(code)
        return json.loads(text) if isinstance(text, str) else text

    def _run_setup(self) -> ScriptSetup:
        if self._eval("typeof setup") != "function":
            raise EvalscriptError("Invalid script! The evalscript must define a setup() function.")
        if self._eval("typeof evaluatePixel") != "function":
            raise EvalscriptError("Invalid script! The evalscript must define an evaluatePixel() function.")
        raw = self._eval_json("JSON.stringify(setup())")
        if not isinstance(raw, dict):
            raise EvalscriptError("Invalid script! setup() must return an object.")
        inputs = raw.get("input")
        if inputs is None:
            raise EvalscriptError("Invalid script! setup() must define 'input'.")
        if isinstance(inputs, dict):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise EvalscriptError("Invalid script! setup().input must be a non-empty array.")
        bands: list[str] = []
        units: dict[str, str] = {}
        if all(isinstance(i, str) for i in inputs):
            bands = list(inputs)
        else:
            for item in inputs:
                if not isinstance(item, dict) or not isinstance(item.get("bands"), list):
                    raise EvalscriptError("Invalid script! Every setup().input entry needs a 'bands' array.")
                u = item.get("units")
                for i, b in enumerate(item["bands"]):
                    if not isinstance(b, str):
                        raise EvalscriptError(f"Invalid script! Band names must be strings, got {b!r}.")
                    if b not in bands:
                        bands.append(b)
                    bu = u[i] if isinstance(u, list) and i < len(u) else u
                    if isinstance(bu, str):
                        units[b] = bu.upper()
        outputs_raw = raw.get("output", {"id": "default", "bands": 1})
        if isinstance(outputs_raw, dict):
            outputs_raw = [outputs_raw]
        if not isinstance(outputs_raw, list) or not outputs_raw:
            raise EvalscriptError("Invalid script! setup().output must be an object or a non-empty array.")
        outputs: list[OutputSpec] = []
        for o in outputs_raw:
            if not isinstance(o, dict):
                raise EvalscriptError("Invalid script! setup().output entries must be objects.")
            oid = o.get("id", "default")
            nb = o.get("bands", 1)
            st = str(o.get("sampleType", "AUTO")).upper()
            if st not in SAMPLE_TYPES:
                raise EvalscriptError(f"Invalid script! Unknown sampleType '{o.get('sampleType')}' for output '{oid}'.")
            if not isinstance(nb, int) or isinstance(nb, bool) or nb < 1:
                raise EvalscriptError(f"Invalid script! Output '{oid}' must have a positive integer 'bands'.")
            if any(x.id == oid for x in outputs):
                raise EvalscriptError(f"Invalid script! Duplicate output id '{oid}'.")
            nodata = o.get("nodataValue")
            if nodata is not None and (isinstance(nodata, bool) or not isinstance(nodata, (int, float))):
                raise EvalscriptError(f"Invalid script! Output '{oid}': nodataValue must be a number.")
            outputs.append(OutputSpec(str(oid), nb, st, None if nodata is None else float(nodata)))
        mosaicking = str(raw.get("mosaicking", "SIMPLE")).upper()
        if mosaicking not in MOSAICKING:
            raise EvalscriptError(f"Invalid script! Unknown mosaicking '{raw.get('mosaicking')}'.")
        return ScriptSetup(bands, units, outputs, mosaicking)

    def preprocess_scenes(self, collections: dict[str, Any]) -> dict[str, Any]:
        """Run ``preProcessScenes(collections)`` if defined; returns the (possibly filtered) collections."""
        self._eval("var __s2p_pp_arg = " + json.dumps(json.dumps(collections)))
        out = self._eval_json("__s2p_preprocess(__s2p_pp_arg)")
        if not isinstance(out, dict):
            raise EvalscriptError("Failed to evaluate script!\npreProcessScenes must return the collections object.")
        return out

    def evaluate(
        self,
        band_data: dict[str, list[np.ndarray]],
        n_pixels: int,
        context: dict[str, Any],
    ) -> dict[str, np.ndarray]:
        """Run ``evaluatePixel`` over ``n_pixels`` pixels.

        :param band_data: band -> one float array of length ``n_pixels`` per scene (scene order as the evalscript
            sees it); every band of ``setup.bands`` must be present.
        :param context: ``{"scenes", "inputMetadata", "customData"}`` passed to evaluatePixel (JSON-serialisable).
        :return: output id -> float32 array shaped (bands, n_pixels), raw values (no sample-type conversion).
        """
        bands = self.setup.bands
        n_scenes = len(next(iter(band_data.values()))) if band_data else 0
        multi = self.setup.mosaicking != "SIMPLE"
        if not multi:
            n_scenes = 1
        self._eval(f"__s2p_alloc({int(n_pixels)}, {json.dumps(bands)}, {n_scenes})")
        with _v8():
            for b in bands:
                for s_idx in range(n_scenes):
                    _fill(self.ctx.eval(f"__s2p_in[{json.dumps(b)}][{s_idx}]"), band_data[b][s_idx])
        out_ids = [o.id for o in self.setup.outputs]
        out_bands = [o.bands for o in self.setup.outputs]
        out_nodata = [0.0 if o.nodata_value is None else o.nodata_value for o in self.setup.outputs]
        single = json.dumps(out_ids[0]) if len(out_ids) == 1 else "null"
        self._eval(
            f"__s2p_run({int(n_pixels)}, {json.dumps(bands)}, {n_scenes}, {str(multi).lower()}, "
            f"{json.dumps(out_ids)}, {json.dumps(out_bands)}, {single}, {json.dumps(json.dumps(context))}, "
            f"{json.dumps(out_nodata)})"
        )
        result: dict[str, np.ndarray] = {}
        with _v8():
            for oid, nb in zip(out_ids, out_bands):
                result[oid] = _copy_out(self.ctx.eval(f"__s2p_out[{json.dumps(oid)}]"), nb, n_pixels)
        self._eval("__s2p_out = null; __s2p_in = null; true")
        return result

    def update_output(self, collection: dict[str, Any]) -> None:
        """Run ``updateOutput(outputs, collection)`` if defined (before evaluatePixel): it may change each output's
        ``bands`` (e.g. one band per scene); ``self.setup.outputs`` is updated accordingly."""
        outputs = {o.id: {"id": o.id, "bands": o.bands, "sampleType": o.sample_type} for o in self.setup.outputs}
        self._eval("var __s2p_uo_args = " + json.dumps([json.dumps(outputs), json.dumps(collection)]))
        got = self._eval_json("__s2p_update_output(__s2p_uo_args[0], __s2p_uo_args[1])")
        for o in self.setup.outputs:
            bands = (got.get(o.id) or {}).get("bands") if isinstance(got, dict) else None
            if bands is not None:
                if isinstance(bands, bool) or not isinstance(bands, int) or bands < 1:
                    raise EvalscriptError(f"Invalid script! updateOutput gave output '{o.id}' {bands!r} bands.")
                o.bands = bands

    def update_output_metadata(self, context: dict[str, Any]) -> Any:
        """Run ``updateOutputMetadata(scenes, inputMetadata, outputMetadata)``; returns ``outputMetadata.userData``."""
        self._eval("var __s2p_um_arg = " + json.dumps(json.dumps(context)))
        return self._eval_json("__s2p_update(__s2p_um_arg)")


def _fill(view: memoryview, values: np.ndarray) -> None:
    """Copy ``values`` into a JS Float32Array through its memoryview (the view is released on return)."""
    np.frombuffer(view, dtype=np.float32)[:] = values


def _copy_out(view: memoryview, n_bands: int, n_pixels: int) -> np.ndarray:
    """Copy a JS Float32Array (band-sequential) out of V8 as (n_bands, n_pixels) float32."""
    return np.frombuffer(view, dtype=np.float32).copy().reshape(n_bands, n_pixels)


def to_sample_type(values: np.ndarray, sample_type: str) -> np.ndarray:
    """Convert raw evaluatePixel results to the output sample type as the service does.

    * ``AUTO``: ``value * 255``, rounded, clamped to [0, 255], UINT8 (AUTO expects values in 0–1);
    * ``UINT8`` / ``UINT16`` / ``INT8`` / ``INT16``: rounded (half up), clamped to the type's range;
    * ``FLOAT32``: unchanged. NaN becomes 0 for the integer types.
    """
    v = values.astype(np.float64)
    if sample_type == "FLOAT32":
        return values.astype(np.float32)
    if sample_type == "AUTO":
        v = v * 255.0
    lo, hi = _INT_RANGES.get(sample_type, (0, 255))
    v = np.nan_to_num(v, nan=0.0, posinf=hi, neginf=lo)
    v = np.clip(np.floor(v + 0.5), lo, hi)
    return v.astype(SAMPLE_TYPES[sample_type])
