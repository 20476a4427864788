"""The offline sample pair as the core sees it: one :class:`Endpoint` per deployment of a running
:class:`~s2parity_plugin.sample_endpoints.SampleEndpoints` server. Used by the unit tests' ``pair`` fixture
(tests/unit/conftest.py) and by the benches."""

from __future__ import annotations

from typing import Any

from s2parity_plugin.core.service.endpoints import Credentials, Endpoint

DEPLOYMENTS = ("sh", "cdse")


def pair_endpoints(info: dict[str, Any]) -> tuple[Endpoint, Endpoint]:
    """(A = ``sample-sh``, B = ``sample-cdse``) from a server's ``info`` (URLs and client credentials)."""
    a, b = (
        Endpoint(
            f"sample-{d}",
            info[d]["base_url"],
            info[d]["token_url"],
            Credentials(info[d]["client_id"], info[d]["client_secret"]),
        )
        for d in DEPLOYMENTS
    )
    return a, b
