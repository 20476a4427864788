"""pytest-qgis ≥ 3 keeps QGIS settings in <rootdir>/.qgis-settings; every test run starts without them."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import PYTEST_QGIS_SETTINGS, pytest_configure


def test_configure_removes_the_settings_a_previous_run_left(tmp_path):
    stale = tmp_path / PYTEST_QGIS_SETTINGS / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    stale.parent.mkdir(parents=True)
    stale.write_text("[s2parity]\nauth_a=stale01\n")
    (tmp_path / "keep.txt").write_text("not settings")
    pytest_configure(SimpleNamespace(rootpath=tmp_path))
    assert not (tmp_path / PYTEST_QGIS_SETTINGS).exists()
    assert (tmp_path / "keep.txt").read_text() == "not settings"


def test_configure_without_settings_is_fine(tmp_path):
    pytest_configure(SimpleNamespace(rootpath=tmp_path))
    assert list(tmp_path.iterdir()) == []
