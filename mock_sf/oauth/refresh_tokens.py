"""Salesforce refresh tokens: opaque (``5Aep861`` + random, the prefix real ones show), stored only
as SHA-256 hashes, valid until revoked (the default "Refresh token is valid until revoked")."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Insert
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from mock_sf.models import Base
from mock_sf.models import ConnectedApp
from mock_sf.models import OAuthToken
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.tokens import hash_token

PREFIX = "5Aep861"
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access"})


class RefreshToken(Base):
    """An issued refresh token; access tokens minted from it point at it (refresh_token_id)."""

    __tablename__ = "oauth_refresh_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    app_id: Mapped[int] = mapped_column(ForeignKey("connected_app.id"))
    scopes: Mapped[str] = mapped_column(String(255))
    network_id: Mapped[str | None] = mapped_column(String(18))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
    app: Mapped[ConnectedApp] = relationship()


def grants_refresh_token(scope: str) -> bool:
    """A refresh token is issued only when ``refresh_token`` or ``offline_access`` is granted."""
    return not REFRESH_SCOPES.isdisjoint(scope.split())


def issue_refresh_token(
    user: User, app: ConnectedApp, scope: str, issued_at: datetime, network_id: str | None
) -> tuple[int, str]:
    """Insert (not commit) a refresh-token row; return its id (access tokens link to it) and
    the raw token."""
    raw = PREFIX + secrets.token_urlsafe(64)
    result = db.session.connection().execute(
        _refresh_token_insert(),
        {
            "token_hash": hash_token(raw),
            "user_id": user.id,
            "app_id": app.id,
            "scopes": scope,
            "network_id": network_id,
            "issued_at": issued_at,
        },
    )
    return int(result.inserted_primary_key[0]), raw


@cache
def _refresh_token_insert() -> Insert:
    return insert(RefreshToken.__table__)  # type: ignore[arg-type]


def find_refresh_token(raw: str) -> RefreshToken | None:
    """The unrevoked refresh-token row for a raw token, or None."""
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_token(raw)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_refresh_token(row: RefreshToken) -> None:
    """Revoke it and every access token it minted (contract §5 revoke)."""
    row.revoked_at = utcnow()
    db.session.execute(delete(OAuthToken).where(OAuthToken.refresh_token_id == row.id))
