"""Signing key store: dev RSA keys in the instance folder, parsed once, rotated by adding a key.

The key file holds the active key first, then the previous keys with the time after which no token
they signed can still be valid (`retire_after`); JWKS publishes a key until then. A running app
notices a rotation done by another process (another gunicorn worker, the CLI) by checking the
file's mtime at most once a second, and at once when it serves the JWKS or meets an unknown kid.
The file appears whole (a finished temp file linked into place), so workers starting together
agree on one key, and rotations take a lock on a file beside it, so none is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
# How often a request may look at the key file for a rotation made by another process.
RELOAD_INTERVAL = 1.0


@dataclass(frozen=True)
class SigningKey:
    """One parsed key pair and its public JWK; `retire_after` is None for the active key."""

    kid: str
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    public_jwk: dict[str, Any]
    retire_after: int | None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> SigningKey:
        """Parse one stored entry (a private JWK plus our `retire_after` member)."""
        jwk = {name: value for name, value in entry.items() if name != "retire_after"}
        private_key = RSAAlgorithm.from_jwk(jwk)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("the signing key file must hold RSA private keys")
        public_key = private_key.public_key()
        public = RSAAlgorithm.to_jwk(public_key, as_dict=True)
        return cls(
            kid=jwk["kid"],
            private_key=private_key,
            public_key=public_key,
            public_jwk={
                "kty": "RSA",
                "kid": jwk["kid"],
                "use": "sig",
                "alg": ALGORITHM,
                "n": public["n"],
                "e": public["e"],
            },
            retire_after=entry.get("retire_after"),
        )


class KeyStore:
    """The active signing key and the still-published previous ones, as parsed key objects
    (parsing per request costs 50x)."""

    def __init__(
        self,
        entries: list[dict[str, Any]] | dict[str, Any],
        *,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._mtime_ns = path.stat().st_mtime_ns if path is not None and path.exists() else None
        # A single JWK makes a one-key store (tests and the forge build throwaway ones).
        self._load([entries] if isinstance(entries, dict) else entries)

    def _load(self, entries: list[dict[str, Any]]) -> None:
        keys = [SigningKey.from_entry(entry) for entry in entries]
        self._active = keys[0]
        self._by_kid = {key.kid: key for key in keys}
        # Kept for callers that sign or verify outside this class (the forge).
        self.kid = self._active.kid
        self._private_key = self._active.private_key
        self._public_key = self._active.public_key

    def private_keys(self) -> list[rsa.RSAPrivateKey]:
        """Every published key's private half, the active one first."""
        return [key.private_key for key in self._by_kid.values()]

    @classmethod
    def load_or_create(cls, path: Path, clock: Callable[[], float] = time.time) -> KeyStore:
        """Load the key file, generating an RSA-2048 key into it (mode 0600) if missing."""
        if not path.exists():
            _write_private(path, {"keys": [generate_jwk()]}, exclusive=True)
        return cls(json.loads(path.read_text())["keys"], path=path, clock=clock)

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        """A compact RS256 JWS over `claims` with header typ and the active kid."""
        return jwt.encode(
            claims,
            self._active.private_key,
            algorithm=ALGORITHM,
            headers={"typ": typ, "kid": self._active.kid},
        )

    def public_key_for(self, token: str) -> rsa.RSAPublicKey:
        """The published public key named by the token's kid; jwt.InvalidTokenError otherwise."""
        kid = jwt.get_unverified_header(token).get("kid")
        if isinstance(kid, str) and kid not in self._by_kid:
            self.refresh_if_changed(force=True)  # signed by a worker that has just rotated?
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        if key is None or not self._published(key, int(self._clock())):
            raise jwt.InvalidTokenError("unknown kid")
        return key.public_key

    def verify(
        self,
        token: str,
        *,
        typ: str,
        issuer: str,
        audience: str,
        verify_exp: bool = True,
    ) -> dict[str, Any]:
        """Claims of a token this IdP signed; raises jwt.InvalidTokenError on any mismatch."""
        public_key = self.public_key_for(token)
        if jwt.get_unverified_header(token).get("typ") != typ:
            raise jwt.InvalidTokenError("unexpected typ")
        return jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_exp": verify_exp},
        )

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set a relying party verifies with: active key first, then unretired ones."""
        now = int(self._clock())
        return {
            "keys": [
                dict(key.public_jwk) for key in self._by_kid.values() if self._published(key, now)
            ]
        }

    @staticmethod
    def _published(key: SigningKey, now: int) -> bool:
        return key.retire_after is None or now < key.retire_after

    def rotate(self, retire_after: int) -> str:
        """Add a new active key; the old active one stays published until `retire_after`."""
        if self._path is None:
            raise RuntimeError("this key store has no file to rotate")
        with self._lock, file_lock(self._path):
            entries = json.loads(self._path.read_text())["keys"]
            now = int(self._clock())
            kept = [
                entry
                for entry in entries
                if entry.get("retire_after") is None or entry["retire_after"] > now
            ]
            for entry in kept:
                if entry.get("retire_after") is None:
                    entry["retire_after"] = retire_after
            taken = {entry["kid"] for entry in entries}
            new = generate_jwk(taken)
            _write_private(self._path, {"keys": [new, *kept]}, exclusive=False)
            self._mtime_ns = self._path.stat().st_mtime_ns
            self._load([new, *kept])
            return new["kid"]

    def refresh_if_changed(self, now: float | None = None, *, force: bool = False) -> bool:
        """Reload if another process rewrote the key file; stats it at most once a second
        unless `force`d."""
        if self._path is None:
            return False
        now = time.monotonic() if now is None else now
        if not force and now - self._checked_at < RELOAD_INTERVAL:
            return False
        with self._lock:
            self._checked_at = now
            try:
                mtime_ns = self._path.stat().st_mtime_ns
            except FileNotFoundError:
                return False
            if mtime_ns == self._mtime_ns:
                return False
            self._load(json.loads(self._path.read_text())["keys"])
            self._mtime_ns = mtime_ns
            return True


def generate_jwk(taken: set[str] | None = None) -> dict[str, Any]:
    """A fresh RSA-2048 private JWK whose kid says it is a dev key (unique among `taken`)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    kid = KID_PREFIX + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    base, n = kid, 1
    while taken and kid in taken:  # two rotations within one second
        n += 1
        kid = f"{base}-{n}"
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def _write_private(path: Path, data: dict[str, Any], *, exclusive: bool) -> None:
    """Write `path` (mode 0600) so that no other process ever sees half of it.

    `exclusive`: only if it does not exist yet; a file another process made first is kept.
    """
    # A temp name of this writer's own: two workers never write into one temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
        if not exclusive:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # atomic, and fails if the file exists
        except FileExistsError:
            pass  # another worker started first: its key is the key
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock`: one process (or thread) of this host at a time."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def max_token_lifetime(config: Any) -> int:
    """The longest any token this IdP signs stays valid: how long a retired key is published."""
    return max(int(config["ACCESS_TOKEN_LIFETIME"]), int(config["ID_TOKEN_LIFETIME"]))


def init_app(app: Flask) -> None:
    """Load (or create) the signing keys once and say loudly that they are dev keys."""
    store = KeyStore.load_or_create(Path(app.config["SIGNING_KEYS_PATH"]))
    app.extensions["mock_idp.keys"] = store
    app.logger.warning(
        "mock_idp signs tokens with DEV-ONLY key %s from %s: not for production",
        store.kid,
        app.config["SIGNING_KEYS_PATH"],
    )


def key_store(*, latest: bool = False) -> KeyStore:
    """The current app's key store, reloaded if another process rotated the keys (checked at
    most once a second; at once when `latest`)."""
    store: KeyStore = current_app.extensions["mock_idp.keys"]
    store.refresh_if_changed(force=latest)
    return store
