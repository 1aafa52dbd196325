"""The handler interface, mirroring Apex ``Auth.Oauth2TokenExchangeHandler`` (contract §3).

Salesforce calls ``validate_incoming_token`` and then ``get_user_for_token_subject``; the second
may return a NEW, UNINSERTED ``User``, which the token endpoint inserts. An Apex handler inserts
the user's Contact and Account itself, as the Run As user: ``HandlerContext.insert`` (Python
handlers may instead attach them to the User, and the platform inserts them the same way).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from mock_sf.models import db

if TYPE_CHECKING:
    from mock_sf.handlers.jwks import JwksCache
    from mock_sf.handlers.saml_metadata import SamlCertificates
    from mock_sf.models import User


class TokenExchangeType(enum.Enum):
    """Apex ``Auth.OAuth2TokenExchangeType``: the subject_token_type URNs."""

    ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
    REFRESH_TOKEN = "urn:ietf:params:oauth:token-type:refresh_token"
    ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
    SAML_2 = "urn:ietf:params:oauth:token-type:saml2"
    JWT = "urn:ietf:params:oauth:token-type:JWT"

    @classmethod
    def from_urn(cls, urn: str) -> TokenExchangeType | None:
        """The type for a URN; ``JWT`` and RFC 8693's ``jwt`` spelling are both accepted."""
        if urn == "urn:ietf:params:oauth:token-type:jwt":
            return cls.JWT
        try:
            return cls(urn)
        except ValueError:
            return None


class IntegratingAppType(enum.Enum):
    """Apex ``Auth.IntegratingAppType``: connected app or external client app."""

    CA = "CA"
    ECA = "ECA"


@dataclass
class UserData:
    """Apex ``Auth.UserData``: the claims a handler extracted about the subject."""

    identifier: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    link: str | None = None
    username: str | None = None
    locale: str | None = None
    provider: str | None = None
    site_login_url: str | None = None
    attribute_map: dict[str, str] = field(default_factory=dict)


@dataclass
class TokenValidationResult:
    """Apex ``Auth.TokenValidationResult``.

    ``reason`` is mock-only: the precise cause for the audit log, never sent to the client
    (the client sees ``custom_error_msg`` or the generic message). ``check`` is mock-only too: the
    machine-readable name of the failed check (e.g. ``audience``), as the IdP's forge names it,
    which the Setup security scorecard compares.
    """

    is_valid: bool
    data: Any = None
    user_data: UserData | None = None
    token: str | None = None
    token_type: TokenExchangeType | None = None
    custom_error_msg: str | None = None
    reason: str | None = None
    check: str | None = None


class RunAsUserRequired(Exception):
    """DML in a handler whose app enablement names no Run As user."""


# Ownership columns set to the Run As user on what it inserts (Apex: CreatedById, OwnerId).
RUN_AS_FIELDS = ("created_by_id", "owner_id")


@dataclass
class HandlerContext:
    """What the mock gives a Python handler in place of Apex's platform services."""

    config: Mapping[str, Any]
    jwks: JwksCache
    fetch_userinfo: Callable[[str, str], dict[str, Any]]
    logger: logging.Logger
    # RFC 7662 callout (handlers/introspection.py) and SAML IdP certificates (handlers/saml.py).
    introspect: Callable[..., dict[str, Any]] | None = None
    saml_certificates: SamlCertificates | None = None
    # The enablement's Run As user (OauthTokenExchHandlerApp.ApexExecutionUserId), per exchange.
    run_as_user_id: str | None = None
    # @future calls queued by the handler: run after the exchange commits, dropped on rollback.
    futures: list[Callable[[], None]] = field(default_factory=list)

    def insert(self, record: Any) -> Any:
        """Apex ``insert``: owned by and created by the Run As user, flushed so it has an id."""
        run_as(record, self.run_as_user_id)
        db.session.add(record)
        db.session.flush()
        return record

    def future(self, call: Callable[[], None]) -> None:
        """Apex ``@future``: run ``call`` in its own transaction once this one has committed."""
        self.futures.append(call)


def run_as(record: Any, user_id: str | None) -> None:
    """Give a record the Run As user as owner and creator; refuse without one."""
    if user_id is None:
        raise RunAsUserRequired(f"cannot insert {type(record).__name__} without a Run As user")
    for name in RUN_AS_FIELDS:
        if hasattr(record, name) and getattr(record, name) is None:
            setattr(record, name, user_id)


class TokenExchangeHandler:
    """Base class of every handler; subclass it and register its import path on a handler record."""

    def __init__(self, context: HandlerContext) -> None:
        self.context = context

    def validate_incoming_token(
        self,
        app_developer_name: str,
        app_type: IntegratingAppType,
        incoming_token: str,
        token_type: TokenExchangeType,
    ) -> TokenValidationResult:
        """Check the subject token; return a result carrying the subject's UserData."""
        raise NotImplementedError

    def get_user_for_token_subject(
        self,
        network_id: str | None,
        result: TokenValidationResult,
        can_create_user: bool,
        app_developer_name: str,
        app_type: IntegratingAppType,
    ) -> User | None:
        """Return the existing User, a new uninserted one (if can_create_user), or None."""
        raise NotImplementedError
