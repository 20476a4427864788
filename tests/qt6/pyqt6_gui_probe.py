"""Import S2 Parity's Qt-facing modules and build its widgets under PyQt6 (pip wheel) without QGIS 4.

Run by tests/unit/test_pyqt6_gui.py with the Python of <venv>-qt6 (made by scripts/bootstrap.sh); prints one JSON
line per step (``{"step": …, "ok": …, "error": …}``) as it goes, so a crash (Qt aborts when painting fails
half-way) still leaves the steps before it and names the one that crashed (the next one never printed).

``qgis.PyQt.*`` is PyQt6 itself (what QGIS 4's qgis.PyQt is). ``qgis.core`` / ``qgis.gui`` / ``qgis.utils`` are
stand-ins: each name is a class that accepts any call and attribute (``qgis.gui`` classes are QWidgets, so they
can sit in layouts). What this proves: our own Qt code — enum names, QAction's module, exec(), signal and widget
APIs — works with PyQt6. What it cannot prove: that QGIS 4's own classes accept what we pass them.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import sys
import traceback
import types
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtXml", "QtNetwork", "QtSvg", "QtTest")
PROBED_MODULES = (
    "s2parity_plugin.i18n",
    "s2parity_plugin.adapters.compat",
    "s2parity_plugin.plugin",
    "s2parity_plugin.gui.plots",
    "s2parity_plugin.gui.results_panel",
    "s2parity_plugin.gui.flicker",
    "s2parity_plugin.gui.pixel_inspector",
    "s2parity_plugin.gui.comparison_form",
    "s2parity_plugin.gui.dock",
)
# Imported only: their widgets need live QGIS objects (a canvas, a run, the dock) that stand-ins cannot be. The
# import still runs what a module does at load time under PyQt6: class bodies, enum names, field types.
IMPORTED_MODULES = (
    "s2parity_plugin.gui.statistics_view",
    "s2parity_plugin.gui.widgets",
    "s2parity_plugin.gui.map_overlays",
    "s2parity_plugin.gui.charts_timeline",
    "s2parity_plugin.gui.charts_timeseries",
    "s2parity_plugin.processing.base",
    "s2parity_plugin.processing.python_thread",
    "s2parity_plugin.gui.timeline_view",
    "s2parity_plugin.gui.swipe",
    "s2parity_plugin.gui.export_dialog",
    "s2parity_plugin.gui.credentials_dialog",
    "s2parity_plugin.gui.install_dependencies",
    "s2parity_plugin.adapters.aoi",
    "s2parity_plugin.adapters.auth",
    "s2parity_plugin.adapters.layers",
    "s2parity_plugin.adapters.packages",
    "s2parity_plugin.processing.provider",
    "s2parity_plugin.processing.compare_endpoints",
    "s2parity_plugin.processing.compare_rasters",
    "s2parity_plugin.processing.compare_catalogs",
    "s2parity_plugin.processing.compare_statistics",
    "s2parity_plugin.processing.fetch_pair",
    "s2parity_plugin.processing.export_comparison",
    "s2parity_plugin.processing.dialog_widgets",
)

# The chart functions of gui/plots.py with small real inputs (they paint with QPainter: pens, fonts, alignment).
PIXMAP_CALLS = {
    "histogram_pixmap": ([-2.0, -1.0, 0.0, 1.0, 2.0], [3, 5, 4, 1]),
    "density_pixmap": ([[1, 2, 0], [3, 40, 2], [0, 2, 9]], (0.0, 3.0), (0.0, 3.0)),
}


class _Anything:
    """Accepts any call, attribute, operator: what a QGIS object does for code that only passes it around."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name: str):
        return _Anything()

    def __call__(self, *args, **kwargs):
        return _Anything()

    def value(self, key=None, default=None, *args, **kwargs):
        """QgsSettings().value(key, default): the default (nothing is stored)."""
        return default

    def __or__(self, other):
        return self

    __ror__ = __and__ = __rand__ = __or__

    def __iter__(self):
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def __fspath__(self) -> str:
        """A path QGIS would return (settings/profile folders): a throwaway folder."""
        return _SCRATCH


_SCRATCH = __import__("tempfile").mkdtemp(prefix="s2parity-qt6-probe-")


class _AnythingType(type(_Anything)):
    def __getattr__(cls, name: str):
        return _Anything()


class _AnythingWidgetType(type(__import__("PyQt6.QtWidgets").QtWidgets.QWidget)):
    def __getattr__(cls, name: str):
        return _Anything()


def _stub_module(name: str, widget_base: type | None) -> types.ModuleType:
    module = types.ModuleType(name)
    cache: dict[str, type] = {}

    def __getattr__(attr: str):  # noqa: N807 (module __getattr__)
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr not in cache:
            if widget_base is not None:

                def __init__(self, *args, **kwargs):  # noqa: N807 (any QGIS widget signature; no parent kept)
                    widget_base.__init__(self)

                namespace = {"__init__": __init__, "__getattr__": _Anything.__getattr__}
                cache[attr] = _AnythingWidgetType(attr, (widget_base,), namespace)
            else:
                cache[attr] = _AnythingType(attr, (_Anything,), {})
        return cache[attr]

    module.__getattr__ = __getattr__
    return module


def install_shim() -> None:
    """``qgis.PyQt.X`` → ``PyQt6.X``; stand-ins for qgis.core, qgis.gui, qgis.utils."""
    from PyQt6 import QtWidgets, sip  # qt6: ok (the shim itself)

    qgis = types.ModuleType("qgis")
    qgis.__path__ = []
    pyqt = types.ModuleType("qgis.PyQt")
    pyqt.__path__ = []
    sys.modules.update({"qgis": qgis, "qgis.PyQt": pyqt, "qgis.PyQt.sip": sip})
    for name in QT_MODULES:
        with contextlib.suppress(ImportError):
            sys.modules[f"qgis.PyQt.{name}"] = importlib.import_module(f"PyQt6.{name}")
    for name, base in (("core", None), ("gui", QtWidgets.QWidget), ("utils", None)):
        module = _stub_module(f"qgis.{name}", base)
        sys.modules[f"qgis.{name}"] = module
        setattr(qgis, name, module)
    qgis.PyQt = pyqt


def _report(step: str, ok: bool, error: str = "") -> None:
    print(json.dumps({"step": step, "ok": ok, "error": error}), flush=True)


SKIP: set[str] = set()  # steps that crashed an earlier run (argv[1:])


def _attempt(step: str, build) -> object | None:
    if step in SKIP:
        return None
    print(json.dumps({"starting": step}), flush=True)
    try:
        value = build()
    except Exception:
        _report(step, False, traceback.format_exc(limit=6))
        return None
    _report(step, True)
    return value


def probe() -> None:
    from PyQt6.QtWidgets import QApplication, QWidget  # qt6: ok (the shim itself)

    app = QApplication([])  # noqa: F841 (widgets need it alive)
    modules = {}
    for name in PROBED_MODULES + IMPORTED_MODULES:
        module = _attempt(f"import {name}", lambda name=name: importlib.import_module(name))
        if module is not None and name in PROBED_MODULES:
            modules[name] = module
    plots = modules.get("s2parity_plugin.gui.plots")
    for fname, args in PIXMAP_CALLS.items():
        func = getattr(plots, fname, None)
        if func is not None:
            _attempt(f"call {plots.__name__}.{fname}", lambda func=func, args=args: _call_pixmap(func, args))
    iface = _Anything()
    for name, module in modules.items():
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, QWidget):
                _attempt(f"build {name}.{cls_name}", lambda cls=cls: _construct(cls, iface))


def _construct(cls: type, iface) -> object:
    """Build ``cls`` the way S2 Parity does: ``(iface)`` for the dock and the form, ``(side)`` for an endpoint
    picker, no arguments otherwise."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    required = [p for p in params if p.default is inspect.Parameter.empty]
    args = {"iface": iface, "side": "a"}
    widget = cls(*(args.get(p.name) for p in required))
    widget.show()
    widget.grab()
    return widget


def _call_pixmap(func, args: tuple):
    pixmap = func(*args)
    if pixmap.isNull():
        raise ValueError(f"{func.__name__} returned an empty pixmap")
    return pixmap


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    SKIP.update(sys.argv[1:])
    install_shim()
    probe()
