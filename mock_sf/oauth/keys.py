"""mock_sf's own signing key (ID tokens, ``/id/keys``): a dev RSA key generated once into the
instance folder as a JWK file, parsed once per process on first use, never per request."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"
KID_PREFIX = "mock-sf-DEV-ONLY-"


@dataclass(frozen=True)
class SigningKey:
    """A parsed private key and its public JWK."""

    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]


def generate_jwk() -> dict[str, Any]:
    """A fresh 2048-bit RSA private key as a JWK with a DEV kid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    kid = KID_PREFIX + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def parse_jwk(jwk: dict[str, Any]) -> SigningKey:
    """Parse a stored private JWK once."""
    private_key = RSAAlgorithm.from_jwk(jwk)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("the signing key file must hold an RSA private key")
    public = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return SigningKey(
        kid=jwk["kid"],
        private_key=private_key,
        public_jwk={
            "kty": "RSA",
            "kid": jwk["kid"],
            "use": "sig",
            "alg": ALGORITHM,
            "n": public["n"],
            "e": public["e"],
        },
    )


class SigningKeys:
    """The key file at ``path``: created on first need (0600), then loaded once and kept."""

    def __init__(self, path: Path, logger: logging.Logger) -> None:
        self.path = path
        self.logger = logger
        self._key: SigningKey | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> SigningKey:
        """The signing key, loading (or generating) it on first use."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = parse_jwk(self._read_or_create())
                    self.logger.warning(
                        "mock_sf signs ID tokens with DEV-ONLY key %s from %s",
                        self._key.kid,
                        self.path,
                    )
        return self._key

    def jwks(self) -> dict[str, Any]:
        """The public JWK set served at ``/id/keys``."""
        return {"keys": [self.active.public_jwk]}

    def _read_or_create(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            pass
        # The file appears whole (a finished temp file linked into place): workers starting at
        # once agree on the first key written, and none reads half of it.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(generate_jwk(), handle)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process won the race: its key is the key
        finally:
            tmp.unlink(missing_ok=True)
        return json.loads(self.path.read_text())


def signing_keys() -> SigningKeys:
    """The current app's key store (set up by ``mock_sf.oauth.init_app``)."""
    return current_app.extensions["mock_sf.signing_keys"]
