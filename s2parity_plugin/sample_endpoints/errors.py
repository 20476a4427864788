"""Errors in the real service's JSON shape (OpenAPI ``RestErrorWrapper`` -> ``Boom``).

``{"error": {"status": 400, "reason": "Bad Request", "message": "...", "code": "COMMON_BAD_PAYLOAD"}}``; codes are
the ``Boom.code`` enum values of the Sentinel Hub OpenAPI document.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from s2parity_plugin.sample_endpoints.budget import RETRY_AFTER_HEADER


class ServiceError(Exception):
    """An HTTP error answer: status, Boom code, friendly message, optional extra headers (e.g. Retry-After)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "COMMON_BAD_PAYLOAD",
        headers: dict[str, str] | None = None,
        errors: Any = None,
    ):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON document the service sends."""
        err: dict[str, Any] = {
            "status": self.status,
            "reason": HTTPStatus(self.status).phrase,
            "message": self.message,
            "code": self.code,
        }
        if self.errors is not None:
            err["errors"] = self.errors
        return {"error": err}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body()).encode("utf-8")

    def catalog_body_bytes(self) -> bytes:
        """The Catalog API's error document (OpenAPI ``CatalogException``: ``code`` plus ``description``)."""
        return json.dumps({"code": self.code, "description": self.message}).encode("utf-8")


def bad_payload(message: str, errors: Any = None) -> ServiceError:
    """400 COMMON_BAD_PAYLOAD."""
    return ServiceError(400, message, "COMMON_BAD_PAYLOAD", errors=errors)


def renderer_error(message: str) -> ServiceError:
    """400 RENDERER_EXCEPTION (evalscript failed)."""
    return ServiceError(400, message, "RENDERER_EXCEPTION")


def unauthorized() -> ServiceError:
    """401 as the real service answers a missing/expired/invalid access token."""
    return ServiceError(
        401,
        "You are not authorized! Please provide a valid access token within the header "
        "[Authorization: Bearer <accessToken>] of your request.",
        "COMMON_UNAUTHORIZED",
    )


def forbidden(message: str = "Insufficient permissions.") -> ServiceError:
    """403 COMMON_INSUFFICIENT_PERMISSIONS."""
    return ServiceError(403, message, "COMMON_INSUFFICIENT_PERMISSIONS")


def not_found(message: str) -> ServiceError:
    """404 COMMON_NOT_FOUND."""
    return ServiceError(404, message, "COMMON_NOT_FOUND")


def rate_limited(retry_after_ms: int) -> ServiceError:
    """429 RATE_LIMIT_EXCEEDED with ``Retry-After`` in **milliseconds** (as Sentinel Hub sends it)."""
    return ServiceError(
        429,
        "You have exceeded your rate limit",
        "RATE_LIMIT_EXCEEDED",
        headers={RETRY_AFTER_HEADER: str(int(retry_after_ms))},
    )


def internal_error(message: str = "Internal server error") -> ServiceError:
    """500 COMMON_EXCEPTION."""
    return ServiceError(500, message, "COMMON_EXCEPTION")
