"""Built-in handler for JWT subject tokens (IdP access tokens, ID tokens, generic JWTs).

Checks follow the security checklist §4a: alg pinned per issuer, key by ``kid`` from that issuer's
JWKS only (``jku``/``x5u``/``jwk`` headers ignored), exact ``iss``, ``aud`` per token type, ``exp``
required, ``nbf``/``iat`` with skew, ``typ`` matching the token type, single-use ``jti``, and the
subject mapped by FederationIdentifier ``"<iss>|<sub>"``, never by email.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from functools import cache
from typing import Any

import jwt
from sqlalchemy import DateTime
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.dml import ReturningInsert

from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.base import UserData
from mock_sf.handlers.subjects import TokenRejected
from mock_sf.handlers.subjects import VerifyingTokenExchangeHandler
from mock_sf.handlers.subjects import federation_identifier
from mock_sf.models import SeenJti
from mock_sf.models import db
from mock_sf.models import utcnow

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
HANDLED_TYPES = frozenset(
    {TokenExchangeType.ACCESS_TOKEN, TokenExchangeType.ID_TOKEN, TokenExchangeType.JWT}
)


def pyjwt_check(exc: jwt.PyJWTError) -> str:
    """The check name for a PyJWT decode error."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"{exc.claim}_required"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "issued_at" if "(iat)" in str(exc) else "not_before"
    checks: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
        (jwt.ExpiredSignatureError, "expiry"),
        (jwt.InvalidAudienceError, "audience"),
        (jwt.InvalidIssuerError, "issuer"),
        (jwt.InvalidSignatureError, "signature"),
        (jwt.InvalidAlgorithmError, "alg_allowlist"),
        (jwt.InvalidIssuedAtError, "issued_at"),
    )
    return next((check for cls, check in checks if isinstance(exc, cls)), "malformed")


@dataclass(frozen=True)
class TrustedIssuer:
    """One entry of the TRUSTED_ISSUERS config."""

    issuer: str
    jwks_uri: str
    algorithms: tuple[str, ...] = ("RS256",)
    access_token_audience: str = "api://default"
    id_token_audience: str = "speaker-portal"
    userinfo_endpoint: str | None = None
    # The clients whose access tokens are accepted (RFC 9068 client_id, Okta cid); by default
    # the client the ID tokens are for: a token issued to another registered client is refused.
    client_ids: tuple[str, ...] = ("speaker-portal",)

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> TrustedIssuer:
        """Build from a config dict; unknown keys are ignored."""
        issuer = entry["issuer"]
        return cls(
            issuer=issuer,
            jwks_uri=entry.get("jwks_uri") or f"{issuer}/v1/keys",
            algorithms=tuple(entry.get("algorithms") or ("RS256",)),
            access_token_audience=entry.get("access_token_audience", "api://default"),
            id_token_audience=entry.get("id_token_audience", "speaker-portal"),
            userinfo_endpoint=entry.get("userinfo_endpoint") or f"{issuer}/v1/userinfo",
            client_ids=tuple(
                entry.get("client_ids") or (entry.get("id_token_audience", "speaker-portal"),)
            ),
        )

    def audiences(self, token_type: TokenExchangeType) -> list[str]:
        """Acceptable ``aud`` values: a generic JWT may be either kind."""
        if token_type is TokenExchangeType.ACCESS_TOKEN:
            return [self.access_token_audience]
        if token_type is TokenExchangeType.ID_TOKEN:
            return [self.id_token_audience]
        return [self.access_token_audience, self.id_token_audience]


class JwtTokenExchangeHandler(VerifyingTokenExchangeHandler):
    """Validates IdP JWTs against the trusted issuer's JWKS and maps or creates the speaker."""

    def _user_data(self, data: dict[str, Any]) -> UserData:
        return user_data_from_claims(data)

    def _subject(self, data: dict[str, Any]) -> str:
        return federation_identifier(data["iss"], data["sub"])

    def _issuers(self) -> dict[str, TrustedIssuer]:
        return {
            entry["issuer"]: TrustedIssuer.from_config(entry)
            for entry in self.context.config["TRUSTED_ISSUERS"]
        }

    def _verify(self, token: str, token_type: TokenExchangeType) -> dict[str, Any]:
        if token_type not in HANDLED_TYPES:
            raise TokenRejected(f"token type {token_type.name} is not a JWT", "token_type")
        header, unverified = read_unverified(token)
        if str(header.get("alg")).lower() == "none":
            raise TokenRejected("unsigned JWT: alg 'none'", "jws_required")
        issuers = self._issuers()
        issuer = issuers.get(unverified.get("iss"))  # type: ignore[arg-type]
        if issuer is None:
            raise TokenRejected(
                f"untrusted issuer: {unverified.get('iss')!r} is not in SF_TRUSTED_ISSUERS"
                f" (trusted: {', '.join(map(repr, issuers)) or 'none'})",
                "issuer",
            )
        if header.get("alg") not in issuer.algorithms:
            raise TokenRejected(f"alg not allowed: {header.get('alg')!r}", "alg_allowlist")
        check_typ(header, token_type)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("kid header missing", "kid")
        key = self.context.jwks.get_key(issuer.jwks_uri, kid)
        if key is None:
            raise TokenRejected(self.context.jwks.unknown_kid_reason(issuer.jwks_uri, kid), "kid")
        audiences = issuer.audiences(token_type)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(issuer.algorithms),
                audience=audiences,
                issuer=issuer.issuer,
                leeway=self.context.config["JWT_LEEWAY"],
                options={"require": ["exp", "iss", "sub", "aud"], "strict_aud": False},
            )
        except jwt.InvalidAudienceError as exc:
            raise TokenRejected(
                f"aud mismatch: expected {' or '.join(audiences)}, got {unverified.get('aud')!r}",
                "audience",
            ) from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"{type(exc).__name__}: {exc}", pyjwt_check(exc)) from exc
        check_lifetime(
            claims["exp"] - time.time(), self.context.config["MAX_SUBJECT_TOKEN_LIFETIME"], "exp"
        )
        check_client(issuer, claims, token_type)
        self._check_jti(issuer.issuer, claims, token_type)
        return claims

    def _check_jti(
        self, issuer: str, claims: dict[str, Any], token_type: TokenExchangeType
    ) -> None:
        jti = claims.get("jti")
        if jti is None:
            if token_type is TokenExchangeType.ACCESS_TOKEN:  # RFC 9068 §2.2: jti REQUIRED
                raise TokenRejected("jti claim missing", "jti_required")
            return
        expires_at = claims["exp"] + self.context.config["JWT_LEEWAY"]
        expires = datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)
        if not remember_jti(issuer, str(jti), expires):
            raise TokenRejected(f"jti replayed: {jti!r}", "replay")

    def _profile(self, claims: dict[str, Any], result: TokenValidationResult) -> dict[str, Any]:
        """Claims plus UserInfo for access tokens, which carry no profile claims."""
        if claims.get("email") or result.token_type is not TokenExchangeType.ACCESS_TOKEN:
            return claims
        endpoint = self._issuers()[claims["iss"]].userinfo_endpoint
        return self._with_userinfo(claims, endpoint, result.token)


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, read to choose the issuer and key; PyJWT's verified decode then parses
    the token strictly, once (its unverified helpers would parse it twice more)."""
    segments = token.split(".")
    if len(segments) != 3:
        raise TokenRejected(f"malformed JWT: {len(segments)} segments, not 3")
    parts = []
    for name, segment in zip(("header", "payload"), segments[:2], strict=False):
        try:
            part = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (binascii.Error, ValueError, RecursionError) as exc:
            raise TokenRejected(f"malformed JWT: invalid {name}: {exc}") from exc
        if not isinstance(part, dict):
            raise TokenRejected(f"malformed JWT: the {name} is not a JSON object")
        parts.append(part)
    return parts[0], parts[1]


def check_lifetime(remaining: float, maximum: int, what: str) -> None:
    """A subject token valid for longer than ``maximum`` seconds from now is refused."""
    if remaining > maximum:
        raise TokenRejected(
            f"{what} is {remaining / 3600:.0f} h ahead; at most {maximum / 3600:g} h"
            " (SF_MAX_SUBJECT_TOKEN_LIFETIME)",
            "lifetime",
        )


def check_client(
    issuer: TrustedIssuer, claims: dict[str, Any], token_type: TokenExchangeType
) -> None:
    """An access token names the client it was issued to (RFC 9068 §2.2); it must be ours."""
    if token_type is not TokenExchangeType.ACCESS_TOKEN:
        return
    client = claims.get("client_id") or claims.get("cid")  # cid: Okta's name
    if client not in issuer.client_ids:
        raise TokenRejected(
            f"access token issued to client {client!r}, not to {' or '.join(issuer.client_ids)}",
            "client_id",
        )


def check_typ(header: dict[str, Any], token_type: TokenExchangeType) -> None:
    """RFC 9068 / RFC 8725 §3.11: an access token says at+jwt, an ID token must not."""
    typ = str(header.get("typ", "")).lower()
    if token_type is TokenExchangeType.ACCESS_TOKEN and typ not in ACCESS_TOKEN_TYPES:
        raise TokenRejected(
            f"typ must be at+jwt for an access token, got {header.get('typ')!r}", "token_type"
        )
    if token_type is TokenExchangeType.ID_TOKEN and typ in ACCESS_TOKEN_TYPES:
        raise TokenRejected("an at+jwt access token was presented as an ID token", "token_type")


def remember_jti(issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record a jti in this transaction; False if it was already seen and has not expired.

    One statement: an expired row of the same jti is taken over in place (expired rows are
    otherwise deleted by ``flask --app mock_sf prune``, never here).
    """
    values = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # A row back means inserted or taken over (psycopg's rowcount is -1 under SQLAlchemy).
        statement = _upsert_jti(dialect)
        return (
            db.session.connection().execute(statement, {**values, "now": utcnow()}).first()
            is not None
        )
    seen = db.session.scalar(select(SeenJti).where(SeenJti.issuer == issuer, SeenJti.jti == jti))
    if seen is None:
        db.session.add(SeenJti(**values))
    elif seen.expires_at < utcnow():
        seen.expires_at = expires_at
    else:
        return False
    return True


@cache
def _upsert_jti(dialect: str) -> ReturningInsert[Any]:
    """INSERT ... ON CONFLICT DO UPDATE (only an expired row) RETURNING id, built once."""
    table = SeenJti.__table__
    module = sqlite if dialect == "sqlite" else postgresql
    stmt = module.insert(table).values(
        issuer=bindparam("issuer"), jti=bindparam("jti"), expires_at=bindparam("expires_at")
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.issuer, table.c.jti],
        set_={"expires_at": stmt.excluded.expires_at},
        where=table.c.expires_at < bindparam("now", type_=DateTime()),
    )
    return stmt.returning(table.c.id)


def prune_seen_jtis(now: datetime) -> int:
    """Delete the jtis that have expired; return how many (the caller commits)."""
    return db.session.execute(delete(SeenJti).where(SeenJti.expires_at < now)).rowcount or 0


def user_data_from_claims(claims: Mapping[str, Any]) -> UserData:
    """Auth.UserData from standard OIDC claims; scalar claims go into attribute_map."""
    return UserData(
        identifier=claims["sub"],
        first_name=claims.get("given_name"),
        last_name=claims.get("family_name"),
        full_name=claims.get("name"),
        email=claims.get("email"),
        username=claims.get("preferred_username"),
        locale=claims.get("locale"),
        provider=claims.get("iss"),
        attribute_map={
            key: str(value)
            for key, value in claims.items()
            if isinstance(value, str | int | float | bool)
        },
    )
