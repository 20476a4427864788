"""Resume: every answered feature × side is kept in the output folder, keyed by a hash of the request.

``<folder>/statistics_cache/<side>/<sha256>.json`` holds ``{"feature_id", "endpoint", "response", "pu"}``. The
hash covers the endpoint identity (profile id for the local sample pair, whose port changes between runs; base URL
otherwise) and the exact JSON body sent, so a rerun with the same inputs finds every answer it already has and a
changed input (dates, evalscript, geometry) misses. Files are written to a temporary name and renamed, so a crash
never leaves a half-written answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

CACHE_DIR = "statistics_cache"


def endpoint_identity(profile_id: str, base_url: str) -> str:
    """What identifies an endpoint across runs (see the module docstring)."""
    return profile_id if profile_id.startswith("sample-") else base_url.rstrip("/")


def request_hash(identity: str, body: dict[str, Any]) -> str:
    """sha256 of the endpoint identity and the canonical JSON body."""
    text = identity + "\n" + json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Answers of one side kept under ``folder`` (created on first write)."""

    def __init__(self, folder: str | os.PathLike, side: str) -> None:
        self.folder = Path(folder) / CACHE_DIR / side

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None (absent or unreadable: fetched again)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store atomically (temporary file + rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        tmp.replace(self.path(key))
