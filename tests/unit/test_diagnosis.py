"""Diagnosis: baselines from ids, BOA_ADD_OFFSET / harmonizeValues, refinement shift range, SCL edges, claims."""

from __future__ import annotations

import pytest

from s2parity_plugin.core.diagnosis.explain import (
    REFINEMENT_RANGE_M,
    acquisition_pairs,
    check_claims,
    diagnose,
    expected_offset,
    resolve,
    served_offset_dn,
    side_baselines,
)
from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.report.document import Findings, build_report

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
def test_side_baselines_parse_each_id_form(pid, baseline):
    assert side_baselines({"catalog_ids": [pid]}) == ([baseline] if baseline else [])


def test_side_baselines_from_acquisitions_and_catalog():
    meta = {"acquisitions": [{"product_id": OLD_ID}, {"product_id": "x"}], "catalog_ids": [NEW_ID, OLD_ID]}
    assert side_baselines(meta) == ["02.14", "05.00"]
    assert side_baselines({}) == []


def test_offsets():
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


def test_reflectance_has_no_expected_offset_whatever_harmonize_says():
    """REFLECTANCE is (DN + BOA_ADD_OFFSET)/10000 on every baseline; harmonizeValues only clamps negatives."""
    d = diagnose(
        {"catalog_ids": [OLD_ID]},
        {"catalog_ids": [NEW_ID], "harmonize_values": False},
        stats(0.1),
        shift(1),
        None,
        "REFLECTANCE",
    )
    assert d["offset"]["expected_offset"] == 0.0
    assert d["offset"]["explained_by_boa_add_offset"] is False
    assert d["offset"]["offset_like_boa_add_offset"] is True
    assert "converted raw DN itself" in d["explanation"]
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, stats(0.1), shift(1), None, "REFLECTANCE")
    assert d["offset"]["expected_offset"] == 0.0
    assert d["offset"]["explained_by_boa_add_offset"] is False
    assert d["offset"]["offset_like_boa_add_offset"] is True
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, stats(0.002), shift(1), None, "REFLECTANCE")
    assert d["offset"]["offset_like_boa_add_offset"] is False
    # the inputs section names the products' different offsets: this sentence must not read as a contradiction
    assert "BOA_ADD_OFFSET differ, but the service removes it for these units and settings" in d["explanation"]
    assert "No BOA_ADD_OFFSET difference is expected" not in d["explanation"]
    d = diagnose({"catalog_ids": [NEW_ID]}, {"catalog_ids": [NEW_ID]}, stats(0.002), shift(0), None, "REFLECTANCE")
    assert "No BOA_ADD_OFFSET difference is expected and none is seen" in d["explanation"]


@pytest.mark.parametrize(
    ("units", "harm_a", "harm_b", "expected"),
    [
        ("DN", False, False, 1000.0),  # 02.14 has no offset; 05.00's raw DN carries +1000
        ("DN", True, True, 0.0),
        ("DN", None, False, 1000.0),
        ("REFLECTANCE", False, False, 0.0),
        (None, False, False, None),
    ],
)
def test_expected_offset_by_units_and_harmonize(units, harm_a, harm_b, expected):
    assert expected_offset("02.14", "05.00", harm_a, harm_b, units) == expected


def test_ids_in_both_forms_and_ms_timestamps_pair_to_one_acquisition():
    """Sentinel Hub id without .SAFE, CDSE's with .SAFE and a millisecond datetime: one pair, its baselines."""
    meta_a = {"acquisitions": [{"product_id": OLD_ID, "date": "2020-10-04T09:50:29Z"}]}
    meta_b = {"acquisitions": [{"product_id": NEW_ID, "date": "2020-10-04T09:50:29.024Z"}]}
    pairs = acquisition_pairs(meta_a, meta_b)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p["sensing_date"], p["tile"], p["baseline_a"], p["baseline_b"]) == ("2020-10-04", "33TVF", "02.14", "05.00")
    assert p["kind"] == s2facts.DIFFERENT_BASELINES
    same = acquisition_pairs(
        {"acquisitions": [{"product_id": NEW_ID.removesuffix(".SAFE")}]}, {"acquisitions": [{"product_id": NEW_ID}]}
    )
    assert [q["kind"] for q in same] == [s2facts.IDENTICAL]


def test_2022_2023_baselines_differ_and_are_never_called_identical():
    """Sentinel Hub 04.00 vs CDSE 05.10 (2022-06): different inputs, both GRI-refined, Sen2Cor 2.10 vs 2.11."""
    a = "S2A_MSIL2A_20220615T100031_N0400_R122_T33TVF_20220615T140003"
    b = "S2A_MSIL2A_20220615T100031_N0510_R122_T33TVF_20240301T101010.SAFE"
    d = diagnose(
        {"acquisitions": [{"product_id": a}]}, {"acquisitions": [{"product_id": b}]}, stats(2.0), shift(1.2), None, "DN"
    )
    assert d["expected_parity"]["kind"] == s2facts.DIFFERENT_BASELINES
    assert d["collection1_a"] is False and d["collection1_b"] is True
    assert d["gri_refined_a"] is True and d["gri_refined_b"] is True
    assert "no difference is expected" not in d["explanation"]
    assert "Sen2Cor 2.10 vs 2.11" in d["explanation"]
    assert "refined, but separately" in d["explanation"]
    assert d["shift"]["refinement_expected"] is False and d["shift"]["separately_refined"] is True
    assert check_claims({"diagnosis": d, "stats": stats(2.0), "shift": shift(1.2)}) == []


def test_same_product_on_both_sides_is_the_only_no_difference_case():
    pid = "S2A_MSIL2A_20240801T100031_N0511_R122_T33TVF_20240801T140003"
    d = diagnose(
        {"acquisitions": [{"product_id": pid}]}, {"catalog_ids": [pid + ".SAFE"]}, stats(0.0), shift(0.1), None, "DN"
    )
    assert d["expected_parity"]["kind"] == s2facts.IDENTICAL
    assert "no difference is expected from the inputs" in d["explanation"]


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
    report = build_report(Findings(grid={}, stats=st, scl=sc, shift=sh, diagnosis=diag, units="DN"))
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
