"""Small constructors for the named widgets of the dock's forms: every widget gets an object name (tests and the
e2e scripts find widgets by it) and, where it helps, a tooltip, in one call."""

from __future__ import annotations

from typing import TypeVar

from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QPushButton, QWidget

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, tip: str | None = None) -> W:
    """``widget`` with object name ``name`` and, when given, tooltip ``tip``."""
    widget.setObjectName(name)
    if tip:
        widget.setToolTip(tip)
    return widget


def checkbox(text: str, name: str, tip: str | None = None, *, checked: bool = False) -> QCheckBox:
    """A check box with object name ``name``, tooltip ``tip`` and initial state ``checked``."""
    box = named(QCheckBox(text), name, tip)
    box.setChecked(checked)
    return box


def combo(name: str, items: list[tuple[str, object]]) -> QComboBox:
    """A combo box with object name ``name`` and ``(label, data)`` items."""
    box = named(QComboBox(), name)
    for label, data in items:
        box.addItem(label, data)
    return box


def button(text: str, name: str, tip: str | None = None, *, checkable: bool = False) -> QPushButton:
    """A push button with object name ``name`` and tooltip ``tip``; ``checkable`` for tools that stay on."""
    push = named(QPushButton(text), name, tip)
    push.setCheckable(checkable)
    return push
