"""The S2 Parity dock widget: the comparison form, Compare/Cancel with progress, and the results panel.

Compare runs the Processing algorithm ``s2parity:compareendpoints`` in a ``QgsProcessingAlgRunnerTask`` (the
same code path as ``qgis_process`` and the Processing toolbox); layers are added to the project only in the main
thread, when the task reports success. Export runs ``s2parity:exportcomparison`` the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.dependencies import missing_dependencies_message
from s2parity_plugin.gui.flicker import Flicker
from s2parity_plugin.gui.pixel_inspector import PixelInspectorTool

COMPARE_ALG = "s2parity:compareendpoints"
EXPORT_ALG = "s2parity:exportcomparison"


class ProcessingRun:
    """One algorithm run in a background task. Keeps the context/feedback alive until the task reports."""

    def __init__(self, alg_id: str, params: dict, on_done, on_progress=None) -> None:
        self.alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
        if self.alg is None:
            raise RuntimeError(f"Processing algorithm {alg_id} is not registered: re-enable the S2 Parity plugin.")
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = QgsProcessingFeedback()
        if on_progress is not None:
            self.feedback.progressChanged.connect(on_progress)
        self.task = QgsProcessingAlgRunnerTask(self.alg, params, self.context, self.feedback)
        self.task.executed.connect(lambda ok, results: on_done(self, ok, results))
        self.cancelled = False

    def start(self) -> None:
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
        """The last error the algorithm reported (its QgsProcessingException message)."""
        log = self.feedback.textLog() if hasattr(self.feedback, "textLog") else ""
        lines = [line for line in log.splitlines() if line.strip()]
        return lines[-1] if lines else "The comparison failed (see the Processing log)."


class S2ParityDock(QgsDockWidget):
    """Dock holding the comparison form and the results panel."""

    def __init__(self, iface, parent=None) -> None:
        super().__init__("S2 Parity", parent or iface.mainWindow())
        self.setObjectName("S2ParityDock")
        self.setMinimumWidth(440)
        self.iface = iface
        self.run: ProcessingRun | None = None
        self.export_run: ProcessingRun | None = None
        self.last_results: dict | None = None
        self.layers: dict = {}
        self.group = None
        self.form = None
        self.flicker = Flicker(parent=self)
        self.inspector_tool = PixelInspectorTool(iface.mapCanvas()) if iface is not None else None

        body = QWidget(self)
        layout = QVBoxLayout(body)
        intro = QLabel(
            "Compare the same Sentinel-2 L2A request on two Sentinel Hub deployments "
            "(Sentinel Hub and Copernicus Data Space Ecosystem)."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        blocker = missing_dependencies_message()
        if blocker:
            self.blocker = QLabel(blocker)
            self.blocker.setObjectName("missing_dependencies")
            self.blocker.setWordWrap(True)
            self.blocker.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.blocker.setStyleSheet("color: #c0392b;")
            layout.addWidget(self.blocker)
            layout.addStretch(1)
            self.setWidget(body)
            return

        from s2parity_plugin.gui.comparison_form import ComparisonForm
        from s2parity_plugin.gui.results_panel import ResultsPanel
        from s2parity_plugin.gui.statistics_view import StatisticsView
        from s2parity_plugin.i18n import tr

        self.form = ComparisonForm(iface, body)
        layout.addWidget(self.form)

        buttons = QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("compare_button")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.status)

        tools = QHBoxLayout()
        self.inspect_button = QPushButton("Pixel inspector")
        self.inspect_button.setObjectName("inspect_button")
        self.inspect_button.setCheckable(True)
        self.flicker_button = QPushButton("Flicker A/B")
        self.flicker_button.setObjectName("flicker_button")
        self.flicker_button.setCheckable(True)
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("export_button")
        for button in (self.inspect_button, self.flicker_button, self.export_button):
            button.setEnabled(False)
            tools.addWidget(button)
        layout.addLayout(tools)

        self.results = ResultsPanel(body)
        layout.addWidget(self.results)
        layout.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("views")
        self.tabs.addTab(scroll, "Pixels")
        self.setWidget(self.tabs)
        self.add_view(StatisticsView(self), tr("Statistics"))

        self.compare_button.clicked.connect(self.start_compare)
        self.cancel_button.clicked.connect(self.cancel_compare)
        self.inspect_button.toggled.connect(self._toggle_inspector)
        self.flicker_button.toggled.connect(self._toggle_flicker)
        self.export_button.clicked.connect(self.choose_export_folder)
        if self.inspector_tool is not None:
            self.inspector_tool.inspected.connect(self.results.show_pixel)
            self.inspector_tool.deactivated.connect(lambda: self.inspect_button.setChecked(False))

    def add_view(self, widget: QWidget, title: str) -> int:
        """Add a further view (Statistics, Archive, …) as a tab beside the pixel comparison; returns its index.

        Views read the shared AOI, endpoints and credentials from ``self.form``."""
        return self.tabs.addTab(widget, title)

    # -- compare --------------------------------------------------------------------------------------
    def start_compare(self) -> None:
        """Validate the form and start ``s2parity:compareendpoints`` in the background."""
        if self.run is not None:
            return
        problems = self.form.validate()
        if problems:
            self._set_status(f"Fix {len(problems)} field(s) first: {problems[0]}", error=True)
            return
        self.form.save_settings()
        try:
            self.run = ProcessingRun(COMPARE_ALG, self.form.parameters(), self._compare_done, self._show_progress)
        except RuntimeError as exc:
            self._set_status(str(exc), error=True)
            return
        self.progress.setValue(0)
        self.compare_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._set_status("Fetching from both endpoints and comparing…")
        self.run.start()

    def _show_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def cancel_compare(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self._set_status("Cancelling…")

    def _compare_done(self, run: ProcessingRun, ok: bool, results: dict) -> None:
        self.run = None
        self.compare_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if run.cancelled or run.feedback.isCanceled():
            self.progress.setValue(0)
            self._set_status("Cancelled: nothing was added to the project.")
            return
        if not ok:
            self._set_status(run.error_text(), error=True)
            return
        try:
            self.load_results(results)
        except (OSError, ValueError, KeyError) as exc:
            self._set_status(f"The comparison finished but its results could not be loaded: {exc}", error=True)
            return
        self.progress.setValue(100)

    def load_results(self, results: dict) -> None:
        """Add the run's layer group to the project and show its report (main thread only)."""
        from s2parity_plugin.qgis_side.layers import add_comparison_group, build_layers, comparison_files, group_title

        report = json.loads(Path(results["OUTPUT_REPORT"]).read_text(encoding="utf-8"))
        files = comparison_files(results)
        layers = build_layers(files)
        date_from, date_to = self.form.dates() if self.form else ("", "")
        self.group = add_comparison_group(group_title(date_from, date_to, self.form.quantity()), layers)
        self.layers = layers
        self.last_results = results
        self.results.show_report(report)
        if self.inspector_tool is not None:
            self.inspector_tool.set_layers(layers)
        self.flicker.set_nodes(
            self.group.findLayer(layers["value_a"].id()), self.group.findLayer(layers["value_b"].id())
        )
        for button in (self.inspect_button, self.flicker_button, self.export_button):
            button.setEnabled(True)
        self._set_status(f"Done. Layers added to “{self.group.name()}”.")

    # -- tools ----------------------------------------------------------------------------------------
    def _toggle_inspector(self, on: bool) -> None:
        if self.inspector_tool is None:
            return
        canvas = self.iface.mapCanvas()
        if on:
            canvas.setMapTool(self.inspector_tool)
        elif canvas.mapTool() is self.inspector_tool:
            canvas.unsetMapTool(self.inspector_tool)

    def _toggle_flicker(self, on: bool) -> None:
        if on and not self.flicker.start():
            self.flicker_button.setChecked(False)
        elif not on:
            self.flicker.stop()

    # -- export ---------------------------------------------------------------------------------------
    def choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the comparison to…")
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str, confirm=None) -> None:
        """Export the last comparison to ``folder``; asks before overwriting (``confirm(existing) -> bool``)."""
        if not self.last_results:
            return
        from s2parity_plugin.core.export import existing_outputs

        existing = existing_outputs(folder)
        overwrite = False
        if existing:
            ask = confirm or self._ask_overwrite
            if not ask(existing):
                self._set_status("Export cancelled: nothing was overwritten.")
                return
            overwrite = True
        params = {"COMPARISON": self.last_results["COMPARE_FOLDER"], "OUTPUT_FOLDER": folder, "OVERWRITE": overwrite}
        self.export_run = ProcessingRun(EXPORT_ALG, params, self._export_done)
        self._set_status("Exporting…")
        self.export_run.start()

    def _ask_overwrite(self, existing: list[str]) -> bool:
        answer = QMessageBox.question(
            self,
            "S2 Parity export",
            "These files already exist and would be replaced:\n" + "\n".join(existing[:12]) + "\n\nOverwrite them?",
        )
        return answer == QMessageBox.Yes

    def _export_done(self, run: ProcessingRun, ok: bool, results: dict) -> None:
        self.export_run = None
        if ok:
            self._set_status(f"Exported to {results['OUTPUT_FOLDER']}.")
            if self.iface is not None:
                self.iface.messageBar().pushMessage(
                    "S2 Parity", f"Exported to {results['OUTPUT_FOLDER']}", level=Qgis.Success, duration=5
                )
        else:
            self._set_status(run.error_text(), error=True)

    # -- misc -----------------------------------------------------------------------------------------
    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def shutdown(self) -> None:
        """Cancel running work and drop signal connections before the plugin unloads."""
        self.flicker.stop()
        for run in (self.run, self.export_run):
            if run is not None:
                run.abandon()
        self.run = self.export_run = None
        for index in range(self.tabs.count() if hasattr(self, "tabs") else 0):
            getattr(self.tabs.widget(index), "shutdown", lambda: None)()  # views added with add_view
        if self.inspector_tool is not None:
            canvas = self.iface.mapCanvas()
            if canvas.mapTool() is self.inspector_tool:
                canvas.unsetMapTool(self.inspector_tool)
        if self.form is not None:
            self.form.shutdown()
