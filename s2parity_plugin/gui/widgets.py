"""Small constructors for the named widgets of the dock's forms: every widget gets an object name (tests and the
e2e scripts find widgets by it) and, where it helps, a tooltip, in one call."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QPushButton


def checkbox(text: str, name: str, tip: str | None = None, *, checked: bool = False) -> QCheckBox:
    """A check box with object name ``name``, tooltip ``tip`` and initial state ``checked``."""
    box = QCheckBox(text)
    box.setObjectName(name)
    box.setChecked(checked)
    if tip:
        box.setToolTip(tip)
    return box


def combo(name: str, items: list[tuple[str, object]]) -> QComboBox:
    """A combo box with object name ``name`` and ``(label, data)`` items."""
    box = QComboBox()
    box.setObjectName(name)
    for label, data in items:
        box.addItem(label, data)
    return box


def button(text: str, name: str, tip: str | None = None, *, checkable: bool = False) -> QPushButton:
    """A push button with object name ``name`` and tooltip ``tip``; ``checkable`` for tools that stay on."""
    push = QPushButton(text)
    push.setObjectName(name)
    push.setCheckable(checkable)
    if tip:
        push.setToolTip(tip)
    return push
