"""The dock's "Archive" view: check which acquisitions of a period the two deployments serve differently.

"Check archive" runs ``s2parity:comparecatalogs`` through the dock's :class:`~s2parity_plugin.gui.dock.ProcessingRun`
(a background ``QgsProcessingAlgRunnerTask``) with the AOI, endpoints and credentials of the dock's comparison form,
then renders the report it wrote: the timeline chart (:mod:`.charts_timeline`), the diagnosis and one table row per
acquisition. Choosing a row (or clicking the chart) sets the pixel comparison's date to that acquisition, so one
more click on *Compare* fetches its pixels; a double click also switches to the pixel comparison tab.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from pathlib import Path
from typing import Any

from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtGui import QMouseEvent, QPainter, QPaintEvent
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.gui.charts_timeline import date_at, preferred_height, timeline_image
from s2parity_plugin.i18n import tr

ALG_ID = "s2parity:comparecatalogs"
DEFAULT_FROM = QDate(2019, 1, 1)
DIAGNOSIS_MAX_H = 130  # px: the diagnosis scrolls, the table keeps the room
#: (report key, column title) of the table.
COLUMNS = (
    ("date", "Date"),
    ("tile", "Tile"),
    ("relative_orbit", "Orbit"),
    ("baseline_a", "Baseline A"),
    ("baseline_b", "Baseline B"),
    ("presence", "Listed on"),
    ("parity", "Expected"),
    ("cloud_a", "Cloud A %"),
    ("cloud_b", "Cloud B %"),
    ("product_a", "Product A"),
    ("product_b", "Product B"),
)
PRESENCE_WORDS = {"both": "A and B", "a_only": "A only", "b_only": "B only"}
PARITY_WORDS = {
    "identical": "same product",
    "different_baselines": "differs (baselines)",
    "same_baseline_different_product": "differs (product)",
    "only_a": "missing on B",
    "only_b": "missing on A",
}


class TimelineChart(QWidget):
    """The chart widget: paints :func:`timeline_image` at its width; a click emits the date under the cursor."""

    dateClicked = pyqtSignal(str)  # noqa: N815 - Qt signal naming

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: dict[str, Any] | None = None
        self.selected: str | None = None
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_report(self, report: dict[str, Any] | None, selected: str | None = None) -> None:
        self.report, self.selected = report, selected
        self.setFixedHeight(preferred_height(report, max(300, self.width())) if report else 60)
        self.update()

    def image(self):
        """The chart as drawn now (a QImage), e.g. to save it."""
        return timeline_image(self.report or {}, max(300, self.width()), self.height(), self.selected)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        if self.report:
            painter.drawImage(0, 0, self.image())
        else:
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, tr("Press “Check archive” to see the timeline.")
            )
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.report:
            x = event.position().x() if hasattr(event, "position") else event.x()
            self.dateClicked.emit(date_at(self.report, x, max(300, self.width()), self.height()).isoformat())


class TimelineView(QWidget):
    """Period, cloud limit, *Check archive* / *Cancel*, the chart, the diagnosis and the acquisitions table."""

    def __init__(self, dock, parent: QWidget | None = None) -> None:
        super().__init__(parent or dock)
        self.setObjectName("timeline_view")
        self.dock = dock
        self.run = None
        self.report: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        layout.addLayout(self._inputs())
        self.progress = QProgressBar()
        self.progress.setObjectName("timeline_progress")
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = _wrapping_label("timeline_status")
        layout.addWidget(self.status)
        self.chart = TimelineChart(self)
        self.chart.setObjectName("timeline_chart")
        layout.addWidget(self.chart)
        self.diagnosis = QPlainTextEdit()
        self.diagnosis.setObjectName("timeline_diagnosis")
        self.diagnosis.setReadOnly(True)
        self.diagnosis.setMaximumHeight(DIAGNOSIS_MAX_H)
        layout.addWidget(self.diagnosis)
        self.table = self._table()
        layout.addWidget(self.table, 1)
        self.check_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.table.itemSelectionChanged.connect(self._row_chosen)
        self.table.cellDoubleClicked.connect(lambda *_: self._show_pixels_tab())
        self.chart.dateClicked.connect(self.select_date)

    def _inputs(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.date_from = _date_edit("timeline_from", DEFAULT_FROM)
        self.date_to = _date_edit("timeline_to", QDate.currentDate())
        self.max_cloud = QDoubleSpinBox()
        self.max_cloud.setObjectName("timeline_max_cloud")
        self.max_cloud.setRange(0.0, 100.0)
        self.max_cloud.setValue(100.0)
        self.max_cloud.setSuffix(" %")
        self.check_button = QPushButton(tr("Check archive"))
        self.check_button.setObjectName("check_archive_button")
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setObjectName("check_archive_cancel")
        self.cancel_button.setEnabled(False)
        for widget in (QLabel(tr("From")), self.date_from, QLabel(tr("to")), self.date_to, QLabel(tr("Max cloud"))):
            row.addWidget(widget)
        for widget in (self.max_cloud, self.check_button, self.cancel_button):
            row.addWidget(widget)
        return row

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setObjectName("timeline_table")
        table.setHorizontalHeaderLabels([tr(title) for _, title in COLUMNS])
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setVisible(False)
        table.setMinimumHeight(160)
        return table

    # -- run ----------------------------------------------------------------------------------------------------
    def parameters(self) -> dict[str, Any] | None:
        """``s2parity:comparecatalogs`` parameters from this view and the dock's form; None (with the reason in the
        status line) when the form cannot give them."""
        form = self.dock.form
        layer = form.aoi_layer.currentLayer() if form is not None else None
        if layer is None:
            self._set_status(tr("Choose a polygon layer as the area of interest in the Setup tab first."), True)
            return None
        for side, picker in (("A", form.endpoint_a), ("B", form.endpoint_b)):
            problem = picker.validate()
            if problem:
                self._set_status(tr("Endpoint {}: {}").format(side, problem), True)
                return None
        out = self._output_folder()
        date_from, date_to = (e.date().toString("yyyy-MM-dd") for e in (self.date_from, self.date_to))
        stem = f"archive_{date_from}_{date_to}_{dt.datetime.now():%Y%m%dT%H%M%S}"
        return {
            "AOI": layer,
            "SELECTED_ONLY": form.selected_only.isChecked(),
            "DATE_FROM": date_from,
            "DATE_TO": date_to,
            "ENDPOINT_A": form.endpoint_a.profile_id(),
            "ENDPOINT_B": form.endpoint_b.profile_id(),
            "AUTH_A": _auth(form.endpoint_a),
            "AUTH_B": _auth(form.endpoint_b),
            "MAX_CLOUD_COVERAGE": self.max_cloud.value(),
            "OUTPUT_TABLE": str(out / f"{stem}.gpkg"),
            "OUTPUT_REPORT": str(out / f"{stem}.json"),
        }

    def _output_folder(self) -> Path:
        """``<form output folder>/archive`` when it can be written, else a fresh temporary folder."""
        folder = self.dock.form.output_folder.filePath().strip() if self.dock.form is not None else ""
        if folder:
            try:
                path = Path(folder) / "archive"
                path.mkdir(parents=True, exist_ok=True)
                return path
            except OSError:
                pass
        return Path(tempfile.mkdtemp(prefix="s2parity_archive_"))

    def start(self) -> None:
        """Start ``s2parity:comparecatalogs`` in the background (ignored while one runs)."""
        if self.run is not None:
            return
        if self.date_to.date() < self.date_from.date():
            self._set_status(tr("The period is reversed: the end date is before the start date. Swap them."), True)
            return
        params = self.parameters()
        if params is None:
            return
        from s2parity_plugin.gui.dock import ProcessingRun

        try:
            self.run = ProcessingRun(ALG_ID, params, self._done, self._show_progress)
        except RuntimeError as exc:
            self._set_status(str(exc), True)
            return
        if self.run.task.isCanceled():  # prepareAlgorithm refused the input: a task that will never report
            self._set_status(self.run.error_text(), True)
            self.run = None
            return
        self.destroyed.connect(functools.partial(_abandon_if_running, self.run))
        self.progress.setValue(0)
        self.check_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._set_status(tr("Searching both catalogs…") + self._long_period_note(params))
        self.run.start()

    @staticmethod
    def _long_period_note(params: dict[str, Any]) -> str:
        """For a period over 10 years, how many catalog requests it takes at least (yearly searches per side)."""
        from s2parity_plugin.core.archive.query import ArchiveQuery

        start, end = (dt.date.fromisoformat(params[k]) for k in ("DATE_FROM", "DATE_TO"))
        query = ArchiveQuery("", "", start, end)
        if not query.is_long:
            return ""
        return tr(
            " The period is over 10 years: at least {n} catalog requests ({c} yearly searches per endpoint)."
        ).format(n=2 * len(query.chunks()), c=len(query.chunks()))

    def _show_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def cancel(self) -> None:
        if self.run is not None:
            self._set_status(tr("Cancelling…"))  # first: a task that has not started reports back synchronously
            self.run.cancel()

    def shutdown(self) -> None:
        """Abandon a running search (the dock is going away)."""
        if self.run is not None:
            _abandon_if_running(self.run)
            self.run = None

    def _done(self, run, ok: bool, results: dict) -> None:
        self.run = None
        run.finished = True
        self.check_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if run.cancelled or run.feedback.isCanceled():
            self.progress.setValue(0)
            self._set_status(tr("Cancelled."))
            return
        if not ok:
            self._set_status(run.error_text(), True)
            return
        from s2parity_plugin.core.archive.report import read_report

        try:
            self.show_report(read_report(results["OUTPUT_REPORT"]))
        except (OSError, ValueError, KeyError) as exc:
            self._set_status(tr("The archive check finished but its report could not be read: {}").format(exc), True)
            return
        self.progress.setValue(100)
        self._set_status(tr("Done: report {}, table {}.").format(results["OUTPUT_REPORT"], results["OUTPUT_TABLE"]))

    # -- show ---------------------------------------------------------------------------------------------------
    def show_report(self, report: dict[str, Any]) -> None:
        """Render a timeline report (chart, diagnosis with its statements, table)."""
        self.report = report
        self.chart.set_report(report)
        lines = [*report.get("statements", []), *report.get("diagnosis", "").splitlines()]
        self.diagnosis.setPlainText("\n".join(lines))
        self.diagnosis.setStyleSheet("" if report.get("complete", True) else "color: #c0392b;")
        rows = report.get("acquisitions", [])
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _) in enumerate(COLUMNS):
                self.table.setItem(r, c, QTableWidgetItem(_cell(key, row.get(key))))
        self.table.blockSignals(False)

    def select_date(self, day: str) -> None:
        """Select the table row of the acquisition nearest to ``day`` (``YYYY-MM-DD``)."""
        rows = (self.report or {}).get("acquisitions", [])
        if not rows:
            return
        target = dt.date.fromisoformat(day)
        best = min(range(len(rows)), key=lambda i: abs((dt.date.fromisoformat(rows[i]["date"]) - target).days))
        self.table.selectRow(best)
        self.table.scrollToItem(self.table.item(best, 0))

    def _row_chosen(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if not selected or not self.report:
            return
        row = self.report["acquisitions"][selected[0].row()]
        self.chart.set_report(self.report, row["date"])
        if self.dock.form is not None:
            self.dock.form.set_dates(row["date"], row["date"])
        self._set_status(
            tr("{date} ({what}) is now the date of the pixel comparison: press Compare.").format(
                date=row["date"], what=tr(PARITY_WORDS.get(row["parity"], row["parity"]))
            )
        )

    def _show_pixels_tab(self) -> None:
        tabs = getattr(self.dock, "tabs", None)
        if tabs is not None:
            tabs.setCurrentIndex(0)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")


def _auth(picker) -> str:
    """The picker's credentials reference; none for the sample pair (its fields are hidden and may hold stale
    values from another profile)."""
    from s2parity_plugin.gui.comparison_form import needs_credentials

    return picker.auth_value() if needs_credentials(picker.profile_id()) else ""


def _abandon_if_running(run, *_args) -> None:
    """Stop a search whose view was destroyed before it reported (nothing may touch the deleted widgets)."""
    if not getattr(run, "finished", False):
        run.finished = True
        run.abandon()


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key == "presence":
        return tr(PRESENCE_WORDS.get(value, value))
    if key == "parity":
        return tr(PARITY_WORDS.get(value, value))
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _wrapping_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _date_edit(name: str, value: QDate) -> QDateEdit:
    edit = QDateEdit(value)
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit
