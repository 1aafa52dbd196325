"""Handler records registered by configuration (``SF_TOKEN_EXCHANGE_HANDLERS``) or the Setup
console's "New handler" form: one validation for both, then an upsert by developer name.

An entry (JSON)::

    {"developer_name": "DomainHandler", "label": "Domain handler",
     "class": "mock_sf.handlers.examples:EmailDomainJwtHandler",
     "token_types": ["id_token", "jwt"], "user_creation_allowed": false, "enabled": true,
     "jit_profile": "Customer Community User",
     "apps": [{"app": "SpeakerPortal", "default": false,
               "run_as": "integration@sf.example"}]}

Like a metadata deploy, ``init-db`` re-applies every configured entry: the configuration wins
over edits made in Setup for the fields it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from mock_sf.handlers.registry import HandlerLoadError
from mock_sf.handlers.registry import load_handler_class
from mock_sf.models import ConnectedApp
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db

# Names accepted in ``token_types`` -> the handler record's flag.
TOKEN_TYPE_FLAGS = {
    "access_token": "supports_access_token",
    "refresh_token": "supports_refresh_token",
    "id_token": "supports_id_token",
    "saml2": "supports_saml2",
    "saml_2": "supports_saml2",
    "jwt": "supports_jwt",
}
# Salesforce API names: a letter, then letters, digits and single underscores, no trailing one.
DEVELOPER_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)")
ENTRY_KEYS = frozenset(
    {
        "developer_name",
        "label",
        "class",
        "token_types",
        "user_creation_allowed",
        "enabled",
        "jit_profile",
        "apps",
    }
)
APP_KEYS = frozenset({"app", "default", "run_as"})
# The handler classes mock_sf ships, for the Setup console's "New handler" form.
BUILT_IN_CLASSES = {
    "mock_sf.handlers.composite:BuiltInTokenExchangeHandler": (
        "every token type, each to the built-in handler for its kind (the demo's)"
    ),
    "mock_sf.handlers.jwt:JwtTokenExchangeHandler": "JWT access tokens, ID tokens and JWTs",
    "mock_sf.handlers.apex_mirror:SpeakerTokenHandler": (
        "the Apex class in salesforce/, mirrored step by step: JWTs, and it inserts the"
        " speaker's Account and Contact itself as the Run As user"
    ),
    "mock_sf.handlers.examples:EmailDomainJwtHandler": "the JWT checks plus an email domain rule",
}


class RegistrationError(ValueError):
    """An entry that cannot become a handler record; the message says which and why."""


@dataclass(frozen=True)
class AppEnablement:
    """The handler enabled for one connected app."""

    app: str
    default: bool = False
    run_as: str | None = None


@dataclass(frozen=True)
class HandlerSpec:
    """A validated handler registration."""

    developer_name: str
    label: str
    handler_class: str
    token_types: frozenset[str]  # record flags, e.g. "supports_jwt"
    user_creation_allowed: bool = False
    enabled: bool = True
    jit_profile: str | None = None
    apps: tuple[AppEnablement, ...] = ()


def check_developer_name(name: Any) -> str:
    """A valid API name of at most 80 characters."""
    if not isinstance(name, str) or not DEVELOPER_NAME.fullmatch(name) or len(name) > 80:
        raise RegistrationError(
            f"developer_name {name!r} must start with a letter and contain only letters, digits"
            " and single underscores (at most 80 characters)"
        )
    return name


def check_class(import_path: Any) -> str:
    """An importable ``package.module:Class`` that subclasses TokenExchangeHandler."""
    if not isinstance(import_path, str) or not import_path.strip():
        raise RegistrationError("class is required, as 'package.module:Class'")
    try:
        load_handler_class(import_path.strip())
    except HandlerLoadError as exc:
        raise RegistrationError(f"class {exc}") from exc
    return import_path.strip()


def token_type_flags(names: Any) -> frozenset[str]:
    """Record flags for ``token_types`` (names as in TOKEN_TYPE_FLAGS, any case)."""
    if not isinstance(names, list) or not names:
        raise RegistrationError(
            f"token_types must be a non-empty list of {', '.join(sorted(TOKEN_TYPE_FLAGS))}"
        )
    flags = set()
    for name in names:
        flag = TOKEN_TYPE_FLAGS.get(name.lower()) if isinstance(name, str) else None
        if flag is None:
            raise RegistrationError(
                f"unknown token type {name!r}; use {', '.join(sorted(TOKEN_TYPE_FLAGS))}"
            )
        flags.add(flag)
    return frozenset(flags)


def _flag(entry: Mapping[str, Any], key: str, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise RegistrationError(f"{key} must be true or false, not {value!r}")
    return value


def parse_entry(entry: Any) -> HandlerSpec:
    """Validate the shape and the class of one configuration entry (no database access)."""
    if not isinstance(entry, Mapping):
        raise RegistrationError(f"each entry must be a JSON object, not {entry!r}")
    name = check_developer_name(entry.get("developer_name"))
    try:
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise RegistrationError(f"unknown keys {sorted(unknown)}")
        label = entry.get("label") or name
        if not isinstance(label, str) or len(label) > 80:
            raise RegistrationError("label must be a string of at most 80 characters")
        jit_profile = entry.get("jit_profile")
        if jit_profile is not None and not isinstance(jit_profile, str):
            raise RegistrationError("jit_profile must be a profile name")
        return HandlerSpec(
            developer_name=name,
            label=label,
            handler_class=check_class(entry.get("class")),
            token_types=token_type_flags(entry.get("token_types")),
            user_creation_allowed=_flag(entry, "user_creation_allowed", False),
            enabled=_flag(entry, "enabled", True),
            jit_profile=jit_profile,
            apps=tuple(_parse_app(item) for item in entry.get("apps") or []),
        )
    except RegistrationError as exc:
        raise RegistrationError(f"handler {name}: {exc}") from None


def _parse_app(item: Any) -> AppEnablement:
    if not isinstance(item, Mapping) or not isinstance(item.get("app"), str):
        raise RegistrationError(f"each apps entry needs an app developer name, got {item!r}")
    unknown = set(item) - APP_KEYS
    if unknown:
        raise RegistrationError(f"unknown keys {sorted(unknown)} in apps entry")
    run_as = item.get("run_as")
    if run_as is not None and not isinstance(run_as, str):
        raise RegistrationError("run_as must be a username")
    return AppEnablement(item["app"], _flag(item, "default", False), run_as or None)


def parse_config(value: Any) -> list[HandlerSpec]:
    """``TOKEN_EXCHANGE_HANDLERS`` (a list, or its JSON text) as specs; names must be unique."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise RegistrationError(f"TOKEN_EXCHANGE_HANDLERS is not valid JSON: {exc}") from exc
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise RegistrationError("TOKEN_EXCHANGE_HANDLERS must be a JSON list of handler objects")
    specs = [parse_entry(entry) for entry in value]
    names = [spec.developer_name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RegistrationError(f"developer_name listed twice: {', '.join(duplicates)}")
    defaults = [item.app for spec in specs for item in spec.apps if item.default]
    twice = sorted({app for app in defaults if defaults.count(app) > 1})
    if twice:
        raise RegistrationError(f"more than one default handler for {', '.join(twice)}")
    return specs


def register(spec: HandlerSpec) -> OauthTokenExchangeHandler:
    """Create or update the record and its app enablements (the caller commits or rolls back).

    A default enablement makes it the app's only default handler.
    """
    prefix = f"handler {spec.developer_name}: "
    jit_profile_id = None
    if spec.jit_profile is not None:
        jit_profile_id = db.session.scalar(
            select(Profile.id).where(Profile.name == spec.jit_profile)
        )
        if jit_profile_id is None:
            raise RegistrationError(f"{prefix}unknown profile {spec.jit_profile!r}")
    handler = db.session.scalar(
        select(OauthTokenExchangeHandler).where(
            OauthTokenExchangeHandler.developer_name == spec.developer_name
        )
    )
    if handler is None:
        handler = OauthTokenExchangeHandler(developer_name=spec.developer_name)
        db.session.add(handler)
    values: dict[str, Any] = {
        "master_label": spec.label,
        "handler_class": spec.handler_class,
        "is_enabled": spec.enabled,
        "is_user_creation_allowed": spec.user_creation_allowed,
        "jit_profile_id": jit_profile_id,
        **{flag: flag in spec.token_types for flag in set(TOKEN_TYPE_FLAGS.values())},
    }
    for name, value in values.items():
        if getattr(handler, name) != value:  # unchanged rows stay unchanged
            setattr(handler, name, value)
    db.session.flush()
    for enablement in spec.apps:
        _enable(handler, enablement, prefix)
    return handler


def _enable(handler: OauthTokenExchangeHandler, enablement: AppEnablement, prefix: str) -> None:
    app = db.session.scalar(
        select(ConnectedApp).where(ConnectedApp.developer_name == enablement.app)
    )
    if app is None:
        raise RegistrationError(f"{prefix}unknown connected app {enablement.app!r}")
    run_as_id = None
    if enablement.run_as is not None:
        run_as_id = db.session.scalar(select(User.id).where(User.username == enablement.run_as))
        if run_as_id is None:
            raise RegistrationError(f"{prefix}unknown run-as user {enablement.run_as!r}")
    links = db.session.scalars(
        select(OauthTokenExchHandlerApp).where(OauthTokenExchHandlerApp.app_id == app.id)
    ).all()
    link = next((link for link in links if link.handler_id == handler.id), None)
    if link is None:
        link = OauthTokenExchHandlerApp(handler_id=handler.id, app_id=app.id)
        db.session.add(link)
    if link.run_as_user_id != run_as_id:
        link.run_as_user_id = run_as_id
    if link.is_default != enablement.default:
        link.is_default = enablement.default
    if enablement.default:
        for other in links:
            if other is not link and other.is_default:
                other.is_default = False
    db.session.flush()


def register_all(specs: Sequence[HandlerSpec]) -> None:
    """Apply every configured handler in one transaction: all or nothing."""
    try:
        for spec in specs:
            register(spec)
    except RegistrationError:
        db.session.rollback()
        raise
    db.session.commit()
