"""Endpoint profiles and their registry (Sentinel Hub, CDSE, custom; extras register more) → ``SHConfig`` +
``DataCollection``.

An :class:`Endpoint` is a profile resolved to concrete URLs plus :class:`Credentials`. The core never reads
credentials from anywhere itself: the QGIS side (``adapters/auth.py``) or a script hands them over.

The ``DataCollection.SENTINEL2_L2A`` trap: that enum member is pinned to ``services.sentinel-hub.com`` and its
``service_url`` *overrides* ``SHConfig.sh_base_url`` when sentinelhub-py builds a Process request. Every request
here therefore uses :func:`l2a_collection`, a ``define_from`` copy bound to the chosen base URL (one stable name
per URL, so defining it again is a no-op).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sentinelhub import DataCollection, SHConfig

from s2parity_plugin.core.errors import EndpointConfigError


@dataclass(frozen=True)
class Credentials:
    """OAuth client credentials. ``client_secret`` is excluded from ``repr`` so it never reaches a log."""

    client_id: str
    client_secret: str = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class EndpointProfile:
    """A named deployment: where its Process/Catalog APIs and its OAuth token endpoint live.

    ``resolver`` (optional) turns credentials into an :class:`Endpoint` for a profile whose URLs are only known at
    run time (a local service on a random port); it is then used instead of ``base_url``/``token_url``.
    ``needs_credentials`` is False for profiles that bring their own (the local sample pair's demo clients).
    """

    id: str
    label: str
    base_url: str = ""
    token_url: str = ""
    resolver: Callable[[Credentials | None], Endpoint] | None = field(default=None, repr=False, compare=False)
    needs_credentials: bool = True


SENTINELHUB = EndpointProfile(
    "sentinelhub",
    "Sentinel Hub (services.sentinel-hub.com)",
    "https://services.sentinel-hub.com",
    "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token",
)
CDSE = EndpointProfile(
    "cdse",
    "Copernicus Data Space Ecosystem (sh.dataspace.copernicus.eu)",
    "https://sh.dataspace.copernicus.eu",
    "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token",
)
CUSTOM = EndpointProfile("custom", "Custom deployment (base URL + token URL)")

_DEFINE_LOCK = threading.Lock()
_REGISTRY_LOCK = threading.Lock()
#: The endpoint profile registry: the real deployments and ``custom``; extras (the optional local sample pair in
#: ``s2parity_plugin.sample_endpoints.profiles``) add theirs with :func:`register_profile`.
_REGISTRY: dict[str, EndpointProfile] = {p.id: p for p in (SENTINELHUB, CDSE, CUSTOM)}
BUILTIN_IDS = tuple(_REGISTRY)


def register_profile(profile: EndpointProfile) -> None:
    """Add ``profile`` to the registry (replacing one of the same id, except the built-in ones)."""
    if profile.id in BUILTIN_IDS:
        raise ValueError(f"{profile.id!r} is a built-in endpoint profile")
    with _REGISTRY_LOCK:
        _REGISTRY[profile.id] = profile


def unregister_profile(profile_id: str) -> None:
    """Remove a registered profile (no-op when absent; built-in profiles stay)."""
    if profile_id not in BUILTIN_IDS:
        with _REGISTRY_LOCK:
            _REGISTRY.pop(profile_id, None)


def profiles() -> tuple[EndpointProfile, ...]:
    """Every registered profile, built-in ones first, then in registration order."""
    with _REGISTRY_LOCK:
        return tuple(_REGISTRY.values())


def profile_ids() -> tuple[str, ...]:
    """Ids of every registered profile (the choices of the Processing algorithms' endpoint parameters)."""
    return tuple(p.id for p in profiles())


def default_pair(has_credentials: bool) -> tuple[str, str]:
    """The endpoint pair a new comparison starts with: Sentinel Hub vs CDSE once the user has credentials, else
    the first two registered profiles that need none (the offline sample pair, when installed)."""
    free = [p.id for p in profiles() if not p.needs_credentials]
    if has_credentials or len(free) < 2:
        return SENTINELHUB.id, CDSE.id
    return free[0], free[1]


def get_profile(profile_id: str) -> EndpointProfile | None:
    """The registered profile ``profile_id``, or None."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(profile_id)


@dataclass(frozen=True)
class Endpoint:
    """A profile resolved to concrete URLs, with the credentials to use there."""

    profile_id: str
    base_url: str
    token_url: str
    credentials: Credentials = field(repr=False)

    @property
    def host(self) -> str:
        """``host[:port]`` of the base URL (for messages and request-log checks)."""
        return urlparse(self.base_url).netloc

    @property
    def is_loopback_http(self) -> bool:
        """True for plain-http endpoints on the loopback interface (the local sample pair)."""
        return is_loopback_http(self.base_url) and is_loopback_http(self.token_url)


def is_loopback_http(url: str) -> bool:
    """True when ``url`` is ``http://`` to 127.0.0.0/8, ::1 or ``localhost``."""
    parsed = urlparse(url)
    if parsed.scheme != "http" or not parsed.hostname:
        return False
    if parsed.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.hostname).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str, profile_id: str) -> str:
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise EndpointConfigError(
            f"The {what} of endpoint '{profile_id}' is {url!r}, which is not an http(s) URL: "
            f"enter a full URL such as https://services.sentinel-hub.com."
        )
    if parsed.scheme == "http" and not is_loopback_http(url):
        raise EndpointConfigError(
            f"The {what} of endpoint '{profile_id}' ({url}) uses plain http to a non-local host, which would send "
            "the client secret unencrypted: use its https:// URL."
        )
    return url.rstrip("/")


def resolve_endpoint(
    profile_id: str,
    credentials: Credentials | None = None,
    *,
    base_url: str | None = None,
    token_url: str | None = None,
) -> Endpoint:
    """Resolve a registered profile id to an :class:`Endpoint`.

    A profile with a ``resolver`` (e.g. the local sample pair, which starts on first use) resolves itself.
    ``custom`` needs ``base_url`` and ``token_url``. Real profiles need credentials.
    """
    profile = get_profile(profile_id)
    if profile is None:
        hint = " (the offline sample endpoints need the optional package mini-racer)" if "sample" in profile_id else ""
        raise EndpointConfigError(
            f"Unknown endpoint profile {profile_id!r}{hint}: choose one of {', '.join(profile_ids())}."
        )
    if profile.resolver is not None:
        return profile.resolver(credentials)
    if profile.id == "custom":
        if not base_url or not token_url:
            raise EndpointConfigError(
                "The 'custom' endpoint needs both a base URL (e.g. https://services-uswest2.sentinel-hub.com) and "
                "a token URL (…/protocol/openid-connect/token): fill in both."
            )
        base, token = _check_url(base_url, "base URL", profile.id), _check_url(token_url, "token URL", profile.id)
    else:
        base, token = profile.base_url, profile.token_url
    if not credentials:
        raise EndpointConfigError(
            f"No credentials for endpoint '{profile.id}' ({base}): choose a QGIS authentication configuration "
            "(method Basic: username = OAuth client id, password = client secret) or a sentinelhub-py profile."
        )
    return Endpoint(profile.id, base, token, credentials)


def l2a_collection(base_url: str) -> DataCollection:
    """Sentinel-2 L2A bound to ``base_url`` (``define_from`` with a stable, URL-derived unique name)."""
    url = base_url.rstrip("/")
    if url == DataCollection.SENTINEL2_L2A.service_url:
        return DataCollection.SENTINEL2_L2A  # same definition: define_from would refuse a second name for it
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    with _DEFINE_LOCK:  # define_from extends the enum class: not thread-safe (both sides connect concurrently)
        return DataCollection.SENTINEL2_L2A.define_from(f"S2PARITY_L2A_{digest}", service_url=url)


def sh_config(
    endpoint: Endpoint,
    *,
    timeout_s: float = 60.0,
    max_download_attempts: int = 3,
    download_sleep_time_s: float = 0.5,
    max_retries_429: int = 8,
) -> SHConfig:
    """An ``SHConfig`` for ``endpoint`` built from scratch (``use_defaults=True``: never reads config.toml).

    The retry settings apply to sentinelhub-py's own download client only; S2 Parity's client
    (``shclient.ParityClient``) retries with :class:`~.retry.RetryPolicy` (backoff within a per-request deadline).
    """
    config = SHConfig(use_defaults=True)
    config.sh_base_url = endpoint.base_url
    config.sh_token_url = endpoint.token_url
    config.sh_auth_base_url = None
    config.sh_client_id = endpoint.credentials.client_id
    config.sh_client_secret = endpoint.credentials.client_secret
    config.download_timeout_seconds = timeout_s
    config.max_download_attempts = max_download_attempts
    config.download_sleep_time = download_sleep_time_s
    config.max_retries = max_retries_429
    return config


def credentials_from_sh_profile(profile: str) -> tuple[Credentials, str | None, str | None]:
    """Credentials (and base/token URL) from a sentinelhub-py config profile in ``~/.config/sentinelhub/config.toml``.

    Returns ``(credentials, base_url, token_url)``; raises :class:`EndpointConfigError` when the profile does not
    exist or holds no client id/secret.
    """
    try:
        config = SHConfig(profile=profile)
    except KeyError as exc:
        raise EndpointConfigError(
            f"There is no sentinelhub-py profile named {profile!r} in {SHConfig.get_config_location()}: create it "
            f"with `sentinelhub.config --profile {profile} --sh_client_id … --sh_client_secret …` or pick another."
        ) from exc
    if not (config.sh_client_id and config.sh_client_secret):
        raise EndpointConfigError(
            f"The sentinelhub-py profile {profile!r} has no client id/secret: set sh_client_id and sh_client_secret "
            "in it."
        )
    return Credentials(config.sh_client_id, config.sh_client_secret), config.sh_base_url, config.sh_token_url
