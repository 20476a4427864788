"""Run in a subprocess by test_optional_packages.py: hide the packages named in argv[1] (comma-separated) from
imports, as if they were not installed, then import the whole plugin and compare two small rasters.

Prints one JSON line: what was found missing, the endpoint profiles, the compare report's numbers."""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
HIDDEN = {name for name in sys.argv[1].split(",") if name} if __name__ == "__main__" else set()


class HidingFinder:
    """Wraps a ``sys.meta_path`` finder: hidden top-level packages (:attr:`hidden`) are not found (``find_spec``
    → None), exactly as when they are not installed."""

    hidden: ClassVar[set[str]] = set()

    def __init__(self, finder) -> None:
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.hidden:
            return None
        find = getattr(self._finder, "find_spec", None)
        return None if find is None else find(name, path, target)

    def __getattr__(self, name):
        return getattr(self._finder, name)


def import_all(package: str) -> list[str]:
    """Import every module of ``package``; returns the names of those that failed, with the error."""
    failed = []
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # reported to the test
            failed.append(f"{info.name}: {exc!r}")
    return failed


def adapters_failures() -> list[str] | None:
    """Import the plugin entry, the Processing algorithms, the GUI and the adapters (None without PyQGIS)."""
    if importlib.util.find_spec("qgis") is None:
        return None
    # QGIS puts its core plugins (Processing among them) on sys.path; the Processing dialog widgets import it.
    plugins = Path("/usr/share/qgis/python/plugins")
    if plugins.is_dir() and str(plugins) not in sys.path:
        sys.path.append(str(plugins))
    failed = []
    try:
        importlib.import_module("s2parity_plugin.plugin")
    except Exception as exc:  # reported to the test
        failed.append(f"s2parity_plugin.plugin: {exc!r}")
    for package in ("s2parity_plugin.processing", "s2parity_plugin.gui", "s2parity_plugin.adapters"):
        failed += import_all(package)
    return failed


def rasters(folder: Path) -> dict[str, Path]:
    """A 240² DN pair (B = A moved by (0.4, −0.3) px + BOA offset) with SCL rasters that disagree in a square."""
    import numpy as np

    from tests.geotiff import write_geotiff

    rng = np.random.default_rng(5)
    noise = rng.normal(size=(240, 240))
    kx, ky = np.meshgrid(np.fft.fftfreq(240), np.fft.fftfreq(240))
    smooth = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-((kx**2 + ky**2) * 400))))
    a = 1500 + 800 * smooth / smooth.std()
    moved = np.real(np.fft.ifft2(np.fft.fft2(a) * np.exp(-2j * np.pi * (kx * 0.4 + ky * -0.3))))
    scl_a = np.full((240, 240), 4, np.uint8)
    scl_b = scl_a.copy()
    scl_a[50:90, 60:120] = 9
    scl_b[52:95, 58:118] = 9
    scl_b[200:, :30] = 0
    paths = {
        "value_a": write_geotiff(folder / "a.tif", a.round().astype(np.int16), nodata=-32768),
        "value_b": write_geotiff(folder / "b.tif", (moved + 1000).round().astype(np.int16), nodata=-32768),
        "scl_a": write_geotiff(folder / "scl_a.tif", scl_a, nodata=0),
        "scl_b": write_geotiff(folder / "scl_b.tif", scl_b, nodata=0),
    }
    return paths


def main() -> None:
    HidingFinder.hidden = HIDDEN
    sys.meta_path[:] = [HidingFinder(f) for f in sys.meta_path]
    result: dict = {"hidden": sorted(HIDDEN)}
    result["failed_core"] = import_all("s2parity_plugin.core")
    result["failed_adapters"] = adapters_failures()
    from s2parity_plugin import dependencies
    from s2parity_plugin.core.compare import CompareOptions, compare_rasters
    from s2parity_plugin.core.service import endpoints
    from s2parity_plugin.sample_endpoints import profiles

    result["missing_required"] = dependencies.missing_packages()
    result["missing_extras"] = sorted(e.module for e in dependencies.missing_extras())
    result["extras_note"] = dependencies.extras_note()
    result["sample_registered"] = profiles.register()
    result["profile_ids"] = list(endpoints.profile_ids())
    with tempfile.TemporaryDirectory() as tmp:
        paths = rasters(Path(tmp))
        res = compare_rasters(
            paths["value_a"],
            paths["value_b"],
            Path(tmp) / "out",
            scl_a=paths["scl_a"],
            scl_b=paths["scl_b"],
            metadata_a={"units": "DN"},
            metadata_b={"units": "DN"},
            options=CompareOptions(shift_correct=True, class_changed=True),
        )
        report = res.report
    result["engine"] = report["options"]["engine"]
    result["stats"] = {k: report["stats"][k] for k in ("n", "bias", "std", "rmse", "p50_abs", "pearson_r")}
    result["shift"] = {k: report["shift"][k] for k in ("dx_px", "dy_px")}
    corrected = report["shift"]["corrected_stats"]
    result["corrected"] = {k: corrected[k] for k in ("n", "bias", "rmse")}
    result["scl_counts"] = report["scl"]["counts"]
    result["edges"] = report["scl"]["edges"]
    result["loaded_hidden"] = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
