"""Which cases, contacts and accounts an external (community) user may see, per the org's
``CASE_SHARING``.

``contact_or_account`` (default): cases of her contact or of her account, the usual
Experience Cloud sharing set for Customer Community users. ``contact``: her contact's cases
only. Internal users see everything. Comments follow their parent case (contract §8). She
reads her own Contact and Account, and by account her colleagues' contacts too.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select

from mock_sf.models import Account
from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import Contact
from mock_sf.models import User

CONTACT_OR_ACCOUNT = "contact_or_account"
CONTACT = "contact"


def shared_account_id(user: User, mode: str) -> str | None:
    """The account whose cases the user sees too, if the mode shares by account."""
    return user.account_id if mode == CONTACT_OR_ACCOUNT else None


def case_filter(user: User, mode: str) -> ColumnElement[bool]:
    """``ContactId = her contact OR AccountId = her account`` (the second only by account)."""
    conditions = []
    if user.contact_id:
        conditions.append(Case.contact_id == user.contact_id)
    account_id = shared_account_id(user, mode)
    if account_id:
        conditions.append(Case.account_id == account_id)
    return or_(*conditions) if conditions else false()


def case_comment_filter(user: User, mode: str) -> ColumnElement[bool]:
    """Comments on cases she sees, published or her own."""
    visible_cases = select(Case.id).where(case_filter(user, mode))
    return CaseComment.parent_id.in_(visible_cases) & or_(
        CaseComment.is_published.is_(True), CaseComment.created_by_id == user.id
    )


def contact_filter(user: User, mode: str) -> ColumnElement[bool]:
    """Her own contact and, when cases are shared by account, her account's contacts."""
    conditions = []
    if user.contact_id:
        conditions.append(Contact.id == user.contact_id)
    account_id = shared_account_id(user, mode)
    if account_id:
        conditions.append(Contact.account_id == account_id)
    return or_(*conditions) if conditions else false()


def account_filter(user: User) -> ColumnElement[bool]:
    """Her own account only."""
    return Account.id == user.account_id if user.account_id else false()


def may_use_contact(user: User, contact: Contact, mode: str) -> bool:
    """An external user may put her own contact on a case, or (by account) a colleague's."""
    if contact.id == user.contact_id:
        return True
    account_id = shared_account_id(user, mode)
    return account_id is not None and contact.account_id == account_id
