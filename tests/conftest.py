"""Fixtures shared by every test layer (QGIS-free)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
# scripts/matrix.sh sets S2PARITY_ARTIFACTS to tests/artifacts/<release> for the runs inside its chroots.
ARTIFACTS = REPO / os.environ.get("S2PARITY_ARTIFACTS", "tests/artifacts")
# pytest-qgis ≥ 3 (QGIS ≥ 3.34) keeps QGIS's settings and authentication database in <rootdir>/.qgis-settings
# across runs (2.1.0, on QGIS 3.22, uses a fresh temporary folder per run).
PYTEST_QGIS_SETTINGS = ".qgis-settings"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Every run starts from empty QGIS settings: remove what pytest-qgis kept from the previous run (stale auth
    configuration ids, plugin preferences) before pytest-qgis sets QGIS up. Not for two runs at once in one checkout."""
    shutil.rmtree(config.rootpath / PYTEST_QGIS_SETTINGS, ignore_errors=True)


@pytest.fixture(autouse=True)
def sample_profiles():
    """The offline sample pair's endpoint profiles (``sample-sh``/``sample-cdse``), registered as the QGIS
    provider registers them, when mini-racer is installed (again for every test: a plugin ``unload()`` in a test
    removes them, as it must)."""
    try:
        from s2parity_plugin.sample_endpoints import profiles
    except ImportError:
        yield False
        return
    yield profiles.register()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real Sentinel-2 rasters, API documents); skips the test cleanly when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``tests/artifacts/`` (git-ignored): screenshots and files a person looks at after a run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
