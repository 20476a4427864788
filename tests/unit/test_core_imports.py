"""The core stays QGIS-free and extra-free: no module of ``s2parity_plugin.core`` imports QGIS, Qt, the GUI, the
Processing or adapter layers, or the optional sample endpoints — at import time or lazily inside a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "s2parity_plugin" / "core"
FORBIDDEN = (
    "qgis",
    "PyQt5",
    "PyQt6",
    "s2parity_plugin.sample_endpoints",
    "s2parity_plugin.gui",
    "s2parity_plugin.processing",
    "s2parity_plugin.adapters",
    "s2parity_plugin.i18n",
    "s2parity_plugin.plugin",
)


def _imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports, anywhere in the file (relative imports resolved)."""
    package = ".".join(path.relative_to(CORE.parent.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_no_core_source_imports_qgis_gui_or_sample_endpoints():
    bad = {
        str(path.relative_to(CORE)): hits
        for path in sorted(CORE.rglob("*.py"))
        if (hits := sorted({n for n in _imports(path) if _forbidden(n)}))
    }
    assert bad == {}


def test_the_walk_sees_lazy_imports(monkeypatch):
    """The check above would catch a lazy import inside a function (as core once imported the sample pair)."""
    fake = CORE / "_probe_for_test.py"
    source = "def f():\n    from s2parity_plugin.sample_endpoints import profiles\n    from ..gui import dock\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert [n for n in _imports(fake) if _forbidden(n)] == [
        "s2parity_plugin.sample_endpoints",
        "s2parity_plugin.sample_endpoints.profiles",
        "s2parity_plugin.gui",
        "s2parity_plugin.gui.dock",
    ]


def test_importing_every_core_module_loads_no_qgis_or_extra():
    code = (
        "import sys, pkgutil, importlib, s2parity_plugin.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 's2parity_plugin.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r})]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_compiled_kernel_modules_do_not_import_the_engine_back():
    """The engine imports the kernel; the warm-up that runs a comparison lives in ``compare/warmup.py``: no cycle."""
    engine = "s2parity_plugin.core.compare.engine"
    for module in ("kernel.py", "kernel_numba.py", "stats.py"):
        names = _imports(CORE / "compare" / module)
        assert not [n for n in names if n == engine or n.startswith(engine + ".")], module
        # the package's public API re-exports the engine: importing a name from the package imports the engine
        public = [n for n in names if n.startswith("s2parity_plugin.core.compare.") and n.count(".") == 4]
        assert all((CORE / "compare" / (n.rsplit(".", 1)[1] + ".py")).exists() for n in public), module


def test_every_core_package_says_what_it_is_for():
    packages = sorted(p.parent for p in CORE.rglob("__init__.py") if "__pycache__" not in p.parts)
    assert {p.name for p in packages} >= {"core", "model", "service", "fetch", "compare", "diagnosis", "report"}
    for package in packages:
        tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{package.name}/__init__.py has no docstring"
