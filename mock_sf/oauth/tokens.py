"""Opaque Salesforce access tokens ``<15-char org id>!<random>``, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Insert
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from mock_sf.models import OAuthToken
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.org_config import AppSettings


def hash_token(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_access_token(
    org_id: str,
    user: User,
    app: AppSettings | Any,
    scope: str,
    issued_at: datetime,
    lifetime_seconds: int,
    refresh_token_id: int | None = None,
) -> str:
    """Insert (not commit) a token row; return the raw token, shown only once."""
    raw = f"{org_id[:15]}!{secrets.token_urlsafe(72)}"
    db.session.connection().execute(
        _token_insert(),
        {
            "token_hash": hash_token(raw),
            "user_id": user.id,
            "app_id": app.id,
            "scopes": scope,
            "issued_at": issued_at,
            "expires_at": issued_at + timedelta(seconds=lifetime_seconds),
            "refresh_token_id": refresh_token_id,
        },
    )
    return raw


@cache
def _token_insert() -> Insert:
    # A Core INSERT built once: the ORM's unit of work costs more than the row on this hot path.
    return insert(OAuthToken.__table__)  # type: ignore[arg-type]


def find_access_token(raw: str) -> OAuthToken | None:
    """The unexpired token row for a raw token, with its user loaded, or None."""
    # One SELECT for the token, its user and her profile (REST checks API Enabled on each call).
    token = db.session.scalar(_token_with_user(), {"token_hash": hash_token(raw)})
    if token is None or token.expires_at <= utcnow():
        return None
    return token


@cache
def _token_with_user() -> Select[tuple[OAuthToken]]:
    # Built once: every REST call runs it, and building it cost more than running it.
    return (
        select(OAuthToken)
        .options(joinedload(OAuthToken.user).joinedload(User.profile))
        .where(OAuthToken.token_hash == bindparam("token_hash"))
    )
