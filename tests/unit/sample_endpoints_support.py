"""Helpers for the sample-endpoint tests: sentinelhub-py configs, the seed request, OpenAPI validation.

OpenAPI validation: the reference ``sentinel-hub-openapi.yaml`` (shared/data, read-only, not vendored) is loaded with
PyYAML and a JSON Schema 2020-12 validator is built for ``#/components/schemas/<Name>`` with every ``$ref`` resolved
against the loaded document. Two documented patches of documentation-only constructs:

* ``ProcessRequestOutputResponse.identifier`` is declared as ``enum: ["<identifier>", "userdata"]`` — a placeholder
  (the description says the identifier must match a ``setup()`` output id or be ``userdata``): the enum is dropped;
* ``BYOCDataset.type`` is an unconstrained string whose description says ``byoc-…``/``batch-…``/``zarr-…``, which
  makes every dataset match both its own schema and BYOC's in the ``oneOf``: the described prefix becomes a
  ``pattern``;
* ``CatalogItemSearchFilterSearchBody.filter`` only lists the cql2-json form although ``filter-lang`` offers
  ``cql2-text`` and sentinelhub-py's ``SentinelHubCatalog.search`` POSTs cql2-text strings: both forms are allowed.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import requests
import yaml
from sentinelhub import DataCollection, SentinelHubDownloadClient, SHConfig

REPO = Path(__file__).resolve().parents[2]
SEED_REQUEST = REPO / "tests" / "data" / "seed_request.json"
SEED_EVALSCRIPT = REPO / "tests" / "data" / "seed_evalscript_b04_scl_orbit.js"
OPENAPI = REPO.parent / "shared" / "data" / "sentinelhub_api" / "sentinel-hub-openapi.yaml"
SEED_BBOX_3035 = (4681903.305609, 1981958.981233, 4686951.734307, 1986431.434369)
CATALOG_SEARCH_SCHEMAS = (
    "CatalogItemSearchSearchBody",
    "CatalogItemSearchFieldsSearchBody",
    "CatalogItemSearchFilterSearchBody",
    "CatalogItemSearchDistinctSearchBody",
)


def seed_request() -> dict[str, Any]:
    """The seed Process API body (fractional width/height as shipped)."""
    return json.loads(SEED_REQUEST.read_text())


def seed_request_10m() -> dict[str, Any]:
    """The seed body with ``resx``/``resy`` = 10 m instead of the fractional width/height."""
    body = seed_request()
    out = body["output"]
    del out["width"], out["height"]
    out["resx"] = out["resy"] = 10.0
    return body


def sh_config(info: dict[str, Any], deployment: str, **extra: Any) -> SHConfig:
    """SHConfig for one sample deployment (fast retries for tests)."""
    d = info[deployment]
    cfg = SHConfig(
        sh_client_id=d["client_id"],
        sh_client_secret=d["client_secret"],
        sh_base_url=d["base_url"],
        sh_token_url=d["token_url"],
    )
    cfg.download_sleep_time = 0.05
    cfg.max_download_attempts = 4
    cfg.download_timeout_seconds = 60
    for k, v in extra.items():
        setattr(cfg, k, v)
    return cfg


def collection(info: dict[str, Any], deployment: str) -> DataCollection:
    """``SENTINEL2_L2A`` pointed at the deployment: the plugin's own collection for that base URL, so a test and
    the plugin's code in the same process never define one URL under two names (sentinelhub refuses the second)."""
    from s2parity_plugin.core.service.endpoints import l2a_collection

    return l2a_collection(info[deployment]["base_url"])


def token_response(info: dict[str, Any], deployment: str) -> requests.Response:
    """The deployment's token endpoint asked with its client credentials (the raw answer)."""
    d = info[deployment]
    data = {"grant_type": "client_credentials", "client_id": d["client_id"], "client_secret": d["client_secret"]}
    return requests.post(d["token_url"], data=data, timeout=10)


def bearer(info: dict[str, Any], deployment: str) -> dict[str, str]:
    """``Authorization`` header with a fresh access token of the deployment."""
    r = token_response(info, deployment)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def seed_orbit_inputs(n: int, seed: int = 0) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    """Random B04/SCL/dataMask inputs of ``n`` pixels (one scene) and an empty ORBIT context for the seed evalscript
    (engine tests and the endpoint bench)."""
    rng = np.random.default_rng(seed)
    bands = {
        "B04": [rng.integers(0, 4000, n).astype(np.float32)],
        "SCL": [rng.integers(0, 12, n).astype(np.float32)],
        "dataMask": [np.ones(n, np.float32)],
    }
    ctx = {"scenes": {"orbits": []}, "inputMetadata": {"normalizationFactor": 0.0001}, "customData": {}}
    return bands, ctx


def loopback_session(monkeypatch: Any) -> Any:
    """Generator for an autouse fixture: loopback HTTP allowed for oauthlib, sentinelhub-py sessions fresh around
    the test (``yield from sup.loopback_session(monkeypatch)``)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    clear_sessions()
    yield
    clear_sessions()


def clear_sessions() -> None:
    """Forget sentinelhub-py's process-wide cached sessions (tokens of stopped servers)."""
    SentinelHubDownloadClient.clear_cache()


@lru_cache(maxsize=1)
def _openapi() -> dict[str, Any]:
    doc = yaml.safe_load(OPENAPI.read_text())
    doc = copy.deepcopy(doc)
    ident = doc["components"]["schemas"]["ProcessRequestOutputResponse"]["properties"]["identifier"]
    ident.pop("enum", None)
    byoc_type = doc["components"]["schemas"]["BYOCDataset"]["allOf"][0]["properties"]["type"]
    byoc_type["pattern"] = "^(byoc|batch|zarr)-"
    flt = doc["components"]["schemas"]["CatalogItemSearchFilterSearchBody"]["properties"]
    flt["filter"] = {
        "anyOf": [
            {"$ref": "#/components/schemas/CatalogItemSearchFilterFilterCql2Text"},
            {"$ref": "#/components/schemas/CatalogItemSearchFilterFilterCql2Json"},
        ]
    }
    return doc


def openapi_available() -> bool:
    return OPENAPI.is_file()


def validator(schema_names: tuple[str, ...]) -> jsonschema.protocols.Validator:
    """Validator for ``allOf`` the named component schemas, refs resolved in the OpenAPI document."""
    doc = _openapi()
    root = {
        "allOf": [{"$ref": f"#/components/schemas/{n}"} for n in schema_names],
        "components": doc["components"],
    }
    cls = jsonschema.Draft202012Validator
    return cls(root, resolver=jsonschema.RefResolver.from_schema(root))


def schema_errors(body: Any, schema_names: tuple[str, ...]) -> list[str]:
    """Messages of every schema violation of ``body`` (empty = valid)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema_names).iter_errors(body)]


def _live_leniency(body: Any, error: str) -> bool:
    """The one documented leniency of the live service: fractional ``output.width``/``height`` (typed integer in the
    reference) are answered, not rejected (core.grid.coerce_output_size)."""
    out = body.get("output") if isinstance(body, dict) else None
    if not isinstance(out, dict):
        return False
    fractional = [out[k] for k in ("width", "height") if isinstance(out.get(k), float)]
    return any(error.endswith(f"{v!r} is not of type 'integer'") for v in fractional)


def validate_recorded(bodies: list[dict[str, Any]], rejected_may_be_invalid: bool = False) -> int:
    """Assert every recorded process/catalog request body is valid against the OpenAPI schemas; returns the count.

    With ``rejected_may_be_invalid`` a body the emulator answered with a 4xx (not 401/429) may be schema-invalid —
    the deliberate negative cases — but a schema-invalid body the emulator *accepted* still fails: the emulator must
    never be more lenient than the reference, except where the live service is (:func:`_live_leniency`).
    """
    n = 0
    for rec in bodies:
        path = rec["path"]
        if path.endswith("/process") or path.endswith("/process/v1"):
            names: tuple[str, ...] = ("ProcessRequest",)
        elif path.endswith("/search"):
            names = CATALOG_SEARCH_SCHEMAS
        else:
            continue
        errors = [e for e in schema_errors(rec["body"], names) if not _live_leniency(rec["body"], e)]
        status = rec.get("status")
        if (
            errors
            and rejected_may_be_invalid
            and status is not None
            and 400 <= status < 500
            and status not in (401, 429)
        ):
            continue
        assert not errors, f"{rec['deployment']} {path} (HTTP {status}): body violates the OpenAPI schema: {errors}"
        n += 1
    return n
