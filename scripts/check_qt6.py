"""Qt6 / QGIS 4 readiness check: fails on code that works on PyQt5 (QGIS 3) only.

Modelled on QGIS's own scripts/pyqt5_to_pyqt6 migration script: the enum names are not a hand-written list but
scripts/qt6_enums.json, built by introspecting PyQt6 and QGIS (scripts/qt6_enum_table.py). Findings, one line each
(``path:line:col: CODE message``):

- QT6001 unscoped Qt enum member (``Qt.AlignCenter``): PyQt6 only has ``Qt.AlignmentFlag.AlignCenter``, which
  PyQt5 also accepts. Fixed by ``--fix``.
- QT6002 unscoped QGIS enum member (``QgsTask.Running``): QGIS 4's bindings only have ``QgsTask.TaskStatus.Running``.
  Fixed by ``--fix`` when the scoped name also exists on QGIS 3.22.
- QT6003 old QGIS enum alias (``QgsWkbTypes.PolygonGeometry``) where a new name exists (``Qgis.GeometryType.Polygon``).
  Fixed by ``--fix`` when QGIS 3.22 has the new name; otherwise use
  ``s2parity_plugin.adapters.compat.qgis_enum("Qgis.GeometryType.Polygon", "QgsWkbTypes.PolygonGeometry")``.
- QT6004 ``exec_()``: PyQt6 has only ``exec()`` (PyQt5 has both). Fixed by ``--fix``.
- QT6005 ``QAction``/``QActionGroup``/``QShortcut`` imported from QtWidgets: Qt6 moved them to QtGui. Import them from
  ``s2parity_plugin.adapters.compat`` (allowed inside an ``except ImportError`` block).
- QT6006 ``PyQt5``/``PyQt6`` imported directly: import from ``qgis.PyQt``.
- QT6007 ``QVariant.String`` (any ``QVariant.Type`` member): PyQt6 has no ``QVariant.Type``; QGIS ≥ 3.38 takes
  ``QMetaType.Type.QString`` for a ``QgsField`` and 3.22 only the QVariant one: use ``FIELD_STRING`` … or
  ``field_type("QString")`` from ``s2parity_plugin.adapters.compat``.
- QT6008 a Qt5 class or call Qt6 removed (``QRegExp``, ``QDesktopWidget``, ``QTextCodec``, ``QMatrix``,
  ``QApplication.desktop()``, …) or QGIS 2's ``QgsMapLayerRegistry``.

Only references through the class name are seen (``QMessageBox.Yes``, ``QtCore.Qt.AlignLeft``), not through an
instance or a subclass of one's own (``self.Yes``). A line with a ``# qt6: ok`` comment is skipped.

Usage: ``python scripts/check_qt6.py [--fix] [PATH …]`` (default: the plugin, scripts, tests, bench, less the
files listed under ``[tool.check_qt6] exclude`` in pyproject.toml). Exit status 1 when findings remain.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE = Path(__file__).resolve().parent / "qt6_enums.json"
DEFAULT_PATHS = ("s2parity_plugin", "scripts", "tests", "bench")
SKIP_DIRS = {".venv", ".venv-qt6", "build", "dist", "__pycache__", ".git", ".qgis-settings"}
PRAGMA = "# qt6: ok"
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut"}
COMPAT = "s2parity_plugin.adapters.compat"
# PyQt5's QVariant.Type and its members; PyQt6 has none of them.
QVARIANT_TYPES = frozenset(
    (  # noqa: SIM905 (a word list)
        "BitArray Bitmap Bool Brush ByteArray Char Color Cursor Date DateTime Double EasingCurve Font Hash Icon Image "
        "Int Invalid KeySequence Line LineF List Locale LongLong Map Matrix Matrix4x4 ModelIndex Palette Pen "
        "PersistentModelIndex Pixmap Point PointF Polygon PolygonF Quaternion Rect RectF RegExp Region "
        "RegularExpression Size SizeF SizePolicy String StringList TextFormat TextLength Time Transform UInt "
        "ULongLong Url UserType Uuid Vector2D Vector3D Vector4D Type"
    ).split()
)
QMETATYPE_NAMES = {"String": "QString", "StringList": "QStringList", "Date": "QDate", "DateTime": "QDateTime"}
REMOVED_IN_QT6 = {
    "QRegExp": "QRegularExpression",
    "QRegExpValidator": "QRegularExpressionValidator",
    "QDesktopWidget": "QScreen (widget.screen(), QGuiApplication.primaryScreen())",
    "QTextCodec": "Python str/bytes (QTextCodec is in Qt5Compat only)",
    "QMatrix": "QTransform",
    "QGLWidget": "QOpenGLWidget",
    "QgsMapLayerRegistry": "QgsProject.instance()",
}
APPLICATIONS = {"QApplication", "QtWidgets.QApplication", "QgsApplication", "qApp"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    col: int
    code: str
    message: str
    old: str = ""  # exact source text to replace (fixable findings only), on ``line`` at ``col``
    new: str = ""

    def __str__(self) -> str:
        fix = "" if not self.new else " [fixable: --fix]"
        return f"{self.path}:{self.line}:{self.col + 1}: {self.code} {self.message}{fix}"


class Table:
    """Lookups in scripts/qt6_enums.json, following base classes for inherited members."""

    def __init__(self, data: dict) -> None:
        self.qt = data.get("qt", {})
        self.qgis = data.get("qgis", {})
        self.aliases = data.get("qgis_aliases", {})
        self.bases = {**data.get("qt_bases", {}), **data.get("qgis_bases", {})}
        self.missing_in_oldest = set(data.get("missing_in_oldest", []))
        self.oldest = data.get("qgis_oldest_version", "the oldest supported QGIS")

    def _lookup(self, table: dict, cls: str, member: str, seen: frozenset = frozenset()) -> tuple[str, str] | None:
        """(class defining it, value) for ``cls.member`` in ``table``, looking through base classes."""
        if member in table.get(cls, {}):
            return cls, table[cls][member]
        for base in self.bases.get(cls, []):
            if base not in seen and base != cls:
                found = self._lookup(table, base, member, seen | {cls})
                if found:
                    return found
        return None

    def qt_enum(self, cls: str, member: str) -> str | None:
        found = self._lookup(self.qt, cls, member)
        return found[1] if found else None

    def qgis_enum(self, cls: str, member: str) -> str | None:
        found = self._lookup(self.qgis, cls, member)
        return found[1] if found else None

    def qgis_alias(self, cls: str, member: str) -> str | None:
        found = self._lookup(self.aliases, cls, member)
        return found[1] if found else None


def dotted(node: ast.AST) -> str | None:
    """``QtCore.Qt`` for an attribute chain of plain names, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class Checker(ast.NodeVisitor):
    def __init__(self, path: Path, source: str, table: Table) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.table = table
        self.findings: list[Finding] = []
        self._in_import_error_handler = 0

    def add(self, node: ast.AST, code: str, message: str, old: str = "", new: str = "") -> None:
        line = node.lineno
        if line <= len(self.lines) and PRAGMA in self.lines[line - 1]:
            return
        self.findings.append(Finding(self.path, line, node.col_offset, code, message, old, new))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        owner = dotted(node.value)
        if owner:
            self._check_member(node, owner, node.attr)
        self.generic_visit(node)

    def _check_member(self, node: ast.Attribute, owner: str, member: str) -> None:
        cls = owner.rsplit(".", 1)[-1]
        written = f"{owner}.{member}"
        if member in REMOVED_IN_QT6 and owner.rsplit(".", 1)[-1] in (
            "QtCore",
            "QtGui",
            "QtWidgets",
            "QtOpenGL",
            "core",
        ):
            self.add(node, "QT6008", f"{written} is gone in Qt6 / QGIS 4: use {REMOVED_IN_QT6[member]}")
            return
        if not cls.startswith("Q") or not member[:1].isupper():
            return
        if cls == "QVariant" and member in QVARIANT_TYPES:
            meta = "QMetaType.Type" + (f".{QMETATYPE_NAMES.get(member, member)}" if member != "Type" else "")
            self.add(
                node,
                "QT6007",
                f"{written}: PyQt6 has no QVariant.Type; for a QgsField use FIELD_* or field_type() from {COMPAT}, "
                f"elsewhere {meta}",
            )
            return
        alias = self.table.qgis_alias(cls, member) if cls.startswith("Qgs") or cls == "Qgis" else None
        if alias:
            if alias in self.table.missing_in_oldest:
                helper = f'qgis_enum("{alias}", "{cls}.{member}") from {COMPAT}'
                self.add(
                    node,
                    "QT6003",
                    f"{written} is an old QGIS alias of {alias}, which {self.table.oldest} lacks: use {helper}",
                )
            else:
                prefix = owner[: -len(cls)]
                self.add(
                    node, "QT6003", f"{written} is an old QGIS alias: use {prefix}{alias}", written, prefix + alias
                )
            return
        qgis_enum = self.table.qgis_enum(cls, member) if cls.startswith("Qgs") or cls == "Qgis" else None
        if qgis_enum:
            scoped = f"{owner}.{qgis_enum}.{member}"
            if f"{cls}.{qgis_enum}.{member}" in self.table.missing_in_oldest:
                self.add(node, "QT6002", f"unscoped QGIS enum {written}: QGIS 4 needs {scoped}")
            else:
                self.add(node, "QT6002", f"unscoped QGIS enum {written}: use {scoped}", written, scoped)
            return
        qt_enum = self.table.qt_enum(cls, member)
        if qt_enum is None:
            return
        if "|" in qt_enum:
            choices = " or ".join(f"{owner}.{e}.{member}" for e in qt_enum.split("|"))
            self.add(node, "QT6001", f"unscoped Qt enum {written}: PyQt6 needs {choices}")
        else:
            scoped = f"{owner}.{qt_enum}.{member}"
            self.add(
                node,
                "QT6001",
                f"unscoped Qt enum {written}: use {scoped} (PyQt6 has no unscoped members)",
                written,
                scoped,
            )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "exec_":
            owner = dotted(func.value)
            fix = (f"{owner}.exec_", f"{owner}.exec") if owner else ("", "")
            self.add(func, "QT6004", "exec_() is PyQt5-only: use exec()", *fix)
        if isinstance(func, ast.Attribute) and func.attr == "desktop" and dotted(func.value) in APPLICATIONS:
            self.add(
                func, "QT6008", f"{dotted(func.value)}.desktop() is gone in Qt6: use {REMOVED_IN_QT6['QDesktopWidget']}"
            )
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        for child in node.body + node.orelse + node.finalbody:
            self.visit(child)
        for handler in node.handlers:
            catches_import_error = handler.type is not None and "ImportError" in ast.dump(handler.type)
            self._in_import_error_handler += catches_import_error
            self.visit(handler)
            self._in_import_error_handler -= catches_import_error

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in ("PyQt5", "PyQt6"):
            self.add(node, "QT6006", f"import from qgis.PyQt, not {module} (QGIS picks the Qt binding)")
        for alias in node.names:
            if alias.name in REMOVED_IN_QT6:
                self.add(node, "QT6008", f"{alias.name} is gone in Qt6 / QGIS 4: use {REMOVED_IN_QT6[alias.name]}")
        if module.endswith("QtWidgets") and not self._in_import_error_handler:
            moved = sorted(MOVED_TO_QTGUI & {alias.name for alias in node.names})
            if moved:
                self.add(node, "QT6005", f"{', '.join(moved)} moved to QtGui in Qt6: import from {COMPAT}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in ("PyQt5", "PyQt6"):
                self.add(node, "QT6006", f"import from qgis.PyQt, not {alias.name} (QGIS picks the Qt binding)")


def python_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.py")) if not SKIP_DIRS & set(p.relative_to(path).parts))
    return files


def check_source(path: Path, source: str, table: Table) -> list[Finding]:
    checker = Checker(path, source, table)
    checker.visit(ast.parse(source, str(path)))
    return sorted(checker.findings, key=lambda f: (f.line, f.col))


def apply_fixes(source: str, findings: list[Finding]) -> str:
    """Replace each fixable finding's text at its position, right to left on each line."""
    lines = source.splitlines(keepends=True)
    for finding in sorted((f for f in findings if f.new), key=lambda f: (f.line, f.col), reverse=True):
        text = lines[finding.line - 1]
        if text[finding.col : finding.col + len(finding.old)] == finding.old:
            lines[finding.line - 1] = text[: finding.col] + finding.new + text[finding.col + len(finding.old) :]
    return "".join(lines)


def excluded() -> set[Path]:
    """Files pyproject.toml's ``[tool.check_qt6] exclude`` keeps out of the default run (globs, repo-relative)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config.get("tool", {}).get("check_qt6", {}).get("exclude", [])
    return {path for pattern in patterns for path in REPO.glob(pattern)}


def load_table() -> Table:
    return Table(json.loads(TABLE.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: %(default)s)")
    parser.add_argument("--fix", action="store_true", help="rewrite the fixable findings in place")
    args = parser.parse_args(argv)
    table = load_table()
    skip = set() if args.paths else excluded()
    files = [path for path in python_files(args.paths or [REPO / p for p in DEFAULT_PATHS]) if path not in skip]
    remaining = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        findings = check_source(path, source, table)
        if args.fix and any(f.new for f in findings):
            source = apply_fixes(source, findings)
            path.write_text(source, encoding="utf-8")
            findings = check_source(path, source, table)
        for finding in findings:
            print(finding)
        remaining += len(findings)
    if remaining:
        print(f"check_qt6: {remaining} finding(s); see scripts/check_qt6.py for what each code means", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
