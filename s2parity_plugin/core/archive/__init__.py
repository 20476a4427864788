"""Archive parity timeline: which acquisitions the two deployments will serve differently, from their catalogs alone.

Catalog searches cost no processing units and take seconds for years of data, yet they already say what a pixel
comparison would find: every catalog item id is an ESA product name carrying its processing baseline, and the two
archives do not even list the same products. The flow (all QGIS-free):

1. :mod:`.query` — an :class:`ArchiveQuery` (AOI in its CRS, period, cloud limit) checked for bad input, split into
   yearly chunks (the unit of caching and of the request count shown before long searches);
2. :mod:`.search` — each endpoint's catalog searched with the official ``SentinelHubCatalog`` (pages followed
   through ``next``), cached per endpoint and chunk; an unreachable side gives an incomplete listing, not an error;
3. :mod:`.matching` — items of A and B paired by tile and sensing time within minutes (ids and datetimes differ
   between deployments for the same acquisition);
4. :mod:`.timeline` — one :class:`AcquisitionRow` per acquisition with its expected parity and reasons from
   :mod:`s2parity_plugin.core.model.s2facts`, and :class:`Period` summaries (contiguous runs with the same baseline pair
   and expectation);
5. :mod:`.diagnosis` — the periods in words; :mod:`.report` — the JSON document and the table's columns.

:func:`compare_catalogs` runs 1–5.
"""

from __future__ import annotations

from s2parity_plugin.core.archive.query import ArchiveQuery
from s2parity_plugin.core.archive.run import compare_catalogs
from s2parity_plugin.core.archive.timeline import AcquisitionRow, ArchiveTimeline, Period

__all__ = ["AcquisitionRow", "ArchiveQuery", "ArchiveTimeline", "Period", "compare_catalogs"]
