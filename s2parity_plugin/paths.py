"""Where the plugin's files live, installed (resources inside the package) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The ``resources/`` folder: inside the installed plugin, else at the top of the source tree."""
    installed = PACKAGE_DIR / "resources"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "resources"


def icon_path(name: str = "s2parity.svg") -> str:
    """Absolute path of an icon in ``resources/icons``."""
    return str(resources_dir() / "icons" / name)


def metadata_path() -> Path:
    """``metadata.txt``: inside the installed plugin, else the top-level single source of truth."""
    installed = PACKAGE_DIR / "metadata.txt"
    return installed if installed.is_file() else PACKAGE_DIR.parent / "metadata.txt"
