"""A comparison with no pixel valid on both sides says so instead of "masks agree everywhere"."""

from __future__ import annotations

from s2parity_plugin.core.diagnosis.explain import NOTHING_TO_COMPARE, diagnose

OLD_ID = "S2B_MSIL2A_20201004T095029_N0214_R079_T33TVF_20201004T124001"
NEW_ID = "S2B_MSIL2A_20201004T095029_N0500_R079_T33TVF_20230401T000000"
NO_SHIFT = {"dx_m": None, "dy_m": None, "magnitude_m": None, "quality": 0.0, "confident": False}
SCL_NONE_VALID = {
    "edges": {"mismatch_pixels": 0, "share_mismatch_near_edge": None, "share_all_near_edge": 0.0, "distance_px": 2},
    "shares": {"valid_only_a": 0.0, "valid_only_b": 0.0},
}


def test_zero_valid_pixels_is_nothing_to_compare():
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, {"n": 0}, NO_SHIFT, SCL_NONE_VALID, "DN")
    assert NOTHING_TO_COMPARE in d["explanation"]
    assert "agree everywhere" not in d["explanation"]
    assert {"claim": "pixels valid on both sides", "evidence_key": "stats.n", "value": 0} in d["claims"]


def test_valid_pixels_with_agreeing_masks_still_say_so():
    d = diagnose({"catalog_ids": [OLD_ID]}, {"catalog_ids": [NEW_ID]}, {"n": 25}, NO_SHIFT, SCL_NONE_VALID, "DN")
    assert "The SCL validity masks agree everywhere." in d["explanation"]
    assert "Nothing to compare" not in d["explanation"]
