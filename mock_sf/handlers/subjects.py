"""What every built-in handler shares: verify a token into data, then map its subject to a User.

A built-in handler implements four hooks (`_verify`, `_user_data`, `_subject`, `_profile`); the two
Apex methods around them are written once, here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from functools import cache
from typing import Any

import requests
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import select

from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.base import UserData
from mock_sf.models import Account
from mock_sf.models import Contact
from mock_sf.models import User
from mock_sf.models import db


class TokenRejected(Exception):
    """The subject token failed a check; the message is the audit-log reason.

    ``check`` names the failed check with the IdP forge's vocabulary (jws_required, malformed,
    issuer, alg_allowlist, token_type, kid, signature, expiry, not_before, issued_at, audience,
    <claim>_required, replay), for the Setup security scorecard.
    """

    def __init__(self, reason: str, check: str = "malformed") -> None:
        super().__init__(reason)
        self.check = check


def federation_identifier(issuer: str, subject: str) -> str:
    """The User.FederationIdentifier that links an IdP subject to a Salesforce user."""
    return f"{issuer}|{subject}"


class VerifyingTokenExchangeHandler(TokenExchangeHandler):
    """A handler that verifies the token into ``data`` and maps ``_subject(data)`` to a User."""

    def validate_incoming_token(
        self,
        app_developer_name: str,
        app_type: IntegratingAppType,
        incoming_token: str,
        token_type: TokenExchangeType,
    ) -> TokenValidationResult:
        """Verify the token; what it says becomes ``data`` and ``user_data``."""
        try:
            data = self._verify(incoming_token, token_type)
        except TokenRejected as exc:
            return TokenValidationResult(
                False, token=incoming_token, token_type=token_type, reason=str(exc), check=exc.check
            )
        return TokenValidationResult(
            True,
            data=data,
            user_data=self._user_data(data),
            token=incoming_token,
            token_type=token_type,
        )

    def get_user_for_token_subject(
        self,
        network_id: str | None,
        result: TokenValidationResult,
        can_create_user: bool,
        app_developer_name: str,
        app_type: IntegratingAppType,
    ) -> User | None:
        """The user whose FederationIdentifier is ``_subject(data)``, else a new speaker."""
        data = result.data
        return user_for_subject(
            self._subject(data),
            lambda: self._profile(data, result),
            can_create_user,
            self.context.logger,
        )

    def _verify(self, token: str, token_type: TokenExchangeType) -> dict[str, Any]:
        """Every check of this token kind; raise TokenRejected naming the failed one."""
        raise NotImplementedError

    def _user_data(self, data: dict[str, Any]) -> UserData:
        """Apex's Auth.UserData for the verified token."""
        raise NotImplementedError

    def _subject(self, data: dict[str, Any]) -> str:
        """The FederationIdentifier of the token's subject."""
        raise NotImplementedError

    def _profile(self, data: dict[str, Any], result: TokenValidationResult) -> Mapping[str, Any]:
        """Name, email and company for a new speaker; called only when one is to be created."""
        return data

    def _with_userinfo(self, claims: dict[str, Any], endpoint: str, token: str) -> dict[str, Any]:
        """``claims`` plus the IdP's UserInfo for the token (an Apex callout), if it is about the
        same subject; the claims alone when the callout fails."""
        try:
            userinfo = self.context.fetch_userinfo(endpoint, token)
        except (requests.RequestException, ValueError) as exc:
            self.context.logger.warning("userinfo callout failed: %s", exc)
            return claims
        if userinfo.get("sub") != claims["sub"]:
            self.context.logger.warning("userinfo sub %r != token sub", userinfo.get("sub"))
            return claims
        return {**userinfo, **claims}


def user_for_subject(
    fed_id: str,
    profile: Callable[[], Mapping[str, Any]],
    can_create_user: bool,
    logger: logging.Logger,
) -> User | None:
    """The user with this FederationIdentifier, else a new speaker from ``profile()`` if allowed.

    Shared by every built-in handler; ``profile`` is called only when a user is to be created.
    """
    user = db.session.scalar(_user_by_federation_id(), {"fed_id": fed_id})
    if user is not None or not can_create_user:
        return user
    claims = profile()
    if not claims.get("email"):
        logger.warning("cannot create a user for %s: no email claim", fed_id)
        return None
    # A self-registered address nobody confirmed may be anyone's: no User, Contact and Account
    # named after what it asserts. (SAML attributes arrive as strings.)
    if str(claims.get("email_verified", "")).lower() == "false":
        logger.warning("cannot create a user for %s: email_verified is false", fed_id)
        return None
    return new_speaker(fed_id, claims)


@cache
def _user_by_federation_id() -> Select[tuple[User]]:
    # Built once: on the exchange's hot path, building it costs more than running it.
    return select(User).where(User.federation_identifier == bindparam("fed_id"))


def speaker_names(profile: Mapping[str, Any]) -> tuple[str | None, str, str]:
    """(first, last, full) name of a new speaker; LastName is required on User and Contact."""
    email = profile["email"]
    first = profile.get("given_name")
    last = profile.get("family_name")
    full = profile.get("name")
    if not last and full:  # "Grace Hopper" -> ("Grace", "Hopper")
        guessed_first, _, last = full.rpartition(" ")
        first = first or guessed_first
    last = last or email.partition("@")[0]
    full = full or " ".join(part for part in (first, last) if part)
    return first or None, last, full


def speaker_account_name(profile: Mapping[str, Any], full_name: str) -> str:
    """The speaker's company, else "<name> (Speaker)"."""
    return profile.get("company") or f"{full_name} (Speaker)"


def speaker_alias(first: str | None, last: str) -> str:
    """User.Alias: initial and last name, at most 8 characters."""
    return ((first or "")[:1] + last)[:8].lower()


def new_speaker(fed_id: str, profile: Mapping[str, Any]) -> User:
    """A new, uninserted external User with its Contact and Account attached (the platform
    inserts all three; an Apex handler must insert the Contact and Account itself)."""
    email = profile["email"]
    first, last, full = speaker_names(profile)
    account = Account(name=speaker_account_name(profile, full))
    contact = Contact(first_name=first, last_name=last, email=email, account=account)
    return User(
        username=email,
        email=email,
        first_name=first,
        last_name=last,
        alias=speaker_alias(first, last),
        user_type="CspLitePortal",
        is_active=True,
        federation_identifier=fed_id,
        contact=contact,
        account=account,
    )
