"""Sentinel-2 L2A facts: processing baselines per deployment and sensing date, BOA offset, GRI refinement, Sen2Cor.

The one place such knowledge lives: the diagnosis, the archive timeline, the statistics report and the local
endpoint pair all read it. Dates are sensing dates (UTC); baselines are ``"NN.NN"`` strings.

Sources (each value below names the one it comes from):

* [ESA-PB] ESA, Sentinel-2 "Processing Baseline" history (sentinels.copernicus.eu, S2 MPC L2A product notes):
  operational baseline switch dates, Sen2Cor version per baseline.
* [CDSE-BL] Copernicus Data Space Ecosystem documentation, "Sentinel-2 L2A Baselines"
  (``../shared/data/sentinelhub_api/cdse_docs/Data_Others_Sentinel2_L2A_baseline.qmd``): Collection-1 reprocessing
  05.00 for sensing dates up to 2021-12-31, 05.10 from 2022-01-01 up to 2023-12-13, operational 05.10 since
  2023-12-13 and 05.11 since 2024-07-23.
* [SH-L2A] Sentinel Hub documentation, "Sentinel-2 L2A" data page: Sentinel Hub keeps the products as ESA produced
  them operationally (no Collection-1 reprocessing); ``harmonizeValues`` (default true) removes BOA_ADD_OFFSET and
  clamps at 0.
* [PSD-14.9] Sentinel-2 Products Specification Document 14.9 / ESA news of 2022-01-25: BOA_ADD_OFFSET = −1000 DN
  from baseline 04.00 on; reflectance = (DN + BOA_ADD_OFFSET) / 10000.
* [GRI] ESA S2 MPC, "Geometric refinement with the Global Reference Image": activated operationally with baseline
  03.00 on 2021-03-30; all Collection-1 products (≥ 05.00) are refined.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

#: Deployment keys. Sentinel Hub (services.sentinel-hub.com) serves ESA's operational products; CDSE
#: (sh.dataspace.copernicus.eu) serves the Collection-1 reprocessing where it exists. [SH-L2A] [CDSE-BL]
SENTINEL_HUB = "sentinel-hub"
CDSE = "cdse"
DEPLOYMENTS = (SENTINEL_HUB, CDSE)

#: (first sensing date, baseline) of ESA's operational L2A production. [ESA-PB] Switch days before 2022 are accurate
#: to the month (ESA rolled baselines out over a few days).
OPERATIONAL_BASELINES: tuple[tuple[dt.date, str], ...] = (
    (dt.date(1900, 1, 1), "02.07"),
    (dt.date(2018, 5, 23), "02.08"),
    (dt.date(2018, 10, 8), "02.09"),
    (dt.date(2018, 11, 6), "02.11"),
    (dt.date(2019, 1, 28), "02.12"),
    (dt.date(2019, 7, 8), "02.13"),
    (dt.date(2020, 1, 28), "02.14"),
    (dt.date(2021, 3, 30), "03.00"),
    (dt.date(2021, 6, 30), "03.01"),
    (dt.date(2022, 1, 25), "04.00"),
    (dt.date(2022, 12, 6), "05.09"),
    (dt.date(2023, 12, 13), "05.10"),
    (dt.date(2024, 7, 23), "05.11"),
)

#: (first sensing date, last sensing date incl., baseline) of the reprocessing CDSE serves instead. [CDSE-BL]
CDSE_REPROCESSING: tuple[tuple[dt.date, dt.date, str], ...] = (
    (dt.date(1900, 1, 1), dt.date(2021, 12, 31), "05.00"),
    (dt.date(2022, 1, 1), dt.date(2023, 12, 12), "05.10"),
)

#: First sensing date from which both deployments serve the same operational product. [CDSE-BL]
SAME_PRODUCTS_FROM = dt.date(2023, 12, 13)

#: BOA_ADD_OFFSET in DN for baselines ≥ 04.00 (0 before). [PSD-14.9]
BOA_ADD_OFFSET_DN = -1000
OFFSET_FROM_BASELINE = "04.00"
#: Reflectance = (DN + BOA_ADD_OFFSET) / QUANTIFICATION. [PSD-14.9]
BOA_QUANTIFICATION = 10000.0

#: Operational geometric refinement against the GRI from this baseline / sensing date on. [GRI]
GRI_FROM_BASELINE = "03.00"
GRI_REFINEMENT_START = dt.date(2021, 3, 30)
#: Collection-1 reprocessing baselines are all GRI-refined. [GRI] [CDSE-BL]
COLLECTION1_FROM_BASELINE = "05.00"

#: Sen2Cor version per baseline (L2A_QUALITY / MTD_MSIL2A of real products). [ESA-PB]
SEN2COR_VERSION = {
    "02.07": "2.5.5",
    "02.08": "2.5.5",
    "02.09": "2.5.5",
    "02.11": "2.5.5",
    "02.12": "2.8",
    "02.13": "2.8",
    "02.14": "2.8",
    "03.00": "2.9",
    "03.01": "2.9",
    "04.00": "2.10",
    "05.00": "2.10",
    "05.09": "2.11",
    "05.10": "2.11",
    "05.11": "2.12",
}

# Parity kinds of one acquisition seen on two deployments.
IDENTICAL = "identical"
DIFFERENT_BASELINES = "different_baselines"
SAME_BASELINE_DIFFERENT_PRODUCT = "same_baseline_different_product"
ONLY_A = "only_a"
ONLY_B = "only_b"

_BASELINE_IN_ID = re.compile(r"_N(\d{2})(\d{2})(?=_|\.|$)")
_PLAIN_BASELINE = re.compile(r"^N?(\d{1,2})\.?(\d{2})$")
_SENSING_IN_ID = re.compile(r"_(\d{8}T\d{6})_")
_TILE_IN_ID = re.compile(r"_T(\d{2}[A-Z]{3})(?=_|\.|$)")
_ORBIT_IN_ID = re.compile(r"_R(\d{3})_")


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    """Calendar date (UTC) of a date, datetime or ISO-8601 string (``Z`` and milliseconds accepted)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def parse_datetime(text: str) -> dt.datetime:
    """UTC datetime of an ISO-8601 string as catalogs write it: ``2020-10-04T10:00:29Z``, ``…29.024Z`` (ms),
    ``…+00:00`` or a bare date. Naive inputs are taken as UTC."""
    s = str(text).strip().replace("Z", "+00:00").replace("z", "+00:00")
    if len(s) == 10:
        s += "T00:00:00+00:00"
    parsed = dt.datetime.fromisoformat(_trim_fraction(s))
    return parsed.replace(tzinfo=dt.timezone.utc) if parsed.tzinfo is None else parsed.astimezone(dt.timezone.utc)


def _trim_fraction(s: str) -> str:
    """Python < 3.11 accepts only 3 or 6 fractional digits: pad or cut them to 6."""
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", s)
    return f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}" if m else s


def parse_baseline(product_id: str | None) -> str | None:
    """Processing baseline ``"NN.NN"`` from an ESA product id in either form
    (``S2B_MSIL2A_20201004T100029_N0214_R122_T33TVF_20201004T130221`` or the same with ``.SAFE``), or from a bare
    baseline (``"N0500"``, ``"05.00"``, ``"5.10"``); None when there is none."""
    if not product_id:
        return None
    text = str(product_id).strip()
    m = _BASELINE_IN_ID.search(text)
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    m = _PLAIN_BASELINE.match(text)
    return f"{int(m.group(1)):02d}.{m.group(2)}" if m else None


def parse_product_id(product_id: str) -> dict[str, str | int | None]:
    """Fields of an ESA product id (either form): ``baseline``, ``tile`` (MGRS, e.g. ``"33TVF"``),
    ``relative_orbit`` (int) and ``sensing`` (``"20201004T100029"``); missing parts are None."""
    text = str(product_id or "")
    sensing, tile, orbit = _SENSING_IN_ID.search(text), _TILE_IN_ID.search(text), _ORBIT_IN_ID.search(text)
    return {
        "baseline": parse_baseline(text),
        "tile": tile.group(1) if tile else None,
        "relative_orbit": int(orbit.group(1)) if orbit else None,
        "sensing": sensing.group(1) if sensing else None,
    }


def baseline_key(baseline: str) -> tuple[int, int]:
    """Sortable key of ``"NN.NN"`` (``"05.10"`` → (5, 10))."""
    major, minor = baseline.split(".")
    return int(major), int(minor)


def at_least(baseline: str | None, reference: str) -> bool:
    """True when ``baseline`` is known and ≥ ``reference``."""
    return baseline is not None and baseline_key(baseline) >= baseline_key(reference)


def operational_baseline(sensing: dt.date | dt.datetime | str) -> str:
    """Baseline of ESA's operational production for a sensing date — what Sentinel Hub serves. [ESA-PB] [SH-L2A]"""
    day = as_date(sensing)
    current = OPERATIONAL_BASELINES[0][1]
    for start, baseline in OPERATIONAL_BASELINES:
        if day >= start:
            current = baseline
    return current


def served_baseline(deployment: str, sensing: dt.date | dt.datetime | str) -> str:
    """Baseline a deployment (:data:`SENTINEL_HUB` or :data:`CDSE`) serves for a sensing date. [CDSE-BL] [SH-L2A]"""
    if deployment not in DEPLOYMENTS:
        raise ValueError(f"unknown deployment {deployment!r}; expected one of {DEPLOYMENTS}")
    day = as_date(sensing)
    if deployment == CDSE:
        for first, last, baseline in CDSE_REPROCESSING:
            if first <= day <= last:
                return baseline
    return operational_baseline(day)


def is_collection1(baseline: str | None, sensing: dt.date | dt.datetime | str) -> bool:
    """True for a reprocessed (Collection-1) product: a baseline newer than the operational one of its date."""
    return baseline is not None and baseline_key(baseline) > baseline_key(operational_baseline(sensing))


def boa_add_offset(baseline: str | None) -> int | None:
    """BOA_ADD_OFFSET (DN) of a baseline: −1000 from 04.00 on, 0 before, None when unknown. [PSD-14.9]"""
    if baseline is None:
        return None
    return BOA_ADD_OFFSET_DN if at_least(baseline, OFFSET_FROM_BASELINE) else 0


def gri_refined(baseline: str | None) -> bool | None:
    """Whether products of this baseline are geometrically refined against the GRI (≥ 03.00). [GRI]"""
    return None if baseline is None else at_least(baseline, GRI_FROM_BASELINE)


def sen2cor_version(baseline: str | None) -> str | None:
    """Sen2Cor version that made an L2A product of this baseline, None when unknown. [ESA-PB]"""
    return SEN2COR_VERSION.get(baseline or "")


@dataclass(frozen=True)
class Parity:
    """Expected parity of one acquisition on two deployments: a kind and the reasons, in words."""

    kind: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def differs(self) -> bool:
        return self.kind != IDENTICAL


def expected_parity(
    baseline_a: str | None, baseline_b: str | None, product_a: str | None = None, product_b: str | None = None
) -> Parity:
    """What to expect when the same acquisition is requested from A and B, with the reasons from the facts above.

    A side with no product (``baseline`` and ``product`` both None) means the acquisition is missing there."""
    if baseline_a is None and product_a is None:
        return Parity(ONLY_B, ("the acquisition is missing on A",))
    if baseline_b is None and product_b is None:
        return Parity(ONLY_A, ("the acquisition is missing on B",))
    if baseline_a == baseline_b:
        if product_a and product_b and _product_core(product_a) != _product_core(product_b):
            return Parity(SAME_BASELINE_DIFFERENT_PRODUCT, ("same baseline but different product ids",))
        return Parity(IDENTICAL, ("both serve the same product",))
    return Parity(DIFFERENT_BASELINES, tuple(baseline_change_reasons(baseline_a, baseline_b)))


def _product_core(product_id: str) -> str:
    return str(product_id).strip().removesuffix(".SAFE")


def baseline_change_reasons(baseline_a: str | None, baseline_b: str | None) -> list[str]:
    """What differs between two baselines of the same acquisition: offset, GRI refinement, Sen2Cor/SCL version."""
    reasons = [f"baselines differ: A {baseline_a or 'unknown'}, B {baseline_b or 'unknown'}"]
    off_a, off_b = boa_add_offset(baseline_a), boa_add_offset(baseline_b)
    if off_a is not None and off_b is not None and off_a != off_b:
        reasons.append(
            f"BOA_ADD_OFFSET differs (A {off_a} DN, B {off_b} DN): DN values differ by 1000 unless harmonizeValues "
            "removes the offset"
        )
    gri_a, gri_b = gri_refined(baseline_a), gri_refined(baseline_b)
    if gri_a is not None and gri_b is not None and gri_a != gri_b:
        refined = "B" if gri_b else "A"
        reasons.append(f"only {refined} is geometrically refined against the GRI: expect a shift of a few metres")
    elif gri_a and gri_b:
        reasons.append("both are GRI-refined, but refined separately: sub-pixel shifts remain possible")
    s_a, s_b = sen2cor_version(baseline_a), sen2cor_version(baseline_b)
    if s_a and s_b and s_a != s_b:
        reasons.append(f"Sen2Cor {s_a} vs {s_b}: the SCL mask and BOA reflectances differ")
    return reasons
