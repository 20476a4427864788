"""The S2 Parity dock widget: Setup and Results tabs (further views are added with ``add_view``) above a fixed action
bar — Compare (default, Ctrl+Return), Cancel, Help, progress with the current stage, and the status line.

Compare runs the Processing algorithm ``s2parity:compareendpoints`` in a ``QgsProcessingAlgRunnerTask`` (the
same code path as ``qgis_process`` and the Processing toolbox); layers are added to the project only in the main
thread, when the task reports success. Export runs ``s2parity:exportcomparison`` the same way.

The dock follows the project: Project › New (``QgsProject.cleared``) resets it, and a project whose layer tree holds
an S2 Parity run group (see ``adapters.layers.RUN_PROPERTY``) re-attaches the dock to that run when it is read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.gui import QgsDockWidget
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices, QKeySequence
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.adapters.compat import QShortcut, attribute_text
from s2parity_plugin.dependencies import missing_packages
from s2parity_plugin.gui.flicker import Flicker
from s2parity_plugin.gui.install_dependencies import MissingDependencyPanel
from s2parity_plugin.gui.map_overlays import CanvasLabel, alive
from s2parity_plugin.gui.pixel_inspector import PixelInspectorTool
from s2parity_plugin.gui.swipe import SwipeTool
from s2parity_plugin.gui.widgets import button
from s2parity_plugin.i18n import tr

COMPARE_ALG = "s2parity:compareendpoints"
EXPORT_ALG = "s2parity:exportcomparison"
HELP_URL = "https://github.com/s2parity/s2parity#using-the-dock"
GENERIC_FAILURE = "There were errors executing the algorithm."
#: The dock's default (and minimum) width in pixels: the Setup tab fits it without a horizontal scrollbar.
DOCK_WIDTH_PX = 440
SETUP_TAB, RESULTS_TAB = 0, 1


def stage_of(message: str) -> str | None:
    """A short stage name for a progress message of the fetch/compare pipeline, or None if it names no stage."""
    tile = re.search(r"Tile (\d+)/(\d+)", message)
    if tile:
        return tr("Tile {0}/{1}").format(tile.group(1), tile.group(2))
    for needle, stage in (
        ("Authenticating", tr("Authenticating and listing")),
        ("listing", tr("Listing acquisitions")),
        ("Fetching the same request", tr("Starting")),
        ("Comparing", tr("Comparing")),
        ("Run folder written", tr("Fetched")),
    ):
        if needle in message:
            return stage
    return None


class RunFeedback(QgsProcessingFeedback):
    """Processing feedback that also keeps the errors the algorithm reported and announces stages (thread-safe:
    the signal is queued to the dock's thread)."""

    stage_changed = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802,N803 (QGIS API)
        """Keep each distinct reason once for the dock. Not passed on: QGIS already writes every algorithm failure to
        the Processing message log itself, and its generic "There were errors…" adds nothing."""
        if error and error not in self.errors and GENERIC_FAILURE not in error:
            self.errors.append(error)

    def setProgressText(self, text: str) -> None:  # noqa: N802 (QGIS API)
        super().setProgressText(text)
        self._announce(text)

    def pushInfo(self, info: str) -> None:  # noqa: N802 (QGIS API)
        super().pushInfo(info)
        self._announce(info)

    def _announce(self, text: str) -> None:
        stage = stage_of(text)
        if stage:
            self.stage_changed.emit(stage)


class ProcessingRun:
    """One algorithm run in a background task. Keeps the context/feedback alive until the task reports."""

    def __init__(self, alg_id: str, params: dict, on_done, on_progress=None, on_stage=None) -> None:
        self.alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
        if self.alg is None:
            raise RuntimeError(
                tr("Processing algorithm {0} is not registered: re-enable the S2 Parity plugin.").format(alg_id)
            )
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = RunFeedback()
        if on_progress is not None:
            self.feedback.progressChanged.connect(on_progress)
        if on_stage is not None:
            self.feedback.stage_changed.connect(on_stage)
        self.task = QgsProcessingAlgRunnerTask(self.alg, params, self.context, self.feedback)
        self._on_done = on_done
        self.task.executed.connect(lambda ok, results: on_done(self, ok, results))
        self.cancelled = False
        # prepareAlgorithm refused the parameters: QGIS cancelled the task and will never run or report it
        self.refused = self.task.isCanceled()

    def start(self) -> None:
        if self.refused:  # report the refusal (its reason is in the feedback) like any other failure
            QTimer.singleShot(0, lambda: self._on_done(self, False, {}))
            return
        QgsApplication.taskManager().addTask(self.task)

    def cancel(self) -> None:
        self.cancelled = True
        self.feedback.cancel()
        self.task.cancel()

    def abandon(self) -> None:
        """Cancel and stop reporting back (the dock is going away: nothing may touch its widgets later)."""
        self.task.executed.disconnect()
        self.cancel()

    def error_text(self) -> str:
        """The reason the algorithm failed, as it reported it (its QgsProcessingException message, child algorithm
        preparation included); QGIS's generic "There were errors…" line only when there is nothing better."""
        specific = [e for e in self.feedback.errors if GENERIC_FAILURE not in e]
        if specific:
            return "\n".join(specific)
        log = self.feedback.textLog() if hasattr(self.feedback, "textLog") else ""
        lines = [line for line in log.splitlines() if line.strip() and GENERIC_FAILURE not in line]
        return lines[-1] if lines else tr("The comparison failed (see the Processing log).")


def _scroll(widget: QWidget) -> QScrollArea:
    """A vertical-only scroll area: content wraps to the dock's width instead of scrolling sideways."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(widget)
    return scroll


class S2ParityDock(QgsDockWidget):
    """Dock holding the comparison form (Setup), the results (Results) and the action bar."""

    def __init__(self, iface, parent=None) -> None:
        super().__init__(tr("S2 Parity"), parent or iface.mainWindow())
        self.setObjectName("S2ParityDock")
        self.setMinimumWidth(DOCK_WIDTH_PX)
        self.iface = iface
        self.run: ProcessingRun | None = None
        self.export_run: ProcessingRun | None = None
        self.last_results: dict | None = None
        self._series: dict | None = None
        self._copy_task = None
        self.layers: dict = {}
        self.titles: dict[str, str] = {}
        self.group = None
        self.form = None
        self.flicker = Flicker(parent=self)
        self.inspector_tool = self.swipe_tool = self.frame_label = None

        intro = QLabel(
            tr(
                "Compare the same Sentinel-2 L2A request on two Sentinel Hub deployments "
                "(Sentinel Hub and Copernicus Data Space Ecosystem)."
            )
        )
        intro.setWordWrap(True)
        self.blocker = None
        if missing_packages():  # offer the one-step install; the dock is built once it succeeded
            body = QWidget(self)
            layout = QVBoxLayout(body)
            layout.addWidget(intro)
            self.blocker = MissingDependencyPanel(body)
            self.blocker.installed.connect(self._dependencies_installed)
            layout.addWidget(self.blocker)
            layout.addStretch(1)
            self.setWidget(body)
            return
        self._build(iface, intro)

    def _dependencies_installed(self) -> None:
        """sentinelhub is importable now: load the algorithms that need it and show the comparison form."""
        provider = QgsApplication.processingRegistry().providerById("s2parity")
        if provider is not None:
            provider.refreshAlgorithms()
        self.blocker.shutdown()
        self.widget().deleteLater()  # the panel's page; replaced by the comparison form below
        done = QLabel(self.blocker.status.text())
        done.setObjectName("install_result")
        done.setWordWrap(True)
        self.blocker = None
        self._build(self.iface, done)

    def _build(self, iface, intro: QLabel) -> None:
        """Setup and Results tabs, the action bar and the further views (needs the runtime packages)."""
        from s2parity_plugin.gui.comparison_form import ComparisonForm
        from s2parity_plugin.gui.results_panel import ResultsPanel
        from s2parity_plugin.gui.statistics_view import StatisticsView
        from s2parity_plugin.gui.timeline_view import TimelineView

        canvas = iface.mapCanvas() if iface is not None else None
        if canvas is not None:
            self.inspector_tool = PixelInspectorTool(canvas)
            self.swipe_tool = SwipeTool(canvas)
            self.frame_label = CanvasLabel(canvas)

        setup = QWidget()
        setup_layout = QVBoxLayout(setup)
        setup_layout.addWidget(intro)
        self.form = ComparisonForm(iface, setup)
        setup_layout.addWidget(self.form)
        setup_layout.addStretch(1)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.addLayout(self._build_tools())
        self.results = ResultsPanel(results)
        results_layout.addWidget(self.results)
        results_layout.addStretch(1)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("views")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(_scroll(setup), tr("Setup"))
        self.tabs.addTab(_scroll(results), tr("Results"))
        self.add_view(StatisticsView(self), tr("Statistics"))
        self.add_view(TimelineView(self), tr("Archive"))

        outer = QWidget(self)
        outer_layout = QVBoxLayout(outer)
        outer_layout.setContentsMargins(0, 0, 0, 0)
        outer_layout.addWidget(self.tabs, 1)
        outer_layout.addWidget(self._build_action_bar())
        self.setWidget(outer)
        self._connect()
        self.reattach()

    # -- construction ---------------------------------------------------------------------------------
    def _build_action_bar(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("action_bar")
        bar.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(6, 4, 6, 4)
        buttons = QHBoxLayout()
        self.compare_button = button(
            tr("Compare"), "compare_button", tr("Fetch the request from A and B and compare them (Ctrl+Return)")
        )
        self.compare_button.setDefault(True)
        self.cancel_button = button(tr("Cancel"), "cancel_button")
        self.cancel_button.setEnabled(False)
        self.help_button = button(
            tr("Help"), "help_button", tr("Open the S2 Parity guide (README, section 'Using the dock')")
        )
        buttons.addWidget(self.compare_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        buttons.addWidget(self.help_button, 1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat(tr("Ready"))
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.compare_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        self.compare_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        return bar

    def _build_tools(self) -> QGridLayout:
        tools = QGridLayout()
        self.inspect_button, self.swipe_button, self.flicker_button = (
            button(text, name, tip, checkable=True)
            for text, name, tip in (
                (
                    tr("Pixel inspector"),
                    "inspect_button",
                    tr("Hover the map to read A, B, B − A and both SCL classes; Esc leaves"),
                ),
                (
                    tr("Swipe"),
                    "swipe_button",
                    tr("Drag on the map to move the divider between the two layers; Esc leaves"),
                ),
                (
                    tr("Flicker A/B"),
                    "flicker_button",
                    tr("Alternate A and B on the map (layers above them are hidden meanwhile)"),
                ),
            )
        )
        self.export_button = button(
            tr("Export…"), "export_button", tr("Copy the rasters, styles and report of this run to a folder")
        )
        self.swipe_left = QComboBox()
        self.swipe_left.setObjectName("swipe_left")
        self.swipe_right = QComboBox()
        self.swipe_right.setObjectName("swipe_right")
        for combo, tip in ((self.swipe_left, tr("Left of the divider")), (self.swipe_right, tr("Right of it"))):
            combo.setToolTip(tip)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(5)
        tools.addWidget(self.inspect_button, 0, 0)
        tools.addWidget(self.flicker_button, 0, 1)
        tools.addWidget(self.export_button, 0, 2)
        tools.addWidget(self.swipe_button, 1, 0)
        tools.addWidget(self.swipe_left, 1, 1)
        tools.addWidget(self.swipe_right, 1, 2)
        self.run_date = QComboBox()
        self.run_date.setObjectName("run_date")
        self.run_date.setToolTip(tr("This run compared each date of the range: choose the date to load"))
        self.run_date_label = QLabel(tr("Date"))
        tools.addWidget(self.run_date_label, 2, 0)
        tools.addWidget(self.run_date, 2, 1, 1, 2)
        self.run_date.hide()
        self.run_date_label.hide()
        self._set_tools_enabled(False)
        return tools

    def _connect(self) -> None:
        self.compare_button.clicked.connect(self.start_compare)
        self.compare_shortcut.activated.connect(self.start_compare)
        self.cancel_button.clicked.connect(self.cancel_compare)
        self.help_button.clicked.connect(self.open_help)
        self.inspect_button.toggled.connect(self._toggle_inspector)
        self.swipe_button.toggled.connect(self._toggle_swipe)
        self.swipe_left.currentIndexChanged.connect(self._swipe_pair_changed)
        self.run_date.activated.connect(self._load_date)
        self.swipe_right.currentIndexChanged.connect(self._swipe_pair_changed)
        self.flicker_button.toggled.connect(self._toggle_flicker)
        self.flicker.frame_changed.connect(self._show_frame)
        self.flicker.stopped.connect(self._flicker_stopped)
        self.export_button.clicked.connect(self.choose_export)
        self.results.feature_clicked.connect(self.zoom_to_feature)
        self.results.display_field_changed.connect(self._name_features)
        self.results.save_features_requested.connect(self.choose_features_csv)
        if self.inspector_tool is not None:
            self.inspector_tool.inspected.connect(self.results.show_pixel)
            self.inspector_tool.deactivated.connect(lambda: self.inspect_button.setChecked(False))
        if self.swipe_tool is not None:
            self.swipe_tool.left_tool.connect(lambda: self.swipe_button.setChecked(False))
        project = QgsProject.instance()
        project.cleared.connect(self.reset)
        project.readProject.connect(self._project_read)
        project.layersWillBeRemoved.connect(self._layers_removed)

    def add_view(self, widget: QWidget, title: str) -> int:
        """Add a further view (Statistics, Archive, …) as a tab after Setup and Results; returns its index.

        Views read the shared AOI, endpoints and credentials from ``self.form``."""
        return self.tabs.addTab(widget, title)

    # -- compare --------------------------------------------------------------------------------------
    def start_compare(self) -> None:
        """Validate the form and start ``s2parity:compareendpoints`` in the background."""
        if self.run is not None or self.form is None:
            return
        problems = self.form.validate()
        if problems:
            self.tabs.setCurrentIndex(SETUP_TAB)
            self._set_status(tr("Fix {0} field(s) first: {1}").format(len(problems), problems[0]), error=True)
            return
        self.form.save_settings()
        try:
            self.run = ProcessingRun(
                COMPARE_ALG, self.form.parameters(), self._compare_done, self._show_progress, self._show_stage
            )
        except RuntimeError as exc:
            self._set_status(str(exc), error=True)
            return
        self.progress.setValue(0)
        self.progress.setFormat(tr("Starting") + " · %p%")
        self.compare_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._set_status(tr("Fetching from both endpoints and comparing…"))
        self.run.start()

    def _show_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def _show_stage(self, stage: str) -> None:
        if self.run is not None:
            self.progress.setFormat(f"{stage} · %p%")

    def cancel_compare(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self._set_status(tr("Cancelling…"))

    def _compare_done(self, run: ProcessingRun, ok: bool, results: dict) -> None:
        self.run = None
        self.compare_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if run.cancelled or (run.feedback.isCanceled() and not run.refused):
            self.progress.setValue(0)
            self.progress.setFormat(tr("Cancelled"))
            self._set_status(tr("Cancelled: nothing was added to the project."))
            return
        if not ok:
            self.progress.setFormat(tr("Failed"))
            self._fail(run.error_text())
            return
        try:
            self.load_results(results)
        except (OSError, ValueError, KeyError) as exc:
            self._fail(tr("The comparison finished but its results could not be loaded: {0}").format(exc))
            return
        self.progress.setValue(100)
        self.progress.setFormat(tr("Done") + " · %p%")
        self.tabs.setCurrentIndex(RESULTS_TAB)

    def _fail(self, message: str) -> None:
        """Show a failure in the status line; the Processing log already has it (the algorithm reported it)."""
        self._set_status(message, error=True)

    def load_results(self, results: dict, date_report: str | None = None) -> None:
        """Add the run's layer group to the project and show its report (main thread only). For a per-date run the
        last date is loaded, or ``date_report``'s date."""
        from s2parity_plugin.adapters.layers import (
            add_comparison_group,
            build_layers,
            comparison_files,
            group_layers,
            group_title,
            outputs_for_report,
        )

        reports = json.loads(results.get("REPORTS") or "[]")
        if len(reports) > 1:  # one comparison per date: show the last date, offer the others
            series = dict(results)
            chosen = date_report or reports[-1]
            results = {**results, **outputs_for_report(chosen), "REPORTS": json.dumps(reports)}
            self._series = series
        else:
            self._series = None
        report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
        names = self._layer_names(report)
        layers = build_layers(comparison_files(results), names)
        date_from, date_to = self.form.dates()
        if len(reports) > 1:
            date_from = date_to = _report_date(results["OUTPUT_REPORT"])
        title = group_title(date_from, date_to, self.form.quantity(), self.form.selected_only.isChecked())
        aoi = self.form.aoi_layer.currentLayer()
        group = add_comparison_group(
            title, layers, aoi=aoi, run=json.dumps(_plain(results)), masked=self.form.mask_invalid.isChecked()
        )
        self._attach(group, group_layers(group), results, report)
        self._zoom_to(layers["difference"])
        self._set_status(tr("Done. Layers added to “{0}”.").format(group.name()))

    def _layer_names(self, report: dict):
        from s2parity_plugin.adapters.layers import LayerNames, side_title
        from s2parity_plugin.gui.results_panel import baselines, display_units

        base_a, base_b = baselines(report)
        quantity = self.form.quantity()
        return LayerNames(
            value_a=side_title("A", self.form.endpoint_a.short_name(), _known(base_a), quantity),
            value_b=side_title("B", self.form.endpoint_b.short_name(), _known(base_b), quantity),
            units=display_units(report, quantity),
            ndvi=quantity == "NDVI",
            masked=self.form.mask_invalid.isChecked(),
        )

    def _attach(self, group, layers: dict, results: dict, report: dict) -> None:
        """Make ``group`` the dock's current run: tools, swipe pair, report, acquisitions."""
        self._stop_tools()
        self.group = group
        self.layers = layers
        self.last_results = results
        self.titles = {role: layer.name() for role, layer in layers.items()}
        self.results.show_report(report, run_folder=results.get("RUN_FOLDER"))
        if self.inspector_tool is not None:
            self.inspector_tool.set_layers(layers)
        self.flicker.set_layers(
            layers.get("value_a"), layers.get("value_b"), self.titles.get("value_a", "A"), self.titles.get("value_b")
        )
        self._fill_swipe_choices()
        self._set_tools_enabled(True)
        self._fill_dates(results)
        aoi = self.form.aoi_layer.currentLayer()
        if aoi is not None:
            self.results.set_display_fields([f.name() for f in aoi.fields()])

    def _fill_dates(self, results: dict) -> None:
        reports = json.loads(results.get("REPORTS") or "[]")
        self.run_date.clear()
        for report in reports:
            self.run_date.addItem(_report_date(report), report)
        self.run_date.setCurrentIndex(max(0, self.run_date.findData(results.get("OUTPUT_REPORT"))))
        several = len(reports) > 1
        self.run_date.setVisible(several)
        self.run_date_label.setVisible(several)

    def _load_date(self, index: int) -> None:
        """Load the comparison of another date of a per-date run (a new layer group)."""
        report = self.run_date.itemData(index)
        if not report or (self.last_results or {}).get("OUTPUT_REPORT") == report:
            return
        reports = [self.run_date.itemData(i) for i in range(self.run_date.count())]
        try:
            self.load_results(
                {**(self._series or {}), "REPORTS": json.dumps(reports), "OUTPUT_REPORT": report}, date_report=report
            )
        except (OSError, ValueError, KeyError) as exc:
            self._fail(tr("Could not load the comparison of {0}: {1}").format(self.run_date.itemText(index), exc))

    def _aoi(self):
        return self.form.aoi_layer.currentLayer() if self.form is not None else None

    def _name_features(self, field: str) -> None:
        """Name the rows of the per-feature table by the AOI attribute ``field`` ('' = feature id)."""
        aoi = self._aoi()
        if aoi is None or not field or aoi.fields().indexOf(field) < 0:
            self.results.set_feature_names({})
            return
        self.results.set_feature_names({f.id(): attribute_text(f[field]) for f in aoi.getFeatures()})

    def choose_features_csv(self) -> None:
        from qgis.PyQt.QtWidgets import QFileDialog

        start = str(Path((self.last_results or {}).get("RUN_FOLDER") or ".") / "features.csv")
        path, _ = QFileDialog.getSaveFileName(self, tr("Save the per-feature table"), start, tr("CSV (*.csv)"))
        if path:
            self.save_features_csv(path)

    def save_features_csv(self, path: str) -> None:
        """Write the per-feature table (joinable to the AOI by feature id or the display field) to ``path``."""
        from s2parity_plugin.gui.results_panel import write_features_csv

        field = self.results.display_field.currentData() or ""
        try:
            write_features_csv(path, self.results.feature_rows(), field, self.results.feature_names())
        except OSError as exc:
            self._fail(tr("Could not write {0}: {1}").format(path, exc))
            return
        self._set_status(tr("Per-feature table saved to {0}.").format(path))

    def zoom_to_feature(self, fid: int) -> None:
        """Select AOI feature ``fid`` and zoom the map to it."""
        aoi = self._aoi()
        if aoi is None:
            return
        aoi.selectByIds([fid])
        if self.iface is not None:
            self.iface.mapCanvas().zoomToFeatureIds(aoi, [fid])
            self.iface.mapCanvas().refresh()

    def _zoom_to(self, layer) -> None:
        if self.iface is None:
            return
        canvas = self.iface.mapCanvas()
        transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
        try:
            extent = transform.transformBoundingBox(layer.extent())
        except Exception:
            return
        canvas.setExtent(extent.buffered(extent.width() * 0.03))
        canvas.refresh()

    # -- project life cycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the current run (Project › New, or its layers were removed): tools off, results cleared."""
        if self.form is None:
            return
        self._stop_tools()
        self.group = None
        self.layers = {}
        self.titles = {}
        self.last_results = None
        self.results.clear()
        self._fill_dates({})
        self._fill_swipe_choices()
        self._set_tools_enabled(False)
        if self.run is None:
            self.progress.setValue(0)
            self.progress.setFormat(tr("Ready"))
            self._set_status("")
        self.tabs.setCurrentIndex(SETUP_TAB)

    def _project_read(self, *_args) -> None:
        self.reattach()

    def reattach(self) -> bool:
        """Attach to the top-most S2 Parity run group of the project whose files still exist; True if one was."""
        if self.form is None:
            return False
        from s2parity_plugin.adapters.layers import group_layers, run_groups

        for group in run_groups():
            try:
                results = json.loads(group.customProperty("s2parity/run"))
                report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            layers = group_layers(group)
            if "difference" not in layers:
                continue
            self._attach(group, layers, results, report)
            self._set_status(tr("Re-attached to “{0}”.").format(group.name()))
            self.tabs.setCurrentIndex(RESULTS_TAB)
            return True
        return False

    def _layers_removed(self, layer_ids) -> None:
        if not self.layers:
            return
        gone = {role for role, layer in self.layers.items() if not alive(layer) or layer.id() in set(layer_ids)}
        if not gone:
            return
        if "difference" in gone:
            self.reset()
            return
        for role in gone:
            self.layers.pop(role, None)
        if {"value_a", "value_b"} & gone:
            self.flicker_button.setChecked(False)
            self.flicker_button.setEnabled(False)
        self._fill_swipe_choices(exclude=set(layer_ids))

    # -- tools ----------------------------------------------------------------------------------------
    def _set_tools_enabled(self, on: bool) -> None:
        for widget in (
            self.inspect_button,
            self.swipe_button,
            self.flicker_button,
            self.export_button,
            self.swipe_left,
            self.swipe_right,
        ):
            widget.setEnabled(on)

    def _stop_tools(self) -> None:
        self.flicker_button.setChecked(False)
        self.flicker.stop()
        if self.iface is None:
            return
        canvas = self.iface.mapCanvas()
        for tool in (self.inspector_tool, self.swipe_tool):
            if tool is not None and canvas.mapTool() is tool:
                canvas.unsetMapTool(tool)
        if self.frame_label is not None:
            self.frame_label.set_text("")

    def _fill_swipe_choices(self, exclude: set | None = None) -> None:
        exclude = exclude or set()
        for combo, default in ((self.swipe_left, "value_a"), (self.swipe_right, "value_b")):
            combo.blockSignals(True)
            combo.clear()
            for role, layer in self.layers.items():
                if role != "aoi_outline" and alive(layer) and layer.id() not in exclude:
                    combo.addItem(layer.name(), role)
            index = combo.findData(default)
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)
        self._swipe_pair_changed()

    def _swipe_pair_changed(self, *_args) -> None:
        if self.swipe_tool is None:
            return
        left = self.layers.get(self.swipe_left.currentData())
        right = self.layers.get(self.swipe_right.currentData())
        if left is None or right is None:
            self.swipe_tool.set_layers(None, None)
            return
        self.swipe_tool.set_layers(left, right, left.name(), right.name())

    def _toggle_inspector(self, on: bool) -> None:
        if self.inspector_tool is None:
            return
        canvas = self.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.inspector_tool)
        elif canvas.mapTool() is self.inspector_tool:
            canvas.unsetMapTool(self.inspector_tool)

    def _toggle_swipe(self, on: bool) -> None:
        if self.swipe_tool is None:
            return
        canvas = self.iface.mapCanvas()
        if on:
            self.flicker_button.setChecked(False)
            if not self.swipe_tool.has_layers():
                self.swipe_button.setChecked(False)
                self._set_status(tr("Choose two layers of the run to swipe between."), error=True)
                return
            canvas.setMapTool(self.swipe_tool)
            if canvas.mapTool() is not self.swipe_tool:
                self.swipe_button.setChecked(False)
                return
            self._set_status(tr("Swipe: drag on the map to move the divider; Esc leaves."))
        else:
            if canvas.mapTool() is self.swipe_tool:
                canvas.unsetMapTool(self.swipe_tool)
            if self.status.text().startswith(tr("Swipe:")):
                self._set_status("")

    def _toggle_flicker(self, on: bool) -> None:
        if on:
            self.swipe_button.setChecked(False)
            if not self.flicker.start():
                self.flicker_button.setChecked(False)
                self._set_status(tr("Flicker needs raster A and raster B of the run in the project."), error=True)
        else:
            self.flicker.stop()

    def _show_frame(self, title: str) -> None:
        if self.frame_label is not None:
            self.frame_label.set_text(title)

    def _flicker_stopped(self) -> None:
        if self.frame_label is not None:
            self.frame_label.set_text("")
        self.flicker_button.setChecked(False)

    def open_help(self) -> None:
        QDesktopServices.openUrl(QUrl(HELP_URL))

    # -- export ---------------------------------------------------------------------------------------
    def choose_export(self) -> None:
        from s2parity_plugin.gui.export_dialog import ExportDialog

        if not self.last_results:
            return
        dialog = ExportDialog(self.last_results, self)
        if dialog.exec():
            self.export_to(dialog.folder(), kinds=dialog.kinds())

    def export_to(self, folder: str, confirm=None, kinds: list[str] | None = None) -> None:
        """Export the last comparison to ``folder``; asks before overwriting (``confirm(existing) -> bool``).
        ``kinds`` (of :data:`gui.export_dialog.KINDS`) also copies A, B and the SCL rasters; None = the default
        export (difference, mismatch, report)."""
        if not self.last_results:
            return
        from s2parity_plugin.core.report.export import existing_outputs

        existing = existing_outputs(folder)
        overwrite = False
        if existing:
            ask = confirm or self._ask_overwrite
            if not ask(existing):
                self._set_status(tr("Export cancelled: nothing was overwritten."))
                return
            overwrite = True
        params = {"COMPARISON": self.last_results["COMPARE_FOLDER"], "OUTPUT_FOLDER": folder, "OVERWRITE": overwrite}
        self._export_kinds = kinds
        self.export_run = ProcessingRun(EXPORT_ALG, params, self._export_done)
        self._set_status(tr("Exporting…"))
        self.export_run.start()

    def _ask_overwrite(self, existing: list[str]) -> bool:
        answer = QMessageBox.question(
            self,
            tr("S2 Parity export"),
            tr("These files already exist and would be replaced:\n{0}\n\nOverwrite them?").format(
                "\n".join(existing[:12])
            ),
        )
        return answer == QMessageBox.StandardButton.Yes

    def _export_done(self, run: ProcessingRun, ok: bool, results: dict) -> None:
        """The algorithm exported the difference, mismatch and report; copy the chosen input rasters (A, B, SCL) in
        a background task. ``export_run`` stays set until everything is written."""
        if not ok:
            self.export_run = None
            self._fail(run.error_text())
            return
        from qgis.core import QgsTask

        from s2parity_plugin.gui.export_dialog import copy_inputs

        folder = results["OUTPUT_FOLDER"]
        styles = {role: _style_qml(layer) for role, layer in self.layers.items() if alive(layer)}
        outputs, kinds = dict(self.last_results or {}), getattr(self, "_export_kinds", None)

        def work(_task):
            return copy_inputs(outputs, folder, kinds, styles)

        self._copy_task = QgsTask.fromFunction(
            tr("S2 Parity: export the input rasters"), work, on_finished=lambda exc, _r=None: self._copied(folder, exc)
        )
        QgsApplication.taskManager().addTask(self._copy_task)

    def _copied(self, folder: str, exception) -> None:
        if sip.isdeleted(self):
            return
        self.export_run = self._copy_task = None
        if exception is not None:
            self._fail(tr("Exported to {0}, but copying the input rasters failed: {1}").format(folder, exception))
            return
        self._set_status(tr("Exported to {0}.").format(folder))
        if self.iface is not None:
            self.iface.messageBar().pushMessage(
                tr("S2 Parity"), tr("Exported to {0}").format(folder), level=Qgis.MessageLevel.Success, duration=5
            )

    # -- misc -----------------------------------------------------------------------------------------
    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def shutdown(self) -> None:
        """Cancel running work and drop signal connections before the plugin unloads."""
        self.flicker.shutdown()
        for run in (self.run, self.export_run):
            if run is not None:
                run.abandon()
        self.run = self.export_run = None
        if self.form is None:
            return
        for index in range(self.tabs.count()):
            getattr(self.tabs.widget(index), "shutdown", lambda: None)()  # views added with add_view
        project = QgsProject.instance()
        project.cleared.disconnect(self.reset)
        project.readProject.disconnect(self._project_read)
        project.layersWillBeRemoved.disconnect(self._layers_removed)
        self._stop_tools()
        if self.swipe_tool is not None:
            self.swipe_tool.shutdown()
        if self.inspector_tool is not None:
            self.inspector_tool.shutdown()
        for item in (self.frame_label,):
            if item is not None and item.scene() is not None:
                item.scene().removeItem(item)
        self.form.shutdown()


def _style_qml(layer) -> str:
    from qgis.PyQt.QtXml import QDomDocument

    doc = QDomDocument("qgis")
    layer.exportNamedStyle(doc)
    return doc.toString()


def _report_date(report_path: str) -> str:
    """The date of a per-date comparison: its run folder is named YYYY-MM-DD (``<date>/compare/report.json``)."""
    return Path(report_path).parent.parent.name


def _known(baseline: str) -> str | None:
    return None if baseline in ("", "unknown") else baseline


def _plain(results: dict) -> dict:
    """The algorithm outputs as JSON-serialisable values (paths and strings)."""
    return {k: v for k, v in results.items() if isinstance(v, (str, int, float, bool)) or v is None}
