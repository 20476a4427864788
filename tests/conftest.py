"""Fixtures shared by every test layer (QGIS-free)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
ARTIFACTS = REPO / "tests" / "artifacts"


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
