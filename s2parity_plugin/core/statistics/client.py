"""sentinelhub-py's Statistical download client on the plugin's :class:`~..service.session.ParityClient`.

``SentinelHubStatisticalDownloadClient`` re-asks every interval answered with ``EXECUTION_ERROR``/``TIMEOUT`` on
its own (``n_interval_retries`` times); ``ParityClient`` adds proxies, cancellation, token renewal and the
truncated-body check. 429 answers are retried by sentinelhub-py honouring ``Retry-After`` (ms).
"""

from __future__ import annotations

import threading
from typing import Any

from sentinelhub import CRS, BBox, Geometry, SentinelHubStatistical
from sentinelhub.download.models import DownloadRequest
from sentinelhub.download.sentinelhub_statistical_client import SentinelHubStatisticalDownloadClient
from shapely.geometry import shape

from s2parity_plugin.core.service.endpoints import Endpoint, l2a_collection, sh_config
from s2parity_plugin.core.service.session import ParityClient, ParitySession
from s2parity_plugin.core.statistics.requests import FeatureRequest

INTERVAL_RETRIES = 2


class StatisticalClient(SentinelHubStatisticalDownloadClient, ParityClient):
    """Interval retries of the official Statistical client + the plugin's session handling (one per endpoint)."""


def make_client(
    endpoint: Endpoint, cancel: threading.Event, proxies: dict[str, str] | None = None, timeout_s: float = 120.0
) -> StatisticalClient:
    """A client for one endpoint for one run (its own session; the token is fetched on first use)."""
    config = sh_config(endpoint, timeout_s=timeout_s)
    session = ParitySession(config, proxies=proxies, endpoint_id=endpoint.profile_id, cancel=cancel)
    return StatisticalClient(
        config,
        session,
        proxies=proxies,
        cancel=cancel,
        n_interval_retries=INTERVAL_RETRIES,
        max_retry_threads=2,
    )


def catalog_client(stat_client: StatisticalClient) -> ParityClient:
    """A plain client sharing the statistical client's session (the catalog answers have no ``data`` list)."""
    return ParityClient(stat_client.config, stat_client.session, proxies=stat_client.proxies, cancel=stat_client.cancel)


def download_request(request: FeatureRequest, endpoint: Endpoint, client: StatisticalClient) -> DownloadRequest:
    """The official ``SentinelHubStatistical`` request of one feature on one endpoint (body as built by the core)."""
    body = request.body
    agg = body["aggregation"]
    data = body["input"]["data"][0]
    bounds = body["input"]["bounds"]
    crs = CRS(request.grid.epsg)
    stat = SentinelHubStatistical(
        aggregation=SentinelHubStatistical.aggregation(
            evalscript=agg["evalscript"],
            time_interval=(agg["timeRange"]["from"], agg["timeRange"]["to"]),
            aggregation_interval=agg["aggregationInterval"]["of"],
            size=(agg["width"], agg["height"]),
        ),
        input_data=[
            SentinelHubStatistical.input_data(
                l2a_collection(endpoint.base_url),
                other_args={"dataFilter": data["dataFilter"], "processing": data["processing"]},
            )
        ],
        bbox=BBox(bounds["bbox"], crs),
        geometry=Geometry(shape(bounds["geometry"]), crs),
        config=client.config,
    )
    return stat.download_list[0]


def fetch(request: FeatureRequest, endpoint: Endpoint, client: StatisticalClient) -> tuple[dict[str, Any], float]:
    """Send one feature's request; returns the decoded answer and the PU the service reported (0 if none)."""
    req = download_request(request, endpoint, client)
    response = client.download([req], max_threads=1, decode_data=False)[0]
    spent = response.headers.get("x-processingunits-spent") if response.headers else None
    return response.decode(), float(spent or 0.0)
