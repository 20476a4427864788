"""The plugin's own package folder in the QGIS profile (``<profile>/python/s2parity_packages/py3.x``).

The Install button puts ``sentinelhub`` (and what it needs that QGIS lacks) there; :func:`activate` appends it to
``sys.path`` when the plugin loads (``classFactory``: desktop and ``qgis_process``), after QGIS's own packages.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication

from s2parity_plugin import dependencies


def plugin_packages_prefix() -> Path:
    """The pip ``--prefix`` folder for this QGIS profile and Python version."""
    return dependencies.packages_dir(Path(QgsApplication.qgisSettingsDirPath()) / "python")


def activate() -> Path | None:
    """Put the folder's packages on ``sys.path`` (if anything was installed there); returns the site folder."""
    return dependencies.activate_packages_dir(plugin_packages_prefix())
