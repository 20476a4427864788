"""Local Sentinel Hub–compatible endpoint pair ("sh" and "cdse") for the offline demo and every fetch test.

Start in-process::

    from s2parity_plugin.sample_endpoints import SampleEndpoints
    with SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0) as eps:
        eps.info  # {"sh": {"base_url", "token_url", "client_id", "client_secret"}, "cdse": {...}}

or as a process: ``python -m s2parity_plugin.sample_endpoints serve [--port N]`` (first stdout line = ``eps.info``).

The unmodified ``sentinelhub`` client talks to it over real HTTP (``SHConfig(sh_base_url=…, sh_token_url=…)``,
``DataCollection.SENTINEL2_L2A.define_from(…, service_url=…)``; plain http on loopback needs
``OAUTHLIB_INSECURE_TRANSPORT=1``).

Fractional ``output.width``/``height`` (decision)
------------------------------------------------
The OpenAPI reference declares ``output.width``/``height`` as ``type: integer, format: int32, minimum 1,
maximum 2500`` ("Must be an integer between 1 and 2500"). JSON Schema's ``integer`` accepts ``501.0`` but not
``501.2608``, so a body carrying the seed's fractional 501.2608 x 420.7543 does not validate against the schema:
the emulator answers **400 COMMON_BAD_PAYLOAD** (real error shape, message naming the field) rather than silently
rounding — silently rounding would hide exactly the kind of client bug (a grid computed from bbox/resolution and
never rounded) that makes two fetches disagree by one pixel. Integral floats (``505.0``) are accepted as the schema
allows. Clients should send integers, or ``resx``/``resy`` (then ``width = round((maxx - minx) / resx)``, likewise
height, as the real service computes it — 505 x 447 for the seed bbox at 10 m).

Other documented choices: ``harmonizeValues=true`` (default) removes the BOA offset of >= 04.00 products and clamps
negatives to 0, ``false`` returns product DNs (``REFLECTANCE = DN / 10000`` either way); sample types AUTO
(``x*255``, rounded, clamped to UINT8), UINT8/UINT16 (rounded half-up, clamped), FLOAT32 unchanged; categorical
bands (SCL, CLM, SNW, dataMask) always nearest-neighbour; one tile per date (the tile nearest the AOI centre).
Modules: :mod:`.server` (HTTP), :mod:`.auth`, :mod:`.process_api`, :mod:`.evalscript_engine`, :mod:`.scene_generator`,
:mod:`.baselines` (timeline + :func:`reprocessing_truth`), :mod:`.catalog`, :mod:`.faults`, :mod:`.errors`,
:mod:`.encoding`, :mod:`.raster_source` (real rasters, for tests).
"""

from __future__ import annotations

from s2parity_plugin.sample_endpoints.baselines import baseline_for, reprocessing_truth
from s2parity_plugin.sample_endpoints.server import SampleEndpoints

__all__ = ["SampleEndpoints", "baseline_for", "reprocessing_truth"]
