"""A JWKS cache per trusted issuer: fetched lazily, kept 300 s, refetched on an unknown ``kid`` at
most once per 30 s, and failing closed (no key, no token) when the IdP cannot be reached
(the caching itself: remote.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Hashable
from typing import Any

import jwt
import requests

from mock_sf.handlers.remote import RefreshingCache

logger = logging.getLogger(__name__)

Fetch = Callable[[str, float], dict[str, Any]]


def fetch_jwks(uri: str, timeout: float) -> dict[str, Any]:
    """GET the JWKS document; raise on any HTTP or JSON problem."""
    response = requests.get(uri, timeout=timeout, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


class JwksCache(RefreshingCache[dict[str, jwt.PyJWK]]):
    """Signing keys by ``kid`` per JWKS URI; tests replace ``fetch`` and ``clock``."""

    what = "JWKS"
    errors = (requests.RequestException, ValueError, TypeError, KeyError)

    def __init__(
        self,
        fetch: Fetch = fetch_jwks,
        *,
        ttl: float = 300,
        cooldown: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(fetch, ttl=ttl, cooldown=cooldown, timeout=timeout, clock=clock)

    def get_key(self, jwks_uri: str, kid: str) -> jwt.PyJWK | None:
        """The key with this kid from this JWKS only, or None (unknown kid or IdP unreachable)."""
        keys = self.cached(jwks_uri, jwks_uri)
        if kid not in keys:  # rotated keys: look again, within the cooldown
            keys = self.cached(jwks_uri, jwks_uri, refresh=True)
        return keys.get(kid)

    def unknown_kid_reason(self, jwks_uri: str, kid: str) -> str:
        """Why no key was found: not published, or the JWKS could not be fetched at all."""
        error = self.fetch_error(jwks_uri)
        if error:
            return f"no key for kid {kid!r}: the JWKS at {jwks_uri} could not be fetched ({error})"
        return f"unknown kid {kid!r} (not in {jwks_uri})"

    def _empty(self) -> dict[str, jwt.PyJWK]:
        return {}

    def _parse(self, document: Any, key: Hashable) -> dict[str, jwt.PyJWK]:
        return _parse_keys(document)


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
