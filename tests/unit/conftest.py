"""Fixtures of the QGIS-free tests that fetch from the offline sample pair over real HTTP on 127.0.0.1 (modules
that need other server options define their own ``eps``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def eps():
    """One sample endpoint pair server per test module (random free port, tokens valid for an hour)."""
    sample_endpoints = pytest.importorskip("s2parity_plugin.sample_endpoints")
    server = sample_endpoints.SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0).start()
    yield server
    server.stop()


@pytest.fixture
def pair(eps):
    """(A, B) endpoints of the module's server, with no fault injected before or after the test."""
    from sample_pair import pair_endpoints

    eps.clear_faults()
    yield pair_endpoints(eps.info)
    eps.clear_faults()
