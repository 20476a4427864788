"""The missing-dependency panel of the dock: Install runs pip in a background task, shows progress and the
result, and the dock then shows the comparison form. Offline: local wheels (tests/wheels.py), no internet."""

from __future__ import annotations

import sys
import time

import pytest
from qgis.core import Qgis, QgsApplication, QgsSettings

import s2parity_plugin
from s2parity_plugin import dependencies
from s2parity_plugin.gui.dock import S2ParityDock
from s2parity_plugin.gui.install_dependencies import MissingDependencyPanel
from s2parity_plugin.plugin import EXTRAS_NOTE_KEY
from tests.wheels import offline_pip_args, write_test_wheels

TIMEOUT_S = 120


@pytest.fixture
def clean_path(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in ("s2pfake", "s2pfakedep"):
        sys.modules.pop(name, None)


def _wait(condition) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "the install task did not finish"
        QgsApplication.processEvents()
        time.sleep(0.02)


def _offline(panel: MissingDependencyPanel, tmp_path) -> None:
    panel.pip_args = tuple(offline_pip_args(write_test_wheels(tmp_path / "wheels")))
    panel.python = sys.executable


def test_install_button_installs_and_the_dock_shows_the_form(iface, tmp_path, monkeypatch, clean_path):
    monkeypatch.setattr(dependencies, "RUNTIME_PACKAGES", {"s2pfake": "s2pfake"})
    monkeypatch.setattr("s2parity_plugin.gui.install_dependencies.plugin_packages_prefix", lambda: tmp_path / "pkgs")
    dock = S2ParityDock(iface)
    try:
        panel = dock.blocker
        assert isinstance(panel, MissingDependencyPanel) and dock.form is None
        assert panel.install_button.text() == "Install s2pfake"
        assert f'--prefix "{tmp_path / "pkgs"}" s2pfake' in panel.manual.text()
        _offline(panel, tmp_path)
        seen: list[int] = []
        panel.progress.valueChanged.connect(seen.append)
        panel.install_button.click()
        assert not panel.install_button.isEnabled() and panel.progress.isVisibleTo(panel)
        _wait(lambda: dock.form is not None)
        assert dock.blocker is None
        result = dock.findChild(type(panel.status), "install_result")
        assert result.text().startswith("Installed s2pfake into ") and str(tmp_path / "pkgs") in result.text()
        assert seen and seen[-1] == 100 and seen == sorted(seen)
        import s2pfake

        assert str(tmp_path / "pkgs") in s2pfake.__file__
    finally:
        dock.shutdown()
        dock.setParent(None)
        dock.deleteLater()
        QgsApplication.processEvents()


def test_failed_install_says_why_and_can_be_retried(iface, tmp_path, monkeypatch, clean_path):
    monkeypatch.setattr(dependencies, "RUNTIME_PACKAGES", {"s2pfakenew": "s2pfakenew"})
    panel = MissingDependencyPanel(prefix=tmp_path / "pkgs")
    _offline(panel, tmp_path)
    panel.start()
    _wait(lambda: panel.task is None)
    assert panel.status.text().startswith("Installing s2pfakenew failed: ERROR:")
    assert panel.install_button.isEnabled() and not panel.progress.isVisibleTo(panel)
    assert "c0392b" in panel.status.styleSheet()


def test_extras_note_shown_once_without_blocking(iface, monkeypatch):
    absent = dependencies.Extra("s2p_absent_extra", "absent-extra", "", "something faster")
    monkeypatch.setattr(dependencies, "EXTRAS", (absent,))
    QgsSettings().remove(EXTRAS_NOTE_KEY)
    infos = iface.messageBar().get_messages(Qgis.MessageLevel.Info)
    for _ in range(2):
        before = len(infos)
        plugin = s2parity_plugin.classFactory(iface)
        plugin.initGui()
        plugin.unload()
        new = infos[before:]
    assert new == []  # the second start says nothing
    assert any("absent-extra: something faster" in m for m in infos)
    QgsSettings().remove(EXTRAS_NOTE_KEY)
