"""Endpoint profiles (Sentinel Hub, CDSE, the local sample pair, custom) → ``SHConfig`` + ``DataCollection``.

An :class:`Endpoint` is a profile resolved to concrete URLs plus :class:`Credentials`. The core never reads
credentials from anywhere itself: the QGIS side (``qgis_side/auth.py``) or a script hands them over.

The ``DataCollection.SENTINEL2_L2A`` trap: that enum member is pinned to ``services.sentinel-hub.com`` and its
``service_url`` *overrides* ``SHConfig.sh_base_url`` when sentinelhub-py builds a Process request. Every request
here therefore uses :func:`l2a_collection`, a ``define_from`` copy bound to the chosen base URL (one stable name
per URL, so defining it again is a no-op).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sentinelhub import DataCollection, SHConfig

from s2parity_plugin.core.fetch_errors import EndpointConfigError


@dataclass(frozen=True)
class Credentials:
    """OAuth client credentials. ``client_secret`` is excluded from ``repr`` so it never reaches a log."""

    client_id: str
    client_secret: str = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class EndpointProfile:
    """A named deployment: where its Process/Catalog APIs and its OAuth token endpoint live."""

    id: str
    label: str
    base_url: str
    token_url: str
    sample_deployment: str | None = None  # "sh" / "cdse" for the local sample pair, else None


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
# URLs of the sample profiles are only known once the local pair runs (random loopback port).
SAMPLE_SH = EndpointProfile("sample-sh", "Local sample endpoint imitating Sentinel Hub", "", "", "sh")
SAMPLE_CDSE = EndpointProfile("sample-cdse", "Local sample endpoint imitating CDSE", "", "", "cdse")
CUSTOM = EndpointProfile("custom", "Custom deployment (base URL + token URL)", "", "")

_DEFINE_LOCK = threading.Lock()

PROFILES: dict[str, EndpointProfile] = {p.id: p for p in (SENTINELHUB, CDSE, SAMPLE_SH, SAMPLE_CDSE, CUSTOM)}
PROFILE_IDS = tuple(PROFILES)


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
    """Resolve a profile id to an :class:`Endpoint`.

    ``sample-sh``/``sample-cdse`` start the local pair in-process (once) and use its demo credentials when
    ``credentials`` is None. ``custom`` needs ``base_url`` and ``token_url``. Real profiles need credentials.
    """
    profile = PROFILES.get(profile_id)
    if profile is None:
        raise EndpointConfigError(f"Unknown endpoint profile {profile_id!r}: choose one of {', '.join(PROFILE_IDS)}.")
    if profile.sample_deployment:
        from s2parity_plugin.core.sample_service import ensure_sample_endpoints

        info = ensure_sample_endpoints()[profile.sample_deployment]
        creds = credentials or Credentials(info["client_id"], info["client_secret"])
        return Endpoint(profile.id, info["base_url"].rstrip("/"), info["token_url"], creds)
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
