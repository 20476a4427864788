"""The diagnosis, validated end to end: the seed workflow (fetch both endpoints of the local pair with the real
sentinelhub client, compare, diagnose) on five dates across the baseline history. The diagnosis must name the
baselines each side served and the causes the facts module gives for them, and say "no difference is expected"
only where both serve the same product (2024-08, operational 05.11 on both)."""

from __future__ import annotations

import pytest
import sample_endpoints_support as sup
from shapely.geometry import box

from s2parity_plugin.core.compare import compare_run_folder
from s2parity_plugin.core.fetch.pipeline import fetch_pair
from s2parity_plugin.core.model import s2facts
from s2parity_plugin.core.model.spec import Preset, build_spec
from s2parity_plugin.core.service.endpoints import Credentials, Endpoint

sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")

# ~2 km × 1.8 km near Naples (WGS 84), tile T33TVF, relative orbits 79 and 122 of the sample pair
AOI = box(14.200, 40.800, 14.224, 40.818)

# date → (Sentinel Hub baseline, CDSE baseline, causes the explanation names)
CASES = {
    "2019-06-12": ("02.12", "05.00", ("only B is geometrically refined", "Sen2Cor 2.8 vs 2.10", "BOA_ADD_OFFSET")),
    "2020-10-04": ("02.14", "05.00", ("only B is geometrically refined", "Sen2Cor 2.8 vs 2.10", "BOA_ADD_OFFSET")),
    "2021-06-21": ("03.00", "05.00", ("both are GRI-refined", "Sen2Cor 2.9 vs 2.10", "BOA_ADD_OFFSET")),
    "2022-06-11": ("04.00", "05.10", ("both are GRI-refined", "Sen2Cor 2.10 vs 2.11")),
    "2024-08-14": ("05.11", "05.11", ()),
}


@pytest.fixture(scope="module")
def pair():
    sup.clear_sessions()  # sentinelhub-py caches sessions process-wide: no token of another module's server
    with sample_endpoints.SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0) as eps:
        info = eps.info

        def endpoint(dep: str) -> Endpoint:
            d = info[dep]
            creds = Credentials(d["client_id"], d["client_secret"])
            return Endpoint(f"sample-{dep}", d["base_url"], d["token_url"], creds)

        yield endpoint("sh"), endpoint("cdse")
    sup.clear_sessions()


@pytest.mark.parametrize("day", sorted(CASES))
def test_diagnosis_names_the_baselines_and_causes(pair, tmp_path, day, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    base_sh, base_cdse, causes = CASES[day]
    a, b = pair
    spec = build_spec(AOI, 4326, day, day, preset=Preset(quantity="B04"))
    report = compare_run_folder(fetch_pair(spec, a, b, tmp_path)).report
    diag, explanation = report["diagnosis"], report["diagnosis"]["explanation"]

    assert (diag["baseline_a"], diag["baseline_b"]) == (base_sh, base_cdse)
    assert f"A served baseline {base_sh}" in explanation
    assert all(cause in explanation for cause in causes), explanation
    pairs = diag["expected_parity"]["pairs"]
    assert pairs and all(p["sensing_date"] == day and p["tile"] == "33TVF" for p in pairs)
    if base_sh == base_cdse:
        assert diag["expected_parity"]["kind"] == s2facts.IDENTICAL
        assert "no difference is expected" in explanation
        assert report["stats"]["rmse"] == 0.0 and report["stats"]["bias"] == 0.0
    else:
        assert diag["expected_parity"]["kind"] == s2facts.DIFFERENT_BASELINES
        assert "no difference is expected" not in explanation
        assert report["stats"]["rmse"] > 0
        # harmonizeValues true (the default) in DN: no BOA offset expected, none explains the difference
        assert diag["offset"]["expected_offset"] == 0.0 and diag["offset"]["explained_by_boa_add_offset"] is False
    assert diag["collection1_b"] is (base_sh != base_cdse)
    assert diag["shift"]["refinement_expected"] is (base_sh < "03.00")
