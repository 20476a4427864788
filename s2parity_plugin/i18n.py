"""User-visible text goes through :func:`tr` so Qt Linguist can translate it (context ``S2Parity``)."""

from __future__ import annotations

from qgis.PyQt.QtCore import QCoreApplication

CONTEXT = "S2Parity"


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Translate ``text`` in the plugin's context; returns it unchanged when no translation is installed."""
    return QCoreApplication.translate(CONTEXT, text, disambiguation, n)
