"""The thin HTTP layer: two deployments ("sh" and "cdse") on two loopback ports, in one process.

Routes per deployment (paths as the real services):

* ``POST /auth/realms/main/protocol/openid-connect/token`` ("sh") / ``/auth/realms/CDSE/…/token`` ("cdse")
* ``POST /api/v1/process`` (also ``/process/v1``, the path of the current OpenAPI document)
* ``POST /api/v1/statistics`` (also ``/statistics/v1``): :mod:`.statistical_api`
* ``POST /api/v1/catalog/1.0.0/search`` (also ``/catalog/v1/search``), ``GET /api/v1/catalog/1.0.0/``,
  ``…/collections``, ``…/collections/sentinel-2-l2a``

Order of checks on a Process / Statistical API request: fault latency -> bearer token (401) -> rate-limit mode
budgets (429 with ``Retry-After``) -> fault 429/5xx -> the request itself (its processing units charged and reported
in ``X-ProcessingUnits-Spent``) -> fault truncation of the body.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Union
from urllib.parse import parse_qs, urlsplit

from s2parity_plugin.sample_endpoints import catalog, encoding, process_api, statistical_api
from s2parity_plugin.sample_endpoints.auth import DEMO_CLIENTS, REALMS, TOKEN_PATHS, TokenIssuer
from s2parity_plugin.sample_endpoints.budget import PU_SPENT_HEADER, Budget, BudgetConfig
from s2parity_plugin.sample_endpoints.errors import (
    ServiceError,
    bad_payload,
    internal_error,
    not_found,
    rate_limited,
    unauthorized,
)
from s2parity_plugin.sample_endpoints.faults import FaultConfig, FaultState, request_key
from s2parity_plugin.sample_endpoints.scene_generator import SyntheticSceneSource

LOGGER = logging.getLogger(__name__)
DEPLOYMENTS = ("sh", "cdse")
SERVICE_VERSIONS = {"sh": "1.0.0-sample-sh", "cdse": "1.0.0-sample-cdse"}
PROCESS_PATHS = ("/api/v1/process", "/process/v1")
CATALOG_ROOTS = ("/api/v1/catalog/1.0.0", "/catalog/v1")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclasses.dataclass
class Deployment:
    """Runtime state of one deployment."""

    name: str
    source: Any
    issuer: TokenIssuer
    faults: FaultState
    base_url: str = ""
    budget: Optional[Budget] = None  # rate-limit mode (off when None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "S2ParitySample/1.0"
    deployment: Deployment  # set on the per-deployment subclass
    owner: SampleEndpoints

    def log_message(self, format: str, *args: Any) -> None:
        LOGGER.debug("%s %s", self.deployment.name, format % args)

    # -- plumbing --------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise bad_payload("Request body too large.")
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Optional[dict[str, str]] = None,
        truncate: bool = False,
    ) -> None:
        path = self.path.split("?", 1)[0]
        self.owner._log(self.deployment.name, self.command, path, status)
        record = getattr(self, "_record_entry", None)
        if record is not None:
            record["status"] = status
            self._record_entry = None
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        chunked = truncate and self.deployment.faults.config.truncate_mode == "chunked"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if not truncate:
            self.wfile.write(body)
            return
        half = body[: len(body) // 2]
        if chunked:
            self.wfile.write(f"{len(body):x}\r\n".encode() + half)  # announces the whole body, sends half
        else:
            self.wfile.write(half)
        self.wfile.flush()

    def _send_json(self, status: int, doc: Any, content_type: str = "application/json", **kw: Any) -> None:
        self._send(status, json.dumps(doc).encode("utf-8"), content_type, **kw)

    def _send_error(self, err: ServiceError) -> None:
        body = err.body_bytes()
        if getattr(self, "_in_catalog", False) and err.status not in (401, 429):
            body = err.catalog_body_bytes()  # Catalog API errors: CatalogException {code, description}
        self._send(err.status, body, "application/json", headers=err.headers)

    def _authorize(self) -> None:
        d = self.deployment
        authorization = self.headers.get("Authorization")
        if d.issuer.verify(authorization, d.faults.config.expire_tokens_after) is None:
            raise unauthorized()
        if d.faults.token_spent(authorization):
            raise unauthorized()

    def _admit(self, token: bool = False) -> None:
        """Rate-limit mode: 429 with ``Retry-After`` (ms) when the request or PU budget of the window is spent."""
        b = self.deployment.budget
        if b is None:
            return
        wait_ms = b.admit_token() if token else b.admit_request()
        if wait_ms is not None:
            raise rate_limited(wait_ms)

    def _api_fault(self) -> None:
        error = self.deployment.faults.api_error(self._fault_key)
        if error is not None:
            raise error

    # -- verbs --------
    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        d = self.deployment
        path = self.path.split("?", 1)[0]
        self._in_catalog = False  # one handler serves every request of a keep-alive connection
        try:
            body = self._read_body() if method == "POST" else b""
            self._fault_key = request_key(method, path, body)
            d.faults.sleep_latency()
            if method == "POST" and path == TOKEN_PATHS[d.name]:
                self._admit(token=True)
                status, doc = d.issuer.token_response(body, self.headers)
                self._send_json(status, doc)
                return
            if method == "POST" and path in PROCESS_PATHS:
                self._process(body)
                return
            if method == "POST" and path in statistical_api.STATISTICS_PATHS:
                self._statistics(body)
                return
            root = next((r for r in CATALOG_ROOTS if path == r or path.startswith(r + "/")), None)
            if root is not None:
                self._catalog(method, path[len(root) :], body)
                return
            raise not_found(f"Unknown path {method} {path} on the '{d.name}' sample deployment.")
        except ServiceError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):  # client went away
            self.close_connection = True
        except Exception as exc:
            LOGGER.exception("sample endpoint %s failed", d.name)
            self._send_error(internal_error(f"Internal error: {type(exc).__name__}: {exc}"))

    def _json_body(self, body: bytes) -> Any:
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad_payload(f"Could not parse the request body as JSON: {exc}") from exc
        return doc

    def _api_body(self, body: bytes) -> Any:
        """The front of the Process and Statistical APIs: token (401), JSON body (recorded), rate limit (429),
        injected faults; returns the decoded body."""
        self._authorize()
        doc = self._json_body(body)
        self._record_entry = self.owner._record(self.deployment.name, self.path, doc)
        self._admit()
        self._api_fault()
        return doc

    def _units_spent(self, pu: float) -> dict[str, str]:
        """Charge ``pu`` processing units to the budget (rate-limit mode); the header that reports them."""
        if self.deployment.budget is not None:
            self.deployment.budget.charge(pu)
        return {PU_SPENT_HEADER: f"{pu:.4f}"}

    def _process(self, body: bytes) -> None:
        d = self.deployment
        plan = process_api.parse_request(self._api_body(body))
        result = process_api.execute(
            plan, d.name, d.source, SERVICE_VERSIONS[d.name], timeout_ms=self.owner.evalscript_timeout_ms
        )
        accept = self.headers.get("Accept", "")
        ctype, payload = result.content_type, result.body
        if ctype == "application/x-tar" and accept in ("application/tar",):
            ctype = accept
        elif accept.split(";")[0].strip() == "multipart/mixed":
            payload, ctype = encoding.build_multipart(result.members)
        headers = self._units_spent(result.processing_units)  # area, bands / 3, FLOAT32 × 2, scenes
        self._send(200, payload, ctype, headers=headers, truncate=d.faults.draw_truncate(self._fault_key))

    def _statistics(self, body: bytes) -> None:
        d = self.deployment
        doc = self._api_body(body)
        result = statistical_api.answer(doc, d, SERVICE_VERSIONS[d.name], self.owner.evalscript_timeout_ms)
        headers = self._units_spent(result.processing_units)
        self._send_json(200, result.body, headers=headers, truncate=d.faults.draw_truncate(self._fault_key))

    def _catalog(self, method: str, sub: str, body: bytes) -> None:
        d = self.deployment
        if method == "GET" and sub in ("", "/"):  # the landing page answers without a token
            self._send_json(200, catalog.landing_page(d.base_url, d.name))
            return
        self._authorize()
        self._admit()
        self._in_catalog = True
        if sub == "/search" and method in ("POST", "GET"):
            if method == "POST":
                doc = self._json_body(body)
            else:
                doc = catalog.search_body_from_query(parse_qs(urlsplit(self.path).query))
            self._record_entry = self.owner._record(d.name, self.path, doc)
            self._api_fault()
            result = catalog.search(doc, d.name, d.source, d.base_url)
            payload = json.dumps(result).encode("utf-8")
            self._send(200, payload, "application/geo+json", truncate=d.faults.draw_truncate(self._fault_key))
            return
        if method == "GET" and sub == "/conformance":
            self._send_json(200, catalog.conformance())
            return
        if method == "GET" and sub in ("/queryables", f"/collections/{catalog.COLLECTION_ID}/queryables"):
            self._send_json(200, catalog.queryables(d.base_url), content_type="application/schema+json")
            return
        if method == "GET" and sub == "/collections":
            self._send_json(200, {"collections": [catalog.collection_doc(d.base_url)], "links": []})
            return
        if method == "GET" and sub == f"/collections/{catalog.COLLECTION_ID}":
            self._send_json(200, catalog.collection_doc(d.base_url))
            return
        items_prefix = f"/collections/{catalog.COLLECTION_ID}/items/"
        if method == "GET" and sub.startswith(items_prefix):
            self._api_fault()
            item = catalog.get_item(sub[len(items_prefix) :], d.name, d.source, d.base_url)
            self._send_json(200, item, content_type="application/geo+json")
            return
        raise not_found(f"Unknown catalog path {sub}.")


class SampleEndpoints:
    """The local Sentinel Hub–compatible pair: deployment "sh" on ``port`` and "cdse" on ``port + 1``.

    :param host: bind address; loopback only unless ``allow_non_loopback`` is set.
    :param port: port of "sh" (0 = a free port for each deployment); "cdse" uses ``cdse_port`` or ``port + 1``.
    :param token_ttl_s: lifetime of issued access tokens (s), sent as ``expires_in``.
    :param scene_source: the scene source for both deployments, or ``{"sh": …, "cdse": …}``; default the synthetic
        generator (:class:`~.scene_generator.SyntheticSceneSource`).
    :param evalscript_timeout_ms: V8 time limit per evalscript step (ms); exceeding it is a 400 RENDERER_EXCEPTION.
    :param record_bodies: keep every JSON request body of the process/catalog endpoints in :attr:`request_bodies`
        (``{"deployment", "path", "body", "status"}``, for schema checks in tests).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl_s: float = 3600.0,
        scene_source: Union[Any, dict[str, Any], None] = None,
        record_bodies: bool = False,
        cdse_port: Optional[int] = None,
        allow_non_loopback: bool = False,
        evalscript_timeout_ms: int = 30_000,
    ):
        if host not in LOOPBACK_HOSTS and not allow_non_loopback:
            raise ValueError(f"refusing to bind {host!r}: the sample endpoints bind loopback only")
        self.host = host
        self.port = int(port)
        self.cdse_port = cdse_port
        self.token_ttl_s = float(token_ttl_s)
        self.record_bodies = record_bodies
        self.evalscript_timeout_ms = int(evalscript_timeout_ms)
        if scene_source is None:
            scene_source = SyntheticSceneSource()
        sources = scene_source if isinstance(scene_source, dict) else dict.fromkeys(DEPLOYMENTS, scene_source)
        self._sources = sources
        self._lock = threading.Lock()
        self.request_log: list[tuple[str, str, str, int]] = []
        self.request_bodies: list[dict[str, Any]] = []
        self.deployments: dict[str, Deployment] = {}
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._threads: list[threading.Thread] = []
        self.info: dict[str, dict[str, Any]] = {}

    # -- lifecycle --------
    def start(self) -> SampleEndpoints:
        """Bind both deployments and serve them in background threads; returns ``self``."""
        if self._servers:
            return self
        ports = {
            "sh": self.port,
            "cdse": self.cdse_port if self.cdse_port is not None else (self.port + 1 if self.port else 0),
        }
        try:
            for name in DEPLOYMENTS:
                issuer = TokenIssuer(name, "", *DEMO_CLIENTS[name], ttl_s=self.token_ttl_s)
                dep = Deployment(name, self._sources[name], issuer, FaultState())
                handler = type(f"_Handler_{name}", (_Handler,), {"deployment": dep, "owner": self})
                server = ThreadingHTTPServer((self.host, ports[name]), handler)
                server.daemon_threads = True
                host = server.server_address[0]
                url_host = f"[{host}]" if ":" in host else host
                dep.base_url = f"http://{url_host}:{server.server_address[1]}"
                issuer.issuer_url = f"{dep.base_url}/auth/realms/{REALMS[name]}"
                self.deployments[name] = dep
                self._servers[name] = server
        except OSError:
            self.stop()
            raise
        for name, server in self._servers.items():
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.name = f"s2parity-sample-{name}"
            t.start()
            self._threads.append(t)
        self.info = {
            name: {
                "base_url": dep.base_url,
                "token_url": dep.base_url + TOKEN_PATHS[name],
                "client_id": dep.issuer.client_id,
                "client_secret": dep.issuer.client_secret,
            }
            for name, dep in self.deployments.items()
        }
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets (idempotent)."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers = {}
        self._threads = []

    def __enter__(self) -> SampleEndpoints:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- faults --------
    def set_faults(self, deployment: str, config: Optional[FaultConfig] = None, **fields: Any) -> None:
        """Replace the faults of one deployment: ``config``, or a :class:`~.faults.FaultConfig` of ``fields`` (its
        defaults for the others; meaning and units there), e.g. ``set_faults("sh", rate_limit_burst=2)``."""
        if deployment not in self.deployments:
            raise ValueError(f"unknown deployment {deployment!r} (started? expected one of {DEPLOYMENTS})")
        self.deployments[deployment].faults.set(config if config is not None else FaultConfig(**fields))

    def set_budget(
        self,
        deployment: str,
        requests: Optional[int] = None,
        processing_units: Optional[float] = None,
        token_requests: Optional[int] = None,
        window_s: float = 60.0,
    ) -> None:
        """Rate-limit mode for one deployment (see :mod:`.budget`); ``clear_budget`` turns it off."""
        if deployment not in self.deployments:
            raise ValueError(f"unknown deployment {deployment!r} (started? expected one of {DEPLOYMENTS})")
        config = BudgetConfig(requests, processing_units, token_requests, float(window_s))
        self.deployments[deployment].budget = Budget(config)

    def clear_budget(self, deployment: Optional[str] = None) -> None:
        """Rate-limit mode off (on one deployment, or on both)."""
        for name, dep in self.deployments.items():
            if deployment in (None, name):
                dep.budget = None

    def clear_faults(self, deployment: Optional[str] = None) -> None:
        """Turn every fault off (on one deployment, or on both)."""
        for name, dep in self.deployments.items():
            if deployment in (None, name):
                dep.faults.clear()

    # -- logs --------
    def _log(self, deployment: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append((deployment, method, path, status))

    def _record(self, deployment: str, path: str, body: Any) -> Optional[dict[str, Any]]:
        """Keep a JSON request body (when ``record_bodies``); ``status`` is filled in when the answer is sent."""
        if not self.record_bodies:
            return None
        entry = {"deployment": deployment, "path": path.split("?", 1)[0], "body": body, "status": None}
        with self._lock:
            self.request_bodies.append(entry)
        return entry
