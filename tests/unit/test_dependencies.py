"""Dependency check and the fix command it prints (QGIS-free)."""

from __future__ import annotations

import subprocess
import sys

import numpy

from s2parity_plugin import dependencies


def test_all_runtime_packages_present_in_dev_env():
    assert dependencies.missing_packages() == []
    assert dependencies.missing_dependencies_message() is None


def test_missing_package_named_with_platform_command(monkeypatch):
    monkeypatch.setitem(dependencies.RUNTIME_PACKAGES, "s2parity_no_such_module", "no-such-pkg")
    msg = dependencies.missing_dependencies_message(platform="linux")
    assert "no-such-pkg" in msg
    assert (
        "sudo apt install python3-scipy python3-shapely python3-pil && "
        f'python3 -m pip install --user no-such-pkg "numpy=={numpy.__version__}"'
    ) in msg
    win = dependencies.missing_dependencies_message(platform="win32")
    assert "OSGeo4W Shell: python -m pip install no-such-pkg" in win
    mac = dependencies.missing_dependencies_message(platform="darwin")
    assert mac.count("/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install") == 1


def test_core_imports_no_qgis():
    """The core package must stay importable without QGIS or Qt."""
    code = (
        "import sys, pkgutil, importlib, s2parity_plugin.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 's2parity_plugin.core.'): importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'PyQt6')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
