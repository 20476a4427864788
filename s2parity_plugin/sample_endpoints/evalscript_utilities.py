"""The documented evalscript utility functions and visualizers, as JavaScript for the sample pair's V8 runtime.

Source: the "Utility Functions" page of the Sentinel Hub / CDSE evalscript documentation
(``APIs/SentinelHub/Evalscript/Functions.qmd`` of the CDSE documentation; ``docs.sentinel-hub.com/api/latest/
evalscript/functions``). Every documented example of the page that this module covers is reproduced exactly
(``tests/unit/test_sample_endpoints_utilities.py``), with these readings where the page is silent:

* ``ColorRampVisualizer``: stops sorted by value; ``minVal``/``maxVal`` move the first/last stop and the others
  linearly; between stops each 8-bit channel is interpolated and **truncated** (``process(250)`` on the page's
  200→red, 300→blue ramp is ``127/255``, not ``128/255``), then divided by 255; outside the stops the end colours.
  ``inverse()`` reverses the colours over the same values. ``createRedTemperature``/``createWhiteGreen``/
  ``createBlueRed`` are the inverse of the ramp of the documented constants (black at ``minVal``: what the page's
  examples show); ``createOceanColor`` uses ``oceanColor`` as listed (no documented example: **assumed**).
* ``ColorGradientVisualizer`` (deprecated): the stop of value ``v`` sits at ``minVal·v + maxVal·(1 − v)``, channels
  rounded (the older published implementation; it reproduces the page's 15 examples).
* ``combine`` mixes arrays (``color1·alpha + color2·(1 − alpha)``, unrounded, as documented) and, for two packed
  ``0xRRGGBB`` integers, returns a packed integer with rounded channels (the older published form).
* ``colorBlend`` (deprecated) is ``valueInterpolate`` and does not modify its ``colors`` argument.
* ``HighlightCompressVisualizerSingle`` (one-element array) and ``Identity`` are not on the current page; they are
  kept as the older published runtime defined them.

Not provided: the Landsat / Sentinel-3 decoders (``decodeL8C2Qa``, ``decodeS3OLCIQualityFlags``: other
collections), EO Browser's ``gainOverride``/``rangeOverrides`` hooks, undocumented helpers (``isClouds``,
``DefaultVisualizer``, ``colorMap``).

Every name is installed as a configurable property of the global object, so a script may redefine any of them
(``function index(…)``, ``const blueRed = …``, ``class Identity``) without a redeclaration error.
"""

from __future__ import annotations

import re

#: Every name :data:`UTILITIES_JS` installs but ``index`` (the engine's base prelude has it): a script naming none of
#: them skips installing them (≈ 2 ms of V8 work per request, measured on the seed evalscript).
UTILITY_NAMES = (
    "JAVA_DOUBLE_MAX_VAL", "blueRed", "redTemperature", "greenWhite", "oceanColor", "int2rgb", "rgb2int",
    "normalizeRGB", "inverse", "combine", "valueMap", "valueInterpolate", "colorBlend", "ColorMapVisualizer",
    "ColorRampVisualizer", "ColorGradientVisualizer", "HighlightCompressVisualizer",
    "HighlightCompressVisualizerSingle", "Identity",
)  # fmt: skip
_NAMES_RE = re.compile(r"\b(?:" + "|".join(UTILITY_NAMES) + r")\b")


def uses_utilities(evalscript: str) -> bool:
    """Whether the script names one of :data:`UTILITY_NAMES` (then :data:`UTILITIES_JS` is installed before it)."""
    return _NAMES_RE.search(evalscript) is not None


UTILITIES_JS = r"""
(function (g) {
  var JAVA_DOUBLE_MAX_VAL = 1.7976931348623157E308;

  function int2rgb(color) { return [(color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF]; }
  function rgb2int(rgb) { return (rgb[0] << 16) + (rgb[1] << 8) + rgb[2]; }
  function normalizeRGB(rgb255) { return rgb255.map(function (x) { return x / 255; }); }
  // a stop colour as 0-255 channels: packed 0xRRGGBB, or a normalised [r, g, b] array
  function rgb255(color) {
    if (Array.isArray(color)) return color.map(function (x) { return Math.round(x * 255); });
    return int2rgb(color);
  }

  function index(x, y) { return x + y === 0 ? 0 : (x - y) / (x + y); }
  function inverse(x) { return x != 0 ? 1.0 / x : JAVA_DOUBLE_MAX_VAL; }

  function combine(color1, color2, alpha) {
    if (Array.isArray(color1)) {
      return color1.map(function (c, i) { return c * alpha + color2[i] * (1 - alpha); });
    }
    var a = int2rgb(color1), b = int2rgb(color2);
    return rgb2int([0, 1, 2].map(function (i) { return Math.round(a[i] * alpha + b[i] * (1 - alpha)); }));
  }

  function valueMap(value, intervals, values) {
    if (!Array.isArray(intervals) || !Array.isArray(values)) return value;
    for (var i = 0; i < intervals.length; i++) {
      if (value <= intervals[i]) return values[i];
    }
    return values[values.length - 1];
  }

  function copyValue(v) { return Array.isArray(v) ? v.slice() : v; }
  function lerp(a, b, t) {
    if (Array.isArray(a)) return a.map(function (c, i) { return c * (1 - t) + b[i] * t; });
    return a * (1 - t) + b * t;
  }
  function valueInterpolate(value, intervals, values) {
    if (!Array.isArray(intervals) || !Array.isArray(values)) return value;
    if (value <= intervals[0]) return copyValue(values[0]);
    for (var i = 1; i < intervals.length; i++) {
      if (value <= intervals[i]) {
        return lerp(values[i - 1], values[i], (value - intervals[i - 1]) / (intervals[i] - intervals[i - 1]));
      }
    }
    return copyValue(values[values.length - 1]);
  }

  var blueRed = [[1.000, 0x000080], [0.875, 0x0000FF], [0.625, 0x00FFFF], [0.375, 0xFFFF00], [0.125, 0xFF0000],
                 [0.000, 0x800000]];
  var redTemperature = [[1.000, 0x000000], [0.525, 0xAE0000], [0.300, 0xFF6E00], [0.250, 0xFF8600],
                        [0.000, 0xFFFFFF]];
  var greenWhite = [[1.000, 0x000000], [0.600, 0x006600], [0.300, 0x80B300], [0.000, 0xFFFFFF]];
  var oceanColor = [
    [0, [147, 0, 108]], [0.0471, [111, 0, 144]], [0.098, [72, 0, 183]], [0.149, [33, 0, 222]],
    [0.2, [0, 10, 255]], [0.2471, [0, 74, 255]], [0.298, [0, 144, 255]], [0.349, [0, 213, 255]],
    [0.4, [0, 255, 215]], [0.4471, [0, 255, 119]], [0.498, [0, 255, 15]], [0.549, [96, 255, 0]],
    [0.6, [200, 255, 0]], [0.6471, [255, 235, 0]], [0.698, [255, 183, 0]], [0.749, [255, 131, 0]],
    [0.8, [255, 79, 0]], [0.8471, [255, 31, 0]], [0.898, [230, 0, 0]], [0.949, [165, 0, 0]], [1, [105, 0, 0]]
  ].map(function (s) { return [s[0], normalizeRGB(s[1])]; });

  class ColorMapVisualizer {
    constructor(valColPairs) { this.valColPairs = valColPairs; }
    process(val) {
      var color = this.valColPairs[0][1];
      for (var i = 0; i < this.valColPairs.length && val >= this.valColPairs[i][0]; i++) color = this.valColPairs[i][1];
      return normalizeRGB(rgb255(color));
    }
    static createDefaultColorMap() {
      return new ColorMapVisualizer([
        [-1.0, 0x000000], [-0.2, 0xFF0000], [-0.1, 0x9A0000], [0.0, 0x660000], [0.1, 0xFFFF33], [0.2, 0xCCCC33],
        [0.3, 0x666600], [0.4, 0x33FFFF], [0.5, 0x33CCCC], [0.6, 0x006666], [0.7, 0x33FF33], [0.8, 0x33CC33],
        [0.9, 0x006600]
      ]);
    }
  }

  class ColorRampVisualizer {
    constructor(ramps, minVal, maxVal) {
      var stops = ramps.map(function (r) { return [r[0], rgb255(r[1])]; });
      stops.sort(function (a, b) { return a[0] - b[0]; });
      var lo = stops[0][0], hi = stops[stops.length - 1][0];
      var newLo = minVal === undefined ? lo : minVal, newHi = maxVal === undefined ? hi : maxVal;
      this.stops = stops.map(function (s) {
        return [hi === lo ? newLo : newLo + (s[0] - lo) / (hi - lo) * (newHi - newLo), s[1]];
      });
    }
    process(value) {
      var s = this.stops, n = s.length;
      if (value <= s[0][0]) return normalizeRGB(s[0][1]);
      for (var i = 1; i < n; i++) {
        if (value <= s[i][0]) {
          var t = (value - s[i - 1][0]) / (s[i][0] - s[i - 1][0]), to = s[i][1];
          return s[i - 1][1].map(function (c, k) { return Math.floor(c + (to[k] - c) * t) / 255; });
        }
      }
      return normalizeRGB(s[n - 1][1]);
    }
    inverse() {
      var colors = this.stops.map(function (s) { return s[1]; }).reverse();
      var out = Object.create(ColorRampVisualizer.prototype);
      out.stops = this.stops.map(function (s, i) { return [s[0], colors[i]]; });
      return out;
    }
    static createRedTemperature(minVal, maxVal) {
      return new ColorRampVisualizer(redTemperature, minVal, maxVal).inverse();
    }
    static createWhiteGreen(minVal, maxVal) { return new ColorRampVisualizer(greenWhite, minVal, maxVal).inverse(); }
    static createBlueRed(minVal, maxVal) { return new ColorRampVisualizer(blueRed, minVal, maxVal).inverse(); }
    static createOceanColor(minVal, maxVal) { return new ColorRampVisualizer(oceanColor, minVal, maxVal); }
  }

  class ColorGradientVisualizer {
    constructor(valColPairs, minVal, maxVal) {
      this.minVal = minVal === undefined ? 0.0 : minVal;
      this.maxVal = maxVal === undefined ? 1.0 : maxVal;
      var self = this;
      this.valColPairs = valColPairs.map(function (vc) {
        return [self.minVal * vc[0] + self.maxVal * (1 - vc[0]), vc[1]];
      });
    }
    getColor(val) {
      var p = this.valColPairs, n = p.length;
      if (val <= this.minVal) return p[0][1];
      if (val >= this.maxVal) return p[n - 1][1];
      for (var i = 1; i < n; i++) {
        if (val > p[i - 1][0] && val <= p[i][0]) {
          return combine(p[i][1], p[i - 1][1], (val - p[i - 1][0]) / (p[i][0] - p[i - 1][0]));
        }
      }
      return p[n - 1][1];
    }
    process(val) { return normalizeRGB(int2rgb(this.getColor(val))); }
    static createRedTemperature(minVal, maxVal) { return new ColorGradientVisualizer(redTemperature, minVal, maxVal); }
    static createWhiteGreen(minVal, maxVal) { return new ColorGradientVisualizer(greenWhite, minVal, maxVal); }
    static createBlueRed(minVal, maxVal) { return new ColorGradientVisualizer(blueRed, minVal, maxVal); }
  }

  var HIGHLIGHT_POINT = 0.92, CLIP_POINT = 2.0;
  function clamp(v, lo, hi) { return Math.max(Math.min(v, hi), lo); }
  class HighlightCompressVisualizer {
    constructor(minValue, maxValue, gain, offset, gamma) {
      this.minValue = minValue === undefined ? 0.0 : minValue;
      this.maxValue = maxValue === undefined ? 1.0 : maxValue;
      this.gain = gain === undefined ? 1.0 : gain;
      this.offset = offset === undefined ? 0.0 : offset;
      this.gamma = gamma === undefined ? 1.0 : gamma;
      this.highlightAdjust = 0 < this.maxValue && this.maxValue < 1;
      this.factor = 1.0 / (this.maxValue - this.minValue);
      this.highlightFactor = (1.0 - HIGHLIGHT_POINT) / (CLIP_POINT - HIGHLIGHT_POINT);
    }
    process(val) {
      var v = this.gain * (val - this.minValue) * this.factor + this.offset;
      if (this.gamma != 1.0) v = Math.pow(Math.max(0, v), this.gamma);
      if (this.highlightAdjust && v > HIGHLIGHT_POINT) {
        v = clamp(HIGHLIGHT_POINT + (v - HIGHLIGHT_POINT) * this.highlightFactor, 0.0, 1.0);
      }
      return clamp(v, 0.0, 1.0);
    }
    processList(components) { var self = this; return components.map(function (v) { return self.process(v); }); }
  }
  class HighlightCompressVisualizerSingle extends HighlightCompressVisualizer {
    process(val) { return [super.process(val)]; }
  }
  class Identity {
    process(val) { return Array.isArray(val) ? val : [val]; }
  }

  var names = {
    JAVA_DOUBLE_MAX_VAL: JAVA_DOUBLE_MAX_VAL, blueRed: blueRed, redTemperature: redTemperature,
    greenWhite: greenWhite, oceanColor: oceanColor, int2rgb: int2rgb, rgb2int: rgb2int, normalizeRGB: normalizeRGB,
    index: index, inverse: inverse, combine: combine, valueMap: valueMap, valueInterpolate: valueInterpolate,
    colorBlend: valueInterpolate, ColorMapVisualizer: ColorMapVisualizer, ColorRampVisualizer: ColorRampVisualizer,
    ColorGradientVisualizer: ColorGradientVisualizer, HighlightCompressVisualizer: HighlightCompressVisualizer,
    HighlightCompressVisualizerSingle: HighlightCompressVisualizerSingle, Identity: Identity
  };
  Object.keys(names).forEach(function (k) { g[k] = names[k]; });
})(globalThis);
"""
