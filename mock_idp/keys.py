"""Signing key store: a dev RSA key made once in the instance folder, loaded once at start."""

from __future__ import annotations

import json
import os
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask import current_app
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"
KID_PREFIX = "mock-idp-DEV-ONLY-"


class KeyStore:
    """The active signing key as a parsed key object (parsing per request costs 50x)."""

    def __init__(self, jwk: dict[str, Any]) -> None:
        self.kid: str = jwk["kid"]
        self._private_key = RSAAlgorithm.from_jwk(jwk)
        if not isinstance(self._private_key, rsa.RSAPrivateKey):
            raise ValueError("the signing key file must hold an RSA private key")
        self._public_key = self._private_key.public_key()
        public = RSAAlgorithm.to_jwk(self._public_key, as_dict=True)
        self._public_jwk = {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "n": public["n"],
            "e": public["e"],
        }

    @classmethod
    def load_or_create(cls, path: Path) -> KeyStore:
        """Load the key file, generating an RSA-2048 key into it (mode 0600) if missing."""
        if not path.exists():
            _write_private(path, {"keys": [generate_jwk()]})
        return cls(json.loads(path.read_text())["keys"][0])

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        """A compact RS256 JWS over `claims` with header typ and kid."""
        return jwt.encode(
            claims, self._private_key, algorithm=ALGORITHM, headers={"typ": typ, "kid": self.kid}
        )

    def verify(self, token: str, *, typ: str, issuer: str, audience: str) -> dict[str, Any]:
        """Claims of a token this IdP signed; raises jwt.InvalidTokenError on any mismatch."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid:
            raise jwt.InvalidTokenError("unknown kid")
        if header.get("typ") != typ:
            raise jwt.InvalidTokenError("unexpected typ")
        return jwt.decode(
            token,
            self._public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set a relying party verifies with (public parts only)."""
        return {"keys": [dict(self._public_jwk)]}


def generate_jwk() -> dict[str, Any]:
    """A fresh RSA-2048 private JWK whose kid says it is a dev key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return {**jwk, "kid": KID_PREFIX + stamp, "use": "sig", "alg": ALGORITHM}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def init_app(app: Flask) -> None:
    """Load (or create) the signing key once and say loudly that it is a dev key."""
    store = KeyStore.load_or_create(Path(app.config["SIGNING_KEYS_PATH"]))
    app.extensions["mock_idp.keys"] = store
    app.logger.warning(
        "mock_idp signs tokens with DEV-ONLY key %s from %s: not for production",
        store.kid,
        app.config["SIGNING_KEYS_PATH"],
    )


def key_store() -> KeyStore:
    """The current app's key store."""
    return current_app.extensions["mock_idp.keys"]
