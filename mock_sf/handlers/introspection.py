"""Built-in handler for opaque access tokens and refresh tokens: RFC 7662 introspection.

The handler calls the trusted IdP's introspection endpoint (``{issuer}/v1/introspect`` by default)
with its OWN client credentials (HTTP Basic, RFC 7662 §2.1 / RFC 6749 §2.3.1), as an Apex handler
would with a named credential. It requires ``active: true``, ``iss`` (when present) equal to the
trusted issuer, ``sub``, ``exp`` in the future, ``nbf`` not ahead, ``token_type`` matching the
subject_token_type, the token's ``client_id`` and ``aud`` as configured, and (access tokens) a
single-use ``jti``. The subject maps by ``"<iss>|<sub>"`` exactly as for JWTs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import requests

from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.base import UserData
from mock_sf.handlers.jwt import remember_jti
from mock_sf.handlers.jwt import user_data_from_claims
from mock_sf.handlers.subjects import TokenRejected
from mock_sf.handlers.subjects import VerifyingTokenExchangeHandler
from mock_sf.handlers.subjects import federation_identifier

HINTS = {
    TokenExchangeType.ACCESS_TOKEN: "access_token",
    TokenExchangeType.REFRESH_TOKEN: "refresh_token",
}
# RFC 7662 token_type is an RFC 6749 §7.1 type ("Bearer"); Salesforce's own says "access_token".
ACCESS_TOKEN_TYPES = frozenset({"bearer", "access_token"})


def introspect(
    endpoint: str,
    token: str,
    token_type_hint: str,
    client_id: str,
    client_secret: str,
    timeout: float = 5,
) -> dict[str, Any]:
    """POST the token to the introspection endpoint; raise on any HTTP or JSON failure."""
    basic = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"  # RFC 6749 §2.3.1
    response = requests.post(
        endpoint,
        data={"token": token, "token_type_hint": token_type_hint},
        headers={
            "Authorization": "Basic " + base64.b64encode(basic.encode()).decode(),
            "Accept": "application/json",
        },
        timeout=timeout,
        allow_redirects=False,
    )
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("introspection response is not a JSON object")
    return body


@dataclass(frozen=True)
class IntrospectionSettings:
    """The introspection keys of one TRUSTED_ISSUERS entry."""

    issuer: str
    endpoint: str
    client_id: str
    client_secret: str
    userinfo_endpoint: str
    token_client_ids: tuple[str, ...] = ()  # the token's client_id must be one; () = any
    audience: str | None = None  # must be in the token's aud; None = not checked

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> IntrospectionSettings | None:
        """None unless the entry has introspection client credentials."""
        if not entry.get("introspection_client_id"):
            return None
        issuer = entry["issuer"]
        return cls(
            issuer=issuer,
            endpoint=entry.get("introspection_endpoint") or f"{issuer}/v1/introspect",
            client_id=entry["introspection_client_id"],
            client_secret=entry.get("introspection_client_secret") or "",
            userinfo_endpoint=entry.get("userinfo_endpoint") or f"{issuer}/v1/userinfo",
            token_client_ids=tuple(entry.get("introspection_token_client_ids") or ()),
            audience=entry.get("introspection_audience"),
        )


def introspection_settings(config: Mapping[str, Any]) -> IntrospectionSettings | None:
    """The FIRST trusted issuer with introspection credentials: an opaque token does not say
    who issued it, and it is sent to one IdP only, never sprayed across all of them."""
    for entry in config["TRUSTED_ISSUERS"]:
        settings = IntrospectionSettings.from_config(entry)
        if settings is not None:
            return settings
    return None


def check_introspection(
    body: Mapping[str, Any],
    settings: IntrospectionSettings,
    token_type: TokenExchangeType,
    now: float,
    leeway: float,
) -> dict[str, Any]:
    """The RFC 7662 response's claims if every check passes, with ``iss`` filled in."""
    if body.get("active") is not True:
        raise TokenRejected("introspection says the token is not active", "inactive")
    issuer = body.get("iss", settings.issuer)
    if issuer != settings.issuer:
        raise TokenRejected(f"iss mismatch: expected {settings.issuer}, got {issuer!r}", "issuer")
    if not isinstance(body.get("sub"), str) or not body["sub"]:
        raise TokenRejected("introspection response has no sub", "sub_required")
    exp = body.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenRejected("introspection response has no numeric exp", "exp_required")
    if exp <= now:
        raise TokenRejected(f"token expired at {exp}", "expiry")
    nbf = body.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + leeway:
        raise TokenRejected(f"token not valid before {nbf}", "not_before")
    check_token_type(body.get("token_type"), token_type)
    client_id = body.get("client_id")
    if settings.token_client_ids and client_id not in settings.token_client_ids:
        raise TokenRejected(
            f"client_id mismatch: expected {' or '.join(settings.token_client_ids)},"
            f" got {client_id!r}",
            "client",
        )
    if settings.audience is not None:
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if settings.audience not in audiences:
            raise TokenRejected(
                f"aud mismatch: expected {settings.audience}, got {aud!r}", "audience"
            )
    return {**body, "iss": issuer}


def check_token_type(reported: Any, token_type: TokenExchangeType) -> None:
    """The kind the IdP reports must be the kind the client claimed (no refresh-as-access)."""
    kind = str(reported).lower() if reported is not None else None
    if token_type is TokenExchangeType.ACCESS_TOKEN and kind not in ACCESS_TOKEN_TYPES:
        raise TokenRejected(
            f"token_type {reported!r} is not an access token's (Bearer)", "token_type"
        )
    if token_type is TokenExchangeType.REFRESH_TOKEN and kind not in (None, "refresh_token"):
        raise TokenRejected(f"token_type {reported!r} presented as a refresh token", "token_type")


class IntrospectionTokenExchangeHandler(VerifyingTokenExchangeHandler):
    """Validates opaque access and refresh tokens at the IdP and maps or creates the speaker."""

    def _user_data(self, data: dict[str, Any]) -> UserData:
        return user_data_from_claims(data)

    def _subject(self, data: dict[str, Any]) -> str:
        return federation_identifier(data["iss"], data["sub"])

    def _verify(self, token: str, token_type: TokenExchangeType) -> dict[str, Any]:
        if token_type not in HINTS:
            raise TokenRejected(f"token type {token_type.name} is not introspected", "token_type")
        settings = introspection_settings(self.context.config)
        if settings is None or self.context.introspect is None:
            raise TokenRejected("no trusted issuer has introspection credentials", "issuer")
        try:
            body = self.context.introspect(
                settings.endpoint,
                token,
                HINTS[token_type],
                settings.client_id,
                settings.client_secret,
            )
        except requests.ConnectionError as exc:  # the message is a page of urllib3 internals
            raise TokenRejected(
                f"the IdP is unreachable: introspection at {settings.endpoint} failed"
                f" ({type(exc).__name__})",
                "introspection",
            ) from exc
        except (requests.RequestException, ValueError) as exc:
            raise TokenRejected(f"introspection callout failed: {exc}", "introspection") from exc
        claims = check_introspection(
            body, settings, token_type, time.time(), self.context.config["JWT_LEEWAY"]
        )
        jti = claims.get("jti")
        if token_type is TokenExchangeType.ACCESS_TOKEN and jti is not None:
            # Single use like a JWT access token's jti. A refresh token may be exchanged again:
            # it is long-lived, and the IdP decides at each exchange whether it still holds
            # (mock_idp rotates them, so one used at the IdP introspects inactive).
            expires = datetime.fromtimestamp(claims["exp"], UTC).replace(tzinfo=None)
            if not remember_jti(settings.issuer, str(jti), expires):
                raise TokenRejected(f"jti replayed: {jti!r}", "replay")
        return claims

    def _profile(self, claims: dict[str, Any], result: TokenValidationResult) -> dict[str, Any]:
        """Introspection claims, plus UserInfo for an access token (a refresh token cannot call
        it); ``username`` stands in for a missing email when it is one (Okta logins are)."""
        profile = dict(claims)
        if result.token_type is TokenExchangeType.ACCESS_TOKEN:
            settings = introspection_settings(self.context.config)
            assert settings is not None  # validation found them
            profile = self._with_userinfo(claims, settings.userinfo_endpoint, result.token)
        username = profile.get("username")
        if not profile.get("email") and isinstance(username, str) and "@" in username:
            profile["email"] = username
        return profile
