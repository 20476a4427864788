"""Results panel: renders one comparison report (the JSON document of the compare engine) — the diagnosis
sentence first, then key numbers, plots, the SCL confusion matrix and the per-feature table. It computes nothing
of its own."""

from __future__ import annotations

from typing import Any

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from s2parity_plugin.core.scl import SCL_CLASSES
from s2parity_plugin.gui.plots import density_pixmap, histogram_pixmap


def _num(value: Any, fmt: str = "{:.4g}", unit: str = "") -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value) + (f" {unit}" if unit else "")
    except (TypeError, ValueError):
        return str(value)


def baselines(report: dict) -> tuple[str, str]:
    """Processing baseline of side A and B as the diagnosis reports them ("02.14"), or "unknown"."""
    diag = report.get("diagnosis", {})
    return diag.get("baseline_a") or "unknown", diag.get("baseline_b") or "unknown"


class ResultsPanel(QWidget):
    """Shows a report; ``show_report(report)`` replaces what is shown, ``clear()`` empties it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.diagnosis = QLabel()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setWordWrap(True)
        self.diagnosis.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.diagnosis.setStyleSheet("font-weight: bold; padding: 4px; background: #fff8dc;")
        layout.addWidget(self.diagnosis)

        numbers_box = QGroupBox("Key numbers")
        self.numbers = QGridLayout(numbers_box)
        self.number_labels: dict[str, QLabel] = {}
        for row, (key, title) in enumerate(
            (
                ("baselines", "Baselines A / B"),
                ("bias", "Bias (mean B − A)"),
                ("rmse", "RMSE"),
                ("r", "Pearson r / fit"),
                ("shift", "Shift B vs A"),
                ("mismatch", "SCL valid only A / only B"),
                ("both_invalid", "SCL invalid in both"),
                ("n", "Pixels compared"),
            )
        ):
            value = QLabel("–")
            value.setObjectName(f"number_{key}")
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.numbers.addWidget(QLabel(title), row, 0)
            self.numbers.addWidget(value, row, 1)
            self.number_labels[key] = value
        layout.addWidget(numbers_box)

        plots = QHBoxLayout()
        self.histogram = QLabel()
        self.histogram.setObjectName("histogram_plot")
        self.density = QLabel()
        self.density.setObjectName("density_plot")
        plots.addWidget(self.histogram)
        plots.addWidget(self.density)
        layout.addLayout(plots)

        self.confusion = QTableWidget(12, 12)
        self.confusion.setObjectName("confusion_matrix")
        self.confusion.setEditTriggers(QAbstractItemView.NoEditTriggers)
        names = [f"{v} {SCL_CLASSES[v][0]}" for v in range(12)]
        self.confusion.setVerticalHeaderLabels([f"A: {n}" for n in names])
        self.confusion.setHorizontalHeaderLabels([str(v) for v in range(12)])
        self.confusion.setMinimumHeight(200)
        confusion_box = QGroupBox("SCL confusion matrix (rows A, columns B)")
        QVBoxLayout(confusion_box).addWidget(self.confusion)
        layout.addWidget(confusion_box)

        self.features = QTableWidget(0, 0)
        self.features.setObjectName("feature_table")
        self.features.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.features_box = QGroupBox("Per feature")
        QVBoxLayout(self.features_box).addWidget(self.features)
        layout.addWidget(self.features_box)

        self.inspector = QLabel("Pixel inspector: pick the tool and click the map.")
        self.inspector.setObjectName("pixel_inspector_output")
        self.inspector.setWordWrap(True)
        self.inspector.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.inspector)
        self.clear()

    def clear(self) -> None:
        self.diagnosis.setText("Run a comparison to see why the two endpoints differ.")
        for label in self.number_labels.values():
            label.setText("–")
        self.histogram.clear()
        self.density.clear()
        self.confusion.clearContents()
        self.features.setRowCount(0)
        self.features_box.hide()

    def show_report(self, report: dict) -> None:
        """Render ``report`` (keys ``grid``, ``stats``, ``scl``, ``shift``, ``diagnosis``, optional ``features``)."""
        diag = report.get("diagnosis", {})
        self.diagnosis.setText(diag.get("explanation") or "No diagnosis in this report.")
        stats = report.get("stats", {})
        units = report.get("units") or ""
        shift = report.get("shift", {})
        shares = report.get("scl", {}).get("shares", {})
        base_a, base_b = baselines(report)
        confidence = shift.get("quality")
        values = {
            "baselines": f"{base_a} / {base_b}",
            "bias": _num(stats.get("bias"), unit=units),
            "rmse": _num(stats.get("rmse"), unit=units),
            "r": f"{_num(stats.get('pearson_r'), '{:.4f}')}  (B = {_num(stats.get('fit_slope'), '{:.4f}')}·A "
            f"{_num(stats.get('fit_intercept'), '{:+.4g}')})",
            "shift": f"dx {_num(shift.get('dx_m'), '{:+.2f}', 'm')}, dy {_num(shift.get('dy_m'), '{:+.2f}', 'm')}, "
            f"|{_num(shift.get('magnitude_m'), '{:.2f}', 'm')}| (confidence {_num(confidence, '{:.2f}')})",
            "mismatch": f"{_num(shares.get('valid_only_a'), '{:.2%}')} / {_num(shares.get('valid_only_b'), '{:.2%}')}",
            "both_invalid": _num(shares.get("both_invalid"), "{:.2%}"),
            "n": _num(stats.get("n"), "{:,}"),
        }
        for key, text in values.items():
            self.number_labels[key].setText(text)

        hist = stats.get("histogram") or {}
        if hist.get("bin_edges") and hist.get("counts"):
            self.histogram.setPixmap(histogram_pixmap(hist["bin_edges"], hist["counts"], title=f"B − A ({units})"))
        density = report.get("density") or {}
        if density.get("counts"):
            self.density.setPixmap(
                density_pixmap(density["counts"], tuple(density["a_range"]), tuple(density["b_range"]))
            )

        matrix = report.get("scl", {}).get("confusion") or []  # 12×12, rows = SCL class of A, columns = of B
        for r, row in enumerate(matrix[:12]):
            for c, count in enumerate(row[:12]):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if r != c and count:
                    item.setBackground(Qt.yellow)
                self.confusion.setItem(r, c, item)

        self._show_features(report.get("features") or [])

    def _show_features(self, rows: list[dict]) -> None:
        if not rows:
            self.features_box.hide()
            return
        columns = list(rows[0].keys())
        self.features.setColumnCount(len(columns))
        self.features.setHorizontalHeaderLabels(columns)
        self.features.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(columns):
                value = row.get(key)
                text = _num(value) if isinstance(value, float) else str(value)
                self.features.setItem(r, c, QTableWidgetItem(text))
        self.features_box.show()

    def show_pixel(self, text: str) -> None:
        self.inspector.setText(text)
