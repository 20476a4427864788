"""Helpers to run the real QGIS desktop under Xvfb on a throwaway profile with the built plugin zip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from install_plugin import prepare_profiles_root  # noqa: E402

RESULT_ENV = "S2PARITY_E2E_RESULT"


def built_zip() -> Path:
    """The zip `make package` built (``make test-qgis`` builds it first)."""
    zips = sorted((REPO / "dist").glob("s2parity_plugin-*.zip"), key=lambda p: p.stat().st_mtime)
    if not zips:
        pytest.fail("dist/s2parity_plugin-*.zip is missing: run `make package` (make test-qgis does it)")
    return zips[-1]


def venv_site_packages() -> str:
    """The dev venv's site-packages (sentinelhub & co.), for a QGIS that should see the runtime packages."""
    return sysconfig.get_paths()["purelib"]


def clean_env(with_runtime_packages: bool = True, **extra: str) -> dict[str, str]:
    """Environment for a QGIS child process: PYTHONPATH holds only the venv's site-packages (never the source
    tree, which would shadow the installed plugin), or nothing to mimic a QGIS without ``sentinelhub``; no
    offscreen platform (Xvfb provides a real X display)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM")}
    if with_runtime_packages:
        env["PYTHONPATH"] = venv_site_packages()
    env.update(extra)
    return env


def run_desktop(tmp_path: Path, script: Path, timeout_s: float = 180.0, with_runtime_packages: bool = True) -> dict:
    """Install the zip into a fresh profiles folder, start ``qgis --code script`` under ``xvfb-run`` (with this
    folder on PYTHONPATH for ``desktop_session``) and return the JSON the script wrote to ``$S2PARITY_E2E_RESULT``."""
    if not shutil.which("xvfb-run") or not shutil.which("qgis"):
        pytest.fail("xvfb-run and qgis are required (make setup installs them)")
    root = tmp_path / "profiles"
    prepare_profiles_root(built_zip(), root)
    result = tmp_path / "result.json"
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--nologo", "--profiles-path", str(root)]
    cmd += ["--code", str(script)]
    env = clean_env(with_runtime_packages, **{RESULT_ENV: str(result)})
    # the scripts import their shared scaffolding (desktop_session.py) from this folder
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        cmd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if not result.is_file():
        pytest.fail(f"QGIS wrote no result (exit {proc.returncode}).\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return json.loads(result.read_text())
