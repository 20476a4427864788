"""Local Sentinel Hub–compatible endpoint pair ("sh" and "cdse") for the offline demo and every fetch test.

Start in-process::

    from s2parity_plugin.sample_endpoints import SampleEndpoints
    with SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0) as eps:
        eps.info  # {"sh": {"base_url", "token_url", "client_id", "client_secret"}, "cdse": {...}}

or as a process: ``python -m s2parity_plugin.sample_endpoints serve [--port N]`` (first stdout line = ``eps.info``).

The unmodified ``sentinelhub`` client talks to it over real HTTP (``SHConfig(sh_base_url=…, sh_token_url=…)``,
``DataCollection.SENTINEL2_L2A.define_from(…, service_url=…)``; plain http on loopback needs
``OAUTHLIB_INSECURE_TRANSPORT=1``).

Output grid (decision; core.grid holds the one derivation)
---------------------------------------------------------
The OpenAPI reference declares ``output.width``/``height`` as ``type: integer``, but the Request Builder emits
fractional sizes (the seed's 501.2608 x 420.7543) and the live service answers them. The pair accepts them and
**truncates** (:func:`~s2parity_plugin.core.model.grid.coerce_output_size`: 501 x 420) — ASSUMED, to verify live
(Jackson's default float-to-int coercion truncates). The plugin never sends fractional sizes and warns about them
(:func:`s2parity_plugin.core.model.spec.process_body_warnings`). With ``resx``/``resy`` the size is
:func:`~s2parity_plugin.core.model.grid.size_for_resolution` (extent / res rounded half up, ASSUMED) and the image
covers the bbox exactly (:func:`~s2parity_plugin.core.model.grid.bbox_geotransform`, pixels stretched to the bbox).

Other documented choices
------------------------
* Radiometry (Sentinel-2 L2A data page, "Harmonize Values"): ``REFLECTANCE`` is ``(DN + BOA_ADD_OFFSET) / 10000``
  on every baseline, clamped at 0 with ``harmonizeValues=true`` (default) and possibly negative with ``false``;
  ``DN`` is harmonized (offset removed, clamped at 0) with ``true`` and the product DN as stored with ``false``.
  AOT defaults to ``OPTICAL_DEPTH`` (DN / 1000). A unit name outside REFLECTANCE, DN, OPTICAL_DEPTH, PERCENT,
  DEGREES is a 400; a known unit that does not apply to a band (REFLECTANCE on SCL) is ignored for that band.
* Sample types: AUTO (``x * 255``, rounded half-up, clamped to UINT8), UINT8/UINT16 (rounded half-up, clamped),
  FLOAT32 unchanged; NaN -> 0 for integer types.
* Categorical bands (SCL, CLM, SNW, dataMask) are always nearest-neighbour; every other band uses ``upsampling``
  when the request pixel is finer than **its own** native resolution (10/20/60 m), else ``downsampling``
  (NEAREST / BILINEAR / BICUBIC on that native grid; the raster-file source on the file's grid). DN are quantised
  at the native pixels and then interpolated, so BILINEAR/BICUBIC DN are floats as the service returns them.
* Every tile of every orbit pass whose swath reaches the AOI (real relative orbits and MGRS footprints, see
  :mod:`.scene_generator`); an ORBIT scene is one pass with its tiles mosaicked (``scenes.orbits[i].tiles`` lists
  them all), a TILE scene one tile; dataMask 0 and band values 0 outside a tile's footprint or swath. Scenes are
  ordered by ``mosaickingOrder`` (mostRecent / leastRecent / leastCC) and filtered by ``maxCloudCoverage``
  (per-deployment cloud cover: the old Sen2Cor flags slightly more cloud).
* Outputs: an output's ``nodataValue`` is written into TIFFs; JPEG ``format.quality`` (0–100, default 90; GDAL
  encodes 0–9 as 10) is honoured; ``Accept: multipart/mixed`` gets one part per response (Content-Type and
  Content-Disposition ``name``/``filename`` per part — part headers assumed).
* Catalog errors (400/404 inside the Catalog API) use its ``CatalogException`` shape ``{"code", "description"}``
  (401/429 keep the common shape: they come from the gateway — assumed).
* Process API errors use the real JSON shape ``{"error": {"status", "reason", "message", "code"}}``:
  400 COMMON_BAD_PAYLOAD (payload, sizes, CRS, bands), 400 RENDERER_EXCEPTION (evalscript failed in V8; message
  carries the JS error),
  401 COMMON_UNAUTHORIZED (missing/invalid/expired token, or a token of the other deployment), 403
  COMMON_INSUFFICIENT_PERMISSIONS (``byoc-``/``batch-``/``zarr-`` collections), 404 COMMON_NOT_FOUND (other unknown
  collections, unknown paths), 429 RATE_LIMIT_EXCEEDED with ``Retry-After`` in milliseconds, 500/503.
* Rate-limit mode per deployment (:meth:`SampleEndpoints.set_budget`, :mod:`.budget`): request, processing-unit
  and token budgets per window, 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` in ms; processing units per the
  docs (area / 512², minimum 0.01; input bands / 3 without dataMask; FLOAT32 × 2; × scenes; minimum 0.005) in
  ``x-processingunits-spent``; tokens are JWTs whose ``exp`` is issue time + TTL.
* Fault injection per deployment (:meth:`SampleEndpoints.set_faults`, CLI ``--faults-sh``/``--faults-cdse``):
  latency, 429 bursts, random 5xx, truncated bodies (``truncate_mode`` "content-length" — undetected by
  requests 2.28/urllib3 1.26, the client fails decoding — or "chunked" — a ``ChunkedEncodingError`` sentinelhub-py
  retries), token expiry mid-run (``expire_tokens_after`` seconds).
* Paths: ``/api/v1/process`` and ``/api/v1/catalog/1.0.0/…`` (what sentinelhub-py calls) plus the current OpenAPI
  document's ``/process/v1`` and ``/catalog/v1/…``.

Data
----
Scenes come from :class:`~.scene_generator.SyntheticSceneSource` (procedural, any AOI/date; the "sh" version of an
acquisition before 2023-12-13 is the "cdse" scene moved by :func:`reprocessing_truth`'s ``shift_m`` with its
radiometric gain/offset and SCL thresholds, per era of the baseline history) or from any object with the same
three methods (``acquisitions``/``cloud_cover``/``render``), e.g. :class:`~.raster_source.RasterSceneSource` over
real files: ``SampleEndpoints(scene_source=...)`` (one source for both deployments, or ``{"sh": …, "cdse": …}``).

Modules: :mod:`.server` (HTTP, thin), :mod:`.auth`, :mod:`.process_api`, :mod:`.evalscript_engine` (V8 via
mini-racer, vectorised), :mod:`.scene_generator`, :mod:`.baselines` (timeline + :func:`reprocessing_truth`),
:mod:`.catalog`, :mod:`.faults`, :mod:`.budget`, :mod:`.errors`, :mod:`.encoding`, :mod:`.raster_source`.
No QGIS/Qt import.
"""

from __future__ import annotations

from s2parity_plugin.sample_endpoints.baselines import baseline_for, reprocessing_truth
from s2parity_plugin.sample_endpoints.scene_generator import reprocessing_shift_in_crs
from s2parity_plugin.sample_endpoints.server import SampleEndpoints

__all__ = ["SampleEndpoints", "baseline_for", "reprocessing_shift_in_crs", "reprocessing_truth"]
