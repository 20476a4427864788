"""What went wrong with a download, in words a user can act on (QGIS-free).

:func:`map_exception` turns whatever a download raised (``requests`` / sentinelhub-py exceptions, a short body, an
HTML page where a TIFF was expected) into one :class:`~.fetch_errors.FetchError` subclass whose message says what
happened — and only what happened: a 403 for missing permissions is not called a quota problem, a cut-off body is
not called a rejected request, a read timeout is not called unreachable. Messages never contain a secret (request
bodies and headers are never quoted; only the service's own ``error.message``).
"""

from __future__ import annotations

import json
from typing import Any

import requests
from sentinelhub.exceptions import DownloadFailedException, OutOfRequestsException

from s2parity_plugin.core.errors import (
    AccessDeniedError,
    CredentialsError,
    FetchError,
    NetworkError,
    QuotaExceededError,
    RequestRejectedError,
    S2ParityError,
    ServerError,
)

#: Boom codes (Sentinel Hub OpenAPI ``Boom.code``) that mean "the account's rate limit or quota is used up".
QUOTA_CODES = frozenset({"RATE_LIMIT_EXCEEDED", "RATE_LIMIT_TOKEN_COUNT_EXCEEDS_CAPACITY"})
ACCOUNT_EXPIRED_CODE = "COMMON_SENTINEL_ACCOUNT_EXPIRED"
MAX_SERVER_TEXT = 300
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def describe_payload(content: bytes, content_type: str = "") -> str:
    """A short description of an unexpected answer body: an HTML page (with its title), JSON, or the first bytes."""
    head = content[:2048].lstrip()
    text = head.decode("utf-8", "replace")
    lowered = text.lower()
    if "html" in content_type.lower() or lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered:
        title = ""
        start = lowered.find("<title>")
        if start >= 0:
            end = lowered.find("</title>", start)
            title = " ".join(text[start + 7 : end if end > 0 else start + 127].split())[:120]
        title_text = f" titled '{title}'" if title else ""
        return f"an HTML page{title_text} (a proxy, captive portal or login page?)"
    if head[:1] in (b"{", b"["):
        return f"a JSON document ({' '.join(text.split())[:160]})"
    if not content:
        return "an empty answer"
    return f"{len(content)} bytes of {content_type or 'unknown type'} starting with {content[:16]!r}"


def server_message(response: requests.Response) -> str:
    """The service's ``error.message`` as plain text (JSON decoded, newlines kept as spaces), or a description of
    what arrived instead."""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        error = doc.get("error")
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("reason") or "")
        elif isinstance(error, str):
            text = str(doc.get("error_description") or error)
        else:
            text = str(doc.get("message") or doc.get("detail") or "")
        return " ".join(text.split())[:MAX_SERVER_TEXT]
    content = response.content or b""
    if not content:
        return ""
    return describe_payload(content, response.headers.get("Content-Type", ""))


def error_code(response: requests.Response) -> str:
    """The Boom ``error.code`` of an error answer, or ""."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _mentions_quota(text: str) -> bool:
    """The service's message is about processing units or a quota (not about permissions)."""
    lowered = text.lower()
    return "processing unit" in lowered or "quota" in lowered


def _unwrap(exc: BaseException) -> BaseException:
    return exc.request_exception if isinstance(exc, DownloadFailedException) and exc.request_exception else exc


def _network(inner: BaseException, where: str, endpoint_id: str, timeout_s: float | None) -> FetchError | None:
    if isinstance(inner, requests.exceptions.ProxyError):
        return NetworkError(
            f"Cannot reach {where} through the configured proxy ({type(inner).__name__}). Check the proxy host, port "
            "and credentials in QGIS ‣ Settings ‣ Options ‣ Network, or disable the proxy.",
            endpoint_id,
        )
    if isinstance(inner, requests.exceptions.ReadTimeout):
        within = f"within {timeout_s:g} s" if timeout_s else "within the read timeout"
        return NetworkError(
            f"{where} accepted the connection but sent no answer {within}, on every retry. The service may be "
            "overloaded: retry later, request a smaller area, or raise the read timeout.",
            endpoint_id,
        )
    if isinstance(inner, requests.exceptions.ChunkedEncodingError):
        return ServerError(
            f"The answer of {where} was cut off before its end ({inner}), on every retry. The connection may be "
            "unstable (or a proxy cuts large answers): retry later or request a smaller area.",
            endpoint_id,
        )
    if isinstance(inner, (requests.ConnectionError, requests.Timeout)):
        return NetworkError(
            f"Cannot reach {where}: {type(inner).__name__}. Check the internet connection, the proxy settings "
            "(QGIS ‣ Settings ‣ Options ‣ Network) and the endpoint URL.",
            endpoint_id,
        )
    return None


def _http(response: requests.Response, where: str, endpoint_id: str) -> FetchError:
    status = response.status_code
    server = server_message(response)
    said = f": {server}" if server else ""
    code = error_code(response)
    if status == 401:
        return CredentialsError(
            f"{where} refused the access token (401 Unauthorized{said}). Check the client id and secret (and that "
            "they belong to this endpoint).",
            endpoint_id,
            status,
        )
    if status == 429 or code in QUOTA_CODES or (status == 403 and _mentions_quota(server)):
        return QuotaExceededError(
            f"{where} is rate-limiting this account (HTTP {status}{said}): its request or processing-unit quota is "
            "used up. Wait for the quota to refill (or reset) and retry with fewer parallel downloads.",
            endpoint_id,
            status,
        )
    if status == 403:
        expired = " The account has expired." if code == ACCOUNT_EXPIRED_CODE else ""
        return AccessDeniedError(
            f"{where} denied access (403 Forbidden{said}).{expired} The credentials are valid, but this account may "
            "not use Sentinel-2 L2A / the Process API there: check its subscription or use another account.",
            endpoint_id,
            status,
        )
    if status >= 500:
        return ServerError(
            f"{where} failed with HTTP {status} on every retry{said}. The service may be down: retry later.",
            endpoint_id,
            status,
        )
    return RequestRejectedError(
        f"{where} rejected the request (HTTP {status}{said}). For a custom evalscript check its setup()/outputs; "
        "otherwise report this as a bug.",
        endpoint_id,
        status,
    )


def map_exception(
    exc: BaseException, endpoint_id: str, base_url: str, *, timeout_s: float | None = None
) -> BaseException:
    """A user-facing :class:`S2ParityError` for anything a download from one endpoint raised."""
    where = f"endpoint '{endpoint_id}' ({base_url})"
    if isinstance(exc, FetchError) and exc.endpoint_id is None:
        exc.endpoint_id = endpoint_id
    if isinstance(exc, S2ParityError):
        return exc
    if isinstance(exc, OutOfRequestsException):
        return QuotaExceededError(
            f"{where} kept answering 429 Too Many Requests ({exc}): the rate limit or quota of the account is "
            "exhausted. Wait a minute (or until the quota resets), lower the number of parallel downloads, and retry.",
            endpoint_id,
            429,
        )
    inner = _unwrap(exc)
    mapped = _network(inner, where, endpoint_id, timeout_s)
    if mapped is not None:
        return mapped
    response: Any = getattr(inner, "response", None)
    if response is not None and response.status_code >= 400:
        return _http(response, where, endpoint_id)
    if isinstance(inner, json.JSONDecodeError):
        return ServerError(f"{where} answered with something that is not JSON where JSON was expected.", endpoint_id)
    return FetchError(f"Downloading from {where} failed: {type(inner).__name__}: {inner}", endpoint_id)
