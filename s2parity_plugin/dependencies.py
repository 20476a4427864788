"""Check the Python packages S2 Parity needs at run time (QGIS-free) and say how to install them.

QGIS ships its own Python on Windows (OSGeo4W) and macOS, and uses the system python3 on Linux, so the
command that fixes a missing package depends on the platform. The command pins the numpy already installed,
because ``pip install sentinelhub`` would otherwise pull numpy 2, which breaks GDAL/QGIS built on numpy 1.
"""

from __future__ import annotations

import importlib.util
import sys

#: import name -> pip requirement
RUNTIME_PACKAGES: dict[str, str] = {
    "sentinelhub": "sentinelhub",
    "numpy": "numpy",
    "scipy": "scipy",
    # V8 for the offline sample endpoints' evalscripts ("Sample endpoints (offline)", make demo).
    "py_mini_racer": "mini-racer",
}
#: On Debian/Ubuntu these come from apt, built against the GEOS/numpy QGIS uses (a shapely wheel's own GEOS
#: crashes the QGIS desktop); pip then finds them and installs only pure-Python packages.
DEBIAN_PACKAGES = "python3-scipy python3-shapely python3-pil"


def missing_packages() -> list[str]:
    """Pip requirement names of runtime packages that cannot be imported in this interpreter."""
    return [req for mod, req in RUNTIME_PACKAGES.items() if importlib.util.find_spec(mod) is None]


def install_command(requirements: list[str], platform: str | None = None) -> str:
    """The shell command that installs ``requirements`` into QGIS's Python on ``platform`` (``sys.platform``)."""
    platform = platform or sys.platform
    reqs = list(requirements)
    try:
        import numpy

        if "numpy" not in reqs:
            reqs.append(f"numpy=={numpy.__version__}")
    except ImportError:
        pass
    args = " ".join(f'"{r}"' if any(c in r for c in "<>=") else r for r in reqs)
    if platform.startswith("win"):
        return f"OSGeo4W Shell: python -m pip install {args}"
    if platform == "darwin":
        return f"/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install {args}"
    pip_args = " ".join(a for a in args.split() if a not in ("scipy",))
    return f"sudo apt install {DEBIAN_PACKAGES} && python3 -m pip install --user {pip_args}"


def missing_dependencies_message(platform: str | None = None) -> str | None:
    """A one-line user message naming what is missing and the fix, or None when all is installed."""
    missing = missing_packages()
    if not missing:
        return None
    return (
        f"S2 Parity needs the Python package(s) {', '.join(missing)}, missing from QGIS's Python. "
        f"Install with: {install_command(missing, platform)} — then restart QGIS."
    )
