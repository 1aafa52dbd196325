"""Sobject metadata: Salesforce API names over our columns, field types, picklists, sharing.

The REST layer and the SOQL compiler only see API names through this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import false
from sqlalchemy import func

from mock_sf.models import Case
from mock_sf.models import User

CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CLOSED_STATUSES = frozenset({"Closed"})
CASE_PRIORITIES = ("High", "Medium", "Low")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_TYPES = ("Mechanical", "Electrical", "Electronic", "Structural", "Other")


@dataclass(frozen=True, eq=False)  # identity: columns are SQL expressions
class Field:
    """One field as describe() would list it."""

    name: str
    label: str
    type: str  # id | reference | string | textarea | picklist | boolean | datetime | autonumber
    column: Any  # the SQL expression
    length: int | None = None
    createable: bool = False
    filterable: bool = True
    picklist: tuple[str, ...] = ()
    default: str | None = None
    reference_to: str | None = None

    def to_api(self, value: Any) -> Any:
        """A stored value as the REST API shows it."""
        if value is None:
            return None
        if self.type == "datetime":
            return format_datetime(value)
        if self.type == "autonumber":
            return f"{value:08d}"
        return value


@dataclass(frozen=True)
class SObject:
    """An object's fields (ordered as the API lists them) and its sharing rule."""

    name: str
    model: type
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        """Field by API name, case-insensitively like Salesforce."""
        lowered = name.lower()
        return next((field for field in self.fields if field.name.lower() == lowered), None)

    @property
    def id_column(self) -> Any:
        return self.model.id

    def sharing_filter(self, user: User) -> ColumnElement[bool] | None:
        """What an external user may see; None means everything (internal users)."""
        if not user.is_external:
            return None
        if self.model is Case:
            return Case.contact_id == user.contact_id if user.contact_id else false()
        return self.model.id == user.id


def format_datetime(value: datetime) -> str:
    """Salesforce's datetime format, e.g. 2024-05-01T12:34:56.000+0000 (stored values are UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _audit(model: type) -> tuple[Field, ...]:
    return (
        Field("CreatedDate", "Created Date", "datetime", model.created_date),
        Field(
            "CreatedById",
            "Created By ID",
            "reference",
            model.created_by_id,
            18,
            reference_to="User",
        ),
        Field("LastModifiedDate", "Last Modified Date", "datetime", model.last_modified_date),
        Field(
            "LastModifiedById",
            "Last Modified By ID",
            "reference",
            model.last_modified_by_id,
            18,
            reference_to="User",
        ),
        Field("SystemModstamp", "System Modstamp", "datetime", model.system_modstamp),
    )


CASE = SObject(
    "Case",
    Case,
    (
        Field("Id", "Case ID", "id", Case.id, 18),
        Field("CaseNumber", "Case Number", "autonumber", Case.case_number, 30),
        Field(
            "ContactId",
            "Contact ID",
            "reference",
            Case.contact_id,
            18,
            True,
            reference_to="Contact",
        ),
        Field("AccountId", "Account ID", "reference", Case.account_id, 18, reference_to="Account"),
        Field("Type", "Case Type", "picklist", Case.type, 255, True, picklist=CASE_TYPES),
        Field(
            "Status",
            "Status",
            "picklist",
            Case.status,
            255,
            True,
            picklist=CASE_STATUSES,
            default="New",
        ),
        Field("Origin", "Case Origin", "picklist", Case.origin, 255, True, picklist=CASE_ORIGINS),
        Field("Subject", "Subject", "string", Case.subject, 255, True),
        Field(
            "Priority",
            "Priority",
            "picklist",
            Case.priority,
            255,
            True,
            picklist=CASE_PRIORITIES,
            default="Medium",
        ),
        Field(
            "Description",
            "Description",
            "textarea",
            Case.description,
            32000,
            True,
            filterable=False,
        ),
        Field("IsClosed", "Closed", "boolean", Case.is_closed),
        Field("OwnerId", "Owner ID", "reference", Case.owner_id, 18, reference_to="User"),
        *_audit(Case),
    ),
)

USER = SObject(
    "User",
    User,
    (
        Field("Id", "User ID", "id", User.id, 18),
        Field("Username", "Username", "string", User.username, 80),
        Field("LastName", "Last Name", "string", User.last_name, 80),
        Field("FirstName", "First Name", "string", User.first_name, 40),
        Field(
            "Name",
            "Full Name",
            "string",
            func.trim(func.coalesce(User.first_name, "") + " " + User.last_name),
            121,
        ),
        Field("Alias", "Alias", "string", User.alias, 8),
        Field("Email", "Email", "string", User.email, 128),
        Field("UserType", "User Type", "picklist", User.user_type, 40),
        Field("IsActive", "Active", "boolean", User.is_active),
        Field("LocaleSidKey", "Locale", "string", User.locale, 40),
        Field("ContactId", "Contact ID", "reference", User.contact_id, 18, reference_to="Contact"),
        Field("AccountId", "Account ID", "reference", User.account_id, 18, reference_to="Account"),
        Field(
            "FederationIdentifier", "SAML Federation ID", "string", User.federation_identifier, 512
        ),
        Field("CreatedDate", "Created Date", "datetime", User.created_date),
    ),
)

SOBJECTS = {sobject.name.lower(): sobject for sobject in (CASE, USER)}


def get_sobject(name: str) -> SObject | None:
    """An object by API name, case-insensitively."""
    return SOBJECTS.get(name.lower())
