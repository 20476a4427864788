"""The Python packages S2 Parity needs at run time, the optional extras, and installing the one it needs (QGIS-free).

QGIS ships numpy, GDAL and PyQt; the plugin needs only ``sentinelhub`` (and what it pulls in) on top. scipy, numba
and mini-racer are optional: without them the same results come from numpy code paths (see :data:`EXTRAS`).

Installing: :func:`install_packages` runs pip from QGIS's own Python with ``--prefix`` into a folder the plugin
owns (:func:`packages_dir`), never into the system or the user site, so it works under PEP 668 (Debian 12+), on
OSGeo4W and in the macOS QGIS.app. ``--prefix`` (unlike ``--target``) lets pip's resolver see what the running
interpreter already has, so those packages are used, not downloaded again; a constraints file pins every
installed distribution to its installed version, so pip picks a ``sentinelhub`` release that fits them instead of
replacing a compiled package QGIS was built against (numpy 2 breaks a GDAL built on numpy 1). At start the plugin
appends that folder's site directory to ``sys.path`` (:func:`activate_packages_dir`): QGIS's own packages win.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: import name -> pip requirement of the packages the plugin cannot work without.
RUNTIME_PACKAGES: dict[str, str] = {"sentinelhub": "sentinelhub"}


@dataclass(frozen=True)
class Extra:
    """An optional package: what it adds, and how to get it (Debian package name, pip requirement)."""

    module: str
    requirement: str
    debian: str
    adds: str


#: Optional packages; everything works without them (numpy paths), they add speed or the offline sample pair.
EXTRAS: tuple[Extra, ...] = (
    Extra("numba", "numba", "python3-numba", "a ≈ 2× faster comparison (compiled one-pass kernel)"),
    Extra("scipy", "scipy", "python3-scipy", "a faster shift-corrected difference (scipy.ndimage splines)"),
    Extra(
        "py_mini_racer",
        "mini-racer",
        "",
        "the offline sample endpoints (try the plugin without an account; make demo)",
    ),
)
#: Folder (under the QGIS profile's ``python`` folder) that holds the packages the plugin installs itself.
PACKAGES_FOLDER = "s2parity_packages"
PIP_TIMEOUT_S = 60


def missing_packages() -> list[str]:
    """Pip requirement names of required runtime packages that cannot be imported in this interpreter."""
    return [req for mod, req in RUNTIME_PACKAGES.items() if importlib.util.find_spec(mod) is None]


def missing_extras() -> list[Extra]:
    """The optional packages this interpreter lacks."""
    return [extra for extra in EXTRAS if importlib.util.find_spec(extra.module) is None]


def extras_note(missing: Iterable[Extra] | None = None) -> str | None:
    """One sentence naming what the missing extras would add (None when all are installed)."""
    missing = list(missing_extras() if missing is None else missing)
    if not missing:
        return None
    parts = "; ".join(f"{e.requirement}: {e.adds}" for e in missing)
    return f"Optional packages not installed (everything works without them): {parts}."


def packages_dir(profile_python_dir: str | Path, version: tuple[int, int] | None = None) -> Path:
    """The plugin's own package folder for this Python (``<profile>/python/s2parity_packages/py3.11``)."""
    major, minor = version or sys.version_info[:2]
    return Path(profile_python_dir) / PACKAGES_FOLDER / f"py{major}.{minor}"


def site_dir(prefix: str | Path) -> Path | None:
    """The folder under ``prefix`` that pip's ``--prefix`` install put the packages in (``lib/python3.x/
    site-packages``, ``local/lib/python3.x/dist-packages`` on Debian, ``Lib/site-packages`` on Windows)."""
    prefix = Path(prefix)
    if not prefix.is_dir():
        return None
    for pattern in ("lib/python*/site-packages", "local/lib/python*/dist-packages", "Lib/site-packages"):
        for path in sorted(prefix.glob(pattern)):
            if path.is_dir():
                return path
    return None


def activate_packages_dir(prefix: str | Path) -> Path | None:
    """Append the site folder of the plugin's package prefix to ``sys.path`` (after QGIS's own, which win);
    returns it, or None when nothing was installed there yet."""
    site = site_dir(prefix)
    if site is None:
        return None
    if str(site) not in sys.path:
        sys.path.append(str(site))
        importlib.invalidate_caches()
    return site


def installed_pins() -> list[str]:
    """``name==version`` of every distribution the running interpreter has (pip constraints: keep them)."""
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata.get("Name")
        if name and dist.version:
            pins[name.lower()] = f"{name}=={dist.version}"
    return [pins[key] for key in sorted(pins)]


def python_executable() -> str | None:
    """QGIS's Python interpreter (``sys.executable`` is the QGIS program on Windows and macOS), or None."""
    exe = Path(sys.executable or "")
    if exe.name.lower().startswith("python") and exe.is_file():
        return str(exe)
    major, minor = sys.version_info[:2]
    for base in (Path(sys.exec_prefix), Path(sys.exec_prefix) / "bin", exe.parent, exe.parent / "bin"):
        for name in ("python.exe", f"python{major}.{minor}", f"python{major}", "python3", "python"):
            if (base / name).is_file():
                return str(base / name)
    found = shutil.which(f"python{major}.{minor}")
    return found


def pip_command(
    python: str, prefix: Path, constraints: Path, requirements: Iterable[str], extra_args: Iterable[str] = ()
) -> list[str]:
    """The pip command line that installs ``requirements`` under ``prefix`` keeping every installed package."""
    return [
        python,
        "-m",
        "pip",
        "install",
        "--prefix",
        str(prefix),
        "-c",
        str(constraints),
        "--disable-pip-version-check",
        "--no-input",
        "--no-warn-script-location",
        "--progress-bar",
        "off",
        "--timeout",
        str(PIP_TIMEOUT_S),
        *extra_args,
        *requirements,
    ]


@dataclass
class InstallResult:
    """What an install did: ``ok``, a one-paragraph ``message`` for the user and pip's full ``log``."""

    ok: bool
    message: str
    log: str
    site: Path | None = None


def _pip_error(log: str) -> str:
    """The line of pip's output that says why it failed (its last ``ERROR:`` line), else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip gave no output"])[-1]


def install_packages(
    prefix: str | Path,
    requirements: Iterable[str] | None = None,
    *,
    python: str | None = None,
    extra_pip_args: Iterable[str] = (),
    on_line: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> InstallResult:
    """Install ``requirements`` (default: the missing required packages) with pip under ``prefix``.

    Runs QGIS's Python (``python``; default :func:`python_executable`) as a subprocess; each output line goes to
    ``on_line`` (progress); ``cancelled()`` is polled per line and stops pip. Every installed distribution of the
    running interpreter is a constraint (``==`` its version). Never raises for pip failures: the result says
    what went wrong and what to do.
    """
    reqs = list(missing_packages() if requirements is None else requirements)
    python = python or python_executable()
    prefix = Path(prefix)
    if python is None:
        return InstallResult(False, "QGIS's Python interpreter was not found: use the manual command.", "")
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        constraints = prefix / "constraints.txt"
        constraints.write_text("\n".join(installed_pins()) + "\n", encoding="utf-8")
    except OSError as exc:
        return InstallResult(False, f"Cannot write to {prefix} ({exc}): use the manual command.", "")
    command = pip_command(python, prefix, constraints, reqs, extra_pip_args)
    log: list[str] = []
    try:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONNOUSERSITE": "1", "PIP_REQUIRE_VIRTUALENV": "0"},
        )
    except OSError as exc:
        return InstallResult(False, f"Could not run {python} ({exc}): use the manual command.", "")
    with proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            if on_line is not None:
                on_line(line.rstrip())
            if cancelled is not None and cancelled():
                proc.kill()
                return InstallResult(False, "Installation cancelled: nothing was changed outside " + str(prefix), "")
    code = proc.wait()
    text = "".join(log)
    if code != 0:
        if "No module named pip" in text:
            hint = "pip is not installed for QGIS's Python (Debian/Ubuntu: sudo apt install python3-pip)"
            return InstallResult(False, f"Installing {', '.join(reqs)} failed: {hint}.", text)
        return InstallResult(False, f"Installing {', '.join(reqs)} failed: {_pip_error(text)}", text)
    site = activate_packages_dir(prefix)
    still = [r for mod, r in RUNTIME_PACKAGES.items() if r in reqs and importlib.util.find_spec(mod) is None]
    if site is None or still:
        missing = ", ".join(still or reqs)
        return InstallResult(False, f"pip finished but {missing} cannot be imported from {prefix}.", text)
    return InstallResult(True, f"Installed {', '.join(reqs)} into {site}.", text, site)


def install_command(requirements: list[str], platform: str | None = None, prefix: str | Path | None = None) -> str:
    """The shell command that installs ``requirements`` for QGIS's Python on ``platform`` (``sys.platform``) into
    the plugin's package folder ``prefix`` (what the Install button does), keeping the installed numpy."""
    platform = platform or sys.platform
    reqs = list(requirements)
    try:
        import numpy

        reqs.append(f"numpy=={numpy.__version__}")
    except ImportError:
        pass
    args = " ".join(f'"{r}"' if any(c in r for c in "<>=") else r for r in reqs)
    where = f' --prefix "{prefix}"' if prefix is not None else ""
    if platform.startswith("win"):
        return f"OSGeo4W Shell: python -m pip install{where} {args}"
    if platform == "darwin":
        return f"/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install{where} {args}"
    return f"python3 -m pip install{where} {args}"


def missing_dependencies_message(platform: str | None = None, prefix: str | Path | None = None) -> str | None:
    """A one-line message naming what is missing and the fix (for logs), or None when all is installed."""
    missing = missing_packages()
    if not missing:
        return None
    return (
        f"S2 Parity needs the Python package(s) {', '.join(missing)}, missing from QGIS's Python. "
        f"Install with: {install_command(missing, platform, prefix)} — then restart QGIS."
    )
