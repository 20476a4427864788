"""Which baseline each sample deployment serves, and the recorded *truth* of how its two versions differ.

Baselines per deployment and date
---------------------------------
Both come from :mod:`~s2parity_plugin.core.model.s2facts` (one facts module, sources there): "sh" serves what
Sentinel Hub serves — ESA's operational product of the sensing date
(02.07 … 02.14, 03.00/03.01, 04.00, 05.09, 05.10, 05.11);
"cdse" serves what CDSE serves — the Collection-1 reprocessing (05.00 up to 2021-12-31, 05.10 for 2022-01-01 …
2023-12-12) and the operational product from 2023-12-13 on. So the two versions of an acquisition differ for every
sensing date before 2023-12-13 and are the same product afterwards.

Reprocessing truth
------------------
:func:`reprocessing_truth` returns the exact difference the scene generator puts between the "sh" and the "cdse"
version of one acquisition. It depends on the *era* of the pair, decided from the facts module (GRI refinement and
Sen2Cor version of each side's baseline), because the causes differ:

========================  ==================  ===============  ==================  ================================
era (sensing dates)        sh vs cdse          geometry          radiometry          SCL (Sen2Cor)
========================  ==================  ===============  ==================  ================================
``unrefined``              02.xx vs 05.00      3–8 m             gain ±1.5 %,        old thresholds (2.5.5/2.8 vs
(… 2021-03-29)                                                   offset ±6 DN        2.10): larger clouds, wider
                                                                                     shadows, more "unclassified"
``refined``                03.0x vs 05.00      0.5–1.5 m         gain ±1.5 %,        old thresholds (2.9 vs 2.10)
(2021-03-30 … 2021-12-31)                                        offset ±6 DN
``offset_era``             04.00 vs 05.10      0.2–0.8 m         gain ±0.5 %,        mid thresholds (2.10 vs 2.11):
(2022-01-01 … 2022-12-05)                                        offset ±2 DN        a thinner ring of cloud/shadow
                                                                                     edge pixels differs
``offset_era``             05.09 vs 05.10      0.2–0.8 m         gain ±0.2 %,        none (both Sen2Cor 2.11)
(2022-12-06 … 2023-12-12)                                        no offset
``same``                   05.10/05.11 both    none              none                none
(2023-12-13 …)
========================  ==================  ===============  ==================  ================================

Reasoning:

* **Geometry.** Operational products before baseline 03.00 (30 March 2021) were not refined against the Global
  Reference Image and met the ~11 m (2σ) geolocation specification; Collection-1 products are GRI-refined
  (~5 m CE95 absolute, ~3 m multi-temporal). A few metres between the two is the expected order. From 03.00 on both
  versions are refined against the same GRI, but each processing run refines separately (tie-points, DEM, the
  L1C chain of its baseline), so only a sub-pixel residual remains: 0.5–1.5 m in 2021, 0.2–0.8 m for 2022–2023
  where the operational chain is closer still to the reprocessing one.
* **Radiometry.** A newer Sen2Cor (aerosol retrieval, LUTs, terrain correction) changes BOA reflectance by up to
  ~1–2 % between 2.8 and 2.10; 2.10 → 2.11 is a smaller step; with the same Sen2Cor (05.09 vs 05.10) only L1C
  calibration updates remain (a few tenths of a percent). ``DN_sh = round(gain * DN_cdse_harmonized + offset_dn)``
  before the baseline's BOA_ADD_OFFSET is added.
* **SCL.** Each Sen2Cor version moved the cloud / shadow / unclassified decisions; the model moves the thresholds
  on the generator's latent cloud, shadow and texture fields (``scl_thresholds_sh`` below; ``SCL_THRESHOLDS_NEW``
  is the Collection-1 / newest Sen2Cor). The old set makes clouds slightly larger, shadows wider and more low-texture
  land "unclassified" (7); the mid set does the same, about half as much.
* ``shift_m = (dx, dy)``: displacement **of the "sh" image relative to the "cdse" image**, in metres, ``dx`` east+,
  ``dy`` north+ (UTM of the tile's zone): ``sh(E, N) == cdse(E - dx, N - dy)`` before resampling; direction
  pseudo-random per acquisition date.

The numbers are models chosen to be the right order of magnitude, not measurements: no public "gold pair" of one
tile and date at two baselines was found (``../shared/data/PROVENANCE.md`` §5); a live run is what confirms them.
All values are deterministic functions of the acquisition date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from s2parity_plugin.core.model import s2facts

#: Deployment keys of the sample pair → the facts module's deployments.
DEPLOYMENTS = ("sh", "cdse")
_FACTS_DEPLOYMENT = {"sh": s2facts.SENTINEL_HUB, "cdse": s2facts.CDSE}


def _as_date(date: dt.date | dt.datetime | str) -> dt.date:
    return s2facts.as_date(date)


def baseline_for(deployment: str, date: dt.date | dt.datetime | str) -> str:
    """Processing baseline (``"NN.NN"``) the ``deployment`` ("sh" or "cdse") serves for a sensing ``date``."""
    if deployment not in DEPLOYMENTS:
        raise ValueError(f"unknown deployment {deployment!r}; expected one of {DEPLOYMENTS}")
    return s2facts.served_baseline(_FACTS_DEPLOYMENT[deployment], date)


def is_collection1(deployment: str, date: dt.date | dt.datetime | str) -> bool:
    """True when the deployment serves a reprocessed (Collection-1) product for this sensing date."""
    return s2facts.is_collection1(baseline_for(deployment, date), date)


def boa_add_offset(baseline: str) -> int:
    """BOA_ADD_OFFSET in DN: -1000 for baselines >= 04.00, 0 before (reflectance = (DN + offset) / 10000)."""
    return int(s2facts.boa_add_offset(baseline))


def is_reprocessed(date: dt.date | dt.datetime | str) -> bool:
    """True when the two deployments serve different baselines (different products) for this sensing date."""
    return baseline_for("sh", date) != baseline_for("cdse", date)


def stable_unit(*parts: Any) -> float:
    """Deterministic pseudo-random number in [0, 1) from ``parts`` (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


#: Latent-field thresholds of the scene-classification model: Collection-1 / newest Sen2Cor, Sen2Cor 2.10 (mid) and
#: the original Sen2Cor 2.5.5–2.9 (old).
SCL_THRESHOLDS_NEW = {"cloud_high": 0.75, "cloud_medium": 0.45, "cirrus": 0.30, "shadow": 0.45, "unclassified": 0.030}
SCL_THRESHOLDS_MID = {"cloud_high": 0.74, "cloud_medium": 0.42, "cirrus": 0.30, "shadow": 0.41, "unclassified": 0.045}
SCL_THRESHOLDS_OLD = {"cloud_high": 0.72, "cloud_medium": 0.38, "cirrus": 0.30, "shadow": 0.36, "unclassified": 0.060}

SCL_RULES_OLD = {
    "thresholds_new": SCL_THRESHOLDS_NEW,
    "thresholds_old": SCL_THRESHOLDS_OLD,
    "cloud_edges": "old SCL marks cloud medium (8) where cloud probability is in [0.38, 0.45): a ring of new 4/5/6/3 "
    "pixels around each cloud becomes 8 in the old baseline",
    "shadow_edges": "old SCL marks cloud shadow (3) where shadow probability is in [0.36, 0.45): a wider shadow band",
    "unclassified": "old SCL marks unclassified (7) on land where the texture field is < 0.06 (new: < 0.03)",
    "unchanged": "water (6) / vegetation (4) / not-vegetated (5) interiors and cloud cores (9) are unchanged",
}
SCL_RULES_MID = {
    "thresholds_new": SCL_THRESHOLDS_NEW,
    "thresholds_old": SCL_THRESHOLDS_MID,
    "cloud_edges": "Sen2Cor 2.10 marks cloud medium (8) where cloud probability is in [0.42, 0.45): a thin ring",
    "shadow_edges": "Sen2Cor 2.10 marks cloud shadow (3) where shadow probability is in [0.41, 0.45)",
    "unclassified": "Sen2Cor 2.10 marks unclassified (7) on land where the texture field is < 0.045 (2.11: < 0.03)",
    "unchanged": "water (6) / vegetation (4) / not-vegetated (5) interiors and cloud cores (9) are unchanged",
}

#: Era → (shift magnitude range m, gain half-width, offset half-width DN) of the model in the module docstring.
_ERA_MODEL = {
    "unrefined": ((3.0, 8.0), 0.015, 6.0),
    "refined": ((0.5, 1.5), 0.015, 6.0),
    "offset_era": ((0.2, 0.8), 0.005, 2.0),
}
#: Same Sen2Cor on both sides (05.09 vs 05.10): calibration-only radiometric change.
_SAME_SEN2COR_GAIN = 0.002


def era(date: dt.date | dt.datetime | str) -> str:
    """The era of an acquisition's sh/cdse pair (module docstring table), decided from the facts module."""
    day = _as_date(date)
    sh, cdse = baseline_for("sh", day), baseline_for("cdse", day)
    if sh == cdse:
        return "same"
    if not s2facts.gri_refined(sh):
        return "unrefined"
    if not s2facts.at_least(sh, s2facts.OFFSET_FROM_BASELINE):
        return "refined"
    return "offset_era"


def scl_thresholds(deployment: str, date: dt.date | dt.datetime | str) -> dict[str, float]:
    """SCL latent-field thresholds of what ``deployment`` serves for ``date`` (see the module docstring)."""
    if deployment == "cdse":
        return SCL_THRESHOLDS_NEW
    return reprocessing_truth(date)["scl_thresholds_sh"]


def reprocessing_truth(date: dt.date | dt.datetime | str, tile_id: str | None = None) -> dict[str, Any]:
    """The exact difference the generator puts between the "sh" and the "cdse" version of one acquisition.

    :param date: sensing date (UTC).
    :param tile_id: MGRS tile id (e.g. ``"33TVF"``); ``None`` gives the same numbers as any tile (the model
        depends on the date only, like a datatake-wide geometric correction).
    :return: ``{"reprocessed": bool, "era", "baseline_sh", "baseline_cdse", "sen2cor_sh", "sen2cor_cdse",
        "shift_m": (dx_east, dy_north), "shift_convention", "gain", "offset_dn", "scl_thresholds_sh",
        "scl_rules": {...}}``. When ``reprocessed`` is False the two versions are identical (shift (0, 0), gain 1,
        offset 0, no SCL rule).
    """
    del tile_id  # the model is datatake-wide (kept in the signature for future per-tile refinement)
    day = _as_date(date)
    sh, cdse = baseline_for("sh", day), baseline_for("cdse", day)
    out: dict[str, Any] = {
        "date": day.isoformat(),
        "era": era(day),
        "baseline_sh": sh,
        "baseline_cdse": cdse,
        "sen2cor_sh": s2facts.sen2cor_version(sh),
        "sen2cor_cdse": s2facts.sen2cor_version(cdse),
        "shift_convention": (
            "shift_m=(dx, dy) in metres, dx east+, dy north+: a feature at (E, N) in the cdse image appears at "
            "(E+dx, N+dy) in the sh image; sh(E, N) = cdse(E-dx, N-dy)"
        ),
    }
    if out["era"] == "same":
        out.update(reprocessed=False, shift_m=(0.0, 0.0), gain=1.0, offset_dn=0.0, scl_thresholds_sh=SCL_THRESHOLDS_NEW)
        out["scl_rules"] = {}
        return out
    (lo, hi), gain_hw, offset_hw = _ERA_MODEL[out["era"]]
    magnitude = lo + (hi - lo) * stable_unit("shift-mag", day)
    angle = 2.0 * math.pi * stable_unit("shift-dir", day)
    same_sen2cor = out["sen2cor_sh"] == out["sen2cor_cdse"]
    if same_sen2cor:
        gain_hw, offset_hw = _SAME_SEN2COR_GAIN, 0.0
    if out["era"] == "offset_era":
        thresholds, rules = (SCL_THRESHOLDS_NEW, {}) if same_sen2cor else (SCL_THRESHOLDS_MID, dict(SCL_RULES_MID))
    else:
        thresholds, rules = SCL_THRESHOLDS_OLD, dict(SCL_RULES_OLD)
    out.update(
        reprocessed=True,
        shift_m=(round(magnitude * math.cos(angle), 2), round(magnitude * math.sin(angle), 2)),
        gain=round(1.0 - gain_hw + 2 * gain_hw * stable_unit("gain", day), 4),
        offset_dn=float(round(-offset_hw + 2 * offset_hw * stable_unit("offset", day))),
        scl_thresholds_sh=thresholds,
        scl_rules=rules,
    )
    return out
