"""Statistics parity: per-feature, per-interval statistics from both Statistical APIs, compared.

Flow (QGIS-free; the Processing algorithm ``s2parity:comparestatistics`` and the dock's Statistics view sit on top):

1. :mod:`.evalscripts` — the statistical evalscript (preset NDVI / B04 / B08 with SCL classes masked through
   ``dataMask``, or the user's own, which must declare a ``dataMask`` output);
2. :mod:`.intervals` — ISO-8601 aggregation intervals (≥ 1 day) and how the API splits a time range;
3. :mod:`.requests` — one Statistical API request per feature covering the whole date range, on a grid shared by
   every feature and both sides (the :class:`~s2parity_plugin.core.model.spec.Grid` lattice of the request spec), with
   its processing-unit estimate;
4. :mod:`.client` — sentinelhub-py's ``SentinelHubStatisticalDownloadClient`` (interval retries) on top of the
   plugin's ``ParityClient`` (proxies, cancellation, token renewal); :mod:`.runner` drives it for every feature ×
   side under a per-endpoint :class:`~s2parity_plugin.core.service.rate_limit.RateLimiter`, with a resumable per-request
   cache (:mod:`.cache`) in the output folder;
5. :mod:`.baselines` — one catalog search per side over the whole layer extent → baseline per acquisition;
6. :mod:`.table` — feature × interval rows, A beside B (intervals on one side only are rows of their own), with the
   derived differences; :mod:`.summary` — per-feature summary fields and the JSON report with a diagnosis.
"""
