"""S2 Parity's Qt code under PyQt6 (QGIS 4's binding), without QGIS 4: tests/qt6/pyqt6_gui_probe.py imports the
modules and builds the widgets with PyQt6 from pip (<venv>-qt6, made by scripts/bootstrap.sh) and stand-ins for
qgis.core / qgis.gui. See the probe's docstring for what this does and does not prove."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.prefix + "-qt6") / "bin" / "python"  # bootstrap makes <venv>-qt6 beside the test venv
PROBE = REPO / "tests" / "qt6" / "pyqt6_gui_probe.py"
MAX_CRASHES = 10

sys.path.insert(0, str(REPO / "scripts"))
from check_qt6 import excluded  # noqa: E402 (scripts/ is not a package)


def run_probe() -> dict[str, dict]:
    """{step: {"ok": bool, "error": str}}; a step during which the process crashed has ok False, error "crashed",
    and the probe runs again without it."""
    steps: dict[str, dict] = {}
    crashed: list[str] = []
    for _ in range(MAX_CRASHES):
        out = subprocess.run([str(PYTHON), str(PROBE), *crashed], capture_output=True, text=True, timeout=300)
        started = last = None
        for line in out.stdout.splitlines():
            record = json.loads(line)
            if "starting" in record:
                started = record["starting"]
            else:
                steps[record["step"]] = last = record
                started = None
        if out.returncode == 0:
            return steps
        if started is None and last is not None and not last["ok"]:
            started = last["step"]  # Qt crashed cleaning up after that failure (a painter left active)
        if started is None:
            pytest.fail(f"the probe failed outside any step (exit {out.returncode}):\n{out.stderr[-3000:]}")
        if steps.get(started, {}).get("ok") is not False:
            steps[started] = {"step": started, "ok": False, "error": f"crashed (exit {out.returncode})"}
        crashed.append(started)
    pytest.fail(f"the probe crashed {MAX_CRASHES} times: {crashed}")


@pytest.fixture(scope="module")
def steps() -> dict[str, dict]:
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: run `make setup` (scripts/bootstrap.sh makes it)")
    return run_probe()


def _module_file(step: str) -> Path:
    dotted = step.split(" ", 1)[1]
    parts = dotted.split(".")
    while parts:
        candidate = REPO.joinpath(*parts).with_suffix(".py")
        if candidate.exists():
            return candidate
        parts.pop()
    raise AssertionError(f"no file for {step}")


def _failures(steps: dict[str, dict], pending: bool) -> list[str]:
    skipped = excluded()
    return [
        f"{name}: {record['error'].strip().splitlines()[-1]}"
        for name, record in sorted(steps.items())
        if not record["ok"] and (_module_file(name) in skipped) == pending
    ]


def test_every_module_imports_and_every_widget_builds(steps):
    assert "import s2parity_plugin.plugin" in steps
    assert any(name.startswith("build s2parity_plugin.gui.dock.") for name in steps)
    # Processing algorithms set their output field types at import (PyQt6 has no QVariant.String).
    assert "import s2parity_plugin.processing.compare_catalogs" in steps
    assert "import s2parity_plugin.processing.compare_statistics" in steps
    assert _failures(steps, pending=False) == []


def test_gui_branch_files_under_pyqt6(steps):
    """The files pyproject.toml's [tool.check_qt6] exclude names are being rewritten on the GUI branch; until the
    exclusion is removed their PyQt6 failures are expected (listed in the xfail reason)."""
    pending = _failures(steps, pending=True)
    if pending:
        pytest.xfail("; ".join(pending))
