"""Build ``dist/s2parity_plugin-<version>.zip``: one folder ``s2parity_plugin/`` holding the package,
the top-level ``metadata.txt`` (the single source of truth), ``LICENSE`` and ``resources/``."""

from __future__ import annotations

import argparse
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "s2parity_plugin"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache")


def build_tree(build_dir: Path) -> Path:
    """Assemble the installable plugin folder under ``build_dir`` and return its path."""
    target = build_dir / PLUGIN
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / PLUGIN, target, ignore=IGNORED)
    shutil.copy2(ROOT / "metadata.txt", target / "metadata.txt")
    shutil.copy2(ROOT / "LICENSE", target / "LICENSE")
    shutil.copytree(ROOT / "resources", target / "resources", ignore=IGNORED)
    return target


def build_zip(out: Path) -> Path:
    """Build the plugin zip at ``out`` (written to a temporary name, then renamed)."""
    tree = build_tree(ROOT / "build")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            zf.write(path, path.relative_to(tree.parent).as_posix())
    partial.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="zip file to write")
    args = parser.parse_args()
    print(build_zip(args.out.resolve()))


if __name__ == "__main__":
    main()
