"""The security scorecard: every valid and broken token from the IdP's forge, run in-process
against the handler an exchange would use, compared with what the forge says must happen.

Tokens are minted first (HTTP to the forge), then checked inside one database transaction that
is rolled back, so the scorecard leaves no jti replay entries and no users behind.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests
from sqlalchemy import inspect

from mock_sf import org_config
from mock_sf.handlers.base import HandlerContext
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.execution import HandlerOutcome
from mock_sf.handlers.execution import run_handler
from mock_sf.handlers.registry import HandlerLoadError
from mock_sf.handlers.registry import load_handler_class
from mock_sf.models import ConnectedApp
from mock_sf.models import db
from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.token_exchange import MAX_SUBJECT_TOKEN_LENGTH
from mock_sf.oauth.token_exchange import find_handler_link
from mock_sf.org_config import AppSettings
from mock_sf.org_config import HandlerLink

FORGE_PATH = "/_demo/forge"
DEFAULT_USER = "ada@speakers.example"
# The token endpoint refuses an over-long subject token before any handler runs.
PLATFORM_SIZE_CHECK = "size_limit"

# fetch(method, url, json_body_or_None, timeout) -> the decoded JSON body
Fetch = Callable[[str, str, Mapping[str, Any] | None, float], Any]


class ForgeUnavailable(Exception):
    """The IdP (or its forge) cannot be reached at all."""


class ForgeError(Exception):
    """The forge answered, but not with what was asked for."""


def http_fetch(method: str, url: str, body: Mapping[str, Any] | None, timeout: float) -> Any:
    """One JSON call to the forge over HTTP."""
    try:
        response = requests.request(
            method, url, json=body, timeout=timeout, headers={"Accept": "application/json"}
        )
    except requests.RequestException as exc:
        raise ForgeUnavailable(f"{url}: {exc.__class__.__name__}") from exc
    try:
        payload = response.json()
    except ValueError as exc:
        raise ForgeError(f"{url} answered {response.status_code} without JSON") from exc
    if response.status_code == 404:
        raise ForgeUnavailable(f"{url} answered 404 (is IDP_DEMO_CONTROLS=1 set on the IdP?)")
    if response.status_code != 200:
        detail = payload.get("error_description") if isinstance(payload, dict) else None
        raise ForgeError(detail or f"{url} answered {response.status_code}")
    return payload


@dataclass(frozen=True)
class Variant:
    """A forgeable token as the forge lists it."""

    kind: str
    variant: str
    expect: str  # "accept" | "reject"
    check: str | None
    description: str = ""


@dataclass(frozen=True)
class ForgedToken:
    """A token the forge minted for one variant."""

    token: str
    token_type: str  # RFC 8693 URN


class ForgeClient:
    """The IdP's forge (demo controls); ``fetch`` is injectable so tests fake the IdP."""

    def __init__(self, idp_url: str, fetch: Fetch = http_fetch, timeout: float = 5) -> None:
        self.idp_url = idp_url.rstrip("/")
        self.fetch = fetch
        self.timeout = timeout

    def variants(self) -> list[Variant]:
        """Every variant the forge can mint."""
        payload = self.fetch("GET", f"{self.idp_url}{FORGE_PATH}/variants", None, self.timeout)
        items = payload.get("variants") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise ForgeError("the variant list is not a JSON list")
        try:
            return [
                Variant(
                    kind=str(item["kind"]),
                    variant=str(item["variant"]),
                    expect=str(item["expect"]),
                    check=item.get("check"),
                    description=str(item.get("description") or ""),
                )
                for item in items
            ]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ForgeError(f"malformed variant entry: {exc!r}") from exc

    def forge(self, variant: Variant, user: str, audience: str | None) -> ForgedToken:
        """Mint one token."""
        body: dict[str, Any] = {"kind": variant.kind, "variant": variant.variant, "user": user}
        if audience:
            body["audience"] = audience
        payload = self.fetch("POST", f"{self.idp_url}{FORGE_PATH}", body, self.timeout)
        if not isinstance(payload, dict) or not payload.get("token"):
            raise ForgeError("the forge answered without a token")
        return ForgedToken(token=str(payload["token"]), token_type=str(payload["token_type"]))


@dataclass
class Row:
    """One variant's verdict."""

    variant: Variant
    status: str  # "pass" | "fail" | "warn" | "skip"
    verdict: str  # what the page shows, e.g. "rejected by audience", "ACCEPTED"
    detail: str = ""
    handler: str | None = None


@dataclass
class Scorecard:
    """The result of one run."""

    app_name: str
    user: str
    rows: list[Row] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many rows have this status."""
        return sum(row.status == status for row in self.rows)


@dataclass(frozen=True)
class _Outcome:
    accepted: bool
    check: str | None = None
    reason: str = ""
    user: str | None = None


def forge_audiences(config: Mapping[str, Any]) -> dict[str, str]:
    """What this org expects each JWT kind to be addressed to (the forge defaults the rest)."""
    issuer_url = f"{config['IDP_URL']}/oauth2/default"
    issuers = config["TRUSTED_ISSUERS"] or []
    issuer = next((item for item in issuers if item.get("issuer") == issuer_url), None)
    if issuer is None and issuers:
        issuer = issuers[0]
    if issuer is None:
        return {}
    access = issuer.get("access_token_audience", "api://default")
    return {
        "access_token": access,
        "id_token": issuer.get("id_token_audience", "speaker-portal"),
        "jwt": access,  # the JWT handler accepts a generic JWT addressed like an access token
    }


def run(
    forge: ForgeClient,
    app: ConnectedApp,
    context: HandlerContext,
    *,
    user: str = DEFAULT_USER,
    audiences: Mapping[str, str] | None = None,
) -> Scorecard:
    """Mint every variant, check each against the app's handler, roll everything back."""
    audiences = audiences or {}
    scorecard = Scorecard(app_name=app.developer_name, user=user)
    settings = org_config.current().app_by_id(app.id)
    if settings is None:
        raise LookupError(f"connected app {app.developer_name} is not saved")
    minted: list[tuple[Variant, ForgedToken | None, str]] = []
    for variant in forge.variants():
        try:
            minted.append((variant, forge.forge(variant, user, audiences.get(variant.kind)), ""))
        except ForgeError as exc:
            minted.append((variant, None, f"the forge could not mint it: {exc}"))
    try:
        for variant, token, problem in minted:
            if token is None:
                scorecard.rows.append(Row(variant, "skip", "not run", problem))
            else:
                scorecard.rows.append(_score(variant, token, settings, context))
    finally:
        db.session.rollback()  # no jti, no user, nothing a handler flushed survives
    return scorecard


def handler_link(app: AppSettings, token_type: TokenExchangeType) -> HandlerLink:
    """The handler an exchange without ``token_handler`` runs, else any that takes the type."""
    try:
        return find_handler_link(app, None, token_type)
    except OAuthError:
        pass
    for link in app.links:
        try:
            return find_handler_link(app, link.handler.developer_name, token_type)
        except OAuthError:
            continue
    raise LookupError(f"no enabled handler of {app.developer_name} supports {token_type.name}")


def _score(variant: Variant, token: ForgedToken, app: AppSettings, context: HandlerContext) -> Row:
    token_type = TokenExchangeType.from_urn(token.token_type)
    if token_type is None:
        return Row(variant, "skip", "not run", f"unknown token type {token.token_type!r}")
    if len(token.token) > MAX_SUBJECT_TOKEN_LENGTH:
        outcome = _Outcome(
            False,
            PLATFORM_SIZE_CHECK,
            f"the token endpoint refuses {len(token.token)} characters (max 10,000)",
        )
        return _verdict(variant, outcome, "token endpoint")
    try:
        link = handler_link(app, token_type)
        handler = load_handler_class(link.handler.handler_class)(context)
    except (LookupError, HandlerLoadError) as exc:
        return Row(variant, "skip", "not run", str(exc))
    run = run_handler(
        handler,
        app.developer_name,
        token.token,
        token_type,
        handler_name=link.handler.developer_name,
        network_id=None,
        can_create_user=False,
        logger=context.logger,
    )
    return _verdict(variant, _outcome(run), link.handler.developer_name)


def _outcome(run: HandlerOutcome) -> _Outcome:
    """The scorecard's reading of a handler run: one that raises fails its row, not the card."""
    if run.result is None:
        return _Outcome(False, "handler_error", f"{run.method} raised {run.error!r}")
    if not run.result.is_valid:
        reason = run.result.reason or run.result.custom_error_msg or "is_valid=False"
        return _Outcome(False, run.result.check, reason)
    if run.error is not None:
        return _Outcome(True, reason=f"{run.method} raised {run.error!r}")
    if run.user is None or inspect(run.user).transient:
        return _Outcome(True, reason="valid, but no existing user maps to its subject")
    return _Outcome(True, user=f"{run.user.name} ({run.user.username})")


def _verdict(variant: Variant, outcome: _Outcome, handler: str) -> Row:
    expected = variant.check
    if variant.expect == "reject":
        if outcome.accepted:
            return Row(variant, "fail", "ACCEPTED", outcome.user or outcome.reason, handler)
        check = outcome.check or "an unnamed check"
        if outcome.check == expected:
            return Row(variant, "pass", f"rejected by {check}", outcome.reason, handler)
        verdict = f"rejected by {check} (expected {expected})"
        return Row(variant, "warn", verdict, outcome.reason, handler)
    if not outcome.accepted:
        return Row(variant, "fail", "refused", f"{outcome.check}: {outcome.reason}", handler)
    if outcome.user is None:
        return Row(variant, "warn", "accepted", outcome.reason, handler)
    return Row(variant, "pass", "accepted", f"maps to {outcome.user}", handler)
