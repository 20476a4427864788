"""sentinelhub-py's download client, adapted for S2 Parity: proxies, cancellation, token renewal, safe logging.

What is changed (everything else — the rate limiter, request building, session caching per client — is
sentinelhub-py's own code):

* **Retries** (:mod:`.retry`): 5xx, connection errors, read timeouts and cut-off bodies are retried with exponential
  backoff and jitter, 429 waits ``Retry-After`` (ms; 30 s when missing), all within a per-request deadline
  (:class:`~.retry.RetryPolicy`, default 5 min) instead of sentinelhub's 3 attempts within about 2 s.

* **Token fetch** (:class:`ParitySession`): a plain OAuth2 client-credentials POST with ``requests`` instead of
  ``requests_oauthlib``. Reasons: ``requests_oauthlib`` logs the token request *body* (which contains the client
  secret) at DEBUG level; it ignores timeouts and proxies; and it refuses plain http unless the process-wide
  ``OAUTHLIB_INSECURE_TRANSPORT`` environment variable is set. With this session the variable is **never set**,
  not even for the local sample pair (loopback http), and real endpoints are https-only (``endpoints.py`` refuses
  plain http to non-loopback hosts).
* **Proxies**: ``proxies`` (a ``requests`` proxies dict, e.g. from QGIS's network settings) is passed explicitly
  to every call (token, Process, Catalog). sentinelhub-py calls ``requests.request`` without a session, so there
  is no session object to configure; ``SHConfig`` has no proxy option. No environment variable is touched
  (``requests`` still honours ``HTTPS_PROXY`` etc. if the user set them and no explicit proxy is given).
* **Cancellation**: a ``threading.Event``; every HTTP call and every rate-limit wait (``Retry-After``) checks it, and
  waits are sliced to ≤ 0.1 s, so a cancelled tile stops at its next check. An HTTP call already on the wire finishes
  or hits its timeout (sentinelhub's client is blocking); the caller does not wait for it.
* **Token expiry mid-run**: a 401 on a data request with a token that was valid by its ``expires_in`` renews the
  token once (only if no other thread renewed it meanwhile) and repeats the request; a 401 for the fresh token
  raises :class:`CredentialsError` saying so (clock skew or a token service and API that disagree).
* **Truncated answers**: a body shorter than its ``Content-Length`` (urllib3 1.26 does not check) raises
  ``ChunkedEncodingError``, which is retried like any temporary error.
* **Thread safety**: one lock per client for the whole run (sentinelhub creates a new lock per ``download()``
  call, which would not protect the shared rate limiter/session when tiles are downloaded from our own threads).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import requests
from sentinelhub import SHConfig
from sentinelhub.download.client import DownloadClient
from sentinelhub.download.models import DownloadRequest, DownloadResponse
from sentinelhub.download.rate_limit import SentinelHubRateLimit
from sentinelhub.download.sentinelhub_client import SentinelHubDownloadClient
from sentinelhub.download.session import SentinelHubSession
from sentinelhub.exceptions import DownloadFailedException

from s2parity_plugin.core.errors import CredentialsError, FetchCancelled
from s2parity_plugin.core.service.http_errors import describe_payload
from s2parity_plugin.core.service.retry import RetryPolicy, default_policy, send_with_retries

LOGGER = logging.getLogger(__name__)

WAIT_SLICE_S = 0.1


class ParitySession(SentinelHubSession):
    """A self-refreshing Sentinel Hub session whose token fetch honours proxies/timeouts and logs no secret."""

    def __init__(
        self,
        config: SHConfig,
        *,
        proxies: dict[str, str] | None = None,
        endpoint_id: str = "",
        cancel: threading.Event | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.proxies = dict(proxies or {})
        self.endpoint_id = endpoint_id
        self.cancel = cancel
        self.retry = retry or default_policy()
        super().__init__(config=config)

    def _fetch_token(self, request: DownloadRequest) -> dict[str, Any]:
        if self.cancel is not None and self.cancel.is_set():
            raise FetchCancelled("Cancelled while authenticating.")
        LOGGER.debug("Requesting an access token from %s for client id %s", request.url, self.config.sh_client_id)

        def post() -> requests.Response:
            return requests.post(
                request.url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.config.sh_client_id,
                    "client_secret": self.config.sh_client_secret,
                },
                headers={**self.DEFAULT_HEADERS, "Accept": "application/json"},
                timeout=min(self.config.download_timeout_seconds, 30.0),
                proxies=self.proxies or None,
            )

        response = send_with_retries(post, self.retry, cancel=self.cancel, what="token request")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (400, 401, 403) or "error" in body:
            reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
            raise CredentialsError(
                f"The token service of endpoint '{self.endpoint_id}' ({request.url}) rejected client id "
                f"{self.config.sh_client_id!r}: {reason}. Check the client id and secret in the authentication "
                "configuration (OAuth clients are created in the endpoint's dashboard; Sentinel Hub and CDSE "
                "accounts are separate).",
                endpoint_id=self.endpoint_id,
                status=response.status_code,
            )
        response.raise_for_status()
        if "access_token" not in body:
            raise CredentialsError(
                f"The token service of endpoint '{self.endpoint_id}' ({request.url}) answered "
                f"{describe_payload(response.content or b'', response.headers.get('Content-Type', ''))} instead of "
                "an access token: check the token URL of the endpoint (and the proxy settings).",
                endpoint_id=self.endpoint_id,
                status=response.status_code,
            )
        body.setdefault("expires_at", time.time() + float(body.get("expires_in", 3600)))
        return body

    def renew(self, failed_token: str | None) -> None:
        """Fetch a new token unless another thread already replaced ``failed_token``."""
        if failed_token is None or self._token.get("access_token") == failed_token:
            self._token = self._collect_new_token()


class _CancellableRateLimit(SentinelHubRateLimit):
    """sentinelhub's rate limiter with waits sliced to ``WAIT_SLICE_S`` and a cancel check before every slot."""

    def __init__(self, cancel: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cancel = cancel

    def register_next(self) -> float:
        if self.cancel.is_set():
            raise FetchCancelled("Cancelled while waiting for the rate limit.")
        wait = super().register_next()
        return min(wait, WAIT_SLICE_S)


class ParityClient(SentinelHubDownloadClient):
    """``SentinelHubDownloadClient`` for one endpoint for one run (see the module docstring for what differs)."""

    def __init__(
        self,
        config: SHConfig,
        session: ParitySession,
        *,
        proxies: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
        connect_timeout_s: float = 5.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(config=config, session=session, default_retry_time=1.0)
        self.proxies = dict(proxies or {})
        self.cancel = cancel or threading.Event()
        self.retry = retry or default_policy()
        self._rng = random.Random()
        self.connect_timeout_s = connect_timeout_s
        self.rate_limit = _CancellableRateLimit(self.cancel, num_processes=config.number_of_download_processes)
        self._run_lock = threading.Lock()
        self.lock = self._run_lock
        self.request_count = 0

    def download(self, *args: Any, **kwargs: Any) -> Any:
        """Like the parent's, but keeps the one per-run lock (shared by all our worker threads)."""
        self.lock = self._run_lock
        return DownloadClient.download(self, *args, **kwargs)

    def _execute_download(self, request: DownloadRequest) -> DownloadResponse:
        """One request with :mod:`.retry`'s policy (replaces sentinelhub's 3-attempt retry decorators)."""

        def attempt() -> requests.Response:
            self._wait_for_rate_limit()
            return self._do_download(request)

        response = send_with_retries(
            attempt,
            self.retry,
            cancel=self.cancel,
            rng=self._rng,
            on_rate_limit=self._slow_down,
            what=f"request to {request.url}",
        )
        if response.status_code >= 400:
            error = requests.HTTPError(f"HTTP {response.status_code} from {request.url}", response=response)
            raise DownloadFailedException(str(error), request_exception=error)
        return DownloadResponse.from_response(response, request)

    def _wait_for_rate_limit(self) -> None:
        while True:
            wait = self._execute_thread_safe(self.rate_limit.register_next)
            if wait <= 0:
                return
            time.sleep(wait)

    def _slow_down(self, wait_s: float) -> None:
        """A 429 asked to wait ``wait_s``: every worker of this client waits (the rate limit is per account)."""
        self._execute_thread_safe(self.rate_limit.update, {"Retry-After": str(int(wait_s * 1000))}, default=0)

    def _do_download(self, request: DownloadRequest) -> requests.Response:
        response = self._send(request)
        if response.status_code == requests.codes.UNAUTHORIZED and request.use_session:
            failed = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
            LOGGER.info("HTTP 401 from %s: renewing the access token once and repeating the request", request.url)
            self._execute_thread_safe(self.session.renew, failed or None)
            response = self._send(request)
            if response.status_code == requests.codes.UNAUTHORIZED:
                raise CredentialsError(
                    f"The service refused a freshly issued access token (HTTP 401 right after renewing it) for "
                    f"{request.url}. The credentials were accepted by the token service, so this is not a wrong "
                    "client secret: check the computer's clock (a clock that is off by minutes makes new tokens "
                    "look not yet valid or expired) and that the token URL belongs to the same deployment as the "
                    "service URL.",
                    status=401,
                )
        return response

    def _send(self, request: DownloadRequest) -> requests.Response:
        if self.cancel.is_set():
            raise FetchCancelled("Cancelled before sending a request.")
        if request.url is None:
            raise ValueError(f"Faulty request {request}, no URL specified.")
        self.request_count += 1
        response = requests.request(
            request.request_type.value,
            url=request.url,
            json=request.post_values,
            headers=self._prepare_headers(request),
            timeout=(self.connect_timeout_s, self.config.download_timeout_seconds),
            proxies=self.proxies or None,
        )
        check_complete(response)
        return response


def check_complete(response: requests.Response) -> None:
    """Raise ``ChunkedEncodingError`` (a temporary error sentinelhub-py retries) when the body is shorter than its
    ``Content-Length``: urllib3 1.26 does not enforce the length, so a cut connection would yield a truncated TIFF."""
    expected = response.headers.get("Content-Length")
    if not expected or response.headers.get("Content-Encoding") or not expected.isdigit():
        return
    received = len(response.content)
    if received < int(expected):
        LOGGER.info("Incomplete answer from %s: %d of %s bytes; retrying", response.url, received, expected)
        raise requests.exceptions.ChunkedEncodingError(
            f"Incomplete answer: {received} of {expected} bytes received", response=response
        )
