"""scripts/check_qt6.py: the Qt6 / QGIS 4 readiness check `make lint` runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_checker():
    spec = importlib.util.spec_from_file_location("check_qt6", REPO / "scripts" / "check_qt6.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_qt6"] = module
    spec.loader.exec_module(module)
    return module


check_qt6 = load_checker()


def assert_hints(got: list[tuple], *hints: str) -> None:
    """One finding per hint, in order, and finding i's message contains ``hints[i]``."""
    assert len(got) == len(hints), got
    for (_line, _code, message), hint in zip(got, hints):
        assert hint in message, message


@pytest.fixture(scope="module")
def table():
    return check_qt6.load_table()


def findings(source: str, table) -> list[tuple[int, str, str]]:
    return [(f.line, f.code, f.message) for f in check_qt6.check_source(Path("x.py"), source, table)]


def test_unscoped_qt_enums_are_found_with_the_scoped_name(table):
    source = (
        "from qgis.PyQt.QtCore import Qt\n"
        "label.setAlignment(Qt.AlignCenter)\n"
        "box.exec() == QMessageBox.Yes\n"
        "painter.setRenderHint(QPainter.Antialiasing)\n"
        "QtCore.Qt.RightDockWidgetArea\n"
        "label.setFrameShape(QLabel.NoFrame)\n"  # inherited from QFrame
    )
    got = findings(source, table)
    assert [(line, code) for line, code, _ in got] == [
        (2, "QT6001"),
        (3, "QT6001"),
        (4, "QT6001"),
        (5, "QT6001"),
        (6, "QT6001"),
    ]
    assert_hints(
        got,
        "use Qt.AlignmentFlag.AlignCenter",
        "use QMessageBox.StandardButton.Yes",
        "use QPainter.RenderHint.Antialiasing",
        "use QtCore.Qt.DockWidgetArea.RightDockWidgetArea",
        "use QLabel.Shape.NoFrame",
    )


def test_scoped_names_and_other_attributes_pass(table):
    source = (
        "Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignLeft\n"
        "QMessageBox.StandardButton.Yes\n"
        "Qt.DockWidgetArea\n"  # the enum type itself
        "QgsProject.instance()\n"
        "self.AlignCenter\n"  # not through a class name: out of reach, by design
        "dialog.exec()\n"
    )
    assert findings(source, table) == []


def test_qgis_enums_and_old_aliases(table):
    source = "QgsTask.Running\nQgis.Warning\nQgsWkbTypes.PolygonGeometry\nQgsProcessingParameterNumber.Double\n"
    got = findings(source, table)
    assert [code for _, code, _ in got] == ["QT6002", "QT6002", "QT6003", "QT6003"]
    assert_hints(
        got,
        "use QgsTask.TaskStatus.Running",
        "use Qgis.MessageLevel.Warning",
        'qgis_enum("Qgis.GeometryType.Polygon", "QgsWkbTypes.PolygonGeometry")',
        "Qgis.ProcessingNumberParameterType.Double",
    )
    assert "3.22" in got[2][2]


def test_pyqt5_only_idioms(table):
    source = (
        "from qgis.PyQt.QtWidgets import QAction, QLabel\n"
        "from PyQt5.QtCore import QTimer\n"
        "import PyQt5.QtGui\n"
        "dialog.exec_()\n"
        "try:\n"
        "    from qgis.PyQt.QtGui import QAction\n"
        "except ImportError:\n"
        "    from qgis.PyQt.QtWidgets import QAction\n"
    )
    got = findings(source, table)
    assert [(line, code) for line, code, _ in got] == [(1, "QT6005"), (2, "QT6006"), (3, "QT6006"), (4, "QT6004")]
    assert "QAction moved to QtGui in Qt6: import from s2parity_plugin.adapters.compat" in got[0][2]


def test_qvariant_types_and_classes_qt6_removed(table):
    source = (
        "from qgis.PyQt.QtCore import QRegExp, QVariant\n"
        "QgsField('name', QVariant.String)\n"
        "kinds = {'n': QtCore.QVariant.LongLong, 'd': QVariant.DateTime}\n"
        "QVariant.Type(10)\n"
        "QtCore.QRegExp('a+')\n"
        "QApplication.desktop().screenGeometry()\n"
        "from qgis.core import QgsMapLayerRegistry\n"
    )
    got = findings(source, table)
    assert [(line, code) for line, code, _ in got] == [
        (1, "QT6008"),
        (2, "QT6007"),
        (3, "QT6007"),
        (3, "QT6007"),
        (4, "QT6007"),
        (5, "QT6008"),
        (6, "QT6008"),
        (7, "QT6008"),
    ]
    assert "QRegExp is gone in Qt6 / QGIS 4: use QRegularExpression" in got[0][2]
    assert (
        "use FIELD_* or field_type() from s2parity_plugin.adapters.compat, elsewhere QMetaType.Type.QString"
        in (got[1][2])
    )
    assert got[3][2].endswith("elsewhere QMetaType.Type.QDateTime")
    assert "QApplication.desktop() is gone in Qt6" in got[6][2]
    assert "QgsProject.instance()" in got[7][2]


def test_qmetatype_and_other_qvariant_uses_pass(table):
    source = (
        "QgsField('name', QMetaType.Type.QString)\n"
        "value = QVariant()\n"  # a null QVariant: PyQt6 has the class
        "value.isNull()\n"
        "QtCore.QRegularExpression('a+')\n"
        "widget.screen().geometry()\n"
    )
    assert findings(source, table) == []


def test_pragma_skips_a_line(table):
    assert findings("Qt.AlignCenter  # qt6: ok\n", table) == []


def test_fix_rewrites_the_mechanical_cases_only(table):
    source = (
        "w.setAlignment(Qt.AlignRight | Qt.AlignVCenter)\n"
        "dialog.exec_()\n"
        "iface.messageBar().pushMessage('t', 'm', Qgis.Warning)\n"
        "layer.geometryType() == QgsWkbTypes.PolygonGeometry\n"
    )
    fixed = check_qt6.apply_fixes(source, check_qt6.check_source(Path("x.py"), source, table))
    assert fixed == (
        "w.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)\n"
        "dialog.exec()\n"
        "iface.messageBar().pushMessage('t', 'm', Qgis.MessageLevel.Warning)\n"
        "layer.geometryType() == QgsWkbTypes.PolygonGeometry\n"  # 3.22 lacks Qgis.GeometryType: not mechanical
    )
    assert [f.code for f in check_qt6.check_source(Path("x.py"), fixed, table)] == ["QT6003"]


def test_command_line_fix_and_exit_status(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("x = Qt.AlignCenter\n")
    script = str(REPO / "scripts" / "check_qt6.py")
    out = subprocess.run([sys.executable, script, str(bad)], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert out.stdout.strip() == (
        f"{bad}:1:5: QT6001 unscoped Qt enum Qt.AlignCenter: use Qt.AlignmentFlag.AlignCenter "
        "(PyQt6 has no unscoped members) [fixable: --fix]"
    )
    fixed = subprocess.run([sys.executable, script, "--fix", str(bad)], capture_output=True, text=True, check=False)
    assert fixed.returncode == 0, fixed.stdout
    assert bad.read_text() == "x = Qt.AlignmentFlag.AlignCenter\n"


def test_the_repository_is_clean():
    """What `make lint` runs: the plugin, scripts, tests and bench (less pyproject's [tool.check_qt6] exclude)."""
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "check_qt6.py")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
