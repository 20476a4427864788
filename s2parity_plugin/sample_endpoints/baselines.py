"""Processing-baseline timeline of the two sample deployments and the recorded *truth* of reprocessing.

Baseline timeline (ESA Sentinel-2 L2A, date = sensing date, UTC)
----------------------------------------------------------------
The "sh" deployment serves what Sentinel Hub still serves: the baseline ESA ran when the product was made
(operational production), for every acquisition before 2022-01-25. The table follows ESA's processing-baseline
history (sentinels.copernicus.eu "Processing Baseline" page) to the month; exact switch days are approximate:

=============  =========  ===========================================================
from (incl.)   baseline   note
=============  =========  ===========================================================
(start)        02.07      L2A systematic production (Europe) 2018; earlier dates use it too
2018-05-23     02.08
2018-10-08     02.09
2018-11-06     02.11      (02.10 was L1C-only)
2019-01-28     02.12      "early 2019" products are N0212
2019-07-08     02.13
2020-01-28     02.14      e.g. the seed acquisition 2020-10-04 (S2B, N0214)
2021-03-30     03.00      geometric refinement against the GRI activated
2021-06-30     03.01
2022-01-25     04.00      BOA_ADD_OFFSET -1000 introduced
2022-12-06     05.09
2023-12-13     05.10
2024-07-23     05.11
=============  =========  ===========================================================

The "cdse" deployment serves the Collection-1 reprocessing (baseline **05.00**, S2RP campaign 2023) for every
acquisition before 2022-01-25, and the same operational products as "sh" from 2022-01-25 on (identical scenes on
both deployments: no difference to explain there).

Reprocessing truth
------------------
For an acquisition before 2022-01-25 the "sh" (old-baseline) version differs from the "cdse" (05.00) version as real
Collection-1 reprocessing does. :func:`reprocessing_truth` returns the exact model used by the scene generator:

* ``shift_m = (dx, dy)``: geolocation displacement **of the old-baseline image relative to the 05.00 image**, in
  metres, ``dx`` positive **east**, ``dy`` positive **north** (UTM easting/northing of the tile's zone). A ground
  feature at (E, N) in the cdse image appears at (E + dx, N + dy) in the sh image, i.e.
  ``sh(E, N) == cdse(E - dx, N - dy)`` before resampling. Magnitude 3–8 m for acquisitions before 2021-03-30,
  0.5–1.5 m for 2021-03-30 … 2022-01-24 (those operational products were already GRI-refined); direction
  pseudo-random per acquisition. Source: ESA's Collection-1 / PB 05.00 notes — the reprocessed products are
  geometrically refined against the Sentinel-2 Global Reference Image (GRI), bringing absolute geolocation to
  ~ 5 m CE95 and multi-temporal co-registration to ~ 3 m, while operational products before the GRI refinement was
  activated (PB 03.00, 30 March 2021) met only the ~ 11 m (2 sigma) specification; a few metres of inter-baseline
  displacement is therefore the expected order (sub-pixel at 10 m).
* ``gain``/``offset_dn``: radiometric change of reflectance bands (newer Sen2Cor, ~2.8 -> 2.11):
  ``DN_old = round(gain * DN_new_harmonized + offset_dn)``, clipped to [0, 65535]; gain in [0.985, 1.015], offset in
  [-6, +6] DN (harmonized DN, i.e. reflectance * 10000).
* ``scl_rules``: Scene-classification differences, as thresholds on the generator's latent fields (old Sen2Cor flags
  clouds at a lower cloud probability — so old clouds are slightly *larger* — classifies a wider cloud-shadow band and
  leaves more low-texture pixels "unclassified" (7)). The rule text is in the returned dict.

All values are deterministic functions of the acquisition date (and tile id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from s2parity_plugin.core import s2facts

#: Deployment keys of the sample pair → the facts module's deployments.
DEPLOYMENTS = ("sh", "cdse")
_FACTS_DEPLOYMENT = {"sh": s2facts.SENTINEL_HUB, "cdse": s2facts.CDSE}
GRI_REFINEMENT_START = s2facts.GRI_REFINEMENT_START


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
    """True when the two deployments serve different baselines for this sensing date."""
    return baseline_for("sh", date) != baseline_for("cdse", date)


def stable_unit(*parts: Any) -> float:
    """Deterministic pseudo-random number in [0, 1) from ``parts`` (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def reprocessing_truth(date: dt.date | dt.datetime | str, tile_id: str | None = None) -> dict[str, Any]:
    """The exact difference the generator puts between the "sh" and the "cdse" version of one acquisition.

    :param date: sensing date (UTC).
    :param tile_id: MGRS-like tile id (e.g. ``"33TVF"``); ``None`` gives the same numbers as any tile (the model
        depends on the date only, like a datatake-wide geometric correction).
    :return: ``{"reprocessed": bool, "baseline_sh", "baseline_cdse", "shift_m": (dx_east, dy_north),
        "shift_convention", "gain", "offset_dn", "scl_rules": {...}}``. When ``reprocessed`` is False the two versions
        are identical (shift (0, 0), gain 1, offset 0, no SCL rule).
    """
    del tile_id  # the model is datatake-wide (kept in the signature for future per-tile refinement)
    day = _as_date(date)
    out: dict[str, Any] = {
        "date": day.isoformat(),
        "baseline_sh": baseline_for("sh", day),
        "baseline_cdse": baseline_for("cdse", day),
        "shift_convention": (
            "shift_m=(dx, dy) in metres, dx east+, dy north+: a feature at (E, N) in the cdse image appears at "
            "(E+dx, N+dy) in the sh image; sh(E, N) = cdse(E-dx, N-dy)"
        ),
    }
    if not is_reprocessed(day):
        out.update(reprocessed=False, shift_m=(0.0, 0.0), gain=1.0, offset_dn=0.0, scl_rules={})
        return out
    if day >= GRI_REFINEMENT_START:
        magnitude = 0.5 + 1.0 * stable_unit("shift-mag", day)
    else:
        magnitude = 3.0 + 5.0 * stable_unit("shift-mag", day)
    angle = 2.0 * math.pi * stable_unit("shift-dir", day)
    dx = round(magnitude * math.cos(angle), 2)
    dy = round(magnitude * math.sin(angle), 2)
    gain = round(0.985 + 0.03 * stable_unit("gain", day), 4)
    offset = float(round(-6 + 12 * stable_unit("offset", day)))
    out.update(
        reprocessed=True,
        shift_m=(dx, dy),
        gain=gain,
        offset_dn=offset,
        scl_rules=dict(SCL_RULES_OLD),
    )
    return out


#: Latent-field thresholds of the scene-classification model: Collection-1 (new) vs original (old) Sen2Cor.
SCL_THRESHOLDS_NEW = {"cloud_high": 0.75, "cloud_medium": 0.45, "cirrus": 0.30, "shadow": 0.45, "unclassified": 0.030}
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
