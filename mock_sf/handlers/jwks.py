"""A JWKS cache per trusted issuer: fetched lazily, kept 300 s, refetched on an unknown ``kid`` at
most once per 30 s, and failing closed (no key, no token) when the IdP cannot be reached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import jwt
import requests

logger = logging.getLogger(__name__)

Fetch = Callable[[str, float], dict[str, Any]]


def fetch_jwks(uri: str, timeout: float) -> dict[str, Any]:
    """GET the JWKS document; raise on any HTTP or JSON problem."""
    response = requests.get(uri, timeout=timeout, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch
    attempted_at: float | None = None  # last fetch attempt, successful or not


class JwksCache:
    """Signing keys by ``kid`` per JWKS URI; tests replace ``fetch`` and ``clock``."""

    def __init__(
        self,
        fetch: Fetch = fetch_jwks,
        *,
        ttl: float = 300,
        cooldown: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.cooldown = cooldown
        self.timeout = timeout
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get_key(self, jwks_uri: str, kid: str) -> jwt.PyJWK | None:
        """The key with this kid from this JWKS only, or None (unknown kid or IdP unreachable)."""
        with self._lock:
            entry = self._entries.setdefault(jwks_uri, _Entry())
            now = self.clock()
            stale = entry.fetched_at is None or now - entry.fetched_at >= self.ttl
            if stale:
                entry.keys = {}  # fail closed: expired keys are not used
            if (stale or kid not in entry.keys) and self._may_fetch(entry, now):
                self._refresh(jwks_uri, entry, now)
            return entry.keys.get(kid)

    def clear(self) -> None:
        """Forget every cached key set."""
        with self._lock:
            self._entries.clear()

    def _may_fetch(self, entry: _Entry, now: float) -> bool:
        return entry.attempted_at is None or now - entry.attempted_at >= self.cooldown

    def _refresh(self, jwks_uri: str, entry: _Entry, now: float) -> None:
        entry.attempted_at = now
        try:
            document = self.fetch(jwks_uri, self.timeout)
            entry.keys = _parse_keys(document)
            entry.fetched_at = now
        except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
            logger.warning("JWKS fetch from %s failed: %s", jwks_uri, exc)


def _parse_keys(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """Usable signing keys by kid; keys without a kid or of an unusable type are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for data in document["keys"]:
        kid = data.get("kid")
        if not kid or data.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK.from_dict(data)
        except jwt.PyJWTError as exc:
            logger.warning("skipping JWK %s: %s", kid, exc)
    return keys
