"""Profiles: the standard ones every org has, and which profile a user gets.

Salesforce requires ``ProfileId`` on every User. A just-in-time user gets the profile its handler
set, else its handler record's profile, else the org's ``JIT_PROFILE``.
"""

from __future__ import annotations

from sqlalchemy import select

from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db

SYSTEM_ADMINISTRATOR = "System Administrator"
STANDARD_USER = "Standard User"
CUSTOMER_COMMUNITY_USER = "Customer Community User"
# name -> user license, as in a new org.
STANDARD_PROFILES = {
    SYSTEM_ADMINISTRATOR: "Salesforce",
    STANDARD_USER: "Salesforce",
    CUSTOMER_COMMUNITY_USER: "Customer Community",
}


class UnknownProfile(LookupError):
    """No profile of that name in the org."""


def seed_profiles() -> None:
    """Create the standard profiles that are missing (idempotent)."""
    present = set(db.session.scalars(select(Profile.name)))
    for name, license_name in STANDARD_PROFILES.items():
        if name not in present:
            db.session.add(Profile(name=name, user_license=license_name))
    db.session.flush()


def profile_named(name: str) -> Profile:
    """The profile with this exact name."""
    profile = db.session.scalar(select(Profile).where(Profile.name == name))
    if profile is None:
        raise UnknownProfile(f"no profile named {name!r}")
    return profile


def all_profiles() -> list[Profile]:
    """Every profile, by name."""
    return list(db.session.scalars(select(Profile).order_by(Profile.name)))


def backfill_user_profiles(jit_profile: str, admin_username: str | None = None) -> None:
    """Give every user without a profile one: external users the JIT profile, the demo admin
    System Administrator, other internal users Standard User (databases older than profiles)."""
    for user in db.session.scalars(select(User).where(User.profile_id.is_(None))):
        if user.is_external:
            name = jit_profile
        elif user.username == admin_username:
            name = SYSTEM_ADMINISTRATOR
        else:
            name = STANDARD_USER
        user.profile = profile_named(name)
    db.session.flush()


def assign_jit_profile(user: User, handler: OauthTokenExchangeHandler, org_default: str) -> None:
    """A new user keeps the profile its handler set; else the handler record's, else the org's."""
    if user.profile_id is not None or user.profile is not None:
        return
    if handler.jit_profile_id is not None:
        user.profile_id = handler.jit_profile_id
    else:
        user.profile = profile_named(org_default)
