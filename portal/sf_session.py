"""The Salesforce session of a login: exchange on first need, cache it, renew it once.

The first REST call of a login exchanges an IdP token at Salesforce's token endpoint (RFC 8693:
which token is the `SF_SUBJECT_TOKEN_TYPE` setting) and caches the Salesforce session on the
login. When Salesforce ends that session (401 INVALID_SESSION_ID), the portal renews it once:
with the Salesforce refresh token if the connected app granted one, else by a new exchange.
Renewals of one login take turns (lease.py), so a rotated IdP refresh token is spent once.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from flask import Flask
from flask import current_app

from . import idp
from . import lease
from .errors import LoginExpired
from .errors import NotASpeaker
from .models import LoginSession
from .models import db
from .salesforce import SUBJECT_TOKEN_TYPES
from .salesforce import ExchangeError
from .salesforce import SalesforceApi
from .salesforce import SalesforceClient
from .salesforce import SessionInvalid

T = TypeVar("T")
ResponseHook = Callable[..., Any]


def init_app(app: Flask, response_hooks: list[ResponseHook] | None = None) -> None:
    """One Salesforce client (and connection pool) per app, from config."""
    client = SalesforceClient(
        login_url=app.config["SF_LOGIN_URL"],
        client_id=app.config["SF_CLIENT_ID"],
        client_secret=app.config["SF_CLIENT_SECRET"],
        token_handler=app.config["SF_TOKEN_HANDLER"],
        scope=app.config["SF_SCOPE"],
        api_version=app.config["SF_API_VERSION"],
        timeout=app.config["HTTP_TIMEOUT"],
        verify=app.config["SF_CA_FILE"] or True,
    )
    client.http.hooks["response"].extend(response_hooks or [])
    app.extensions["portal.salesforce"] = client


def salesforce_client() -> SalesforceClient:
    """This app's Salesforce client."""
    return current_app.extensions["portal.salesforce"]


def for_login(login: LoginSession) -> SalesforceSession:
    """The Salesforce session of this login, with the configured subject token type."""
    return SalesforceSession(
        login, salesforce_client(), current_app.config["SF_SUBJECT_TOKEN_TYPE"]
    )


class SalesforceSession:
    """REST calls as the speaker behind one login, through its cached Salesforce session."""

    def __init__(self, login: LoginSession, client: SalesforceClient, token_type: str) -> None:
        self.login = login
        self.client = client
        self.token_type = token_type

    @property
    def contact_id(self) -> str:
        """The speaker's Contact id in Salesforce (known once the session exists)."""
        self._ready()
        return self.login.sf_contact_id  # type: ignore[return-value]

    @property
    def instance_url(self) -> str:
        """The org's instance URL (the session is made first if need be)."""
        return self._ready().instance_url

    def call(self, operation: Callable[[SalesforceApi], T]) -> T:
        """Run a REST operation; if Salesforce ended the session, renew it once and retry."""
        api = self._ready()
        try:
            return operation(api)
        except SessionInvalid:
            return operation(self._ready(stale=api.access_token))

    def _ready(self, stale: str | None = None) -> SalesforceApi:
        """The cached session, renewed when missing or `stale`."""
        login = self.login
        if login.sf_access_token in (None, stale):
            with lease.one_at_a_time(login):
                # Another request of this login may have renewed it while this one waited.
                if login.sf_access_token in (None, stale):
                    self._renew()
        return self.client.api(login.sf_instance_url, login.sf_access_token)

    def _renew(self) -> None:
        login = self.login
        if login.sf_refresh_token:
            try:
                login.cache_salesforce(self.client.refresh(login.sf_refresh_token))
                db.session.commit()
                return
            except ExchangeError as exc:  # revoked or expired: fall back to a new exchange
                current_app.logger.info("Salesforce refused its refresh token: %s", exc.error)
                login.sf_refresh_token = None
        self._exchange()

    def _exchange(self) -> None:
        """Exchange an IdP token for a Salesforce session and find the speaker's contact."""
        login = self.login
        subject_token = self._subject_token()
        token = self.client.exchange(subject_token, SUBJECT_TOKEN_TYPES[self.token_type])
        api = self.client.api(token.instance_url, token.access_token)
        user = api.get("User", token.user_id, ["Id", "ContactId"])
        if not user.get("ContactId"):
            raise NotASpeaker("no_contact", f"User {token.user_id} has no ContactId.")
        login.cache_salesforce(token, user["ContactId"])
        db.session.commit()

    def _subject_token(self) -> str:
        """The IdP token to exchange, fresh and unspent; marked spent before it is sent."""
        login = self.login
        kind = self.token_type
        if kind == "saml2":
            return self._saml_assertion()
        if login.protocol != "oidc":
            raise LoginExpired()  # no OIDC tokens in this login: log in the configured way
        if kind == "refresh_token":
            if not login.idp_refresh_token:
                raise LoginExpired()
            return login.idp_refresh_token
        # An ID token, or the access token for access_token and jwt: mock_sf's handler takes
        # each once (its jti), so a second exchange needs fresh ones from the refresh token.
        spent = login.idp_token_sent
        if kind == "id_token":
            if spent or not login.idp_id_token or jwt_expired(login.idp_id_token):
                idp.refresh(login)
        elif spent or login.idp_token_expired():
            idp.refresh(login)
        # Sent is spent: Salesforce may use up the token's jti even if its answer never arrives.
        login.idp_token_sent = True
        db.session.commit()
        return login.idp_id_token if kind == "id_token" else login.idp_access_token  # type: ignore[return-value]

    def _saml_assertion(self) -> str:
        login = self.login
        expired = (login.saml_not_on_or_after or 0) <= time.time()
        if not login.saml_assertion or login.saml_assertion_sent or expired:
            raise LoginExpired()  # an assertion is single use: a new one needs a new SAML login
        login.saml_assertion_sent = True
        db.session.commit()
        return login.saml_assertion


def jwt_expired(token: str, now: float | None = None) -> bool:
    """Whether a JWT's `exp` has passed (read unverified: only to decide whether to refresh)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) <= (time.time() if now is None else now)
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return True
