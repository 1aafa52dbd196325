"""The login's tokens encrypted at rest: no IdP or Salesforce token is plaintext in the database.

Each token column of `login_session` (models.py) has the type `Encrypted`: SQLAlchemy encrypts a
value on its way into the database and decrypts it on its way out, with Fernet (AES-128-CBC and
HMAC-SHA256, from `cryptography`). A dump, a backup, a replica or an SQL injection that reads the
table shows ciphertext only; the rest of the portal reads and writes plain strings as before.

Keys: `PORTAL_TOKEN_KEYS`, comma-separated Fernet keys; the first one encrypts, every one decrypts
(to rotate, put a new key first; drop the old one once the logins it encrypted have ended). Without
it, one key is derived from the app's SECRET_KEY with HKDF-SHA256, so every worker and host with
the same SECRET_KEY has the same key. The keys are read once, when the app is made.

A stored token that no key decrypts (a key changed, a damaged row) ends its login: the speaker
logs in again and what she was sending is kept as a draft (auth.py), never a 500.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from .errors import LoginExpired

EXTENSION = "portal.token_vault"
# HKDF's context string: a key derived for the tokens is good for nothing else SECRET_KEY signs.
DERIVATION_INFO = b"speaker-portal login tokens v1"
# Every request reads its login's row, five tokens at ~12 us each to decrypt: each process keeps
# the plaintexts of the ciphertexts it read last (a few MB at most).
DECRYPTED_CACHE_SIZE = 1024


class UnreadableToken(LoginExpired):
    """A stored token that no configured key decrypts: the login it belongs to is over."""


class TokenVault:
    """Encrypts with the first key, decrypts with any of them (Fernet's MultiFernet)."""

    def __init__(self, keys: Sequence[bytes | str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.decrypt = functools.lru_cache(maxsize=DECRYPTED_CACHE_SIZE)(self._decrypt)

    def encrypt(self, token: str) -> str:
        """The ciphertext to store for `token` (a different one each time: Fernet is randomized)."""
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def _decrypt(self, stored: str) -> str:
        """The token a stored ciphertext holds; UnreadableToken if no key opens it."""
        try:
            return self._fernet.decrypt(stored).decode()
        except (InvalidToken, ValueError):  # ValueError: not ASCII, or not UTF-8 inside
            raise UnreadableToken() from None


def derived_key(secret_key: str | bytes) -> bytes:
    """A Fernet key derived from the app's SECRET_KEY (HKDF-SHA256), the same in every worker."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret))


def keys_from_settings(
    token_keys: str | Sequence[str] | None, secret_key: str | bytes
) -> list[bytes | str]:
    """The TOKEN_KEYS setting as Fernet keys, newest first; without it, the derived key."""
    if isinstance(token_keys, str):
        token_keys = token_keys.split(",")
    keys = [key.strip() for key in token_keys or () if key.strip()]
    if not keys:
        return [derived_key(secret_key)]
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (TypeError, ValueError):
            # The key itself is not repeated: error messages end up in logs.
            raise ValueError(
                f"TOKEN_KEYS: key {number} is not a Fernet key (32 url-safe base64-encoded "
                "bytes, as Fernet.generate_key() makes)"
            ) from None
    return keys


def init_app(app: Flask) -> None:
    """Make this app's vault once, from its settings; a bad key refuses to start."""
    keys = keys_from_settings(app.config.get("TOKEN_KEYS"), app.config["SECRET_KEY"])
    app.extensions[EXTENSION] = TokenVault(keys)


def vault() -> TokenVault:
    """This app's vault."""
    return current_app.extensions[EXTENSION]


class Encrypted(TypeDecorator[str]):
    """A Text column whose values are stored encrypted with the app's vault."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else vault().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else vault().decrypt(value)
