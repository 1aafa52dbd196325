"""Profiles and permission sets: the standard profiles every org has, which profile a user gets,
and the platform rules on external profiles that a copied integration meets in a real org.

Salesforce requires ``ProfileId`` on every User. A just-in-time user gets the profile its handler
set, else its handler record's profile, else the org's ``JIT_PROFILE``. Three release updates
shape external users (Experience Cloud speakers):

- Summer '19: API Enabled is off on standard and cloned external profiles; REST answers 403
  ``API_DISABLED_FOR_ORG`` until a cloned profile or a permission set grants it.
- Spring '20: standard external profiles cannot be given to new users (self-registration, JIT),
  unless the org allows it (Digital Experiences settings; ``ALLOW_STANDARD_EXTERNAL_PROFILES``).
- Spring '21: users with standard external profiles cannot log in to Experience Cloud sites.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import exists
from sqlalchemy import select

from mock_sf.models import PermissionSet
from mock_sf.models import PermissionSetAssignment
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db

SYSTEM_ADMINISTRATOR = "System Administrator"
STANDARD_USER = "Standard User"
CUSTOMER_COMMUNITY_USER = "Customer Community User"
# The demo's fix for the rules above: a clone of Customer Community User with API Enabled.
SPEAKER_COMMUNITY_USER = "Speaker Community User"
# The permission set alternative: API Enabled for users who keep their profile.
SPEAKER_API_ACCESS = "Speaker_API_Access"
# name -> (user license, API Enabled), as in a new org (API Enabled per Summer '19).
STANDARD_PROFILES = {
    SYSTEM_ADMINISTRATOR: ("Salesforce", True),
    STANDARD_USER: ("Salesforce", True),
    CUSTOMER_COMMUNITY_USER: ("Customer Community", False),
}
INTERNAL_LICENSES = frozenset({"Salesforce", "Salesforce Platform"})


class UnknownProfile(LookupError):
    """No profile of that name in the org."""


class ProfileNotAllowed(Exception):
    """A platform rule refuses this profile for what is being done with it."""


class ProfileFields(Protocol):
    """What the platform rules read of a profile (a Profile, or its cached copy)."""

    name: str
    user_license: str
    is_custom: bool


def is_standard_external(profile: ProfileFields) -> bool:
    """A standard (not cloned) profile of an external license."""
    return not profile.is_custom and profile.user_license not in INTERNAL_LICENSES


def seed_profiles() -> None:
    """Create the standard profiles that are missing; their permissions are the platform's."""
    present = {p.name: p for p in db.session.scalars(select(Profile))}
    for name, (license_name, api_enabled) in STANDARD_PROFILES.items():
        profile = present.get(name) or Profile(name=name, user_license=license_name)
        # Standard profiles' system permissions are fixed, older databases included.
        profile.api_enabled, profile.is_custom = api_enabled, False
        db.session.add(profile)
    db.session.flush()


def clone_profile(source: Profile, name: str, *, api_enabled: bool | None = None) -> Profile:
    """A custom profile with the source's license and permissions (Setup's Clone)."""
    if db.session.scalar(select(Profile.id).where(Profile.name == name)) is not None:
        raise ProfileNotAllowed(f"A profile named {name!r} already exists.")
    clone = Profile(
        name=name,
        user_license=source.user_license,
        api_enabled=source.api_enabled if api_enabled is None else api_enabled,
        is_custom=True,
    )
    db.session.add(clone)
    db.session.flush()
    return clone


def set_api_enabled(profile: Profile, enabled: bool) -> None:
    """Edit a custom profile's API Enabled; a standard profile's permissions are read-only."""
    if not profile.is_custom:
        raise ProfileNotAllowed(
            f"{profile.name} is a standard profile: its system permissions cannot be edited."
            " Clone it, or grant API Enabled with a permission set."
        )
    profile.api_enabled = enabled


def seed_permission_set(name: str, label: str, *, api_enabled: bool) -> PermissionSet:
    """The permission set named ``name``, added if missing (idempotent)."""
    permission_set = db.session.scalar(select(PermissionSet).where(PermissionSet.name == name))
    if permission_set is None:
        permission_set = PermissionSet(name=name, label=label, api_enabled=api_enabled)
        db.session.add(permission_set)
        db.session.flush()
    return permission_set


def assign_permission_set(user: User, permission_set: PermissionSet) -> None:
    """Assign once (PermissionSetAssignment is unique per user and set)."""
    assigned = db.session.scalar(
        select(PermissionSetAssignment.id).where(
            PermissionSetAssignment.assignee_id == user.id,
            PermissionSetAssignment.permission_set_id == permission_set.id,
        )
    )
    if assigned is None:
        db.session.add(
            PermissionSetAssignment(assignee_id=user.id, permission_set_id=permission_set.id)
        )


def set_permission_sets(user: User, permission_set_ids: set[str]) -> None:
    """Assign exactly these of the org's permission sets to the user (the caller commits)."""
    wanted = permission_set_ids & {ps.id for ps in all_permission_sets()}
    current = {
        row.permission_set_id: row
        for row in db.session.scalars(
            select(PermissionSetAssignment).where(PermissionSetAssignment.assignee_id == user.id)
        )
    }
    for permission_set_id, row in current.items():
        if permission_set_id not in wanted:
            db.session.delete(row)
    for permission_set_id in wanted - current.keys():
        db.session.add(
            PermissionSetAssignment(assignee_id=user.id, permission_set_id=permission_set_id)
        )


def api_enabled(user: User) -> bool:
    """API Enabled through the user's profile or any permission set assigned to her."""
    if user.profile is not None and user.profile.api_enabled:
        return True
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    PermissionSetAssignment.assignee_id == user.id,
                    PermissionSetAssignment.permission_set_id == PermissionSet.id,
                    PermissionSet.api_enabled.is_(True),
                )
            )
        )
    )


def profile_named(name: str) -> Profile:
    """The profile with this exact name."""
    profile = db.session.scalar(select(Profile).where(Profile.name == name))
    if profile is None:
        raise UnknownProfile(f"no profile named {name!r}")
    return profile


def all_profiles() -> list[Profile]:
    """Every profile, by name."""
    return list(db.session.scalars(select(Profile).order_by(Profile.name)))


def all_permission_sets() -> list[PermissionSet]:
    """Every permission set, by label."""
    return list(db.session.scalars(select(PermissionSet).order_by(PermissionSet.label)))


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


def assign_jit_profile(
    user: User,
    handler_profile_id: str | None,
    org_default: str,
    *,
    allow_standard_external: bool = False,
) -> None:
    """A new user keeps the profile its handler set; else its handler record's
    (``handler_profile_id``), else the org's.

    Raises ProfileNotAllowed for a standard external profile (Spring '20) or a missing one.
    """
    if user.profile is None and user.profile_id is not None:
        user.profile = db.session.get(Profile, user.profile_id)
    elif user.profile is None and handler_profile_id is not None:
        user.profile = db.session.get(Profile, handler_profile_id)
    elif user.profile is None:
        try:
            user.profile = profile_named(org_default)
        except UnknownProfile as exc:
            raise ProfileNotAllowed(f"user creation failed: {exc} (SF_JIT_PROFILE)") from exc
    profile = user.profile
    if profile is None:
        raise ProfileNotAllowed(
            "user creation failed: the handler set a profile id that is unknown"
        )
    if is_standard_external(profile) and not allow_standard_external:
        raise ProfileNotAllowed(
            f"user creation failed: {profile.name!r} is a standard external profile, which new"
            " users cannot get since Spring '20; give the handler a cloned profile (Setup >"
            " Profiles > Clone) or allow standard external profiles in Digital Experiences"
            " settings (SF_ALLOW_STANDARD_EXTERNAL_PROFILES)"
        )


def check_site_login(user: User, profile: ProfileFields | None) -> None:
    """Spring '21: a user with a standard external profile cannot log in to a site."""
    if profile is not None and is_standard_external(profile):
        raise ProfileNotAllowed(
            f"{user.username} has the standard external profile {profile.name!r}, which"
            " cannot log in to Experience Cloud sites since Spring '21; assign a cloned profile"
        )
