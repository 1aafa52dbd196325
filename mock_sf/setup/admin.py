"""Setup console sign-in: org admins (active Standard users with a password).

The admin session is a database row; the signed ``sf_session`` cookie holds only its id, so
logging out ends every copy of the cookie, on every worker and host. A row lasts at most
SETUP_SESSION_LIFETIME. Wrong passwords are throttled (failed_credentials.py) per username at
the client's address, per username everywhere, and per address.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import timedelta
from functools import cache
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from flask import session
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_sf import failed_credentials
from mock_sf.models import Base
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import password_hasher
from mock_sf.models import utcnow

SESSION_KEY = "setup_session"  # the SetupSession row's id
FAILED_LOGIN = "Invalid username or password."


class SetupSession(Base):
    """One admin's login to Setup: ended at logout, or by age."""

    __tablename__ = "setup_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


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
    """Start a fresh session (a new row, a new cookie: no fixation) for this admin; commits."""
    session.clear()
    row = SetupSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=utcnow())
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = row.id


def log_out() -> None:
    """End the session: its row, so every copy of the cookie is refused; commits."""
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        db.session.execute(
            update(SetupSession)
            .where(SetupSession.id == session_id, SetupSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        db.session.commit()
    session.clear()


def current_admin() -> User | None:
    """The signed-in admin: a live session row, its user re-checked on every request
    (deactivation ends access at once); one SELECT."""
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, str):
        return None
    since = utcnow() - timedelta(seconds=current_app.config["SETUP_SESSION_LIFETIME"])
    user = db.session.scalar(
        select(User)
        .join(SetupSession, SetupSession.user_id == User.id)
        .where(
            SetupSession.id == session_id,
            SetupSession.ended_at.is_(None),
            SetupSession.created_at > since,
        )
    )
    if user is None:
        session.pop(SESSION_KEY)  # a dead id leaves the cookie
        return None
    return user if is_admin(user) else None


def prune_sessions(lifetime: int, now: datetime | None = None) -> int:
    """Delete the sessions older than `lifetime`, ended or not; return how many (the caller
    commits)."""
    cutoff = (now or utcnow()) - timedelta(seconds=lifetime)
    result = db.session.execute(delete(SetupSession).where(SetupSession.created_at <= cutoff))
    return result.rowcount or 0


def login_limits() -> failed_credentials.Limits:
    """SETUP_LOGIN_FAILURE_LIMIT (a username at one address), _USER_LIMIT, _ADDRESS_LIMIT and
    _WINDOW_SECONDS."""
    config = current_app.config
    return failed_credentials.Limits(
        window=config["SETUP_LOGIN_FAILURE_WINDOW_SECONDS"],
        at_address=config["SETUP_LOGIN_FAILURE_LIMIT"],
        principal=config["SETUP_LOGIN_FAILURE_USER_LIMIT"],
        address=config["SETUP_LOGIN_FAILURE_ADDRESS_LIMIT"],
    )


def login_locked_for(username: str, address: str) -> int | None:
    """Seconds until this username may be tried from this address; None when nothing is locked
    (then the password is checked)."""
    limits, now = login_limits(), failed_credentials.current_time()
    levels = failed_credentials.read_levels(
        failed_credentials.SETUP_LOGIN, username, address, limits, now
    )
    locked = failed_credentials.retry_after(levels, limits.window, now)
    return None if locked is None else locked[0]


def locked_out_message(seconds: int) -> str:
    """Say when a locked login may be tried again (the same for any username, known or not)."""
    at = failed_credentials.current_time() + timedelta(seconds=seconds)
    minutes = max(1, round(seconds / 60))
    return (
        f"Too many failed login attempts. Try again in about {minutes}"
        f" minute{'' if minutes == 1 else 's'}, after {at:%H:%M} UTC."
    )


def record_login(username: str, address: str, succeeded: bool) -> None:
    """Count a wrong password, or clear the username's failures at this address; commits."""
    if succeeded:
        failed_credentials.forget_at_address(failed_credentials.SETUP_LOGIN, username, address)
    else:
        now = failed_credentials.current_time()
        failed_credentials.record_failure(failed_credentials.SETUP_LOGIN, username, address, now)
    db.session.commit()


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
