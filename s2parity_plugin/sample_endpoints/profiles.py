"""The ``sample-sh`` / ``sample-cdse`` endpoint profiles: the local pair, registered in the core's registry.

:func:`register` adds both profiles to :mod:`s2parity_plugin.core.service.endpoints` when mini-racer (the V8 engine the
pair runs evalscripts with) is importable; the QGIS side calls it when the Processing provider loads its
algorithms, scripts and tests call it themselves. The core never imports this package.

The pair starts lazily, once per process, the first time a sample profile is resolved (127.0.0.1, random port);
it stops at interpreter exit (``atexit``) or with :func:`stop_sample_endpoints` (the plugin's ``unload``). Plain
http on loopback is fine for the plugin's own token fetch; ``OAUTHLIB_INSECURE_TRANSPORT`` is never set.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from typing import Any

from s2parity_plugin.core.service.endpoints import (
    Credentials,
    Endpoint,
    EndpointProfile,
    register_profile,
    unregister_profile,
)

#: profile id → deployment key of the pair's ``info``.
DEPLOYMENTS = {"sample-sh": "sh", "sample-cdse": "cdse"}
LABELS = {
    "sample-sh": "Local sample endpoint imitating Sentinel Hub",
    "sample-cdse": "Local sample endpoint imitating CDSE",
}
_LOCK = threading.Lock()
_ENDPOINTS: Any = None


def available() -> bool:
    """mini-racer can be imported (without it the pair cannot run evalscripts)."""
    return importlib.util.find_spec("py_mini_racer") is not None


def _resolver(profile_id: str):
    def resolve(credentials: Credentials | None) -> Endpoint:
        info = ensure_sample_endpoints()[DEPLOYMENTS[profile_id]]
        creds = credentials or Credentials(info["client_id"], info["client_secret"])
        return Endpoint(profile_id, info["base_url"].rstrip("/"), info["token_url"], creds)

    return resolve


def register() -> bool:
    """Register the sample profiles when mini-racer is importable; returns whether they are registered."""
    if not available():
        return False
    for pid, label in LABELS.items():
        register_profile(EndpointProfile(pid, label, resolver=_resolver(pid), needs_credentials=False))
    return True


def unregister() -> None:
    """Remove the sample profiles from the registry."""
    for pid in LABELS:
        unregister_profile(pid)


def ensure_sample_endpoints() -> dict[str, dict[str, str]]:
    """Start the local pair if it is not running yet; return its ``info``."""
    global _ENDPOINTS
    with _LOCK:
        if _ENDPOINTS is None:
            from s2parity_plugin.sample_endpoints.server import SampleEndpoints

            _ENDPOINTS = SampleEndpoints(host="127.0.0.1", port=0, token_ttl_s=3600.0).start()
            atexit.register(stop_sample_endpoints)
        return _ENDPOINTS.info


def sample_endpoints() -> Any:
    """The running :class:`SampleEndpoints` (starting it if needed), e.g. for fault injection in tests/bench."""
    ensure_sample_endpoints()
    return _ENDPOINTS


def stop_sample_endpoints() -> None:
    """Stop the local pair if this module started it (idempotent)."""
    global _ENDPOINTS
    with _LOCK:
        if _ENDPOINTS is not None:
            try:
                _ENDPOINTS.stop()
            finally:
                _ENDPOINTS = None
