"""OAuth2 client-credentials token endpoint and bearer-token checks (Keycloak-like, as both real deployments).

Tokens are HS256-signed JWTs (header.payload.signature, base64url without padding) whose payload carries ``iss``
(the realm URL of the deployment: ``…/auth/realms/main`` or ``…/auth/realms/CDSE``), ``azp``/``clientId`` (the client
id, read by sentinelhub-py's ``SentinelHubSession.info()``), ``iat`` and ``exp`` (s since epoch). A token of the
other deployment, a bad signature, an expired token or a token older than the fault ``expire_tokens_after`` is
answered 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from typing import Any, Optional

#: Token paths of the two real deployments.
TOKEN_PATHS = {
    "sh": "/auth/realms/main/protocol/openid-connect/token",
    "cdse": "/auth/realms/CDSE/protocol/openid-connect/token",
}
REALMS = {"sh": "main", "cdse": "CDSE"}
#: Demo credentials (documented; they protect nothing but loopback test data).
DEMO_CLIENTS = {
    "sh": ("s2parity-sample-sh", "sample-secret-sh"),
    "cdse": ("sh-s2parity-sample-cdse", "sample-secret-cdse"),
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and verifies tokens of one deployment."""

    def __init__(self, deployment: str, issuer_url: str, client_id: str, client_secret: str, ttl_s: float):
        self.deployment = deployment
        self.issuer_url = issuer_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.ttl_s = float(ttl_s)
        self._key = secrets.token_bytes(32)

    # -- token endpoint --------
    def token_response(self, body: bytes, headers: Any) -> tuple[int, dict[str, Any]]:
        """Answer a POST to the token endpoint: ``(status, json)`` like Keycloak."""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        grant = (form.get("grant_type") or [""])[0]
        cid = (form.get("client_id") or [""])[0]
        secret = (form.get("client_secret") or [""])[0]
        auth = headers.get("Authorization", "") if headers is not None else ""
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote(user), urllib.parse.unquote(pw)
            except (ValueError, UnicodeDecodeError):
                pass
        if grant != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}
        if not hmac.compare_digest(cid, self.client_id) or not hmac.compare_digest(secret, self.client_secret):
            return 401, {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}
        return 200, {
            "access_token": self.issue(),
            "expires_in": round(self.ttl_s) if self.ttl_s >= 1 else self.ttl_s,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
        }

    def issue(self, now: Optional[float] = None) -> str:
        """A new signed token valid for ``ttl_s`` seconds."""
        now = time.time() if now is None else now
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.deployment}).encode())
        # sentinelhub-py's SentinelHubSession.info() decodes the payload with plain (non-url-safe) b64decode, which
        # silently drops '-'/'_': a short nonce is re-drawn (bounded) until the base64url payload contains neither.
        payload = ""
        for attempt in range(20000):
            payload_doc = {
                "exp": round(now + self.ttl_s, 3),  # NumericDate may be non-integer (RFC 7519)
                "iat": round(now, 3),
                "jti": f"{attempt:x}{secrets.token_hex(3)}",
                "iss": self.issuer_url,
                "azp": self.client_id,
                "typ": "Bearer",
            }
            payload = _b64url(json.dumps(payload_doc, separators=(",", ":")).encode())
            if "-" not in payload and "_" not in payload:
                break
        signing_input = f"{header}.{payload}".encode()
        sig = _b64url(hmac.new(self._key, signing_input, hashlib.sha256).digest())
        return f"{header}.{payload}.{sig}"

    # -- verification --------
    def verify(self, authorization: Optional[str], max_age_s: Optional[float] = None) -> Optional[dict[str, Any]]:
        """The token's claims when ``Authorization: Bearer <token>`` is valid now, else ``None``."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization[7:].strip()
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64url(hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        now = time.time()
        if claims.get("iss") != self.issuer_url or now >= float(claims.get("exp", 0)):
            return None
        if max_age_s is not None and now - float(claims.get("iat", 0)) > max_age_s:
            return None
        return claims
