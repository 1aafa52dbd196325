"""Stored grant state behind the tokens: refresh token families (RFC 6749 §6, rotation per
RFC 9700 §4.14.2) and a record of issued access tokens, for introspection and revocation.

A family is one authorization grant: every refresh token rotated out of the first one, and every
access token minted from any of them. Revoking the family revokes all of them. Every redeemed
authorization code starts one (with or without refresh tokens), so a replayed code can revoke what
was issued from it (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp.models import db
from mock_idp.models import sha256_hex

REFRESH_TOKEN_BYTES = 32


class GrantFamily(db.Model):
    """One authorization grant that refresh tokens carry forward; `scope` is what was granted."""

    __tablename__ = "oidc_grant_families"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(500))
    auth_time: Mapped[int]
    created_at: Mapped[int]
    expires_at: Mapped[int]
    revoked_at: Mapped[int | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    # The authorization code that started the grant (its stored hash), for replay revocation.
    code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The IdP session it was granted in: refreshed ID tokens carry the same `sid`.
    sid: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(db.Model):
    """An opaque refresh token, stored as its SHA-256; `used_at` is set when it is rotated."""

    __tablename__ = "oidc_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    jti: Mapped[str] = mapped_column(String(40), unique=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("oidc_grant_families.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[int]
    expires_at: Mapped[int]
    used_at: Mapped[int | None]
    revoked_at: Mapped[int | None]


class IssuedAccessToken(db.Model):
    """An access token the token endpoint minted: its family (if any) and its revocation."""

    __tablename__ = "oidc_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    family_id: Mapped[str | None] = mapped_column(
        ForeignKey("oidc_grant_families.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[int]
    revoked_at: Mapped[int | None]


@dataclass(frozen=True)
class Lifetimes:
    """Refresh token lifetimes: absolute for the family, idle for each token (None: no idle)."""

    absolute: int
    idle: int | None

    def token_expiry(self, family: GrantFamily, now: int) -> int:
        """When a refresh token issued now expires: idle window, capped by the family's end."""
        if self.idle is None:
            return family.expires_at
        return min(family.expires_at, now + self.idle)


def start_family(
    *,
    client_id: str,
    user_id: str,
    scope: str,
    auth_time: int,
    now: int,
    lifetimes: Lifetimes,
    code_hash: str | None = None,
    sid: str | None = None,
) -> GrantFamily:
    """A new grant family, started by the code `code_hash` if any (the caller commits)."""
    family = GrantFamily(
        id="fam." + secrets.token_urlsafe(18),
        client_id=client_id,
        user_id=user_id,
        scope=scope,
        auth_time=auth_time,
        created_at=now,
        expires_at=now + lifetimes.absolute,
        revoked_at=None,
        revoked_reason=None,
        code_hash=code_hash,
        sid=sid,
    )
    db.session.add(family)
    return family


def issue_refresh_token(family: GrantFamily, *, now: int, lifetimes: Lifetimes) -> str:
    """A new refresh token in `family`; only its hash is stored (the caller commits)."""
    value = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    db.session.add(
        RefreshToken(
            token_hash=sha256_hex(value),
            jti="RT." + secrets.token_urlsafe(18),
            family_id=family.id,
            issued_at=now,
            expires_at=lifetimes.token_expiry(family, now),
            used_at=None,
            revoked_at=None,
        )
    )
    return value


def find_refresh_token(value: str) -> RefreshToken | None:
    """The stored refresh token with this value, if any."""
    return db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(value))
    )


def mark_used(token: RefreshToken, now: int) -> bool:
    """Rotate `token` out; False if someone else already did (then this use is a reuse)."""
    won = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    return bool(won)


def revoke_family(family_id: str, *, now: int, reason: str) -> None:
    """Revoke a grant: the family, its refresh tokens and so its access tokens (caller commits)."""
    db.session.execute(
        update(GrantFamily)
        .where(GrantFamily.id == family_id, GrantFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_code_grant(code_hash: str, *, now: int) -> None:
    """Revoke the grant a replayed authorization code started (RFC 6749 §4.1.2; caller commits)."""
    started = select(GrantFamily.id).where(GrantFamily.code_hash == code_hash)
    for family_id in db.session.scalars(started).all():
        revoke_family(family_id, now=now, reason="code_replay")


def record_access_token(
    *, jti: str, client_id: str, family_id: str | None, expires_at: int
) -> None:
    """Remember an issued access token so it can be revoked (the caller commits)."""
    db.session.add(
        IssuedAccessToken(
            jti=jti,
            client_id=client_id,
            family_id=family_id,
            expires_at=expires_at,
            revoked_at=None,
        )
    )


def access_token_revoked(jti: str) -> bool:
    """Whether this access token was revoked, by itself or with its family."""
    record = db.session.get(IssuedAccessToken, jti)
    if record is None:
        return False
    if record.revoked_at is not None:
        return True
    if record.family_id is None:
        return False
    family = db.session.get(GrantFamily, record.family_id)
    return family is None or family.revoked_at is not None


def revoke_access_token(*, jti: str, client_id: str, expires_at: int, now: int) -> None:
    """Revoke one access token, recording it if it was minted elsewhere (the caller commits)."""
    record = db.session.get(IssuedAccessToken, jti)
    if record is None:
        record = IssuedAccessToken(
            jti=jti, client_id=client_id, family_id=None, expires_at=expires_at, revoked_at=None
        )
        db.session.add(record)
    record.revoked_at = record.revoked_at or now


def prune(now: int) -> None:
    """Drop rows no token can need any more (expired access tokens and refresh tokens)."""
    db.session.execute(delete(IssuedAccessToken).where(IssuedAccessToken.expires_at < now))
    db.session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
