"""Install, uninstall or try the S2 Parity plugin in a QGIS user profile.

``install``     unpack the built zip into ``<profile>/python/plugins/`` and enable it in ``QGIS/QGIS3.ini``.
``uninstall``   remove it again and drop the enable flag.
``run-desktop`` install into a throwaway profiles folder and start the QGIS desktop on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

PLUGIN = "s2parity_plugin"


def _settings(profile_dir: Path):
    # PyQt5 comes from Debian's python3-pyqt5 (the venv sees system site-packages).
    from qgis.PyQt.QtCore import QSettings

    ini = profile_dir / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(ini), QSettings.Format.IniFormat)


def install(zip_path: Path, profile_dir: Path) -> Path:
    """Unpack ``zip_path`` into ``profile_dir`` and enable the plugin; return the plugin folder."""
    plugins = profile_dir / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    target = plugins / PLUGIN
    if target.exists():
        shutil.rmtree(target)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    settings = _settings(profile_dir)
    settings.setValue(f"PythonPlugins/{PLUGIN}", True)
    settings.sync()
    return target


def uninstall(profile_dir: Path) -> None:
    """Remove the plugin folder and its enable flag from ``profile_dir``."""
    target = profile_dir / "python" / "plugins" / PLUGIN
    if target.exists():
        shutil.rmtree(target)
    settings = _settings(profile_dir)
    settings.remove(f"PythonPlugins/{PLUGIN}")
    settings.sync()


def prepare_profiles_root(zip_path: Path, root: Path) -> Path:
    """Make ``root`` a QGIS profiles folder whose default profile has the plugin enabled."""
    profile = root / "profiles" / "default"
    install(zip_path, profile)
    settings = _settings(profile)
    # Quiet first start: no version check, no tips or news feed.
    settings.setValue("qgis/checkVersion", False)
    settings.setValue("qgis/showTips322", False)
    settings.setValue("core/NewsFeed/httpsfeedqgisorg/disabled", True)
    settings.sync()
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["install", "uninstall", "run-desktop"])
    parser.add_argument("--zip", type=Path, help="plugin zip built by `make package`")
    parser.add_argument("--profile-dir", type=Path, help="QGIS profile folder (install/uninstall)")
    parser.add_argument("--code", type=Path, help="run-desktop: Python file QGIS runs at start-up")
    args = parser.parse_args()
    if args.action in ("install", "run-desktop") and not (args.zip and args.zip.is_file()):
        parser.error("--zip must name the zip built by `make package`")
    if args.action == "install":
        print(f"installed into {install(args.zip, args.profile_dir)}")
    elif args.action == "uninstall":
        uninstall(args.profile_dir)
        print(f"removed {PLUGIN} from {args.profile_dir}")
    else:
        root = Path(tempfile.mkdtemp(prefix="s2parity-profile-"))
        prepare_profiles_root(args.zip, root)
        cmd = ["qgis", "--profiles-path", str(root)]
        if args.code:
            cmd += ["--code", str(args.code.resolve())]
        if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
            print("No DISPLAY: starting QGIS under xvfb-run", file=sys.stderr)
            cmd = ["xvfb-run", "-a", *cmd]
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        # Let the desktop see the dev venv's runtime packages (sentinelhub, mini-racer), not the source tree.
        env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
        sys.exit(subprocess.call(cmd, env=env))


if __name__ == "__main__":
    main()
