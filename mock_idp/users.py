"""The user directory: accounts, password hashing, and the attribute table shared by protocols."""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2 import profiles
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import Flask
from flask import current_app
from sqlalchemy import select

from mock_idp.models import User
from mock_idp.models import db

USER_ID_PREFIX = "00u"  # Okta's user id prefix; the rest is 17 alphanumerics
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Attribute:
    """One row of the attribute table: where an internal attribute goes in each protocol."""

    internal: str
    oidc_claim: str
    oidc_scope: str
    saml_name: str | None


# The one place that says which user data leaves the IdP, under which name, for which scope.
# Custom speaker attributes ride on `profile`, as an Okta custom claim scoped to it would.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("email", "email", "email", "email"),
    Attribute("email_verified", "email_verified", "email", None),
    Attribute("name", "name", "profile", "displayName"),
    Attribute("given_name", "given_name", "profile", "firstName"),
    Attribute("family_name", "family_name", "profile", "lastName"),
    Attribute("preferred_username", "preferred_username", "profile", "username"),
    Attribute("company", "company", "profile", "company"),
    Attribute("speaker_id", "speaker_id", "profile", "speakerId"),
    Attribute("talks", "talks", "profile", "talks"),
)


def internal_attributes(user: User) -> dict[str, Any]:
    """A user's attributes by internal name, including derived ones."""
    return {
        "email": user.email,
        "email_verified": user.email_verified,
        "name": f"{user.given_name} {user.family_name}".strip(),
        "given_name": user.given_name,
        "family_name": user.family_name,
        "preferred_username": user.email,
        "company": user.company,
        "speaker_id": user.speaker_id,
        "talks": list(user.talks),
    }


def oidc_claims(user: User, scopes: list[str]) -> dict[str, Any]:
    """The OIDC claims about `user` that the granted `scopes` release (empty values omitted)."""
    values = internal_attributes(user)
    return {
        attr.oidc_claim: values[attr.internal]
        for attr in ATTRIBUTES
        if attr.oidc_scope in scopes and values[attr.internal] not in (None, "", [])
    }


def oidc_claim_names() -> list[str]:
    """Every claim this IdP can release (for discovery's claims_supported)."""
    return [attr.oidc_claim for attr in ATTRIBUTES]


class Passwords:
    """argon2id hashing with a configurable cost, and a dummy hash to keep failures uniform."""

    def __init__(self, profile: str) -> None:
        if profile == "cheap":
            self._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
        elif profile == "default":
            self._hasher = PasswordHasher()
        else:
            raise ValueError(f"PASSWORD_HASH_PROFILE must be 'default' or 'cheap', not {profile!r}")
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        """A fresh salted hash of `password`."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether `password` matches `stored_hash`."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend what a real check costs, so a missing account is not told apart by timing."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current profile."""
        return self._hasher.check_needs_rehash(stored_hash)


def init_app(app: Flask) -> None:
    """Attach the password hasher for the configured profile."""
    app.extensions["mock_idp.passwords"] = Passwords(app.config["PASSWORD_HASH_PROFILE"])


def passwords() -> Passwords:
    """The current app's password hasher."""
    return current_app.extensions["mock_idp.passwords"]


def normalize_email(email: str) -> str:
    """Emails are looked up case-insensitively."""
    return email.strip().lower()


def new_user_id() -> str:
    """A random Okta-style user id: `00u` + 17 alphanumerics."""
    return USER_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def find_by_email(email: str) -> User | None:
    """The user with this email, if any."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def get(user_id: str) -> User | None:
    """The user with this id, if any."""
    return db.session.get(User, user_id)


def create_user(
    *,
    email: str,
    password: str,
    given_name: str,
    family_name: str,
    company: str | None = None,
    speaker_id: str | None = None,
    talks: list[str] | None = None,
    user_id: str | None = None,
) -> User:
    """Add a user to the session (the caller commits)."""
    user = User(
        id=user_id or new_user_id(),
        email=normalize_email(email),
        email_verified=True,
        password_hash=passwords().hash(password),
        given_name=given_name,
        family_name=family_name,
        company=company,
        speaker_id=speaker_id,
        talks=list(talks or []),
        created_at=int(time.time()),
    )
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, else None (same cost either way)."""
    user = find_by_email(email)
    hasher = passwords()
    if user is None:
        hasher.verify_dummy(password)
        return None
    if not hasher.verify(user.password_hash, password):
        return None
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return user
