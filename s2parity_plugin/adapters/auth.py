"""Credentials and proxy settings from QGIS, handed to the QGIS-free core.

Credentials: the documented way is a **QGIS Authentication Manager** configuration of method **Basic**
(username = OAuth client id, password = client secret), referred to by its 7-character auth config id. An
**OAuth2** configuration (client credentials grant) is accepted too: its client id/secret are used (and its token
URL is ignored — the endpoint profile decides). Alternatively the reference may name a **sentinelhub-py profile**
(``SHConfig(profile=name)``, ``~/.config/sentinelhub/config.toml``). Secrets are read only here, kept in memory, and
never written to QgsSettings, project files, logs or run folders.

Proxies: :func:`qgis_proxies` turns QGIS's network proxy settings (Settings ‣ Options ‣ Network) into a
``requests`` proxies dict the core passes explicitly to every HTTP call (no environment variable is set).
Call both in the main thread (the Processing algorithm does it in ``prepareAlgorithm``).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from s2parity_plugin.core.errors import EndpointConfigError
from s2parity_plugin.core.service.endpoints import Credentials, credentials_from_sh_profile


def credentials_from_auth_config(authcfg: str) -> Credentials:
    """Client id/secret from a QGIS auth config (Basic or OAuth2); raises :class:`EndpointConfigError`."""
    manager = QgsApplication.authManager()
    if authcfg not in manager.configIds():
        raise EndpointConfigError(
            f"There is no QGIS authentication configuration with id {authcfg!r}: create one (Settings ‣ Options ‣ "
            "Authentication, method Basic, username = client id, password = client secret) and use its id."
        )
    if manager.isDisabled():
        raise EndpointConfigError(
            f"The QGIS authentication system is disabled ({manager.disabledMessage()}): fix it or use a "
            "sentinelhub-py profile instead."
        )
    config = QgsAuthMethodConfig()
    if not manager.loadAuthenticationConfig(authcfg, config, True):
        raise EndpointConfigError(
            f"QGIS could not decrypt authentication configuration {authcfg!r}: enter the master password when QGIS "
            "asks for it."
        )
    method = config.method()
    if method == "Basic":
        client_id, secret = config.config("username"), config.config("password")
    elif method == "OAuth2":
        try:
            oauth = json.loads(config.config("oauth2config") or "{}")
        except ValueError:
            oauth = {}
        client_id, secret = oauth.get("clientId", ""), oauth.get("clientSecret", "")
    else:
        raise EndpointConfigError(
            f"Authentication configuration {authcfg!r} uses method {method!r}: use method Basic "
            "(username = client id, password = client secret) or OAuth2."
        )
    if not (client_id and secret):
        raise EndpointConfigError(
            f"Authentication configuration {authcfg!r} has no client id or no secret: fill in both."
        )
    return Credentials(client_id, secret)


def resolve_credentials(reference: str) -> Credentials | None:
    """Credentials from a QGIS auth config id, else from a sentinelhub-py profile of that name; None if empty."""
    reference = (reference or "").strip()
    if not reference:
        return None
    if reference in QgsApplication.authManager().configIds():
        return credentials_from_auth_config(reference)
    try:
        return credentials_from_sh_profile(reference)[0]
    except EndpointConfigError as exc:
        raise EndpointConfigError(
            f"{reference!r} is neither a QGIS authentication configuration id nor a sentinelhub-py profile. {exc}"
        ) from exc


def qgis_proxies(settings: QgsSettings | None = None) -> dict[str, str] | None:
    """``{"http": url, "https": url}`` from QGIS's proxy settings, or None (no proxy / system default)."""
    settings = settings or QgsSettings()
    enabled = settings.value("proxy/proxyEnabled", False)
    if str(enabled).lower() not in ("true", "1"):
        return None
    kind = str(settings.value("proxy/proxyType", "HttpProxy"))
    host = str(settings.value("proxy/proxyHost", "") or "").strip()
    if kind == "DefaultProxy" or not host:
        return None  # system proxy: requests reads it from the environment itself
    port = str(settings.value("proxy/proxyPort", "") or "").strip()
    user = str(settings.value("proxy/proxyUser", "") or "")
    password = str(settings.value("proxy/proxyPassword", "") or "")
    scheme = "socks5h" if kind == "Socks5Proxy" else "http"
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    url = f"{scheme}://{auth}{host}{':' + port if port else ''}"
    return {"http": url, "https": url}
