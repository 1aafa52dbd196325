"""A connected app's Permitted Users policy, checked on token exchange and refresh (contract
§2.2, §3.4).

"Admin approved users are pre-authorized": the user's profile must be one the app lists.
"All users may self-authorize": the user must have approved the app before; the token exchange
flow has no consent page, so without a stored approval it fails. Either way the client sees
``invalid_grant`` "user hasn't approved this consumer".
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy import select

from mock_sf.models import ConnectedApp
from mock_sf.models import ConnectedAppProfile
from mock_sf.models import OAuthApproval
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.errors import InvalidGrant
from mock_sf.org_config import AppSettings

SELF_AUTHORIZE = "all_users_may_self_authorize"
ADMIN_APPROVED = "admin_approved_users_are_pre_authorized"
POLICIES = {
    SELF_AUTHORIZE: "All users may self-authorize",
    ADMIN_APPROVED: "Admin approved users are pre-authorized",
}
NOT_APPROVED = "user hasn't approved this consumer"


def policy(app: ConnectedApp | AppSettings) -> str:
    """The app's policy; rows older than the setting have Salesforce's default."""
    return app.permitted_users or SELF_AUTHORIZE


def preauthorized_profile_ids(app: ConnectedApp) -> set[str]:
    """Ids of the profiles pre-authorized for the app (Setup; the token endpoint has them
    cached on AppSettings)."""
    return set(
        db.session.scalars(
            select(ConnectedAppProfile.profile_id).where(ConnectedAppProfile.app_id == app.id)
        )
    )


def profile_id_of(user: User) -> str | None:
    """The user's profile id, without loading the profile: an assigned one wins over the column."""
    assigned = inspect(user).dict.get("profile")
    return assigned.id if assigned is not None else user.profile_id


def check_permitted(app: AppSettings, user: User) -> None:
    """Refuse a user the app's Permitted Users policy does not admit."""
    if policy(app) == ADMIN_APPROVED:
        profile_id = profile_id_of(user)
        if profile_id is None or profile_id not in app.preauthorized_profile_ids:
            name = user.profile.name if user.profile is not None else "none"
            raise InvalidGrant(
                NOT_APPROVED,
                reason=f"profile {name!r} of {user.username} is not pre-authorized for"
                f" {app.developer_name}",
            )
        return
    approved = db.session.scalar(
        select(OAuthApproval.id).where(
            OAuthApproval.user_id == user.id, OAuthApproval.app_id == app.id
        )
    )
    if approved is None:
        raise InvalidGrant(
            NOT_APPROVED,
            reason=f"{app.developer_name} lets users self-authorize and {user.username} has no"
            " stored approval (token exchange has no consent step)",
        )


def set_policy(app: ConnectedApp, permitted_users: str, profile_ids: set[str]) -> None:
    """Save the policy and the pre-authorized profiles (the caller commits)."""
    if permitted_users not in POLICIES:
        raise ValueError(f"unknown permitted users policy {permitted_users!r}")
    app.permitted_users = permitted_users
    current = {
        row.profile_id: row
        for row in db.session.scalars(
            select(ConnectedAppProfile).where(ConnectedAppProfile.app_id == app.id)
        )
    }
    for profile_id, row in current.items():
        if profile_id not in profile_ids:
            db.session.delete(row)
    for profile_id in profile_ids - current.keys():
        db.session.add(ConnectedAppProfile(app_id=app.id, profile_id=profile_id))
