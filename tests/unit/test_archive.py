"""Archive parity timeline (core/archive): matching, periods, diagnosis, and whole timelines against the sample pair
through the real sentinelhub client over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from s2parity_plugin.core.archive import compare_catalogs, search
from s2parity_plugin.core.archive.matching import match_items
from s2parity_plugin.core.archive.query import build_query
from s2parity_plugin.core.archive.report import TABLE_FIELDS, read_report, table_values, write_report
from s2parity_plugin.core.archive.search import CatalogCache, CatalogItem
from s2parity_plugin.core.archive.timeline import row_for, summarise_periods
from s2parity_plugin.core.errors import DateRangeError
from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.model.seed import seed_aoi_wkt
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint

sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")
from s2parity_plugin.sample_endpoints.catalog import is_listed  # noqa: E402
from s2parity_plugin.sample_endpoints.scene_generator import SyntheticSceneSource  # noqa: E402

SH_ID = "S2B_MSIL2A_20201004T100029_N0214_R122_T33TVF_20201004T130221"
CDSE_ID = "S2B_MSIL2A_20201004T100029_N0500_R122_T33TVF_20230315T093112.SAFE"


def item(item_id: str, when: str, cc: float | None = 5.0) -> CatalogItem:
    return CatalogItem.from_feature({"id": item_id, "properties": {"datetime": when, "eo:cloud_cover": cc}})


# -- matching (no network) --------------------------------------------------------------------------------------


def test_same_acquisition_matches_across_id_forms_and_millisecond_datetimes():
    a = item(SH_ID, "2020-10-04T10:00:29Z")
    b = item(CDSE_ID, "2020-10-04T09:58:41.024Z")
    assert b.sensing == dt.datetime(2020, 10, 4, 9, 58, 41, 24000, tzinfo=dt.timezone.utc)
    [pair] = match_items([a], [b])
    assert (pair.a, pair.b) == (a, b)
    row = row_for(pair)
    assert (row.presence, row.baseline_a, row.baseline_b, row.tile, row.relative_orbit) == (
        "both",
        "02.14",
        "05.00",
        "33TVF",
        122,
    )
    assert row.parity == s2facts.DIFFERENT_BASELINES and row.sensing_b == "2020-10-04T09:58:41.024Z"


def test_granule_datetime_minutes_after_the_id_still_matches_but_another_tile_or_orbit_does_not():
    a = item(SH_ID, "2020-10-04T10:14:40Z")  # Sentinel Hub: granule time, ≈ 15 min after the datatake in the id
    b = item(CDSE_ID, "2020-10-04T10:00:29.024Z")
    assert [(p.a, p.b) for p in match_items([a], [b])] == [(a, b)]
    other_tile = item(CDSE_ID.replace("T33TVF", "T33TVG"), "2020-10-04T10:00:29.024Z")
    other_orbit = item(CDSE_ID.replace("_R122_", "_R079_"), "2020-10-04T10:00:29.024Z")
    for b2 in (other_tile, other_orbit):
        pairs = match_items([a], [b2])
        assert sorted((p.a is None, p.b is None) for p in pairs) == [(False, True), (True, False)]


def test_too_far_apart_is_two_acquisitions_and_the_closest_candidate_wins():
    a = item(SH_ID, "2020-10-04T10:00:29Z")
    far = item(CDSE_ID, "2020-10-04T11:00:29.000Z")
    assert {(p.a is not None, p.b is not None) for p in match_items([a], [far])} == {(True, False), (False, True)}
    near = item(CDSE_ID, "2020-10-04T10:00:31.500Z")
    nearer_a = item(SH_ID, "2020-10-04T10:00:31Z")
    pairs = match_items([a, nearer_a], [near])
    matched = [p for p in pairs if p.a and p.b]
    assert len(pairs) == 2 and matched[0].a is nearer_a


def test_periods_keep_missing_acquisitions_inside_and_count_them_as_differing():
    sh = [
        item(f"S2A_MSIL2A_2020100{d}T100029_N0214_R122_T33TVF_2020100{d}T130221", f"2020-10-0{d}T10:00:29Z")
        for d in (1, 3, 5, 7)
    ]
    cdse = [
        item(i.id.replace("N0214", "N0500") + ".SAFE", i.sensing.isoformat()) for i in sh if "_20201005T" not in i.id
    ]
    rows = [row_for(p) for p in match_items(sh, cdse)]
    assert [r.presence for r in rows] == ["both", "both", "a_only", "both"]
    [period] = summarise_periods(rows)
    assert (period.first, period.last, period.count, period.only_b, period.differ) == (
        "2020-10-01",
        "2020-10-07",
        4,
        0,
        4,
    )
    assert (period.only_a, period.baseline_a, period.baseline_b) == (1, "02.14", "05.00")


def test_bad_periods_are_clear_errors_and_long_ones_announce_their_requests():
    with pytest.raises(DateRangeError, match=r"reversed.*Swap"):
        build_query(seed_aoi_wkt(), "EPSG:3035", "2024-01-01", "2019-01-01")
    with pytest.raises(DateRangeError, match="start date is empty"):
        build_query(seed_aoi_wkt(), "EPSG:3035", "", "2019-01-01")
    with pytest.raises(DateRangeError, match="not a date"):
        build_query(seed_aoi_wkt(), "EPSG:3035", "2019-13-01", "2019-12-31")
    long = build_query(seed_aoi_wkt(), "EPSG:3035", "2013-01-01", "2024-12-31")
    assert long.is_long and len(long.chunks()) == 12
    assert long.chunks()[0] == (dt.date(2013, 1, 1), dt.date(2013, 12, 31))
    assert long.request_estimate(tiles=1) == 24 and long.request_estimate(tiles=2) == 48
    assert not build_query(seed_aoi_wkt(), "EPSG:3035", "2019-01-01", "2024-12-31").is_long


# -- against the sample pair over HTTP ----------------------------------------------------------------------------


def _expected_presence(date_from: dt.datetime, date_to: dt.datetime) -> dict[str, str]:
    """What the sample catalogs list over the seed AOI, from their own rule: date → presence."""
    bbox = (14.27, 40.85, 14.31, 40.89)
    out = {}
    for acq in SyntheticSceneSource().acquisitions(bbox, date_from, date_to):
        on_a, on_b = is_listed(acq, "sh"), is_listed(acq, "cdse")
        out[acq.date.isoformat()] = "both" if on_a and on_b else ("a_only" if on_a else "b_only")
    return out


def test_six_year_seed_timeline_matches_every_acquisition_and_names_the_periods(pair):
    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2019-01-01", "2024-12-31")
    timeline = compare_catalogs(query, *pair, cache=CatalogCache())
    utc = dt.timezone.utc
    expected = _expected_presence(dt.datetime(2019, 1, 1, tzinfo=utc), dt.datetime(2024, 12, 31, 23, 59, tzinfo=utc))
    assert {r.date: r.presence for r in timeline.rows} == expected
    assert {"a_only", "b_only"} <= set(expected.values())
    both = [r for r in timeline.rows if r.presence == "both"]
    assert all(r.product_b.endswith(".SAFE") and not r.product_a.endswith(".SAFE") for r in both)
    assert all(r.sensing_b != r.sensing_a and r.sensing_b[19] == "." for r in both)  # ms, and not the same instant
    pairs = [(p.baseline_a, p.baseline_b, p.parity) for p in timeline.periods]
    assert pairs == [
        ("02.11", "05.00", "different_baselines"),
        ("02.12", "05.00", "different_baselines"),
        ("02.13", "05.00", "different_baselines"),
        ("02.14", "05.00", "different_baselines"),
        ("03.00", "05.00", "different_baselines"),
        ("03.01", "05.00", "different_baselines"),
        ("03.01", "05.10", "different_baselines"),
        ("04.00", "05.10", "different_baselines"),
        ("05.09", "05.10", "different_baselines"),
        ("05.10", "05.10", "identical"),
        ("05.11", "05.11", "identical"),
    ]
    assert timeline.periods[9].first == "2023-12-13" and timeline.periods[3].first == "2020-01-28"
    assert sum(p.count for p in timeline.periods) == len(timeline.rows) == len(expected)
    assert timeline.complete and timeline.statements == []
    diagnosis = timeline.diagnosis.splitlines()
    assert diagnosis[0].startswith(f"{timeline.differ_count} of {len(expected)} acquisitions")
    assert "2020-01-28 – 2021-03-28" in diagnosis[4] and "A 02.14, B 05.00" in diagnosis[4]
    assert "GRI" in diagnosis[4] and "no difference expected" in diagnosis[10]


def test_pages_follow_next_and_the_cache_answers_a_repeat(pair, monkeypatch, eps):
    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2020-01-01", "2020-12-31")
    cache = CatalogCache()
    monkeypatch.setattr(search, "PAGE_LIMIT", 10)
    start = len(eps.request_log)
    paged = compare_catalogs(query, *pair, cache=cache)
    searches = [r for r in eps.request_log[start:] if r[2].endswith("/search")]
    listed = {"A": len(paged.listing_a.items), "B": len(paged.listing_b.items)}
    assert paged.listing_a.requests == -(-listed["A"] // 10) and paged.listing_a.requests > 1
    assert len(searches) == paged.listing_a.requests + paged.listing_b.requests
    monkeypatch.setattr(search, "PAGE_LIMIT", 100)
    unpaged = compare_catalogs(query, *pair, cache=CatalogCache())
    assert [r.to_dict() for r in unpaged.rows] == [r.to_dict() for r in paged.rows]
    start = len(eps.request_log)
    again = compare_catalogs(query, *pair, cache=cache)
    assert eps.request_log[start:] == []  # not even a token: the endpoint is contacted only for uncached years
    assert again.listing_a.cached_chunks == 1 and again.listing_a.requests == 0


def test_an_unreachable_side_still_shows_the_other_marked_incomplete(pair, monkeypatch):
    monkeypatch.setenv("S2PARITY_RETRY_DEADLINE_S", "2")  # connection errors are retried within this deadline
    a, _ = pair
    dead = Endpoint("custom", "http://127.0.0.1:9", "http://127.0.0.1:9/token", Credentials("x", "y"))
    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2020-09-01", "2020-10-31")
    timeline = compare_catalogs(query, a, dead, cache=CatalogCache())
    assert not timeline.complete and not timeline.listing_b.complete
    assert timeline.listing_b.error and "127.0.0.1:9" in timeline.listing_b.error
    assert len(timeline.rows) == len(timeline.listing_a.items) > 5
    assert {r.presence for r in timeline.rows} == {"a_only"}
    [statement] = timeline.statements
    assert statement.startswith("Endpoint B (custom) could not be searched completely") and "incomplete" in statement


def test_no_acquisition_on_one_side_is_a_statement_not_an_error(pair):
    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2019-04-13", "2019-04-13")  # not in the "sh" sample catalog
    timeline = compare_catalogs(query, *pair, cache=CatalogCache())
    assert len(timeline.listing_a.items) == 0 and len(timeline.listing_b.items) == 1
    assert timeline.statements == [
        "Endpoint A (sample-sh) lists no acquisition over this AOI between 2019-04-13 and 2019-04-13 — all 1 "
        "acquisitions of B are missing on A."
    ]
    assert [r.parity for r in timeline.rows] == [s2facts.ONLY_B]


def test_rate_limited_catalog_is_waited_out_and_the_report_round_trips(pair, eps, tmp_path):
    eps.set_faults("cdse", rate_limit_burst=2, retry_after_ms=50)
    query = build_query(seed_aoi_wkt(), "EPSG:3035", "2021-12-01", "2022-02-28", max_cloud_coverage=40)
    timeline = compare_catalogs(query, *pair, cache=CatalogCache())
    assert timeline.complete and all(r.cloud_a <= 40 for r in timeline.rows if r.cloud_a is not None)
    doc = read_report(write_report(timeline, tmp_path / "timeline.json"))
    assert doc["summary"]["acquisitions"] == len(timeline.rows) and doc["query"]["max_cloud_coverage"] == 40
    assert [p["baseline_b"] for p in doc["periods"]] == ["05.00", "05.10", "05.10"]
    assert len(table_values(timeline.rows[0])) == len(TABLE_FIELDS)
    first_both = next(r for r in doc["acquisitions"] if r["presence"] == "both")
    assert first_both["reasons"][0].startswith("baselines differ")
    if timeline.counts()["a_only"] + timeline.counts()["b_only"]:
        assert any("cloud limit" in s for s in timeline.statements)
