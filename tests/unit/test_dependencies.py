"""Dependency check, the fix command it prints, and the one-step install (QGIS-free, offline: local wheels)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from s2parity_plugin import dependencies
from tests.wheels import offline_pip_args, write_test_wheels

SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian 12's: externally managed (PEP 668), has pip


def test_only_sentinelhub_is_required():
    assert dependencies.RUNTIME_PACKAGES == {"sentinelhub": "sentinelhub"}
    assert dependencies.missing_packages() == []
    assert dependencies.missing_dependencies_message() is None
    assert {e.module for e in dependencies.EXTRAS} == {"scipy", "numba", "py_mini_racer"}


def test_missing_package_named_with_platform_command(monkeypatch, tmp_path):
    monkeypatch.setitem(dependencies.RUNTIME_PACKAGES, "s2parity_no_such_module", "no-such-pkg")
    prefix = tmp_path / "pkgs"
    msg = dependencies.missing_dependencies_message(platform="linux", prefix=prefix)
    assert f'python3 -m pip install --prefix "{prefix}" no-such-pkg "numpy=={numpy.__version__}"' in msg
    win = dependencies.missing_dependencies_message(platform="win32", prefix=prefix)
    assert f'OSGeo4W Shell: python -m pip install --prefix "{prefix}" no-such-pkg' in win
    mac = dependencies.missing_dependencies_message(platform="darwin")
    assert mac.count("/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install no-such-pkg") == 1


def test_extras_note_names_what_each_missing_extra_adds(monkeypatch):
    absent = dependencies.Extra("s2p_absent", "absent", "", "X")
    monkeypatch.setattr(dependencies, "EXTRAS", (*dependencies.EXTRAS, absent))
    assert [e.module for e in dependencies.missing_extras()] == ["s2p_absent"]
    assert dependencies.extras_note() == ("Optional packages not installed (everything works without them): absent: X.")
    assert dependencies.extras_note([]) is None


def test_packages_dir_is_per_python_version(tmp_path):
    assert dependencies.packages_dir(tmp_path, (3, 11)) == tmp_path / "s2parity_packages" / "py3.11"


def test_installed_pins_pin_the_running_numpy():
    assert f"numpy=={numpy.__version__}" in dependencies.installed_pins()


# -- one-step install, offline: wheels written here, pip with --no-index --find-links --------------------------------


@pytest.fixture
def wheels(tmp_path) -> Path:
    return write_test_wheels(tmp_path / "wheels")


def externally_managed(python: str) -> bool:
    """Whether ``python`` carries PEP 668's marker: EXTERNALLY-MANAGED in its own stdlib folder (python3.11 on
    Debian 12, 3.13 on Debian 13, …)."""
    code = "import sysconfig; print(sysconfig.get_path('stdlib'))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return out.returncode == 0 and (Path(out.stdout.strip()) / "EXTERNALLY-MANAGED").is_file()


@pytest.fixture
def clean_path(monkeypatch):
    """Undo the install's ``sys.path`` activation after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.mark.parametrize("python", [sys.executable, str(SYSTEM_PYTHON)], ids=["venv", "pep668-system"])
def test_install_puts_only_missing_packages_in_the_plugin_folder(python, wheels, tmp_path, monkeypatch, clean_path):
    if not Path(python).is_file() or subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip(f"{python} has no pip")
    if python == str(SYSTEM_PYTHON) and not externally_managed(python):
        pytest.skip("the system Python is not marked externally managed")
    monkeypatch.setitem(dependencies.RUNTIME_PACKAGES, "s2pfake", "s2pfake")
    lines: list[str] = []
    prefix = tmp_path / "pkgs"
    result = dependencies.install_packages(
        prefix, ["s2pfake"], python=python, extra_pip_args=offline_pip_args(wheels), on_line=lines.append
    )
    assert result.ok, result.log
    assert result.site is not None and str(result.site) in sys.path
    installed = sorted(p.name for p in result.site.iterdir() if not p.name.endswith(".dist-info"))
    assert installed == ["s2pfake", "s2pfakedep"]  # numpy: the interpreter's own one is kept, not installed again
    assert any("Successfully installed" in line for line in lines)
    assert f"numpy=={numpy.__version__}" in (prefix / "constraints.txt").read_text().splitlines()
    import s2pfake

    assert Path(s2pfake.__file__).parent == result.site / "s2pfake"
    sys.modules.pop("s2pfake", None)


def test_install_never_replaces_a_package_the_interpreter_has(wheels, tmp_path, clean_path):
    """A package that would need a newer numpy fails clearly instead of upgrading QGIS's numpy."""
    result = dependencies.install_packages(
        tmp_path / "pkgs", ["s2pfakenew"], python=sys.executable, extra_pip_args=offline_pip_args(wheels)
    )
    assert not result.ok
    assert result.message.startswith("Installing s2pfakenew failed: ERROR:")
    site = dependencies.site_dir(tmp_path / "pkgs")
    assert site is None or not (site / "numpy").exists()


def test_install_reports_a_missing_pip_and_a_missing_python(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n")
    fake.chmod(0o755)
    result = dependencies.install_packages(tmp_path / "pkgs", ["sentinelhub"], python=str(fake))
    assert not result.ok and "sudo apt install python3-pip" in result.message
    result = dependencies.install_packages(tmp_path / "pkgs", ["x"], python=str(tmp_path / "none"))
    assert not result.ok and "Could not run" in result.message


def test_install_can_be_cancelled(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nwhile true; do echo working; sleep 0.05; done\n")
    fake.chmod(0o755)
    result = dependencies.install_packages(tmp_path / "pkgs", ["x"], python=str(fake), cancelled=lambda: True)
    assert not result.ok and result.message.startswith("Installation cancelled")


def test_activate_finds_the_site_folder_of_each_layout(tmp_path, clean_path):
    for layout in ("lib/python3.11/site-packages", "local/lib/python3.11/dist-packages", "Lib/site-packages"):
        prefix = tmp_path / layout.split("/")[0]
        (prefix / layout).mkdir(parents=True)
        assert dependencies.activate_packages_dir(prefix) == prefix / layout
        assert sys.path[-1] == str(prefix / layout)
    assert dependencies.activate_packages_dir(tmp_path / "nothing") is None
