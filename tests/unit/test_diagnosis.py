"""Diagnosis: baselines from ids, BOA_ADD_OFFSET / harmonizeValues, refinement shift range, SCL edges, claims."""

from __future__ import annotations

import pytest

from s2parity_plugin.core.diagnosis import (
    REFINEMENT_RANGE_M,
    boa_add_offset,
    check_claims,
    diagnose,
    parse_baseline,
    resolve,
    served_offset_dn,
    side_baselines,
)
from s2parity_plugin.core.report import build_report

OLD_ID = "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001"
NEW_ID = "S2B_MSIL2A_20201004T095029_N0500_R079_T33TVF_20230316T093516.SAFE"


@pytest.mark.parametrize(
    ("pid", "baseline"),
    [
        (OLD_ID, "02.14"),
        (NEW_ID, "05.00"),
        ("S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454", "04.00"),
        ("S2B_MSIL2A_20231103T021839_N0509_R003_T51PTS_20231103T045014", "05.09"),
        ("S2A_29RKH_20200219_0_L2A", None),
        ("", None),
    ],
)
def test_parse_baseline(pid, baseline):
    assert parse_baseline(pid) == baseline


def test_side_baselines_from_acquisitions_and_catalog():
    meta = {"acquisitions": [{"product_id": OLD_ID}, {"product_id": "x"}], "catalog_ids": [NEW_ID, OLD_ID]}
    assert side_baselines(meta) == ["02.14", "05.00"]
    assert side_baselines({}) == []


def test_offsets():
    assert boa_add_offset("02.14") == 0 and boa_add_offset("04.00") == -1000 and boa_add_offset(None) is None
    assert served_offset_dn("05.00", False) == 1000.0
    assert served_offset_dn("05.00", True) == 0.0
    assert served_offset_dn("05.00", None) == 0.0  # harmonizeValues defaults to true
    assert served_offset_dn("02.14", False) == 0.0


def stats(bias, rmse=None):
    return {"bias": bias, "rmse": rmse if rmse is not None else abs(bias) + 1, "n": 1000}


def shift(mag_m, confident=True, quality=0.9):
    return {
        "dx_px": mag_m / 10,
        "dy_px": 0.0,
        "dx_m": mag_m,
        "dy_m": 0.0,
        "magnitude_m": mag_m,
        "quality": quality,
        "confident": confident,
    }


def test_offset_explained_by_harmonize_off_on_new_baseline():
    d = diagnose(
        {"acquisitions": [{"product_id": OLD_ID}], "harmonize_values": True},
        {"catalog_ids": [NEW_ID], "harmonize_values": False},
        stats(1003.0),
        shift(3.0),
        None,
        "DN",
    )
    assert d["baseline_a"] == "02.14" and d["baseline_b"] == "05.00"
    assert d["collection1_a"] is False and d["collection1_b"] is True
    assert d["boa_add_offset_a"] == 0 and d["boa_add_offset_b"] == -1000
    assert d["offset"]["expected_offset"] == 1000.0
    assert d["offset"]["explained_by_boa_add_offset"] is True
    assert d["offset"]["residual_bias"] == pytest.approx(3.0)
    assert "Endpoint A served baseline 02.14, B served baseline 05.00" in d["explanation"]
    assert "BOA_ADD_OFFSET" in d["explanation"]


def test_reflectance_offset_and_no_offset_expected():
    d = diagnose(
        {"catalog_ids": [OLD_ID]},
        {"catalog_ids": [NEW_ID], "harmonize_values": False},
        stats(0.1),
        shift(1),
        None,
        "REFLECTANCE",
    )
    assert d["offset"]["expected_offset"] == pytest.approx(0.1)
    assert d["offset"]["explained_by_boa_add_offset"] is True
    # both harmonized: no offset expected, a 0.1 bias is flagged as offset-like but not explained
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, stats(0.1), shift(1), None, "REFLECTANCE")
    assert d["offset"]["expected_offset"] == 0.0
    assert d["offset"]["explained_by_boa_add_offset"] is False
    assert d["offset"]["offset_like_boa_add_offset"] is True
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, stats(0.002), shift(1), None, "REFLECTANCE")
    assert d["offset"]["offset_like_boa_add_offset"] is False
    assert "No BOA_ADD_OFFSET difference is expected and none is seen" in d["explanation"]


def test_unknown_baselines():
    d = diagnose({}, {}, stats(5.0), shift(2.0), None, None)
    assert d["baseline_a"] is None and d["offset"]["expected_offset"] is None
    assert "baselines are unknown" in d["explanation"]


@pytest.mark.parametrize(
    ("mag", "confident", "in_range"),
    [(4.0, True, True), (0.2, True, False), (35.0, True, False), (4.0, False, False)],
)
def test_shift_range(mag, confident, in_range):
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, stats(1), shift(mag, confident), None, "DN")
    assert d["shift"]["in_refinement_range"] is in_range
    assert d["shift"]["refinement_range_m"] == list(REFINEMENT_RANGE_M)
    assert d["shift"]["refinement_expected"] is True
    assert "GRI" in d["shift"]["range_source"] or "geolocation" in d["shift"]["range_source"]
    if in_range:
        assert "Collection-1 geometric refinement" in d["explanation"]
    if not confident:
        assert "No reliable geometric shift" in d["explanation"]


def scl_section(mism, mism_near, pixels, near):
    return {
        "shares": {"valid_only_a": mism / pixels / 2, "valid_only_b": mism / pixels / 2},
        "edges": {
            "distance_px": 3,
            "pixels": pixels,
            "pixels_near_edge": near,
            "mismatch_pixels": mism,
            "mismatch_near_edge": mism_near,
            "share_all_near_edge": near / pixels,
            "share_mismatch_near_edge": mism_near / mism if mism else None,
        },
    }


def test_scl_edges_concentration():
    d = diagnose({}, {}, stats(1), shift(1), scl_section(100, 90, 10000, 1000), "DN")
    assert d["scl_edges"]["concentration_ratio"] == pytest.approx(0.9 / 0.1)
    assert d["scl_edges"]["concentrated_on_cloud_edges"] is True
    assert "cloud and shadow edges" in d["explanation"]
    d = diagnose({}, {}, stats(1), shift(1), scl_section(100, 10, 10000, 1000), "DN")
    assert d["scl_edges"]["concentrated_on_cloud_edges"] is False
    d = diagnose({}, {}, stats(1), shift(1), scl_section(0, 0, 10000, 1000), "DN")
    assert "agree everywhere" in d["explanation"]


def test_every_claim_is_backed_by_the_report():
    st = stats(1000.4)
    sc = scl_section(100, 90, 10000, 1000)
    sh = shift(4.2)
    diag = diagnose(
        {"endpoint_id": "sentinelhub", "acquisitions": [{"product_id": OLD_ID}]},
        {"endpoint_id": "cdse", "catalog_ids": [NEW_ID], "harmonize_values": False},
        st,
        sh,
        sc,
        "DN",
    )
    report = build_report(grid={}, stats=st, scl=sc, shift=sh, diagnosis=diag, units="DN")
    assert len(report["diagnosis"]["claims"]) >= 5
    assert check_claims(report) == []
    for c in report["diagnosis"]["claims"]:
        assert set(c) == {"claim", "evidence_key", "value"}
        assert resolve(report, c["evidence_key"]) == c["value"]
    keys = {c["evidence_key"] for c in report["diagnosis"]["claims"]}
    assert {"diagnosis.baseline_a", "diagnosis.baseline_b", "stats.bias", "shift.magnitude_m"} <= keys
    # a tampered value is caught
    report["stats"]["bias"] = 1.0
    assert check_claims(report) == ["stats.bias: 1.0 != 1000.4"]
