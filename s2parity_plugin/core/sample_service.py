"""The local sample endpoint pair, started lazily once per process for the ``sample-sh``/``sample-cdse`` profiles.

``ensure_sample_endpoints()`` starts :class:`s2parity_plugin.sample_endpoints.SampleEndpoints` on 127.0.0.1 (random
port) the first time a sample profile is resolved and returns its ``info`` (base/token URLs and demo credentials
per deployment ``"sh"``/``"cdse"``). It is stopped at interpreter exit (``atexit``) or by
``stop_sample_endpoints()`` (the plugin's ``unload``). Plain http on loopback is fine for our own token fetch
(``shclient.ParitySession``); ``OAUTHLIB_INSECURE_TRANSPORT`` is never set.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

_LOCK = threading.Lock()
_ENDPOINTS: Any = None


def ensure_sample_endpoints() -> dict[str, dict[str, str]]:
    """Start the local pair if it is not running yet; return its ``info``."""
    global _ENDPOINTS
    with _LOCK:
        if _ENDPOINTS is None:
            from s2parity_plugin.sample_endpoints import SampleEndpoints

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
