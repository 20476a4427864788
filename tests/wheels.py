"""Minimal pure-Python wheels for testing the one-step install offline (pip --no-index --find-links)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import numpy


def write_wheel(folder: Path, name: str, requires: list[str]) -> Path:
    """A minimal pure-Python wheel ``name``-1.0 with ``Requires-Dist`` lines ``requires``."""
    files = {
        f"{name}/__init__.py": f"NAME = {name!r}\n",
        f"{name}-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: {}\nVersion: 1.0\n{}".format(
            name, "".join(f"Requires-Dist: {r}\n" for r in requires)
        ),
        f"{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: s2parity-test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-1.0.dist-info/RECORD,,")
    files[f"{name}-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def write_test_wheels(folder: Path) -> Path:
    """``s2pfake`` (needs numpy, which the interpreter has, and ``s2pfakedep``), ``s2pfakedep``, and
    ``s2pfakenew`` (needs a numpy newer than the installed one: cannot be installed without replacing it)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_wheel(folder, "s2pfake", ["numpy>=1.0", "s2pfakedep"])
    write_wheel(folder, "s2pfakedep", [])
    write_wheel(folder, "s2pfakenew", [f"numpy>{numpy.__version__}"])
    return folder


def offline_pip_args(folder: Path) -> list[str]:
    """pip arguments that install only from the wheels in ``folder``."""
    return ["--no-index", "--find-links", str(folder)]
