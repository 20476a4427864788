"""Why do the two endpoints' pixels differ? Numbers from the report → claims → one plain-language explanation.

What is checked (every claim cites a key of the report and the value found there):

* **Processing baseline** of each side, parsed from ESA product ids / catalog ids in the SideMetadata
  (``_N0214_`` → "02.14"). Baselines ≥ 05.00 on acquisitions before 2022-01-25 are the Collection-1 reprocessing.
* **Radiometric offset**: since baseline 04.00 (2022-01-25) L2A DNs carry BOA_ADD_OFFSET = −1000
  (reflectance = (DN + BOA_ADD_OFFSET) / 10000); before 04.00 the offset is 0. Sentinel Hub's
  ``harmonizeValues`` (default true) removes the offset. A side therefore serves DN + 1000 (or reflectance + 0.1)
  when its baseline is ≥ 04.00 and harmonizeValues is false. The expected B − A offset is compared with the bias.
* **Geometric shift**: Collection-1 products are geometrically refined against the Global Reference Image (GRI).
  ESA quotes, for refined Level-1C products, 8 m absolute geolocation and 5 m multi-temporal co-registration
  (95 % circular error) against 11 m absolute / 12 m multi-temporal (95.5 %) before refinement
  (ESA, "Forthcoming deployment of the Copernicus Sentinel-2 products geometric refinement", 22 March 2021;
  Sentinel-2 Data Quality Reports, as summarised by CESBIO, "A first peek at new Sentinel2 geometric processing",
  2021). A shift between an unrefined and a refined product of the same acquisition is therefore expected to be at
  most ≈ 11 m + 8 m ≈ 20 m; we use :data:`REFINEMENT_RANGE_M` = 0.5–20 m (0.5 m ≈ 0.05 px at 10 m, the
  estimator's accuracy). Refinement was activated operationally with processing baseline 03.00 (30 March 2021,
  Europe; worldwide from 23 August 2021), so a side with baseline < 03.00 is unrefined.
* **SCL edges**: share of SCL mismatch pixels within N px of a cloud/shadow boundary (classes 3, 8, 9, 10 in A or
  B) against the share of all pixels there; a ratio ≥ :data:`EDGE_CONCENTRATION_RATIO` means the mismatch is
  concentrated on cloud/shadow edges (a cloud mask that moved or was refined, not a land-cover change).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

BASELINE_RE = re.compile(r"_N(\d{2})(\d{2})(?=[_.]|$)")
REFINEMENT_RANGE_M = (0.5, 20.0)
REFINEMENT_RANGE_SOURCE = (
    "ESA 2021-03-22 geometric refinement announcement: refined L1C 8 m absolute geolocation (CE95); "
    "unrefined 11 m (95.5 %, S2 Data Quality Reports); 0.5 m ≈ shift estimator accuracy (0.05 px at 10 m)"
)
BOA_OFFSET_DN = 1000.0
OFFSET_MATCH_FRACTION = 0.25  # |bias − expected| ≤ 25 % of the 1000 DN (0.1 reflectance) offset
EDGE_CONCENTRATION_RATIO = 1.5
UNITS_SCALE = {"DN": 1.0, "REFLECTANCE": 1e-4}


def parse_baseline(product_id: str) -> str | None:
    """Processing baseline "NN.NN" from an ESA product / catalog id (``…_N0214_…`` → "02.14"), else None."""
    if not isinstance(product_id, str):
        return None
    m = BASELINE_RE.search(product_id)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def side_baselines(meta: dict) -> list[str]:
    """Sorted distinct baselines of all product ids (acquisitions) and catalog ids of one side."""
    ids: list[str] = [a.get("product_id", "") for a in meta.get("acquisitions", []) or [] if isinstance(a, dict)]
    ids += [i for i in meta.get("catalog_ids", []) or [] if isinstance(i, str)]
    return sorted({b for b in (parse_baseline(i) for i in ids) if b})


def boa_add_offset(baseline: str | None) -> int | None:
    """BOA_ADD_OFFSET (DN) of an L2A baseline: −1000 for ≥ 04.00, 0 before, None when unknown."""
    if baseline is None:
        return None
    return -1000 if float(baseline) >= 4.0 else 0


def served_offset_dn(baseline: str | None, harmonize: bool | None) -> float | None:
    """DN added to 10000·reflectance by what the endpoint served (1000 or 0); None when unknown.

    harmonizeValues defaults to true on Sentinel Hub–compatible endpoints, so None counts as true.
    """
    if harmonize is None or harmonize:
        return 0.0
    off = boa_add_offset(baseline)
    return None if off is None else float(-off)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _describe_baseline(b: str | None) -> str:
    if b is None:
        return "an unknown baseline"
    if float(b) >= 5.0:
        return f"baseline {b} (Collection-1 reprocessing or later)"
    return f"baseline {b}"


NOTHING_TO_COMPARE = (
    "Nothing to compare: no pixel is valid on both sides (no data, or masked by the SCL classes treated as "
    "invalid). Choose another date or area, or treat fewer SCL classes as invalid."
)


def diagnose(
    meta_a: dict,
    meta_b: dict,
    stats: dict[str, Any],
    shift: dict[str, Any],
    scl: dict[str, Any] | None,
    units: str | None,
) -> dict[str, Any]:
    """The report's ``diagnosis`` section (claims + explanation) from the other sections' numbers."""
    claims: list[dict[str, Any]] = []
    sentences: list[str] = []

    def claim(text: str, key: str, value: Any) -> None:
        claims.append({"claim": text, "evidence_key": key, "value": value})

    baselines_a, baselines_b = side_baselines(meta_a), side_baselines(meta_b)
    base_a = baselines_a[-1] if baselines_a else None
    base_b = baselines_b[-1] if baselines_b else None
    name_a = meta_a.get("endpoint_id") or "A"
    name_b = meta_b.get("endpoint_id") or "B"
    out: dict[str, Any] = {
        "endpoint_a": name_a,
        "endpoint_b": name_b,
        "baseline_a": base_a,
        "baseline_b": base_b,
        "baselines_a": baselines_a,
        "baselines_b": baselines_b,
        "collection1_a": None if base_a is None else float(base_a) >= 5.0,
        "collection1_b": None if base_b is None else float(base_b) >= 5.0,
        "boa_add_offset_a": boa_add_offset(base_a),
        "boa_add_offset_b": boa_add_offset(base_b),
        "harmonize_values_a": meta_a.get("harmonize_values"),
        "harmonize_values_b": meta_b.get("harmonize_values"),
    }
    if base_a or base_b:
        sentences.append(f"Endpoint A served {_describe_baseline(base_a)}, B served {_describe_baseline(base_b)}.")
        if base_a:
            claim(f"A served processing baseline {base_a}", "diagnosis.baseline_a", base_a)
        if base_b:
            claim(f"B served processing baseline {base_b}", "diagnosis.baseline_b", base_b)
    else:
        sentences.append("The processing baselines are unknown (no ESA product or catalog ids in the metadata).")

    nothing = stats.get("n") == 0  # no pixel valid on both sides
    if nothing:
        sentences.append(NOTHING_TO_COMPARE)
        claim("pixels valid on both sides", "stats.n", 0)

    # --- radiometric offset
    bias = stats.get("bias")
    scale = UNITS_SCALE.get(units or "")
    off_a = served_offset_dn(base_a, meta_a.get("harmonize_values"))
    off_b = served_offset_dn(base_b, meta_b.get("harmonize_values"))
    expected = None if (off_a is None or off_b is None or scale is None) else (off_b - off_a) * scale
    unit_txt = units or "units of the inputs"
    offset: dict[str, Any] = {"observed_bias": bias, "expected_offset": expected, "units": units}
    explained = False
    boa_like = False
    if bias is not None:
        scales = [scale] if scale is not None else [1.0, 1e-4]
        boa_like = any(abs(abs(bias) - BOA_OFFSET_DN * s) <= OFFSET_MATCH_FRACTION * BOA_OFFSET_DN * s for s in scales)
        if expected is not None and expected != 0:
            explained = abs(bias - expected) <= OFFSET_MATCH_FRACTION * BOA_OFFSET_DN * scale
        offset["residual_bias"] = None if expected is None else bias - expected
    offset["offset_like_boa_add_offset"] = boa_like
    offset["explained_by_boa_add_offset"] = explained
    out["offset"] = offset
    if bias is not None:
        if explained:
            sentences.append(
                f"B − A averages {_fmt(bias)} {unit_txt}, matching the expected {_fmt(expected)} {unit_txt} from "
                f"BOA_ADD_OFFSET (A {out['boa_add_offset_a']}, B {out['boa_add_offset_b']} DN) with "
                "harmonizeValues off on one side: set harmonizeValues to true on both sides to remove it."
            )
            claim("mean difference B − A", "stats.bias", bias)
            claim("offset expected from BOA_ADD_OFFSET / harmonizeValues", "diagnosis.offset.expected_offset", expected)
        elif boa_like:
            sentences.append(
                f"B − A averages {_fmt(bias)} {unit_txt}, close to the 1000 DN (0.1 reflectance) BOA_ADD_OFFSET of "
                "baselines ≥ 04.00: one side probably did not remove the offset (harmonizeValues false)."
            )
            claim("mean difference B − A close to the BOA_ADD_OFFSET", "stats.bias", bias)
        else:
            sentences.append(f"B − A averages {_fmt(bias)} {unit_txt} (RMSE {_fmt(stats.get('rmse'))}).")
            claim("mean difference B − A", "stats.bias", bias)
            claim("root-mean-square difference", "stats.rmse", stats.get("rmse"))
            if expected == 0 and scale is not None and abs(bias) < 0.1 * BOA_OFFSET_DN * scale:
                sentences.append("No BOA_ADD_OFFSET difference is expected and none is seen.")

    # --- shift
    mag = shift.get("magnitude_m")
    confident = bool(shift.get("confident"))
    lo, hi = REFINEMENT_RANGE_M
    in_range = bool(confident and mag is not None and lo <= mag <= hi)
    unrefined = [b for b in (base_a, base_b) if b is not None and float(b) < 3.0]
    refined = [b for b in (base_a, base_b) if b is not None and float(b) >= 5.0]
    out["shift"] = {
        "magnitude_m": mag,
        "confident": confident,
        "refinement_range_m": list(REFINEMENT_RANGE_M),
        "range_source": REFINEMENT_RANGE_SOURCE,
        "in_refinement_range": in_range,
        "refinement_expected": bool(unrefined and refined),
    }
    if mag is not None and confident:
        claim("geometric shift of B relative to A (m)", "shift.magnitude_m", mag)
        direction = f"{_fmt(shift.get('dx_m'))} m along x, {_fmt(shift.get('dy_m'))} m along y"
        if in_range:
            why = (
                " as expected between an unrefined original product and the GRI-refined Collection-1 product"
                if out["shift"]["refinement_expected"]
                else ""
            )
            sentences.append(
                f"B is shifted by {_fmt(mag)} m ({direction}) relative to A, within the {lo:g}–{hi:g} m range of "
                f"Collection-1 geometric refinement{why}; this moves edges and raises the difference there."
            )
        elif mag < lo:
            sentences.append(f"The two sides are co-registered (shift {_fmt(mag)} m, below {lo:g} m).")
        else:
            sentences.append(
                f"B is shifted by {_fmt(mag)} m relative to A, more than Collection-1 refinement explains "
                f"(≤ {hi:g} m): check that both requests used the same grid and date."
            )
    else:
        sentences.append(
            f"No reliable geometric shift could be measured (quality {_fmt(shift.get('quality'), 2)}): the scene "
            "is too featureless, cloudy or small."
        )
        claim("shift estimate quality (0..1)", "shift.quality", shift.get("quality"))

    # --- SCL edges
    edges = (scl or {}).get("edges")
    scl_out: dict[str, Any] = {"available": edges is not None}
    if edges is not None:
        share_m, share_all = edges.get("share_mismatch_near_edge"), edges.get("share_all_near_edge")
        ratio = share_m / share_all if share_m is not None and share_all else None
        concentrated = bool(ratio is not None and ratio >= EDGE_CONCENTRATION_RATIO and edges["mismatch_pixels"] > 0)
        scl_out.update(concentration_ratio=ratio, concentrated_on_cloud_edges=concentrated)
        mism_share = None
        shares = (scl or {}).get("shares") or {}
        if shares.get("valid_only_a") is not None:
            mism_share = shares["valid_only_a"] + shares["valid_only_b"]
        scl_out["mismatch_share"] = mism_share
        if edges["mismatch_pixels"] == 0 and nothing:
            pass  # said above: masks that agree on "nothing valid" are no finding
        elif edges["mismatch_pixels"] == 0:
            sentences.append("The SCL validity masks agree everywhere.")
            claim("share of pixels valid on one side only", "diagnosis.scl_edges.mismatch_share", mism_share)
        else:
            where = (
                "so the masks differ mainly along cloud and shadow edges (a refined cloud mask, not a land change)"
                if concentrated
                else "so the mask differences are not concentrated on cloud/shadow edges"
            )
            sentences.append(
                f"SCL validity differs on {_pct(mism_share)} of pixels; {_pct(share_m)} of those lie within "
                f"{edges['distance_px']} px of a cloud/shadow edge, where {_pct(share_all)} of all pixels are, {where}."
            )
            claim("share of pixels valid on one side only", "diagnosis.scl_edges.mismatch_share", mism_share)
            claim("share of SCL mismatch near cloud/shadow edges", "scl.edges.share_mismatch_near_edge", share_m)
            claim("share of all pixels near cloud/shadow edges", "scl.edges.share_all_near_edge", share_all)
    out["scl_edges"] = scl_out
    out["claims"] = claims
    out["explanation"] = " ".join(sentences)
    return out


def resolve(report: dict[str, Any], key: str) -> Any:
    """Value at a dotted ``evidence_key`` of the report (KeyError when absent)."""
    node: Any = report
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_claims(report: dict[str, Any]) -> list[str]:
    """Claims whose evidence_key does not resolve to the claimed value (empty list when all are backed)."""
    bad: list[str] = []
    for c in report.get("diagnosis", {}).get("claims", []):
        try:
            value = resolve(report, c["evidence_key"])
        except (KeyError, IndexError, TypeError, ValueError):
            bad.append(f"{c['evidence_key']}: missing")
            continue
        if value != c["value"]:
            bad.append(f"{c['evidence_key']}: {value!r} != {c['value']!r}")
    return bad


__all__: Iterable[str] = ("check_claims", "diagnose", "parse_baseline", "resolve", "side_baselines")
