"""The Sentinel-2 facts module: baselines per deployment and date, offsets, id parsing."""

import datetime as dt

import pytest

from s2parity_plugin.core.model import s2facts as f


@pytest.mark.parametrize(
    ("day", "sh", "cdse"),
    [
        ("2019-06-15", "02.12", "05.00"),
        ("2020-10-04", "02.14", "05.00"),
        ("2021-06-15", "03.00", "05.00"),
        ("2022-01-10", "03.01", "05.10"),
        ("2022-06-15", "04.00", "05.10"),
        ("2023-03-01", "05.09", "05.10"),
        ("2024-01-10", "05.10", "05.10"),
        ("2024-08-01", "05.11", "05.11"),
    ],
)
def test_served_baseline_per_deployment(day: str, sh: str, cdse: str) -> None:
    assert f.served_baseline(f.SENTINEL_HUB, day) == sh
    assert f.served_baseline(f.CDSE, day) == cdse


def test_unknown_deployment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown deployment"):
        f.served_baseline("aws", "2020-01-01")


@pytest.mark.parametrize(
    ("text", "baseline"),
    [
        ("S2B_MSIL2A_20201004T100029_N0214_R122_T33TVF_20201004T130221", "02.14"),
        ("S2B_MSIL2A_20201004T100029_N0500_R122_T33TVF_20230101T000000.SAFE", "05.00"),
        ("N0510", "05.10"),
        ("5.10", "05.10"),
        ("05.11", "05.11"),
        ("no baseline here", None),
        (None, None),
    ],
)
def test_parse_baseline_both_id_forms(text, baseline) -> None:
    assert f.parse_baseline(text) == baseline


def test_parse_product_id_fields() -> None:
    got = f.parse_product_id("S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE")
    assert got == {"baseline": "04.00", "tile": "29UNU", "relative_orbit": 23, "sensing": "20221005T115411"}


def test_parse_datetime_accepts_ms_and_z() -> None:
    a = f.parse_datetime("2020-10-04T10:00:29.024Z")
    b = f.parse_datetime("2020-10-04T10:00:29+00:00")
    assert (a - b).total_seconds() == pytest.approx(0.024)
    assert f.parse_datetime("2020-10-04").tzinfo == dt.timezone.utc
    assert f.parse_datetime("2020-10-04T10:00:29.1234567Z").microsecond == 123456


def test_offsets_and_refinement() -> None:
    assert f.boa_add_offset("02.14") == 0
    assert f.boa_add_offset("04.00") == -1000
    assert f.boa_add_offset(None) is None
    assert f.gri_refined("02.14") is False and f.gri_refined("03.00") is True
    assert f.is_collection1("05.00", "2020-10-04") and not f.is_collection1("02.14", "2020-10-04")


def test_expected_parity_kinds_and_reasons() -> None:
    assert f.expected_parity("05.10", "05.10").kind == f.IDENTICAL
    assert f.expected_parity(None, "05.00").kind == f.ONLY_B
    assert f.expected_parity("02.14", None).kind == f.ONLY_A
    diff = f.expected_parity("02.14", "05.00")
    assert diff.kind == f.DIFFERENT_BASELINES and diff.differs
    text = " ".join(diff.reasons)
    assert "BOA_ADD_OFFSET" in text and "GRI" in text and "Sen2Cor 2.8 vs 2.10" in text
    later = " ".join(f.expected_parity("04.00", "05.10").reasons)
    assert "BOA_ADD_OFFSET" not in later and "Sen2Cor 2.10 vs 2.11" in later
