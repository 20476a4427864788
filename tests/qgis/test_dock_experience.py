"""The dock as a user meets it (issue 17): layout, first view, swipe, flicker, errors, names and persistence, project
life cycle, inspector, per-feature table, credentials. Runs against the offline sample endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsApplication, QgsPointXY, QgsProject, QgsVectorLayer
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPointF, Qt
from qgis.PyQt.QtGui import QKeyEvent, QMouseEvent
from qgis.PyQt.QtWidgets import QScrollArea
from sample_pair_support import wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def compared(dock):
    """The dock after one successful seed run."""
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()
    return dock


def _checked(dock) -> dict[str, bool]:
    return {role: dock.group.findLayer(layer.id()).itemVisibilityChecked() for role, layer in dock.layers.items()}


def _mouse(canvas, kind: QEvent.Type, x: int, y: int) -> QgsMapMouseEvent:
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, QPointF(x, y), Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
    return QgsMapMouseEvent(canvas, event)


def _escape() -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier)


# -- 1. layout -----------------------------------------------------------------------------------------------------
def test_action_bar_sits_outside_the_scrolling_tabs_and_nothing_overflows(dock):
    from qgis.PyQt.QtWidgets import QLabel

    bar = dock.widget().findChild(object, "action_bar")
    assert bar is not None
    for widget in (dock.compare_button, dock.cancel_button, dock.progress, dock.status):
        assert bar.isAncestorOf(widget)
        parent = widget.parentWidget()
        while parent is not None:  # no scroll area between the button and the dock: always on screen
            assert not isinstance(parent, QScrollArea)
            parent = parent.parentWidget()
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())][:2] == ["Setup", "Results"]
    assert dock.compare_button.isDefault()
    assert dock.compare_shortcut.key().toString() == "Ctrl+Return"
    # Room for further views (Statistics, Archive): one line each.
    count = dock.tabs.count()
    assert dock.add_view(QLabel("extra"), "Extra") == count and dock.tabs.tabText(count) == "Extra"

    # At the dock's default width no tab needs more width than it has (no horizontal scrolling, no clipping).
    _assert_tabs_fit(dock)


def _assert_tabs_fit(dock) -> None:
    dock.setFloating(True)
    dock.resize(440, 900)
    dock.show()
    for index in (0, 1):
        dock.tabs.setCurrentIndex(index)
        QgsApplication.processEvents()
        scroll = dock.tabs.widget(index)
        assert isinstance(scroll, QScrollArea)
        assert scroll.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        need = scroll.widget().minimumSizeHint().width()
        assert need <= scroll.viewport().width(), f"tab {index} needs {need} px of {scroll.viewport().width()}"


def test_shortcut_runs_stages_show_and_results_come_into_view(dock):
    stages: list[str] = []
    real = dock._show_stage
    dock._show_stage = lambda stage: stages.append(stage) or real(stage)
    dock.tabs.setCurrentIndex(0)
    dock.compare_shortcut.activated.emit()  # Ctrl+Return
    assert dock.run is not None and dock.progress.format().startswith("Starting")
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()
    assert stages[0] == "Starting" and stages[-1] == "Comparing"
    assert stages.index("Authenticating and listing") < stages.index("Tile 1/1") < stages.index("Comparing")
    assert dock.tabs.currentIndex() == 1  # Results
    assert dock.progress.format() == "Done · %p%" and dock.progress.value() == 100
    _assert_tabs_fit(dock)  # with results (plots, tables) too


# -- 3. first view -------------------------------------------------------------------------------------------------
def test_unmasked_option_keeps_invalid_pixels_and_greys_them(dock):
    dock.form.mask_invalid.setChecked(False)
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    report = json.loads(Path(dock.last_results["OUTPUT_REPORT"]).read_text())
    diff = dock.layers["difference"]
    assert diff.name() == "Difference B − A (unmasked)"
    values = gdal.Open(diff.source()).ReadAsArray()
    assert np.isfinite(values).sum() > report["stats"]["n"]  # invalid-SCL pixels kept
    checked = _checked(dock)
    assert [r for r, on in checked.items() if on] == ["aoi_outline", "difference", "mismatch"]
    classes = {c.value: c.color.alpha() for c in dock.layers["mismatch"].renderer().classes()}
    assert classes[1] == 0 and classes[2] > 0  # valid in both: see-through; invalid in both: greyed


def test_first_view_zooms_to_the_difference(compared):
    canvas = compared.iface.mapCanvas()
    diff = compared.layers["difference"]
    from qgis.core import QgsCoordinateTransform

    extent = QgsCoordinateTransform(diff.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    assert canvas.extent().contains(extent.transformBoundingBox(diff.extent()).center())


# -- 2. swipe and flicker ------------------------------------------------------------------------------------------
def test_swipe_draws_b_right_of_a_draggable_divider_and_restores(compared):
    dock = compared
    canvas = dock.iface.mapCanvas()
    canvas.resize(400, 300)
    before = _checked(dock)
    assert dock.swipe_left.currentData() == "value_a" and dock.swipe_right.currentData() == "value_b"
    dock.swipe_button.setChecked(True)
    tool = dock.swipe_tool
    assert canvas.mapTool() is tool
    during = _checked(dock)
    assert during["value_a"] and not during["difference"] and not during["aoi_outline"]  # A uncovered
    tool.overlay.render()
    tool.overlay.wait()
    QgsApplication.processEvents()
    image = tool.overlay.image()
    assert image is not None and not image.isNull()
    assert image.pixelColor(image.width() // 2, image.height() // 2).alpha() == 255  # B drawn

    tool.canvasPressEvent(_mouse(canvas, QEvent.Type.MouseButtonPress, 100, 150))
    tool.canvasMoveEvent(_mouse(canvas, QEvent.Type.MouseMove, 300, 150))
    tool.canvasReleaseEvent(_mouse(canvas, QEvent.Type.MouseButtonRelease, 300, 150))
    assert tool.overlay.position == pytest.approx(300 / canvas.width())

    # Any two layers of the group: SCL A | SCL B
    dock.swipe_left.setCurrentIndex(dock.swipe_left.findData("scl_a"))
    dock.swipe_right.setCurrentIndex(dock.swipe_right.findData("scl_b"))
    assert tool.overlay.titles == ("SCL A", "SCL B") and _checked(dock)["scl_a"]

    tool.keyPressEvent(_escape())  # Esc leaves and restores
    assert canvas.mapTool() is not tool and not dock.swipe_button.isChecked()
    assert _checked(dock) == before


def test_swipe_survives_removed_layers_and_project_new(compared):
    dock = compared
    canvas = dock.iface.mapCanvas()
    dock.swipe_button.setChecked(True)
    QgsProject.instance().removeMapLayer(dock.layers["value_b"].id())
    assert canvas.mapTool() is not dock.swipe_tool and not dock.swipe_button.isChecked()
    assert dock.swipe_right.findData("value_b") == -1
    dock.swipe_right.setCurrentIndex(dock.swipe_right.findData("scl_b"))
    dock.swipe_button.setChecked(True)
    assert canvas.mapTool() is dock.swipe_tool
    QgsProject.instance().clear()  # Project › New
    assert canvas.mapTool() is not dock.swipe_tool and not dock.swipe_button.isEnabled()


def test_flicker_labels_frames_hides_the_difference_and_survives_project_new(compared):
    dock = compared
    before = _checked(dock)
    dock.flicker_button.setChecked(True)
    assert dock.flicker.is_running()
    during = _checked(dock)
    assert not during["difference"] and during["value_a"] != during["value_b"]
    assert dock.frame_label.text() == "A · Sample SH · N0214 · B04" and dock.frame_label.isVisible()
    dock.flicker.step()
    assert dock.frame_label.text() == "B · Sample CDSE · N0500 · B04"
    dock.flicker_button.setChecked(False)
    assert _checked(dock) == before and not dock.frame_label.isVisible()

    dock.flicker_button.setChecked(True)
    QgsProject.instance().clear()  # Project › New while flickering: no error, everything reset
    assert not dock.flicker.is_running() and not dock.flicker_button.isChecked()
    assert not dock.flicker_button.isEnabled() and dock.last_results is None and dock.layers == {}
    assert dock.tabs.currentIndex() == 0 and dock.results.findings == []


# -- 5. errors -----------------------------------------------------------------------------------------------------
def test_an_unknown_sentinelhub_profile_reaches_the_dock_once_and_the_log_as_text(dock):
    dock.form.endpoint_a.set_profile("sentinelhub")
    dock.form.endpoint_a.sh_profile.setText("no-such-profile-s2parity")
    logged: list[tuple[str, str]] = []
    QgsApplication.messageLog().messageReceived.connect(lambda message, tag, _level: logged.append((tag, message)))
    dock.compare_button.click()
    run = dock.run
    assert run is not None, dock.status.text()
    wait_for(lambda: dock.run is None)
    status = dock.status.text()
    assert "There were errors" not in status
    assert "'no-such-profile-s2parity' is neither a QGIS authentication configuration id" in status, status
    assert status.count("is neither a QGIS authentication configuration id") == 1
    QgsApplication.processEvents()
    # The Processing message log has the reason as text and no generic "There were errors…" line. (QGIS itself
    # logs a failure where the child algorithm's preparation fails and again where the parent fails: 2 lines.)
    reasons = [m for tag, m in logged if tag == "Processing" and "is neither a QGIS authentication" in m]
    assert 1 <= len(reasons) <= 2, logged
    assert not [m for _tag, m in logged if "There were errors" in m], logged


# -- 9. names and persistence --------------------------------------------------------------------------------------
def test_two_runs_get_distinct_names_and_a_reopened_project_reattaches(compared, tmp_path):
    dock = compared
    first = dock.group.name()
    dock.form.selected_only.setChecked(True)
    dock.form.aoi_layer.currentLayer().selectAll()
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    second = dock.group.name()
    assert second != first and second.endswith(" · selection") and second.startswith("S2 Parity · 2020-10-04 · B04")

    path = tmp_path / "project.qgz"
    assert QgsProject.instance().write(str(path))
    QgsProject.instance().clear()
    assert dock.last_results is None and not dock.export_button.isEnabled()
    assert QgsProject.instance().read(str(path))
    assert dock.group is not None and dock.group.name() == second
    assert set(dock.layers) >= {"difference", "value_a", "value_b", "scl_a", "scl_b"}
    assert dock.export_button.isEnabled() and dock.results.findings
    assert dock.status.text() == f"Re-attached to “{second}”."


# -- 10. inspector -------------------------------------------------------------------------------------------------
def test_inspector_follows_the_mouse_with_a_marker_and_tells_outside_from_no_data(compared):
    dock = compared
    canvas = dock.iface.mapCanvas()
    canvas.resize(400, 300)
    canvas.setExtent(canvas.mapSettings().fullExtent())
    dock.inspect_button.setChecked(True)
    tool = dock.inspector_tool
    assert canvas.mapTool() is tool
    centre = canvas.mapSettings().mapToPixel().transform(dock.layers["difference"].extent().center())
    x, y = int(centre.x()), int(centre.y())
    tool.canvasMoveEvent(_mouse(canvas, QEvent.Type.MouseMove, x, y))
    html = dock.results.inspector.text()
    assert "<b>B − A</b>" in html and "<b>SCL B</b>" in html
    assert tool.marker is not None and tool.marker.isVisible()
    from s2parity_plugin.gui.pixel_inspector import describe_pixel

    far = QgsPointXY(0, 0)  # far outside the seed rasters (any CRS)
    outside = tool.values(far, canvas.mapSettings().destinationCrs())
    assert describe_pixel(outside) == "Outside the rasters of this comparison."
    tool.keyPressEvent(_escape())
    assert canvas.mapTool() is not tool and not dock.inspect_button.isChecked() and not tool.marker.isVisible()


# -- 8. per-feature table ------------------------------------------------------------------------------------------
def test_feature_table_names_sorts_and_zooms(dock, tmp_path):
    from qgis.core import QgsFeature, QgsGeometry

    from s2parity_plugin.core.model.seed import SEED_BBOX_3035

    x0, y0, x1, y1 = SEED_BBOX_3035
    xm = (x0 + x1) / 2
    layer = QgsVectorLayer("Polygon?crs=EPSG:3035&field=name:string", "fields", "memory")
    for name, (a, b) in (("west", (x0, xm)), ("east", (xm, x1))):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name])
        feature.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({a} {y0},{b} {y0},{b} {y1},{a} {y1},{a} {y0}))"))
        layer.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(layer)
    dock.form.aoi_layer.setLayer(layer)
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    table = dock.results.features
    assert table.rowCount() == 2 and table.isSortingEnabled()
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:5] == ["Feature", "Pixels", "Mean A (DN)", "Mean B (DN)", "Mean B − A (DN)"]
    combo = dock.results.display_field
    combo.setCurrentIndex(combo.findData("name"))
    assert sorted(table.item(r, 0).text() for r in range(2)) == ["east", "west"]
    table.sortItems(1, Qt.SortOrder.DescendingOrder)
    pixels = [int(table.item(r, 1).text()) for r in range(2)]
    assert pixels == sorted(pixels, reverse=True)
    row = next(r for r in range(2) if table.item(r, 0).text() == "east")
    fid = table.item(row, 0).data(Qt.ItemDataRole.UserRole)
    table.cellClicked.emit(row, 0)
    assert layer.selectedFeatureIds() == [fid]
    import csv
    import io

    out = tmp_path / "features.csv"
    dock.save_features_csv(str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["name"] for r in rows] == [layer.getFeature(int(r["feature_id"]))["name"] for r in rows]
    assert sorted(r["name"] for r in rows) == ["east", "west"] and all(int(r["pixels"]) > 1000 for r in rows)
    assert dock.status.text() == f"Per-feature table saved to {out}."
    assert dock.iface.mapCanvas().extent().contains(layer.getFeature(fid).geometry().boundingBox().center())


# -- 4. credentials ------------------------------------------------------------------------------------------------
def test_credentials_dialog_names_fields_links_tests_and_stores(dock):
    from qgis.core import QgsAuthMethodConfig
    from qgis.PyQt.QtWidgets import QLabel

    from s2parity_plugin.gui.credentials_dialog import CredentialsDialog

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("s2parity-test-master", True)
    dialog = CredentialsDialog("cdse")
    labels = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Client id" in labels and "Client secret" in labels and "master password" in labels
    assert "https://shapps.dataspace.copernicus.eu/dashboard/#/account/settings" in labels
    assert dialog.findChild(object, "client_secret").echoMode() == dialog.secret.EchoMode.Password

    sample = CredentialsDialog("sample-cdse")
    from s2parity_plugin.sample_endpoints.profiles import ensure_sample_endpoints

    info = ensure_sample_endpoints()["cdse"]
    sample.client_id.setText(info["client_id"])
    sample.secret.setText("wrong-secret")
    sample.test_button.click()
    wait_for(lambda: sample._task is None)
    assert sample.test_result.text().startswith("Connection failed:") and "rejected" in sample.test_result.text()
    sample.secret.setText(info["client_secret"])
    sample.test_button.click()
    wait_for(lambda: sample._task is None)
    assert sample.test_result.text().startswith("Connected:"), sample.test_result.text()

    dialog.client_id.setText("my-client")
    dialog.secret.setText("my-secret")
    dialog.save()
    assert dialog.config_id and dialog.result() == dialog.DialogCode.Accepted
    config = QgsAuthMethodConfig()
    assert manager.loadAuthenticationConfig(dialog.config_id, config, True)
    assert (config.method(), config.config("username"), config.config("password")) == (
        "Basic",
        "my-client",
        "my-secret",
    )

    # the same configuration on both deployments: a warning
    form = dock.form
    form.endpoint_a.set_profile("sentinelhub")
    form.endpoint_b.set_profile("cdse")
    form.endpoint_a.auth.setConfigId(dialog.config_id)
    form.endpoint_b.auth.setConfigId(dialog.config_id)
    assert form.check_credentials() and not form.same_credentials.isHidden()
    form.endpoint_b.auth.setConfigId("")
    form.endpoint_b.sh_profile.setText("other")
    assert not form.check_credentials() and form.same_credentials.isHidden()
    manager.removeAuthenticationConfig(dialog.config_id)


# -- 12. processing dialogs ----------------------------------------------------------------------------------------
def test_processing_dialog_shows_date_preset_and_auth_widgets(qgis_processing, qgis_iface, monkeypatch):
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.gui import QgsAuthConfigSelect, QgsBrowserGuiModel
    from qgis.PyQt.QtWidgets import QComboBox, QDateEdit

    browser = QgsBrowserGuiModel()  # the mock iface lacks the one the dialog's file widgets use
    monkeypatch.setattr(type(qgis_iface), "browserModel", lambda _self: browser, raising=False)

    import s2parity_plugin

    plugin = s2parity_plugin.classFactory(None)
    plugin.initProcessing()
    alg = QgsApplication.processingRegistry().createAlgorithmById("s2parity:compareendpoints")
    dialog = AlgorithmDialog(alg, False, qgis_iface.mainWindow())
    try:
        wrappers = dialog.mainWidget().wrappers
        date = wrappers["DATE_FROM"].widget
        assert isinstance(date, QDateEdit)
        date.setDate(date.date().fromString("2021-03-05", "yyyy-MM-dd"))
        preset = wrappers["PRESET"].widget
        assert isinstance(preset, QComboBox) and preset.findData("NDVI") >= 0
        preset.setCurrentIndex(preset.findData("NDVI"))
        auth = wrappers["AUTH_A"].widget
        assert isinstance(auth.auth, QgsAuthConfigSelect)
        auth.profile.setText("my-profile")
        values = {name: wrappers[name].value() for name in ("DATE_FROM", "PRESET", "AUTH_A")}
        assert values == {"DATE_FROM": "2021-03-05", "PRESET": "NDVI", "AUTH_A": "my-profile"}
    finally:
        dialog.close()
        dialog.deleteLater()
        plugin.unload()


# -- 11. polish ----------------------------------------------------------------------------------------------------
def test_demo_gui_writes_its_aoi_into_the_output_folder_and_leaves_the_project_clean(dock, tmp_path):
    import importlib.util
    import tempfile

    spec = importlib.util.spec_from_file_location("demo_gui_startup", REPO / "scripts" / "demo_gui_startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.prepare(dock, dock.iface)
    assert path.parent == tmp_path / "runs" and path.is_file()
    assert not str(path).startswith(tempfile.gettempdir() + "/s2parity-demo")
    assert dock.form.aoi_layer.currentLayer().source().startswith(str(path))
    assert not QgsProject.instance().isDirty()


def test_help_tooltips_and_translatable_text(dock, monkeypatch):
    import ast

    from qgis.PyQt.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    dock.help_button.click()
    assert opened == ["https://github.com/s2parity/s2parity#using-the-dock"]
    form = dock.form
    for widget in (form.harmonize, form.mosaicking, form.shift_correct, form.mask_invalid):
        assert len(widget.toolTip()) > 40, widget.objectName()
    assert "cloud shadow" in form.mask_invalid.toolTip() and "BOA_ADD_OFFSET" in form.harmonize.toolTip()

    # No user-visible literal bypasses tr(): string constants passed straight to Qt text setters/constructors.
    setters = {"setText", "setToolTip", "setWindowTitle", "setPlaceholderText", "addTab", "addRow", "setFormat"}
    widgets = {"QLabel", "QPushButton", "QCheckBox", "QGroupBox", "QToolButton"}
    offenders = []
    for path in sorted((REPO / "s2parity_plugin" / "gui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):  # only its literal parts are text
                text = "".join(v.value for v in first.values if isinstance(v, ast.Constant))
            else:
                text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
            literal = any(c.isalpha() for c in text.replace("%p", "")) and not text.startswith("http")
            if (name in setters or name in widgets) and literal and not ast.unparse(first).startswith(("'<b>", '"<b>')):
                offenders.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:70]}")
    assert offenders == [], "\n".join(offenders)


# -- 6. acquisitions -----------------------------------------------------------------------------------------------
def _compare_range(dock, per_date: bool) -> None:
    """Compare 2020-10-01..2020-10-12 at 20 m (one run per date when ``per_date``) and wait for success."""
    from qgis.PyQt.QtCore import QDate

    form = dock.form
    form.use_range.setChecked(True)
    form.date_from.setDate(QDate(2020, 10, 1))
    form.date_to.setDate(QDate(2020, 10, 12))
    form.resolution.setValue(20.0)
    if per_date:
        assert form.per_date.isEnabled()
        form.per_date.setChecked(True)
        assert form.parameters()["PER_DATE"] is True
    dock.compare_button.click()
    wait_for(lambda: dock.run is None)
    assert dock.status.text().startswith("Done"), dock.status.text()


def test_acquisitions_listed_and_per_date_comparison_from_the_dock(dock):
    _compare_range(dock, per_date=True)
    dates = [dock.run_date.itemText(i) for i in range(dock.run_date.count())]
    assert len(dates) >= 2 and dates == sorted(dates) and not dock.run_date.isHidden()
    assert dock.group.name().startswith(f"S2 Parity · {dates[-1]} · B04")
    table = dock.results.acquisitions
    rows = [[table.item(r, c).text() for c in range(5)] for r in range(table.rowCount())]
    assert [r[0] for r in rows] == ["A", "B"] and all(r[1] == dates[-1] for r in rows)
    assert rows[0][2] == "02.14" and rows[1][2] == "05.00" and rows[0][4].startswith("S2")
    assert rows[0][3].endswith("%")

    dock.run_date.setCurrentIndex(0)
    dock.run_date.activated.emit(0)
    assert dock.group.name().startswith(f"S2 Parity · {dates[0]} · B04")
    assert Path(dock.last_results["OUTPUT_REPORT"]).parent.parent.name == dates[0]
    assert all(table.item(r, 1).text() == dates[0] for r in range(table.rowCount()))


def test_a_mosaicked_range_says_how_scenes_were_combined(dock):
    _compare_range(dock, per_date=False)
    table = dock.results.acquisitions
    sides = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert sides.count("A") >= 2 and sides.count("B") >= 2
    note = dock.results.acquisitions_note.text()
    assert note.startswith(f"A combined {sides.count('A')} and B {sides.count('B')} acquisitions") and "ORBIT" in note
    assert dock.run_date.isHidden()


# -- 10. export ----------------------------------------------------------------------------------------------------
def test_export_dialog_starts_in_the_run_folder_and_exports_what_is_ticked(compared):
    from s2parity_plugin.gui.export_dialog import ExportDialog

    dock = compared
    dialog = ExportDialog(dock.last_results, dock)
    run = Path(dock.last_results["RUN_FOLDER"])
    assert dialog.folder() == str(run / "export")
    assert dialog.kinds() == ["difference", "mismatch", "report"]
    for key in ("value_a", "scl_b", "difference", "mismatch"):
        dialog.checks[key].setChecked(key in ("value_a", "scl_b"))
    kinds = dialog.kinds()
    assert kinds == ["value_a", "scl_b", "report"]
    out = run / "export"
    dock.export_to(str(out), kinds=kinds)
    wait_for(lambda: dock.export_run is None)
    assert dock.status.text() == f"Exported to {out}.", dock.status.text()
    names = sorted(p.name for p in out.iterdir())
    assert "s2parity_a.tif" in names and "s2parity_a.qml" in names and "s2parity_scl_b.tif" in names
    assert "s2parity_report.html" in names and not [n for n in names if n.startswith("s2parity_difference")]
    assert "s2parity_b.tif" not in names and not [n for n in names if n.startswith("s2parity_scl_mismatch")]
    cog = gdal.Open(str(out / "s2parity_a.tif"))
    assert cog.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    src = gdal.Open(dock.last_results["VALUE_A"])
    assert np.array_equal(cog.ReadAsArray(), src.ReadAsArray())
    assert "<qgis" in (out / "s2parity_a.qml").read_text(encoding="utf-8")
