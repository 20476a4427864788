"""The dock's Archive view in QGIS: Check archive against the offline sample pair, the chart, the table, and a row
choice that sets the pixel comparison's date."""

from __future__ import annotations

import datetime as dt

from qgis.core import QgsProject, QgsTask
from qgis.PyQt.QtCore import QDate
from qgis.PyQt.QtWidgets import QWidget
from sample_pair_support import open_seed_dock, wait_for

from s2parity_plugin.core.archive.search import CACHE
from s2parity_plugin.gui.charts_timeline import baseline_colour, plot_rect, timeline_image, x_of
from s2parity_plugin.gui.timeline_view import TimelineView


def _view(dock) -> TimelineView:
    index = [dock.tabs.tabText(i) for i in range(dock.tabs.count())].index("Archive")
    view = dock.tabs.widget(index)
    assert isinstance(view, TimelineView)
    return view


def test_check_archive_fills_chart_and_table_and_a_row_sets_the_pixel_date(dock, tmp_path):
    CACHE.clear()
    view = _view(dock)
    view.date_from.setDate(QDate(2020, 1, 1))
    view.date_to.setDate(QDate(2021, 12, 31))
    view.check_button.click()
    assert view.run is not None and not view.check_button.isEnabled()
    wait_for(lambda: view.run is None)
    assert view.status.text().startswith("Done"), view.status.text()
    report = view.report
    assert (tmp_path / "runs" / "archive").is_dir()
    rows = report["acquisitions"]
    assert view.table.rowCount() == len(rows) > 100
    assert [p["baseline_a"] for p in report["periods"]] == ["02.13", "02.14", "03.00", "03.01"]
    assert view.diagnosis.toPlainText().splitlines()[2].startswith("2020-01-28 – 2021-03-28")
    pick = next(i for i, r in enumerate(rows) if r["date"] == "2021-06-06")
    view.table.selectRow(pick)
    assert dock.form.dates() == ("2021-06-06", "2021-06-06")
    assert "2021-06-06" in view.status.text() and "Compare" in view.status.text()
    image = timeline_image(report, 1000)
    plot = plot_rect(image.width(), image.height())
    missing = next(r for r in rows if r["presence"] == "a_only")
    x = round(x_of(report, dt.date.fromisoformat(missing["date"]), plot))
    lane_b_mid = round(plot.top() + 1.5 * plot.height() / 2)
    assert image.pixelColor(x, lane_b_mid).red() > 150 > image.pixelColor(x, lane_b_mid).blue()  # red cross on B
    both = next(r for r in rows if r["presence"] == "both" and r["date"] > "2020-02-01")
    x = round(x_of(report, dt.date.fromisoformat(both["date"]), plot))
    lane_a_mid = round(plot.top() + plot.height() / 4)
    assert image.pixelColor(x, lane_a_mid).name() == baseline_colour(both["baseline_a"]).name()


def test_chart_click_selects_the_nearest_acquisition(dock):
    view = _view(dock)
    view.show_report(_small_report())
    view.select_date("2020-10-05")
    assert view.table.currentRow() == 1 and dock.form.dates() == ("2020-10-04", "2020-10-04")


def test_bad_input_is_stated_not_run(dock):
    view = _view(dock)
    view.date_from.setDate(QDate(2022, 1, 1))
    view.date_to.setDate(QDate(2021, 1, 1))
    view.check_button.click()
    assert view.run is None and "Swap" in view.status.text()
    dock.form.aoi_layer.setLayer(None)
    view.date_to.setDate(QDate(2022, 2, 1))
    view.check_button.click()
    assert view.run is None and "area of interest" in view.status.text()


def test_the_view_is_a_dock_tab(dock):
    assert isinstance(_view(dock), QWidget) and dock.tabs.tabText(0) == "Setup"


def _small_report() -> dict:
    def row(date, a, b, presence="both", parity="different_baselines"):
        return {
            "date": date,
            "tile": "33TVF",
            "relative_orbit": 79,
            "baseline_a": a,
            "baseline_b": b,
            "presence": presence,
            "parity": parity,
            "product_a": "x" if a else None,
            "product_b": "y" if b else None,
            "cloud_a": 1.0,
            "cloud_b": 2.0,
        }

    return {
        "query": {"date_from": "2020-09-01", "date_to": "2020-10-31"},
        "summary": {"acquisitions": 3, "share_differ": 1.0},
        "periods": [{"first": "2020-09-29", "last": "2020-10-09", "parity": "different_baselines"}],
        "acquisitions": [
            row("2020-09-29", "02.14", "05.00"),
            row("2020-10-04", "02.14", "05.00"),
            row("2020-10-09", None, "05.00", "b_only", "only_b"),
        ],
        "diagnosis": "",
        "statements": [],
        "complete": True,
    }


def test_cancel_stops_a_slow_search(dock):
    from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

    CACHE.clear()
    sample_endpoints().set_faults("cdse", latency_s=1.0)
    try:
        view = _view(dock)
        view.date_from.setDate(QDate(2017, 1, 1))  # 8 yearly searches per side, each ≥ 1 s
        view.date_to.setDate(QDate(2024, 12, 31))
        view.check_button.click()
        assert view.run is not None and "at least 16 catalog requests" not in view.status.text()  # 8 years
        task = view.run.task
        wait_for(lambda: task.status() == QgsTask.TaskStatus.Running, timeout_s=30)
        view.cancel_button.click()
        wait_for(lambda: view.run is None, timeout_s=30)
        assert view.status.text() == "Cancelled." and view.table.rowCount() == 0 and view.check_button.isEnabled()
    finally:
        sample_endpoints().clear_faults()


def test_a_long_period_states_its_request_count_before_searching(dock):
    view = _view(dock)
    view.date_from.setDate(QDate(2013, 1, 1))
    view.date_to.setDate(QDate(2024, 12, 31))
    view.check_button.click()
    assert "over 10 years: at least 24 catalog requests (12 yearly searches per endpoint)" in view.status.text()
    wait_for(lambda: view.run is None)
    assert view.status.text().startswith("Done")


def test_input_the_algorithm_refuses_is_stated_and_nothing_hangs(dock):
    """A hidden, stale credentials field is ignored for the sample pair; a real endpoint with an unknown profile name
    is refused by prepareAlgorithm, and the view says why instead of waiting for a task that never runs."""
    view = _view(dock)
    view.date_from.setDate(QDate(2024, 1, 1))
    view.date_to.setDate(QDate(2024, 2, 1))
    dock.form.endpoint_a.sh_profile.setText("no-such-profile")  # hidden while A is the sample endpoint
    view.check_button.click()
    wait_for(lambda: view.run is None, timeout_s=60)
    assert view.status.text().startswith("Done"), view.status.text()
    dock.form.endpoint_a.set_profile("sentinelhub")
    view.check_button.click()
    assert view.run is None and view.check_button.isEnabled()
    assert "no-such-profile" in view.status.text(), view.status.text()


def test_unloading_during_a_search_cancels_it_without_touching_the_view(iface, qgis_processing, tmp_path):
    from qgis.core import QgsApplication
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QEvent

    from s2parity_plugin.sample_endpoints.profiles import sample_endpoints

    CACHE.clear()
    plugin, dock = open_seed_dock(iface, tmp_path)
    sample_endpoints().set_faults("sh", latency_s=1.0)
    try:
        view = _view(dock)
        view.date_from.setDate(QDate(2017, 1, 1))
        view.check_button.click()
        run = view.run
        wait_for(lambda: run.task.status() == QgsTask.TaskStatus.Running, timeout_s=30)
        plugin.unload()  # while the search runs
        QgsApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if not sip.isdeleted(dock):
            sip.delete(dock)
        assert sip.isdeleted(view)
        wait_for(lambda: QgsApplication.taskManager().countActiveTasks() == 0, timeout_s=30)
        for _ in range(20):
            QgsApplication.processEvents()
        assert run.cancelled and run.finished
    finally:
        sample_endpoints().clear_faults()
        QgsProject.instance().clear()
