"""Setup console sign-in: org admins (active Standard users with a password) in ``sf_session``."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import session
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import password_hasher

ADMIN_KEY = "setup_admin_id"
FAILED_LOGIN = "Invalid username or password."


def authenticate(username: str, password: str) -> User | None:
    """The admin with these credentials, or None; an unknown user costs a hash check too."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    hasher = password_hasher()
    if user is None or not user.password_hash:
        _verify(hasher, _dummy_hash(hasher), password)
        return None
    if not _verify(hasher, user.password_hash, password):
        return None
    return user if is_admin(user) else None


def is_admin(user: User) -> bool:
    """Only active internal users may use Setup."""
    return user.is_active and user.user_type == "Standard" and bool(user.password_hash)


def log_in(user: User) -> None:
    """Start a fresh session (no fixation) for this admin."""
    session.clear()
    session[ADMIN_KEY] = user.id


def log_out() -> None:
    """Forget the admin."""
    session.clear()


def current_admin() -> User | None:
    """The signed-in admin, re-checked on every request (deactivation ends access at once)."""
    user_id = session.get(ADMIN_KEY)
    if not isinstance(user_id, str):
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and is_admin(user) else None


def safe_next(target: str | None, default: str) -> str:
    """Only a local /setup path may be a post-login target (no open redirect)."""
    if not target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "//[": an invalid IPv6 netloc
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/setup/") or "\\" in target:
        return default
    return target


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash_for(parameters: tuple[int, int, int, int, int]) -> str:
    time_cost, memory_cost, parallelism, hash_len, salt_len = parameters
    return PasswordHasher(time_cost, memory_cost, parallelism, hash_len, salt_len).hash("dummy")


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the configured cost, so an unknown username costs the same time."""
    return _dummy_hash_for(
        (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len)
    )
