"""The org's Setup configuration the token endpoint reads on every request, cached per process.

Connected apps, their pre-authorized profiles, handler records and their app enablements,
profiles and the organization id change rarely (Setup, ``init-db``, handler registration) and are
read on every exchange, so each process keeps them as frozen values, never ORM instances. A
single-row ``config_version`` counter says when they changed: any ORM change to one of those
tables bumps it in the same flush, hence the same transaction, and every request reads it (the
exchange in the same SELECT as its throttle counts), so no process ever serves a stale copy, however
many workers or hosts share the database. A change made behind the ORM (raw SQL) must call
``bump`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Integer
from sqlalchemy import ScalarSelect
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from mock_sf.models import Base
from mock_sf.models import ConnectedApp
from mock_sf.models import ConnectedAppProfile
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import Organization
from mock_sf.models import Profile
from mock_sf.models import db

CACHED_MODELS = (
    ConnectedApp,
    ConnectedAppProfile,
    OauthTokenExchangeHandler,
    OauthTokenExchHandlerApp,
    Organization,
    Profile,
)
# Table objects, not names: other apps in the process (portal, mock_idp) have their own tables.
CACHED_TABLES = frozenset(model.__table__ for model in CACHED_MODELS)
VERSION_ROW = 1


class ConfigVersion(Base):
    """One row: bumped with every change to the cached Setup tables."""

    __tablename__ = "config_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


@dataclass(frozen=True)
class ProfileSettings:
    """A Profile's fields that token exchange checks."""

    id: str
    name: str
    user_license: str
    api_enabled: bool
    is_custom: bool


@dataclass(frozen=True)
class HandlerSettings:
    """An OauthTokenExchangeHandler record."""

    id: int
    developer_name: str
    handler_class: str
    is_enabled: bool
    is_user_creation_allowed: bool
    supports_access_token: bool
    supports_refresh_token: bool
    supports_id_token: bool
    supports_saml2: bool
    supports_jwt: bool
    jit_profile_id: str | None

    @property
    def class_name(self) -> str:
        """The class part of the import path (what token_handler may name)."""
        return self.handler_class.rpartition(":")[2]


@dataclass(frozen=True)
class HandlerLink:
    """A handler enabled for an app (OauthTokenExchHandlerApp)."""

    id: int
    handler: HandlerSettings
    app_developer_name: str
    run_as_user_id: str | None
    is_default: bool


@dataclass(frozen=True)
class AppSettings:
    """A connected app, its pre-authorized profiles and its enabled handlers (by id)."""

    id: int
    developer_name: str
    consumer_key: str
    consumer_secret: str
    is_token_exchange_enabled: bool
    is_secret_required_for_token_exchange: bool
    is_secret_required_for_refresh_token: bool
    is_refresh_token_rotation_enabled: bool
    scopes: str
    permitted_users: str | None
    preauthorized_profile_ids: frozenset[str]
    links: tuple[HandlerLink, ...]

    @property
    def scope_set(self) -> frozenset[str]:
        """The app's scopes as a set."""
        return frozenset(self.scopes.split())


@dataclass(frozen=True)
class OrgConfig:
    """Everything cached, as of ``version`` (None: no version row, so never cached)."""

    version: int | None
    org_id: str
    apps: Mapping[str, AppSettings]  # by consumer key
    profiles: Mapping[str, ProfileSettings]  # by id

    def app_by_id(self, app_id: int) -> AppSettings | None:
        """The app with this id."""
        return next((app for app in self.apps.values() if app.id == app_id), None)


class OrgConfigCache:
    """The process's copy for one Flask app; replaced whole when the version moves."""

    def __init__(self) -> None:
        self.config: OrgConfig | None = None

    def get(self, version: int | None) -> OrgConfig:
        """The copy for ``version``, loading it when this process holds another."""
        config = self.config
        if config is None or version is None or config.version != version:
            config = load(version)
            self.config = config if version is not None else None
        return config


def version_column() -> ScalarSelect[Any]:
    """The current version as a scalar subquery, to read with whatever the request needs."""
    return select(ConfigVersion.version).where(ConfigVersion.id == VERSION_ROW).scalar_subquery()


def current() -> OrgConfig:
    """The cached configuration, after reading the version (one SELECT)."""
    return at_version(db.session.scalar(select(version_column())))


def at_version(version: int | None) -> OrgConfig:
    """The cached configuration for a version the caller read with its own SELECT."""
    cache: OrgConfigCache = current_app.extensions["mock_sf.org_config"]
    return cache.get(version)


def load(version: int | None) -> OrgConfig:
    """Read every cached table (once per version per process)."""
    profiles = {
        row.id: ProfileSettings(row.id, row.name, row.user_license, row.api_enabled, row.is_custom)
        for row in db.session.scalars(select(Profile))
    }
    preauthorized: dict[int, set[str]] = {}
    for app_id, profile_id in db.session.execute(
        select(ConnectedAppProfile.app_id, ConnectedAppProfile.profile_id)
    ):
        preauthorized.setdefault(app_id, set()).add(profile_id)
    handlers = {
        row.id: _handler(row) for row in db.session.scalars(select(OauthTokenExchangeHandler))
    }
    apps = list(db.session.scalars(select(ConnectedApp)))
    names = {app.id: app.developer_name for app in apps}
    links: dict[int, list[HandlerLink]] = {}
    for row in db.session.scalars(
        select(OauthTokenExchHandlerApp).order_by(OauthTokenExchHandlerApp.id)
    ):
        link = HandlerLink(
            row.id, handlers[row.handler_id], names[row.app_id], row.run_as_user_id, row.is_default
        )
        links.setdefault(row.app_id, []).append(link)
    org_id = db.session.scalar(select(Organization.id)) or ""
    return OrgConfig(
        version=version,
        org_id=org_id,
        apps={
            app.consumer_key: _app(
                app, frozenset(preauthorized.get(app.id, ())), links.get(app.id, [])
            )
            for app in apps
        },
        profiles=profiles,
    )


def _handler(row: OauthTokenExchangeHandler) -> HandlerSettings:
    return HandlerSettings(
        id=row.id,
        developer_name=row.developer_name,
        handler_class=row.handler_class,
        is_enabled=row.is_enabled,
        is_user_creation_allowed=row.is_user_creation_allowed,
        supports_access_token=row.supports_access_token,
        supports_refresh_token=row.supports_refresh_token,
        supports_id_token=row.supports_id_token,
        supports_saml2=row.supports_saml2,
        supports_jwt=row.supports_jwt,
        jit_profile_id=row.jit_profile_id,
    )


def _app(row: ConnectedApp, preauthorized: frozenset[str], links: list[HandlerLink]) -> AppSettings:
    return AppSettings(
        id=row.id,
        developer_name=row.developer_name,
        consumer_key=row.consumer_key,
        consumer_secret=row.consumer_secret,
        is_token_exchange_enabled=row.is_token_exchange_enabled,
        is_secret_required_for_token_exchange=row.is_secret_required_for_token_exchange,
        is_secret_required_for_refresh_token=row.is_secret_required_for_refresh_token,
        is_refresh_token_rotation_enabled=row.is_refresh_token_rotation_enabled,
        scopes=row.scopes,
        permitted_users=row.permitted_users,
        preauthorized_profile_ids=preauthorized,
        links=tuple(links),
    )


def bump(session: Session) -> None:
    """Move the version on, in the session's transaction."""
    table = ConfigVersion.__table__
    session.connection().execute(update(table).values(version=table.c.version + 1))


def ensure_version_row() -> None:
    """Create the counter row if missing (``init-db``; the caller commits)."""
    if db.session.scalar(select(ConfigVersion.id).where(ConfigVersion.id == VERSION_ROW)) is None:
        db.session.execute(insert(ConfigVersion).values(id=VERSION_ROW, version=1))


@event.listens_for(db.session, "before_flush")
def _bump_on_change(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Any insert, delete or real change of a cached row bumps the version in the same flush."""
    if any(isinstance(obj, CACHED_MODELS) for obj in (*session.new, *session.deleted)) or any(
        isinstance(obj, CACHED_MODELS) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    ):
        bump(session)


@event.listens_for(db.session, "do_orm_execute")
def _bump_on_statement(state: ORMExecuteState) -> None:
    """An UPDATE, DELETE or INSERT statement on a cached table bumps the version too."""
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table in CACHED_TABLES:
        bump(state.session)


def init_app(app: Any) -> None:
    """The process's (empty) cache for this app."""
    app.extensions["mock_sf.org_config"] = OrgConfigCache()
