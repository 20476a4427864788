"""Why do the two endpoints' pixels differ? Numbers from the report → claims → one plain-language explanation.

Every Sentinel-2 fact (baselines per deployment and date, BOA offset, GRI, Sen2Cor) comes from
:mod:`~s2parity_plugin.core.model.s2facts`. What is checked
(every claim cites a key of the report and the value found there):

* **Processing baseline** of each side, parsed from ESA product ids / catalog ids in the SideMetadata, in either
  form (``…_N0214_…`` or ``…_N0500_….SAFE`` → "02.14", "05.00"); acquisition dates with or without milliseconds.
  A baseline newer than ESA's operational one of its sensing date is the Collection-1 reprocessing (05.00 to
  2021-12-31, 05.10 for 2022 to 2023-12-12 on CDSE).
* **Expected parity**: the acquisitions of A and B are paired by sensing day and MGRS tile and each pair gets
  :func:`s2facts.expected_parity` — "identical" only when both serve the same product; different baselines name
  their causes (offset, GRI refinement, Sen2Cor version). So 2022–2023 (Sentinel Hub 04.00/05.09 vs CDSE 05.10) is
  never reported as identical inputs.
* **Radiometric offset**: since baseline 04.00 (2022-01-25) L2A DNs carry BOA_ADD_OFFSET = −1000
  (reflectance = (DN + BOA_ADD_OFFSET) / 10000); before 04.00 the offset is 0. In **DN** units the service returns
  raw product DNs with ``harmonizeValues`` false (DN + 1000 for ≥ 04.00) and harmonized DNs (offset removed,
  clamped at 0) with true (the default). In **REFLECTANCE** units the offset is always applied; ``harmonizeValues``
  only decides whether negative reflectances are clamped to 0 (Sentinel Hub / CDSE "Sentinel-2 L2A" data page,
  section Harmonize Values). So an offset is expected only in DN with harmonizeValues false on a ≥ 04.00 side.
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

from collections.abc import Iterable
from typing import Any

from s2parity_plugin.core.model import s2facts

REFINEMENT_RANGE_M = (0.5, 20.0)
REFINEMENT_RANGE_SOURCE = (
    "ESA 2021-03-22 geometric refinement announcement: refined L1C 8 m absolute geolocation (CE95); "
    "unrefined 11 m (95.5 %, S2 Data Quality Reports); 0.5 m ≈ shift estimator accuracy (0.05 px at 10 m)"
)
BOA_OFFSET_DN = float(-s2facts.BOA_ADD_OFFSET_DN)
OFFSET_MATCH_FRACTION = 0.25  # |bias − expected| ≤ 25 % of the 1000 DN (0.1 reflectance) offset
EDGE_CONCENTRATION_RATIO = 1.5
NO_OFFSET_FRACTION = 0.1  # |bias| < 10 % of the offset: no offset difference seen
UNITS_SCALE = {"DN": 1.0, "REFLECTANCE": 1.0 / s2facts.BOA_QUANTIFICATION}
#: Order in which a run's per-acquisition parities summarise into one (the first kind present wins).
_PARITY_SEVERITY = (
    s2facts.DIFFERENT_BASELINES,
    s2facts.SAME_BASELINE_DIFFERENT_PRODUCT,
    s2facts.ONLY_A,
    s2facts.ONLY_B,
    s2facts.IDENTICAL,
)


def _side_ids(meta: dict) -> tuple[list[str], list[str]]:
    """(product ids of the acquisitions the evalscript used, catalog ids) of one side."""
    acqs = [a.get("product_id", "") for a in meta.get("acquisitions", []) or [] if isinstance(a, dict)]
    cat = [i for i in meta.get("catalog_ids", []) or [] if isinstance(i, str)]
    return [i for i in acqs if isinstance(i, str) and i], cat


def side_baselines(meta: dict) -> list[str]:
    """Sorted distinct baselines of all product ids (acquisitions) and catalog ids of one side (either id form)."""
    acqs, cat = _side_ids(meta)
    return sorted({b for b in (s2facts.parse_baseline(i) for i in acqs + cat) if b}, key=s2facts.baseline_key)


def _acq_dates(meta: dict) -> dict[str, str]:
    """product id → acquisition ``date`` as userdata reported it (ISO, with or without milliseconds)."""
    out: dict[str, str] = {}
    for a in meta.get("acquisitions", []) or []:
        if isinstance(a, dict) and isinstance(a.get("product_id"), str) and a.get("date"):
            out[a["product_id"]] = str(a["date"])
    return out


def _pair_key(product_id: str, date_text: str | None) -> tuple[str, str]:
    """(sensing day, MGRS tile) of an acquisition: from the id (either form), else from its ms/ISO timestamp."""
    fields = s2facts.parse_product_id(product_id)
    if fields["sensing"]:
        day = str(fields["sensing"])[:8]
    elif date_text:
        try:
            day = s2facts.parse_datetime(date_text).strftime("%Y%m%d")
        except ValueError:
            day = ""
    else:
        day = ""
    return day, str(fields["tile"] or "")


def _keyed(ids: list[str], dates: dict[str, str]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for pid in ids:
        out.setdefault(_pair_key(pid, dates.get(pid)), pid)
    return out


def acquisition_pairs(meta_a: dict, meta_b: dict) -> list[dict[str, Any]]:
    """The acquisitions of A and B paired by sensing day and tile, each with its expected parity.

    The acquisitions the evalscript reported are used; a side without them falls back to its catalog ids,
    restricted to the other side's acquisitions when that side has some (the catalog lists the whole date range).
    """
    acqs_a, cat_a = _side_ids(meta_a)
    acqs_b, cat_b = _side_ids(meta_b)
    keyed_a = _keyed(acqs_a or cat_a, _acq_dates(meta_a))
    keyed_b = _keyed(acqs_b or cat_b, _acq_dates(meta_b))
    if acqs_a and not acqs_b:
        keyed_b = {k: v for k, v in keyed_b.items() if k in keyed_a}
    elif acqs_b and not acqs_a:
        keyed_a = {k: v for k, v in keyed_a.items() if k in keyed_b}
    pairs = []
    for key in sorted(set(keyed_a) | set(keyed_b)):
        pa, pb = keyed_a.get(key), keyed_b.get(key)
        ba, bb = s2facts.parse_baseline(pa), s2facts.parse_baseline(pb)
        parity = s2facts.expected_parity(ba, bb, pa, pb)
        sensing = f"{key[0][:4]}-{key[0][4:6]}-{key[0][6:8]}" if len(key[0]) == 8 else None
        pairs.append(
            {
                "sensing_date": sensing,
                "tile": key[1] or None,
                "product_a": pa,
                "product_b": pb,
                "baseline_a": ba,
                "baseline_b": bb,
                "kind": parity.kind,
                "reasons": list(parity.reasons),
            }
        )
    return pairs


def summarise_parity(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """One expected parity for the run: the most consequential kind among the pairs, with all their reasons."""
    if not pairs:
        return {"kind": None, "differs": None, "reasons": [], "acquisitions": 0}
    kinds = {p["kind"] for p in pairs}
    kind = next(k for k in _PARITY_SEVERITY if k in kinds)
    reasons: list[str] = []
    for p in pairs:
        for r in p["reasons"]:
            if r not in reasons:
                reasons.append(r)
    return {"kind": kind, "differs": kind != s2facts.IDENTICAL, "reasons": reasons, "acquisitions": len(pairs)}


def served_offset_dn(baseline: str | None, harmonize: bool | None) -> float | None:
    """DN added to 10000·reflectance in what the endpoint served **in DN units** (1000 or 0); None when unknown.

    ``harmonizeValues`` defaults to true on Sentinel Hub–compatible endpoints, so None counts as true. In
    REFLECTANCE units the service always applies BOA_ADD_OFFSET (see :func:`expected_offset`).
    """
    if harmonize is None or harmonize:
        return 0.0
    off = s2facts.boa_add_offset(baseline)
    return None if off is None else float(-off)


def expected_offset(
    baseline_a: str | None,
    baseline_b: str | None,
    harmonize_a: bool | None,
    harmonize_b: bool | None,
    units: str | None,
) -> float | None:
    """Mean B − A offset the BOA_ADD_OFFSET alone explains, in ``units``; None when it cannot be known.

    REFLECTANCE: 0 — the service converts ``(DN + BOA_ADD_OFFSET) / 10000`` whatever ``harmonizeValues`` says
    (true only clamps negatives to 0) [SH-L2A]. DN: 1000 DN for a side with a ≥ 04.00 baseline and
    ``harmonizeValues`` false (raw DN), 0 otherwise. Other or unknown units (custom evalscripts): None.
    """
    if units == "REFLECTANCE":
        return 0.0
    if units != "DN":
        return None
    off_a, off_b = served_offset_dn(baseline_a, harmonize_a), served_offset_dn(baseline_b, harmonize_b)
    return None if off_a is None or off_b is None else off_b - off_a


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _sensing_of(meta: dict, baseline: str | None) -> str | None:
    """Sensing date (ISO) of the first product of ``meta`` with ``baseline``, from the id or its timestamp."""
    acqs, cat = _side_ids(meta)
    dates = _acq_dates(meta)
    for pid in acqs + cat:
        if s2facts.parse_baseline(pid) == baseline:
            day, _tile = _pair_key(pid, dates.get(pid))
            if len(day) == 8:
                return f"{day[:4]}-{day[4:6]}-{day[6:8]}"
    return None


def _collection1(baseline: str | None, sensing: str | None) -> bool | None:
    """Whether ``baseline`` is the Collection-1 reprocessing for its sensing date (05.00 is, whatever the date)."""
    if baseline is None:
        return None
    if sensing is None:
        return baseline == s2facts.COLLECTION1_FROM_BASELINE
    return s2facts.is_collection1(baseline, sensing)


def _describe_baseline(b: str | None, collection1: bool | None) -> str:
    if b is None:
        return "an unknown baseline"
    if collection1:
        return f"baseline {b} (Collection-1 reprocessing)"
    return f"baseline {b}"


class _Writer:
    """Collects the diagnosis's sentences and its claims (each claim cites a report key and its value)."""

    def __init__(self) -> None:
        self.claims: list[dict[str, Any]] = []
        self.sentences: list[str] = []

    def claim(self, text: str, key: str, value: Any) -> None:
        self.claims.append({"claim": text, "evidence_key": key, "value": value})

    def say(self, sentence: str) -> None:
        self.sentences.append(sentence)


def _baseline_section(meta_a: dict, meta_b: dict, w: _Writer) -> dict[str, Any]:
    baselines_a, baselines_b = side_baselines(meta_a), side_baselines(meta_b)
    base_a = baselines_a[-1] if baselines_a else None
    base_b = baselines_b[-1] if baselines_b else None
    sensing_a, sensing_b = _sensing_of(meta_a, base_a), _sensing_of(meta_b, base_b)
    c1_a, c1_b = _collection1(base_a, sensing_a), _collection1(base_b, sensing_b)
    out: dict[str, Any] = {
        "endpoint_a": meta_a.get("endpoint_id") or "A",
        "endpoint_b": meta_b.get("endpoint_id") or "B",
        "baseline_a": base_a,
        "baseline_b": base_b,
        "baselines_a": baselines_a,
        "baselines_b": baselines_b,
        "sensing_date_a": sensing_a,
        "sensing_date_b": sensing_b,
        "collection1_a": c1_a,
        "collection1_b": c1_b,
        "boa_add_offset_a": s2facts.boa_add_offset(base_a),
        "boa_add_offset_b": s2facts.boa_add_offset(base_b),
        "gri_refined_a": s2facts.gri_refined(base_a),
        "gri_refined_b": s2facts.gri_refined(base_b),
        "sen2cor_a": s2facts.sen2cor_version(base_a),
        "sen2cor_b": s2facts.sen2cor_version(base_b),
        "harmonize_values_a": meta_a.get("harmonize_values"),
        "harmonize_values_b": meta_b.get("harmonize_values"),
    }
    if base_a or base_b:
        w.say(f"Endpoint A served {_describe_baseline(base_a, c1_a)}, B served {_describe_baseline(base_b, c1_b)}.")
        if base_a:
            w.claim(f"A served processing baseline {base_a}", "diagnosis.baseline_a", base_a)
        if base_b:
            w.claim(f"B served processing baseline {base_b}", "diagnosis.baseline_b", base_b)
    else:
        w.say("The processing baselines are unknown (no ESA product or catalog ids in the metadata).")
    return out


def _parity_section(meta_a: dict, meta_b: dict, w: _Writer) -> dict[str, Any]:
    """What the facts module expects from the products each side served: the same product or not, and why."""
    pairs = acquisition_pairs(meta_a, meta_b)
    summary = summarise_parity(pairs)
    summary["pairs"] = pairs
    kind = summary["kind"]
    if kind == s2facts.IDENTICAL:
        w.say(
            "Both endpoints served the same product for every acquisition: no difference is expected from the inputs."
        )
    elif kind == s2facts.DIFFERENT_BASELINES:
        causes = [r for r in summary["reasons"] if not r.startswith("baselines differ")]
        w.say("The inputs differ: " + "; ".join(causes or summary["reasons"]) + ".")
    elif kind == s2facts.SAME_BASELINE_DIFFERENT_PRODUCT:
        w.say("Both sides report the same baseline but different product ids: the products may still differ.")
    elif kind in (s2facts.ONLY_A, s2facts.ONLY_B):
        w.say(f"Some acquisitions are {'missing on B' if kind == s2facts.ONLY_A else 'missing on A'}.")
    if kind is not None:
        w.claim("expected parity of the inputs", "diagnosis.expected_parity.kind", kind)
    return summary


def _offset_section(out: dict[str, Any], stats: dict[str, Any], units: str | None, w: _Writer) -> dict[str, Any]:
    """Observed mean difference against what BOA_ADD_OFFSET / harmonizeValues explain (:func:`expected_offset`)."""
    bias = stats.get("bias")
    scale = UNITS_SCALE.get(units or "")
    expected = expected_offset(
        out["baseline_a"], out["baseline_b"], out["harmonize_values_a"], out["harmonize_values_b"], units
    )
    unit_txt = units or "units of the inputs"
    offset: dict[str, Any] = {"observed_bias": bias, "expected_offset": expected, "units": units}
    explained = boa_like = False
    if bias is not None:
        scales = [scale] if scale is not None else [1.0, UNITS_SCALE["REFLECTANCE"]]
        boa_like = any(abs(abs(bias) - BOA_OFFSET_DN * s) <= OFFSET_MATCH_FRACTION * BOA_OFFSET_DN * s for s in scales)
        if expected and scale is not None:
            explained = abs(bias - expected) <= OFFSET_MATCH_FRACTION * BOA_OFFSET_DN * scale
        offset["residual_bias"] = None if expected is None else bias - expected
    offset["offset_like_boa_add_offset"] = boa_like
    offset["explained_by_boa_add_offset"] = explained
    if bias is None:
        return offset
    if explained:
        w.say(
            f"B − A averages {_fmt(bias)} {unit_txt}, matching the expected {_fmt(expected)} {unit_txt} from "
            f"BOA_ADD_OFFSET (A {out['boa_add_offset_a']}, B {out['boa_add_offset_b']} DN) with "
            "harmonizeValues off on one side: set harmonizeValues to true on both sides to remove it."
        )
        w.claim("mean difference B − A", "stats.bias", bias)
        w.claim("offset expected from BOA_ADD_OFFSET / harmonizeValues", "diagnosis.offset.expected_offset", expected)
    elif boa_like:
        why = (
            "the service applies BOA_ADD_OFFSET to REFLECTANCE whatever harmonizeValues says, so the evalscript or a "
            "later step probably converted raw DN itself"
            if units == "REFLECTANCE"
            else "one side probably did not remove the offset (harmonizeValues false)"
        )
        w.say(
            f"B − A averages {_fmt(bias)} {unit_txt}, close to the 1000 DN (0.1 reflectance) BOA_ADD_OFFSET of "
            f"baselines ≥ 04.00: {why}."
        )
        w.claim("mean difference B − A close to the BOA_ADD_OFFSET", "stats.bias", bias)
    else:
        w.say(f"B − A averages {_fmt(bias)} {unit_txt} (RMSE {_fmt(stats.get('rmse'))}).")
        w.claim("mean difference B − A", "stats.bias", bias)
        w.claim("root-mean-square difference", "stats.rmse", stats.get("rmse"))
        if expected == 0 and scale is not None and abs(bias) < NO_OFFSET_FRACTION * BOA_OFFSET_DN * scale:
            w.say(_no_offset_sentence(out))
    return offset


def _no_offset_sentence(out: dict[str, Any]) -> str:
    """Why B − A shows no offset: the products carry none, or the service removed the one they carry (harmonized
    DN, or REFLECTANCE) — said so, since the inputs section names the products' differing BOA_ADD_OFFSET."""
    offsets = (out.get("boa_add_offset_a"), out.get("boa_add_offset_b"))
    if None not in offsets and offsets[0] != offsets[1]:
        return (
            "The products' BOA_ADD_OFFSET differ, but the service removes it for these units and settings: no "
            "offset is expected in B − A and none is seen."
        )
    return "No BOA_ADD_OFFSET difference is expected and none is seen."


def _shift_section(out: dict[str, Any], shift: dict[str, Any], parity_kind: str | None, w: _Writer) -> dict[str, Any]:
    mag = shift.get("magnitude_m")
    confident = bool(shift.get("confident"))
    lo, hi = REFINEMENT_RANGE_M
    in_range = bool(confident and mag is not None and lo <= mag <= hi)
    gri_a, gri_b = out["gri_refined_a"], out["gri_refined_b"]
    refinement_expected = gri_a is not None and gri_b is not None and gri_a != gri_b
    both_refined_apart = bool(gri_a and gri_b and parity_kind == s2facts.DIFFERENT_BASELINES)
    section = {
        "magnitude_m": mag,
        "confident": confident,
        "refinement_range_m": list(REFINEMENT_RANGE_M),
        "range_source": REFINEMENT_RANGE_SOURCE,
        "in_refinement_range": in_range,
        "refinement_expected": refinement_expected,
        "separately_refined": both_refined_apart,
    }
    if mag is None or not confident:
        w.say(
            f"No reliable geometric shift could be measured (quality {_fmt(shift.get('quality'), 2)}): the scene "
            "is too featureless, cloudy or small."
        )
        w.claim("shift estimate quality (0..1)", "shift.quality", shift.get("quality"))
        return section
    w.claim("geometric shift of B relative to A (m)", "shift.magnitude_m", mag)
    direction = f"{_fmt(shift.get('dx_m'))} m along x, {_fmt(shift.get('dy_m'))} m along y"
    if in_range:
        if refinement_expected:
            why = " as expected between an unrefined original product and a GRI-refined product"
        elif both_refined_apart:
            why = "; both products are GRI-refined, but separately, so a small residual shift is expected"
        elif parity_kind == s2facts.IDENTICAL:
            why = "; both sides served the same product, so this points to a request or grid difference"
        else:
            why = ""
        w.say(
            f"B is shifted by {_fmt(mag)} m ({direction}) relative to A, within the {lo:g}–{hi:g} m range of "
            f"Collection-1 geometric refinement{why}; this moves edges and raises the difference there."
        )
    elif mag < lo:
        w.say(f"The two sides are co-registered (shift {_fmt(mag)} m, below {lo:g} m).")
    else:
        w.say(
            f"B is shifted by {_fmt(mag)} m relative to A, more than Collection-1 refinement explains "
            f"(≤ {hi:g} m): check that both requests used the same grid and date."
        )
    return section


def _scl_section(scl: dict[str, Any] | None, w: _Writer, nothing: bool = False) -> dict[str, Any]:
    """Where the SCL validity masks differ; masks that agree on "nothing valid" are no finding (``nothing``)."""
    edges = (scl or {}).get("edges")
    scl_out: dict[str, Any] = {"available": edges is not None}
    if edges is None:
        return scl_out
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
        return scl_out
    if edges["mismatch_pixels"] == 0:
        w.say("The SCL validity masks agree everywhere.")
        w.claim("share of pixels valid on one side only", "diagnosis.scl_edges.mismatch_share", mism_share)
        return scl_out
    where = (
        "so the masks differ mainly along cloud and shadow edges (a refined cloud mask, not a land change)"
        if concentrated
        else "so the mask differences are not concentrated on cloud/shadow edges"
    )
    w.say(
        f"SCL validity differs on {_pct(mism_share)} of pixels; {_pct(share_m)} of those lie within "
        f"{edges['distance_px']} px of a cloud/shadow edge, where {_pct(share_all)} of all pixels are, {where}."
    )
    w.claim("share of pixels valid on one side only", "diagnosis.scl_edges.mismatch_share", mism_share)
    w.claim("share of SCL mismatch near cloud/shadow edges", "scl.edges.share_mismatch_near_edge", share_m)
    w.claim("share of all pixels near cloud/shadow edges", "scl.edges.share_all_near_edge", share_all)
    return scl_out


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
    """The report's ``diagnosis`` section (claims + explanation) from the other sections' numbers.

    ``meta_a``/``meta_b``: the run's SideMetadata (``acquisitions`` with ``product_id`` and ``date``,
    ``catalog_ids``, ``harmonize_values``); product ids in either form (with or without ``.SAFE``), dates with or
    without milliseconds. ``units``: ``"DN"``, ``"REFLECTANCE"`` or None (custom evalscript).
    """
    w = _Writer()
    out = _baseline_section(meta_a, meta_b, w)
    nothing = stats.get("n") == 0  # no pixel valid on both sides
    if nothing:
        w.say(NOTHING_TO_COMPARE)
        w.claim("pixels valid on both sides", "stats.n", 0)
    parity = _parity_section(meta_a, meta_b, w)
    out["expected_parity"] = parity
    out["offset"] = _offset_section(out, stats, units, w)
    out["shift"] = _shift_section(out, shift, parity["kind"], w)
    out["scl_edges"] = _scl_section(scl, w, nothing)
    out["claims"] = w.claims
    out["explanation"] = " ".join(w.sentences)
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


__all__: Iterable[str] = (
    "acquisition_pairs",
    "check_claims",
    "diagnose",
    "expected_offset",
    "resolve",
    "served_offset_dn",
    "side_baselines",
)
