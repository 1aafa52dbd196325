"""``flask --app mock_sf init-db [--demo]``: create tables and seed the demo org idempotently.

Rows are looked up by natural key before insert, so a second run adds and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from mock_sf import migrations
from mock_sf.handlers.registration import RegistrationError
from mock_sf.handlers.registration import parse_config
from mock_sf.handlers.registration import register_all
from mock_sf.models import Account
from mock_sf.models import Case
from mock_sf.models import ConnectedApp
from mock_sf.models import ConnectedAppProfile
from mock_sf.models import Contact
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import Organization
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import next_case_number
from mock_sf.models import password_hasher
from mock_sf.models import utcnow
from mock_sf.oauth.permitted_users import ADMIN_APPROVED
from mock_sf.oauth.permitted_users import set_policy
from mock_sf.oauth.sites import seed_network
from mock_sf.org_config import ensure_version_row
from mock_sf.profiles import CUSTOMER_COMMUNITY_USER
from mock_sf.profiles import SPEAKER_API_ACCESS
from mock_sf.profiles import SPEAKER_COMMUNITY_USER
from mock_sf.profiles import STANDARD_USER
from mock_sf.profiles import SYSTEM_ADMINISTRATOR
from mock_sf.profiles import UnknownProfile
from mock_sf.profiles import backfill_user_profiles
from mock_sf.profiles import clone_profile
from mock_sf.profiles import profile_named
from mock_sf.profiles import seed_permission_set
from mock_sf.profiles import seed_profiles

T = TypeVar("T")

ORG_NAME = "Speaker Conference (mock org)"
ADMIN = {"username": "admin@sf.example", "password": "admin-demo"}
# The handler's Run As user: it owns the speakers' accounts, so it needs a role (Help 000385901).
INTEGRATION_USER = {
    "username": "integration@sf.example",
    "email": "integration@sf.example",
    "first_name": "Speaker Portal",
    "last_name": "Integration",
    "alias": "spint",
    "user_role": "Speaker Portal Owner",
}
APP = {
    "developer_name": "SpeakerPortal",
    "consumer_key": "speaker-portal",
    "consumer_secret": "portal-sf-demo-secret",
    "scopes": "api refresh_token openid",
}
HANDLER = {
    "developer_name": "SpeakerTokenHandler",
    "master_label": "Speaker Token Handler",
    # One record for every token type: the composite routes JWTs, opaque tokens (RFC 7662) and
    # SAML assertions to the built-in handler for each (mock_sf/handlers/composite.py).
    "handler_class": "mock_sf.handlers.composite:BuiltInTokenExchangeHandler",
}
# SpeakerPortal: "Admin approved users are pre-authorized" for these profiles.
PREAUTHORIZED_PROFILES = (SPEAKER_COMMUNITY_USER, CUSTOMER_COMMUNITY_USER, "System Administrator")
# What earlier seeds stored; such a record is upgraded once to HANDLER's class and token types.
LEGACY_HANDLER_CLASS = "mock_sf.handlers.jwt:JwtTokenExchangeHandler"
ADA_SUBJECT = "00u1ada1demo1speaker"
ADA_EMAIL = "ada@speakers.example"
ADA_ACCOUNT = "Analytical Engines Ltd"
# (subject, status, priority, days ago)
ADA_CASES = (
    ("Projector adapter for room B", "Working", "High", 2),
    ("Travel reimbursement form", "New", "Medium", 1),
)


@click.command("init-db")
@click.option("--demo", is_flag=True, help="Also seed the demo org, app, handler, Ada and cases.")
@with_appcontext
def init_db_command(demo: bool) -> None:
    """Migrate the schema to head (idempotent), and seed the demo data with --demo."""
    config = current_app.config
    with db.engine.begin() as connection:
        migrations.upgrade(connection)  # a database from before Alembic too (0001)
    ensure_version_row()  # Setup changes from here on bump it (org_config.py)
    seed_profiles()  # every org has the standard profiles
    if demo:
        seed_demo(config["IDP_URL"])
    try:
        backfill_user_profiles(config["JIT_PROFILE"], ADMIN["username"])
    except UnknownProfile as exc:
        raise click.ClickException(f"SF_JIT_PROFILE: {exc}") from None
    try:
        register_all(parse_config(config["TOKEN_EXCHANGE_HANDLERS"]))
    except RegistrationError as exc:
        raise click.ClickException(f"SF_TOKEN_EXCHANGE_HANDLERS: {exc}") from None
    db.session.commit()
    click.echo("mock_sf database ready" + (" (demo data seeded)" if demo else ""))


def seed_demo(idp_url: str) -> None:
    """Seed (or complete) the demo data; existing rows are left as they are."""
    if db.session.scalar(select(Organization.id)) is None:
        db.session.add(Organization(name=ORG_NAME))
    speaker_profile = _speaker_profile()
    admin = _admin()
    integration = _integration_user()
    app = db.session.scalar(
        select(ConnectedApp).where(ConnectedApp.developer_name == APP["developer_name"])
    ) or _added(
        ConnectedApp(
            **APP,
            is_token_exchange_enabled=True,
            is_secret_required_for_token_exchange=True,
        )
    )
    # New, or older than Permitted Users: admin approved (set below, after the flush).
    set_permitted_users = app.id is None or app.permitted_users is None
    handler = db.session.scalar(
        select(OauthTokenExchangeHandler).where(
            OauthTokenExchangeHandler.developer_name == HANDLER["developer_name"]
        )
    ) or _added(
        OauthTokenExchangeHandler(
            **HANDLER,
            is_enabled=True,
            is_user_creation_allowed=True,
            supports_access_token=True,
            supports_refresh_token=True,
            supports_id_token=True,
            supports_jwt=True,
            supports_saml2=True,
        )
    )
    if handler.handler_class == LEGACY_HANDLER_CLASS:  # an instance seeded before SAML/opaque
        handler.handler_class = HANDLER["handler_class"]
        handler.supports_refresh_token = handler.supports_saml2 = True
    db.session.flush()
    if not set_permitted_users and speaker_profile.id not in _preauthorized_ids(app.id):
        # A demo org older than the cloned profile: pre-authorize it like the standard one.
        set_policy(app, app.permitted_users, _preauthorized_ids(app.id) | {speaker_profile.id})
    if set_permitted_users:
        set_policy(
            app,
            ADMIN_APPROVED,
            {profile_named(name).id for name in PREAUTHORIZED_PROFILES}
            | _preauthorized_ids(app.id),
        )
    link = db.session.scalar(
        select(OauthTokenExchHandlerApp).where(
            OauthTokenExchHandlerApp.handler_id == handler.id,
            OauthTokenExchHandlerApp.app_id == app.id,
        )
    )
    if link is None:
        db.session.add(
            OauthTokenExchHandlerApp(
                handler=handler, app=app, run_as_user_id=integration.id, is_default=True
            )
        )
    elif link.run_as_user_id in (None, admin.id):  # seeded before the integration user
        link.run_as_user_id = integration.id
    ada = _ada(f"{idp_url}/oauth2/default|{ADA_SUBJECT}", integration)
    _ada_cases(ada)
    site_prefix = current_app.config["SITE_PATH_PREFIX"].strip("/")
    if site_prefix:  # the Experience Cloud site speakers log in through (a 0DB Network)
        seed_network(site_prefix, current_app.config["SITE_NAME"])
    db.session.commit()


def _preauthorized_ids(app_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(ConnectedAppProfile.profile_id).where(ConnectedAppProfile.app_id == app_id)
        )
    )


def _added(row: T) -> T:
    db.session.add(row)
    return row


def _speaker_profile() -> Profile:
    """The demo's fix for external profiles: a clone of Customer Community User with API
    Enabled (Summer '19, Spring '20, Spring '21 rules), plus the permission set alternative."""
    seed_permission_set(SPEAKER_API_ACCESS, "Speaker API Access", api_enabled=True)
    try:
        return profile_named(SPEAKER_COMMUNITY_USER)
    except UnknownProfile:
        standard = profile_named(CUSTOMER_COMMUNITY_USER)
        return clone_profile(standard, SPEAKER_COMMUNITY_USER, api_enabled=True)


def _admin() -> User:
    admin = db.session.scalar(select(User).where(User.username == ADMIN["username"]))
    if admin is None:
        admin = _added(
            User(
                username=ADMIN["username"],
                email=ADMIN["username"],
                first_name="Org",
                last_name="Admin",
                alias="oadmin",
                user_type="Standard",
                password_hash=password_hasher().hash(ADMIN["password"]),
                profile=profile_named(SYSTEM_ADMINISTRATOR),
            )
        )
        db.session.flush()
    return admin


def _integration_user() -> User:
    user = db.session.scalar(select(User).where(User.username == INTEGRATION_USER["username"]))
    if user is None:
        user = _added(
            User(**INTEGRATION_USER, user_type="Standard", profile=profile_named(STANDARD_USER))
        )
    if user.user_role is None:  # older than User roles
        user.user_role = INTEGRATION_USER["user_role"]
    db.session.flush()
    return user


def _ada(federation_identifier: str, owner: User) -> User:
    account = db.session.scalar(select(Account).where(Account.name == ADA_ACCOUNT)) or _added(
        Account(name=ADA_ACCOUNT, owner_id=owner.id, created_by_id=owner.id)
    )
    contact = db.session.scalar(
        select(Contact).where(Contact.email == ADA_EMAIL, Contact.last_name == "Lovelace")
    ) or _added(Contact(first_name="Ada", last_name="Lovelace", email=ADA_EMAIL, account=account))
    ada = db.session.scalar(select(User).where(User.username == ADA_EMAIL))
    if ada is None:
        ada = _added(
            User(
                username=ADA_EMAIL,
                email=ADA_EMAIL,
                first_name="Ada",
                last_name="Lovelace",
                alias="alove",
                user_type="CspLitePortal",
                contact=contact,
                account=account,
                profile=profile_named(SPEAKER_COMMUNITY_USER),
            )
        )
    elif ada.profile is not None and ada.profile.name == CUSTOMER_COMMUNITY_USER:
        ada.profile = profile_named(SPEAKER_COMMUNITY_USER)  # a demo org seeded before the fix
    # Follows IDP_URL if the IdP moved (other ports); unchanged on a plain re-run.
    if ada.federation_identifier != federation_identifier:
        ada.federation_identifier = federation_identifier
    db.session.flush()
    return ada


def _ada_cases(ada: User) -> None:
    now = utcnow()
    for subject, status, priority, days_ago in ADA_CASES:
        exists = db.session.scalar(
            select(Case.id).where(Case.contact_id == ada.contact_id, Case.subject == subject)
        )
        if exists is not None:
            continue
        created = now - timedelta(days=days_ago)
        db.session.add(
            Case(
                case_number=next_case_number(),
                subject=subject,
                description="Seeded demo case.",
                status=status,
                priority=priority,
                origin="Web",
                contact_id=ada.contact_id,
                account_id=ada.account_id,
                owner_id=ada.id,
                created_date=created,
                created_by_id=ada.id,
                last_modified_date=created,
                last_modified_by_id=ada.id,
                system_modstamp=created,
            )
        )
        db.session.flush()  # each CaseNumber subquery must see the previous insert
