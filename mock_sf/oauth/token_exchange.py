"""The RFC 8693 token exchange grant as Salesforce runs it (contract §§1–3).

Order (``TokenExchangeGrant._exchange``, one step each): parameters, client (and throttles),
"token exchange enabled" on the app, scope, handler look-up, ``validate_incoming_token``,
``get_user_for_token_subject``, insert a new user as the Run As user, active, Permitted Users, the
site login rule, issue tokens, log. A new user is inserted in the same transaction as the token.
The handler runs as its enablement's Run As user: what it inserts, and the new user with its
Contact and Account, are owned by that user, who must have a role (a portal account owner must).
``@future`` calls run after the commit. Every attempt leaves an ExchangeAttempt row with the
precise reason.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import Insert
from sqlalchemy import Select
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mock_sf import failed_credentials
from mock_sf import org_config
from mock_sf.failed_credentials import Level
from mock_sf.handlers.base import HandlerContext
from mock_sf.handlers.base import RunAsUserRequired
from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import run_as
from mock_sf.handlers.execution import HandlerOutcome
from mock_sf.handlers.execution import run_handler
from mock_sf.handlers.registry import HandlerLoadError
from mock_sf.handlers.registry import load_handler_class
from mock_sf.models import Account
from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth import throttle
from mock_sf.oauth.client_auth import ClientCredentials
from mock_sf.oauth.client_auth import WrongClientSecret
from mock_sf.oauth.client_auth import authenticate_client
from mock_sf.oauth.client_auth import read_credentials
from mock_sf.oauth.errors import InvalidGrant
from mock_sf.oauth.errors import InvalidRequest
from mock_sf.oauth.errors import InvalidScope
from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.errors import UnsupportedGrantType
from mock_sf.oauth.errors import missing_parameter
from mock_sf.oauth.keys import signing_keys
from mock_sf.oauth.permitted_users import check_permitted
from mock_sf.oauth.permitted_users import profile_id_of
from mock_sf.oauth.refresh_tokens import REFRESH_SCOPES
from mock_sf.oauth.refresh_tokens import grants_refresh_token
from mock_sf.oauth.sites import Site
from mock_sf.oauth.token_response import issue_tokens
from mock_sf.oauth.token_response import signature
from mock_sf.org_config import AppSettings
from mock_sf.org_config import HandlerLink
from mock_sf.org_config import HandlerSettings
from mock_sf.org_config import OrgConfig
from mock_sf.profiles import ProfileNotAllowed
from mock_sf.profiles import assign_jit_profile
from mock_sf.profiles import check_site_login

__all__ = ["TokenExchangeGrant", "TokenRequest", "granted_scope", "signature"]

MAX_SUBJECT_TOKEN_LENGTH = 10_000  # [TX-SETUP]
HANDLER_NOT_FOUND = "token handler not found"
VALIDATION_FAILED = "token handler validation failed"
# RFC 8693 §2.1 delegation: Salesforce documents none (contract §1.2, UNCONFIRMED), so the actor is
# accepted and ignored; the token issued represents the subject alone, never "subject via actor".
ACTOR_PARAMETERS = ("actor_token", "actor_token_type")
ACTOR_IGNORED = "actor_token ignored: Salesforce's token exchange has no delegation"

_SUPPORT_FLAGS = {
    TokenExchangeType.ACCESS_TOKEN: "supports_access_token",
    TokenExchangeType.REFRESH_TOKEN: "supports_refresh_token",
    TokenExchangeType.ID_TOKEN: "supports_id_token",
    TokenExchangeType.SAML_2: "supports_saml2",
    TokenExchangeType.JWT: "supports_jwt",
}


@dataclass(frozen=True)
class TokenRequest:
    """A token-endpoint request, free of Flask; ``site`` is set on the site path prefix."""

    form: Mapping[str, str]
    authorization: str | None = None
    site: Site | None = None
    remote_addr: str = ""


@dataclass(frozen=True)
class SubjectToken:
    """The ``subject_token``, the type its URN names, and the throttle's key for its subject."""

    token: str
    token_type: TokenExchangeType
    throttle_key: str


@dataclass
class Attempt:
    """The exchange log's row for this attempt, filled in as the steps learn more."""

    client_id: str | None
    outcome: str = "failure"
    app_id: int | None = None
    handler: str | None = None
    token_type: str | None = None
    user_id: str | None = None
    error: str | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()  # what the developer should know beside the outcome

    def log(self) -> None:
        """Insert the row (the caller commits); the notes follow the reason."""
        row = asdict(self)
        del row["notes"]
        row["reason"] = "; ".join(filter(None, (self.reason, *self.notes))) or None
        db.session.connection().execute(_attempt_insert(), row | {"created_at": utcnow()})


@cache
def _attempt_insert() -> Insert:
    # A Core INSERT built once: the ORM's unit of work costs more than the row on this hot path.
    return insert(ExchangeAttempt.__table__)  # type: ignore[arg-type]


class _UserInsertConflict(Exception):
    """A concurrent exchange inserted the same user first."""


class TokenExchangeGrant:
    """``urn:ietf:params:oauth:grant-type:token-exchange``."""

    GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"

    def __init__(self, context: HandlerContext) -> None:
        self.context = context
        self.config = context.config
        self.limits = throttle.Limits.from_config(context.config)
        self.secret_limits = throttle.secret_limits(context.config)
        self.now = throttle.current_time()
        # The client id that came with a wrong secret: counts toward the client-secret throttle.
        self.wrong_secret_of: str | None = None
        self.subject_rejected = False  # a handler refused the token: counts toward the throttle
        # (consumer key, subject) once the client has authenticated; only then is a failure counted.
        self.throttle_key: tuple[str, str] | None = None
        self.user_created = False  # a refused new user is rolled back: do not log its id
        self.futures: list[Callable[[], None]] = []  # the handler's @future calls

    def respond(self, request: TokenRequest) -> dict[str, Any]:
        """Run the exchange and log it: on failure roll back, keep the audit row, and re-raise."""
        attempt = Attempt(
            client_id=(request.form.get("client_id") or "")[:255] or None,
            notes=ignored_parameters(request.form),
        )
        try:
            body = self._exchange(request, attempt)
        except OAuthError as exc:
            db.session.rollback()
            attempt.error, attempt.reason = exc.error, exc.reason
            if self.subject_rejected and self.throttle_key is not None:
                throttle.record_failure(*self.throttle_key, request.remote_addr, self.now)
            if self.wrong_secret_of is not None:
                throttle.record_client_secret_failure(
                    self.wrong_secret_of, request.remote_addr, self.now
                )
            self.context.logger.info("token exchange refused: %s (%s)", exc.error, exc.reason)
            attempt.log()
            db.session.commit()
            raise
        attempt.outcome = "success"
        attempt.log()
        db.session.commit()  # the exchange's one commit: jti, new user, tokens and log row
        self._run_futures()
        return body

    def _exchange(self, request: TokenRequest, attempt: Attempt) -> dict[str, Any]:
        """Salesforce's steps, in its order."""
        form = request.form
        subject = self._parameters(form, attempt)
        credentials = read_credentials(form, request.authorization)
        org, counts, secret_levels = self._read_setup(credentials, subject, request.remote_addr)
        app = self._client(credentials, org, attempt, secret_levels, request.remote_addr)
        self._throttle(app, subject, counts)
        self._enabled(app)
        scope = granted_scope(form.get("scope"), app)
        link, handler = self._handler(app, form.get("token_handler"), subject, attempt)
        user = self._subject_user(handler, link, app, subject, request.site)
        if not self.user_created:
            attempt.user_id = user.id
        self._active(user)
        check_permitted(app, user)  # Salesforce checks the user it logs in, a new one included
        self._site_login(user, org, request.site)
        attempt.user_id = user.id
        return self._issue(org, app, user, scope, request.site)

    def _parameters(self, form: Mapping[str, str], attempt: Attempt) -> SubjectToken:
        """``subject_token`` and ``subject_token_type``: present, at most 10,000 characters, a
        known URN. An over-long token is refused before the client authenticates: never counted."""
        token = form.get("subject_token") or None
        type_urn = form.get("subject_token_type") or None
        if token is None:
            raise missing_parameter("subject_token")
        if type_urn is None:
            raise missing_parameter("subject_token_type")
        attempt.token_type = type_urn[:255]
        if len(token) > MAX_SUBJECT_TOKEN_LENGTH:
            raise InvalidGrant(reason=f"subject_token has {len(token)} characters")
        token_type = TokenExchangeType.from_urn(type_urn)
        if token_type is None:
            raise InvalidRequest("invalid subject token type", reason=f"unknown URN {type_urn!r}")
        return SubjectToken(token, token_type, throttle.subject_key(token))

    def _read_setup(
        self, credentials: ClientCredentials, subject: SubjectToken, address: str
    ) -> tuple[OrgConfig, throttle.Counts, list[Level]]:
        """One SELECT: the Setup configuration's version (the cached copy is reloaded if it
        moved) and the throttles' counts for the claimed client at this address and the token's
        subject."""
        client_id = credentials.client_id or ""
        params = throttle.count_params(client_id, subject.throttle_key, self.limits, self.now)
        params |= throttle.secret_count_params(client_id, address, self.secret_limits, self.now)
        row = db.session.connection().execute(_setup_statement(), params).one()
        version, subject_counts, secret_counts = row[0], row[1:5], row[5:]
        return (
            org_config.at_version(version),
            throttle.Counts(*subject_counts),
            failed_credentials.levels(secret_counts, self.secret_limits),
        )

    def _client(
        self,
        credentials: ClientCredentials,
        org: OrgConfig,
        attempt: Attempt,
        secret_levels: list[Level],
        address: str,
    ) -> AppSettings:
        """The connected app, authenticated unless the client-secret throttle holds it (then
        no secret is checked); a wrong secret counts."""
        client_id = credentials.client_id or ""
        throttle.check_client_secrets(
            secret_levels, self.secret_limits, self.now, client_id, address
        )
        try:
            app = authenticate_client(credentials, org)
        except WrongClientSecret:
            self.wrong_secret_of = client_id
            raise
        attempt.client_id, attempt.app_id = app.consumer_key, app.id
        return app

    def _throttle(self, app: AppSettings, subject: SubjectToken, counts: throttle.Counts) -> None:
        """429 while the subject or the app is locked; from here on a refused token counts."""
        throttle.check(counts, self.limits, self.now, app.consumer_key, subject.throttle_key)
        self.throttle_key = (app.consumer_key, subject.throttle_key)

    def _enabled(self, app: AppSettings) -> None:
        """The app's "Enable Token Exchange Flow"."""
        if not app.is_token_exchange_enabled:
            raise UnsupportedGrantType(
                reason=f"token exchange is not enabled on {app.developer_name}"
            )

    def _handler(
        self, app: AppSettings, name: str | None, subject: SubjectToken, attempt: Attempt
    ) -> tuple[HandlerLink, TokenExchangeHandler]:
        """The handler enablement, and the handler running as its Run As user with its own
        ``@future`` queue."""
        link = find_handler_link(app, name, subject.token_type)
        attempt.handler = link.handler.developer_name
        context = replace(self.context, run_as_user_id=link.run_as_user_id, futures=[])
        self.futures = context.futures
        try:
            return link, load_handler_class(link.handler.handler_class)(context)
        except HandlerLoadError as exc:
            raise InvalidRequest(HANDLER_NOT_FOUND, reason=str(exc)) from exc

    def _subject_user(
        self,
        handler: TokenExchangeHandler,
        link: HandlerLink,
        app: AppSettings,
        subject: SubjectToken,
        site: Site | None,
    ) -> User:
        """Validate, map the user, insert a new one as Run As; once more if a concurrent first
        exchange of the same subject won the insert (the second run finds that user, or refuses a
        replayed jti)."""
        network_id = site.network_id if site else None
        try:
            return self._map_user(handler, link, app, subject, network_id)
        except _UserInsertConflict:
            db.session.rollback()
            self.futures.clear()
            try:
                return self._map_user(handler, link, app, subject, network_id)
            except _UserInsertConflict as exc:
                raise InvalidGrant(reason=f"user insert failed twice: {exc}") from exc

    def _map_user(
        self,
        handler: TokenExchangeHandler,
        link: HandlerLink,
        app: AppSettings,
        subject: SubjectToken,
        network_id: str | None,
    ) -> User:
        outcome = run_handler(
            handler,
            app.developer_name,
            subject.token,
            subject.token_type,
            handler_name=link.handler.developer_name,
            network_id=network_id,
            can_create_user=link.handler.is_user_creation_allowed,
            logger=self.context.logger,
        )
        self._validated(outcome)
        user = self._mapped(outcome, link)
        if inspect(user).transient:
            self._insert_new_user(user, link)
        return user

    def _validated(self, outcome: HandlerOutcome) -> None:
        """``validate_incoming_token`` accepted the token; a refusal counts toward the throttle."""
        if outcome.is_valid:
            return
        self.subject_rejected = True
        if outcome.result is None:
            raise InvalidRequest(
                VALIDATION_FAILED, reason=f"handler raised {outcome.error!r}"
            ) from outcome.error
        raise InvalidRequest(
            outcome.result.custom_error_msg or VALIDATION_FAILED,
            reason=outcome.result.reason or "handler returned is_valid=False",
        )

    def _mapped(self, outcome: HandlerOutcome, link: HandlerLink) -> User:
        """``get_user_for_token_subject`` returned a user."""
        if isinstance(outcome.error, RunAsUserRequired):
            raise InvalidGrant(reason=no_run_as_user(link)) from outcome.error
        if outcome.error is not None:
            raise InvalidGrant(
                reason=f"get_user_for_token_subject raised {outcome.error!r}"
            ) from outcome.error
        if outcome.user is None:
            raise InvalidGrant(
                reason="handler mapped no user (user creation allowed:"
                f" {link.handler.is_user_creation_allowed})"
            )
        return outcome.user

    def _insert_new_user(self, user: User, link: HandlerLink) -> None:
        """A new user: creation allowed, a Run As user, a profile the rules allow; inserted as
        the Run As user, in this transaction."""
        if not link.handler.is_user_creation_allowed:
            raise InvalidGrant(reason="handler returned a new user but creation is off")
        if link.run_as_user_id is None:
            raise InvalidGrant(reason=no_run_as_user(link))
        try:
            assign_jit_profile(
                user,
                link.handler.jit_profile_id,
                self.config["JIT_PROFILE"],
                allow_standard_external=self.config["ALLOW_STANDARD_EXTERNAL_PROFILES"],
            )
        except ProfileNotAllowed as exc:
            raise InvalidGrant(reason=str(exc)) from exc
        insert_as_run_as_user(user, link.run_as_user_id)
        try:
            db.session.flush()
        except IntegrityError as exc:
            raise _UserInsertConflict(str(exc.orig)) from exc
        self.user_created = True

    def _active(self, user: User) -> None:
        """An inactive user cannot log in."""
        if not user.is_active:
            raise InvalidGrant("inactive user", reason=f"user {user.id} is inactive")

    def _site_login(self, user: User, org: OrgConfig, site: Site | None) -> None:
        """On a site, the Spring '21 rule on standard external profiles."""
        if site is None:
            return
        profile = org.profiles.get(profile_id_of(user)) or user.profile
        try:
            check_site_login(user, profile)
        except ProfileNotAllowed as exc:
            raise InvalidGrant(reason=str(exc)) from exc

    def _issue(
        self, org: OrgConfig, app: AppSettings, user: User, scope: str, site: Site | None
    ) -> dict[str, Any]:
        """Stage the token rows and build the body (``respond`` commits)."""
        return issue_tokens(
            self.config,
            signing_keys(),
            org_id=org.org_id,
            user=user,
            app=app,
            scope=scope,
            site=site,
            new_refresh_token=grants_refresh_token(scope),
        )

    def _run_futures(self) -> None:
        """Each @future call in its own transaction; one that fails is logged, as Apex does."""
        for call in self.futures:
            try:
                call()
                db.session.commit()
            except Exception:
                db.session.rollback()
                self.context.logger.exception("@future call %r failed", call)


def ignored_parameters(form: Mapping[str, str]) -> tuple[str, ...]:
    """Notes for the exchange log on RFC 8693 parameters the exchange accepts and ignores."""
    return (ACTOR_IGNORED,) if any(name in form for name in ACTOR_PARAMETERS) else ()


@cache
def _setup_statement() -> Select[Any]:
    """Built once: a statement built per request costs more than running it."""
    return select(
        org_config.version_column(), *throttle.count_columns(), *throttle.secret_count_columns()
    )


def no_run_as_user(link: HandlerLink) -> str:
    """The audit reason when a handler that creates users has no Run As user."""
    return (
        f"no Run As user is set for handler {link.handler.developer_name} on app"
        f" {link.app_developer_name}; user creation needs one (Setup: the handler's enabled app)"
    )


def insert_as_run_as_user(user: User, run_as_user_id: str) -> None:
    """Add a new user, and the Contact and Account a Python handler attached, as the Run As user.

    Refuses, before the database would, a username already taken and a portal account whose owner
    has no role.
    """
    for record in (user.account, user.contact, user.contact and user.contact.account):
        if record is not None and inspect(record).transient:
            run_as(record, run_as_user_id)
    run_as(user, run_as_user_id)
    _refuse_taken_username(user)
    contact = user.contact
    if contact is None and user.contact_id:  # an Apex-style handler inserted it and set ContactId
        contact = db.session.get(Contact, user.contact_id)
    account = user.account or (contact.account if contact else None)
    if account is None and contact is not None and contact.account_id:
        account = db.session.get(Account, contact.account_id)
    if account is not None and user.is_external:
        _refuse_owner_without_role(account)
    if user.account is None and user.account_id is None and account is not None:
        user.account = account  # User.AccountId follows the contact's account
    db.session.add(user)


def _refuse_taken_username(user: User) -> None:
    taken = db.session.scalar(select(User).where(User.username == user.username))
    if taken is None or taken.federation_identifier == user.federation_identifier:
        return  # free, or a concurrent first exchange for the same subject (retried)
    raise InvalidGrant(
        reason=(
            f"a user with username {user.username} already exists with federation identifier"
            f" {taken.federation_identifier or '(none)'}, not {user.federation_identifier};"
            f" set its Federation ID to {user.federation_identifier} to link it, or rename it"
        )
    )


def _refuse_owner_without_role(account: Account) -> None:
    # Help 000385901: "UNKNOWN_EXCEPTION, portal account owner must have a role".
    owner = db.session.get(User, account.owner_id) if account.owner_id else None
    if owner is not None and owner.user_role:
        return
    who = owner.username if owner else "nobody"
    raise InvalidGrant(
        reason=(
            f"portal account owner must have a role: account {account.name!r} is owned by {who},"
            " who has none; give the Run As user a role"
        )
    )


def granted_scope(requested: str | None, app: AppSettings) -> str:
    """Requested scopes must be a subset of the app's; none requested means all of them.

    ``offline_access`` and ``refresh_token`` are one scope under two names, as Setup lists it:
    "Perform requests at any time (refresh_token, offline_access)".
    """
    wanted = frozenset((requested or "").split())
    allowed = app.scope_set | (REFRESH_SCOPES if app.scope_set & REFRESH_SCOPES else frozenset())
    if not wanted <= allowed:
        raise InvalidScope(reason=f"{sorted(wanted - allowed)} not assigned to the app")
    return " ".join(sorted(wanted or app.scope_set))


def find_handler_link(
    app: AppSettings, name: str | None, token_type: TokenExchangeType
) -> HandlerLink:
    """The handler named by ``token_handler`` (developer name or class), else the app's default.

    It must be enabled for the app, enabled itself, and support the token type.
    """
    links = app.links
    if name:
        link = next((link for link in links if _names(link.handler, name)), None)
    else:
        link = next((link for link in links if link.is_default), None)
    if link is None:
        raise InvalidRequest(
            HANDLER_NOT_FOUND, reason=f"no handler {name or '(default)'} for {app.developer_name}"
        )
    handler = link.handler
    if not handler.is_enabled:
        raise InvalidRequest(HANDLER_NOT_FOUND, reason=f"{handler.developer_name} is disabled")
    if not getattr(handler, _SUPPORT_FLAGS[token_type]):
        raise InvalidRequest(
            HANDLER_NOT_FOUND,
            reason=f"{handler.developer_name} does not support {token_type.name}",
        )
    return link


def _names(handler: HandlerSettings, name: str) -> bool:
    return name in (handler.developer_name, handler.class_name, handler.handler_class)
