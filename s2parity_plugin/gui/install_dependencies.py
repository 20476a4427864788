"""The missing-dependency panel: what is missing, an Install button (pip into the plugin's own folder, in a
background task, with progress and a clear result) and the manual command for this platform.

The install itself is :func:`s2parity_plugin.dependencies.install_packages` (QGIS-free, tested offline); this module
only runs it in a ``QgsTask`` and shows what happens.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from s2parity_plugin import dependencies
from s2parity_plugin.adapters.packages import plugin_packages_prefix
from s2parity_plugin.i18n import tr

#: Progress (percent) when pip reports these stages; lines in between advance it slowly up to the next stage.
STAGES = (("Collecting", 10), ("Downloading", 30), ("Installing collected packages", 80), ("Successfully", 100))
ERROR_STYLE = "color: #c0392b;"


class InstallTask(QgsTask):
    """Runs pip in the background (``run``: worker thread, no widgets); ``done`` is emitted in the main thread."""

    done = pyqtSignal(object)  # dependencies.InstallResult

    def __init__(self, prefix: Path, requirements: list[str], python: str | None = None, pip_args=()) -> None:
        super().__init__(tr("Installing {}").format(", ".join(requirements)), QgsTask.Flag.CanCancel)
        self.prefix, self.requirements, self.python, self.pip_args = prefix, requirements, python, tuple(pip_args)
        self.last_line = ""
        self.result: dependencies.InstallResult | None = None

    def _line(self, line: str) -> None:
        self.last_line = line
        target = next((p for stage, p in STAGES if line.startswith(stage)), None)
        self.setProgress(max(self.progress(), target if target is not None else min(95.0, self.progress() + 1)))

    def run(self) -> bool:
        try:
            self.result = dependencies.install_packages(
                self.prefix,
                self.requirements,
                python=self.python,
                extra_pip_args=self.pip_args,
                on_line=self._line,
                cancelled=self.isCanceled,
            )
        except Exception as exc:  # reported in finished(), never raised into the task manager
            self.result = dependencies.InstallResult(False, f"Installing failed: {exc}", "")
        return self.result.ok

    def finished(self, ok: bool) -> None:
        if self.result is None:  # cancelled before run()
            self.result = dependencies.InstallResult(False, "Installation cancelled.", "")
        self.done.emit(self.result)


class MissingDependencyPanel(QWidget):
    """Names the missing package(s), installs them on a click and says how to do it by hand."""

    installed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, prefix: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missing_dependencies")
        self.prefix = prefix or plugin_packages_prefix()
        self.requirements = dependencies.missing_packages()
        self.task: InstallTask | None = None
        self.python: str | None = None  # default: QGIS's own interpreter
        self.pip_args: tuple[str, ...] = ()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        names = ", ".join(self.requirements)
        self.message = QLabel(
            tr("S2 Parity needs the Python package {}, which QGIS's Python does not have.").format(names)
        )
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.install_button = QPushButton(tr("Install {}").format(names))
        self.install_button.setObjectName("install_dependencies")
        self.install_button.setToolTip(tr("Installs into {} (nothing outside it changes)").format(self.prefix))
        self.progress = QProgressBar()
        self.progress.setObjectName("install_progress")
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("install_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.manual = QLabel(
            tr("Or install it yourself, then restart QGIS:")
            + "\n"
            + dependencies.install_command(self.requirements, prefix=self.prefix)
        )
        self.manual.setObjectName("manual_command")
        self.manual.setWordWrap(True)
        self.manual.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for widget in (self.message, self.install_button, self.progress, self.status, self.manual):
            layout.addWidget(widget)
        self.install_button.clicked.connect(self.start)

    def start(self) -> None:
        """Start installing in the background (no-op while an install runs)."""
        if self.task is not None:
            return
        self.task = InstallTask(self.prefix, self.requirements, self.python, self.pip_args)
        self.task.progressChanged.connect(self._show_progress)
        self.task.done.connect(self._done)
        self.install_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setStyleSheet("")
        self.status.setText(tr("Installing {} with pip…").format(", ".join(self.requirements)))
        QgsApplication.taskManager().addTask(self.task)

    def _show_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))
        if self.task is not None and self.task.last_line:
            self.status.setText(self.task.last_line)

    def _done(self, result: dependencies.InstallResult) -> None:
        self.task = None
        if result.ok:
            self.progress.setValue(100)
            self.status.setText(result.message)
            self.installed.emit()
            return
        self.progress.hide()
        self.install_button.setEnabled(True)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(result.message)

    def shutdown(self) -> None:
        """Cancel a running install (the plugin unloads)."""
        if self.task is not None:
            self.task.done.disconnect(self._done)
            self.task.cancel()
            self.task = None
