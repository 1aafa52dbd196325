"""Sobject metadata: Salesforce API names over our columns, field types, picklists, relationships,
sharing, and the ``describe`` documents built from them.

The REST layer and the SOQL compiler only see API names through this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Boolean
from sqlalchemy import ColumnElement
from sqlalchemy import String
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import literal_column
from sqlalchemy import null

from mock_sf import ids
from mock_sf.models import Account
from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import Contact
from mock_sf.models import Organization
from mock_sf.models import User
from mock_sf.rest import sharing
from mock_sf.rest.errors import NotFound

# API type -> the type describe() reports (autonumber is a string with autoNumber true).
DESCRIBE_TYPES = {"autonumber": "string"}


@dataclass(frozen=True)
class PicklistEntry:
    """One picklist value as describe() lists it; ``closed`` marks closed Case statuses."""

    value: str
    label: str
    active: bool = True
    default: bool = False
    closed: bool = False


def full_name(first: Any, last: Any) -> ColumnElement[str]:
    """Name as Salesforce composes it. The blanks are SQL literals, not bound parameters, so a
    GROUP BY Name repeats the select's very expression (PostgreSQL compares them as text)."""
    blank, space = literal_column("''", String), literal_column("' '", String)
    return func.trim(func.coalesce(first, blank) + space + last)


def _entries(values: tuple[str, ...], default: str | None = None) -> tuple[PicklistEntry, ...]:
    return tuple(PicklistEntry(value, value, default=value == default) for value in values)


# Stock values (contract §6.4); orgs customize them: config CASE_PICKLISTS overrides per field.
DEFAULT_PICKLISTS: dict[str, tuple[PicklistEntry, ...]] = {
    "Status": (
        *_entries(("New", "Working", "Escalated"), "New"),
        PicklistEntry("Closed", "Closed", closed=True),
    ),
    "Priority": _entries(("High", "Medium", "Low"), "Medium"),
    "Origin": _entries(("Phone", "Email", "Web")),
    "Type": _entries(("Mechanical", "Electrical", "Electronic", "Structural", "Other")),
    "Reason": _entries(
        (
            "Installation",
            "Equipment Complexity",
            "Performance",
            "Breakdown",
            "Equipment Design",
            "Feedback",
            "Other",
        )
    ),
}


def parse_picklist(raw: Any) -> tuple[PicklistEntry, ...]:
    """A configured picklist: a list of values, each a string or a dict like PicklistEntry."""
    entries = []
    for item in raw:
        if isinstance(item, str):
            entries.append(PicklistEntry(item, item))
        else:
            entries.append(
                PicklistEntry(
                    str(item["value"]),
                    str(item.get("label", item["value"])),
                    bool(item.get("active", True)),
                    bool(item.get("default", False)),
                    bool(item.get("closed", False)),
                )
            )
    return tuple(entries)


def picklist(field_name: str) -> tuple[PicklistEntry, ...]:
    """The Case picklist of a field: config CASE_PICKLISTS, else the stock values."""
    configured: Mapping[str, Any] = current_app.config.get("CASE_PICKLISTS") or {}
    if field_name in configured:
        return parse_picklist(configured[field_name])
    return DEFAULT_PICKLISTS.get(field_name, ())


def restricted_picklists() -> bool:
    """Standard picklists are unrestricted in a real org; SF_RESTRICTED_PICKLISTS makes them so."""
    return bool(current_app.config.get("RESTRICTED_PICKLISTS"))


def picklist_default(field_name: str) -> str | None:
    """The value inserted when a create leaves the field out."""
    return next((e.value for e in picklist(field_name) if e.default and e.active), None)


def closed_statuses() -> frozenset[str]:
    """Status values that close a case (IsClosed, ClosedDate)."""
    return frozenset(entry.value for entry in picklist("Status") if entry.closed)


@dataclass(frozen=True, eq=False)  # identity: columns are SQL expressions
class Field:
    """One field as describe() would list it.

    ``type`` is one of id | reference | string | textarea | picklist | boolean | datetime |
    autonumber | email | phone | url | int. ``updateable`` None means "as createable";
    ``external_updateable`` False makes it read-only to external users once the record exists.
    ``default`` is a non-picklist default (IsEscalated false); ``external_id``, ``unique`` and
    ``custom`` as describe reports them.
    """

    name: str
    label: str
    type: str
    column: Any  # the SQL expression
    length: int | None = None
    createable: bool = False
    filterable: bool = True
    picklist: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    updateable: bool | None = None
    nillable: bool = True
    polymorphic: bool = False  # Owner: attributes.type is "Name" in query results
    default: Any = None
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    external_updateable: bool = True

    @property
    def is_updateable(self) -> bool:
        return self.createable if self.updateable is None else self.updateable

    def updateable_by(self, user: User) -> bool:
        """Whether this user may change the field on an existing record."""
        return self.is_updateable and (self.external_updateable or not user.is_external)

    @property
    def is_text(self) -> bool:
        """Compared and sorted case-insensitively; LIKE allowed."""
        return self.type in ("string", "picklist", "email", "phone", "textarea", "url")

    @property
    def is_numeric(self) -> bool:
        """Takes unquoted numbers, SUM and AVG."""
        return self.type == "int"

    @property
    def groupable(self) -> bool:
        """May appear in GROUP BY (datetimes only through date functions, long text never)."""
        return self.filterable and self.type not in ("datetime", "textarea")

    @property
    def aggregatable(self) -> bool:
        """May be counted; MIN and MAX also need an ordered type (aggregate_functions)."""
        return self.filterable

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
class ChildRelationship:
    """A parent-to-child relationship as describe() lists it (``Case.CaseComments``)."""

    name: str  # relationshipName, what a subquery names in FROM
    child_sobject: str
    field: str  # the child's lookup to the parent
    cascade_delete: bool = False
    restricted_delete: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "cascadeDelete": self.cascade_delete,
            "childSObject": self.child_sobject,
            "deprecatedAndHidden": False,
            "field": self.field,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": self.name,
            "restrictedDelete": self.restricted_delete,
        }


# Only children this mock serves; a real org lists many more (Histories, Feeds, Tasks, ...).
CHILD_RELATIONSHIPS: dict[str, tuple[ChildRelationship, ...]] = {
    "Case": (ChildRelationship("CaseComments", "CaseComment", "ParentId", cascade_delete=True),),
    "Account": (
        ChildRelationship("Cases", "Case", "AccountId"),
        ChildRelationship("Contacts", "Contact", "AccountId", cascade_delete=True),
    ),
    "Contact": (ChildRelationship("Cases", "Case", "ContactId", restricted_delete=True),),
}


@dataclass(frozen=True)
class SObject:
    """An object's fields (ordered as the API lists them), its sharing rule and soft delete."""

    name: str
    label: str
    label_plural: str
    model: type
    fields: tuple[Field, ...]
    createable: bool = False
    updateable: bool = False
    deletable: bool = False

    def field(self, name: str) -> Field | None:
        """Field by API name, case-insensitively like Salesforce."""
        lowered = name.lower()
        return next((field for field in self.fields if field.name.lower() == lowered), None)

    def relationship(self, name: str) -> Field | None:
        """The lookup field behind a relationship name (``Contact`` -> ContactId)."""
        lowered = name.lower()
        return next(
            (
                f
                for f in self.fields
                if f.relationship_name and f.relationship_name.lower() == lowered
            ),
            None,
        )

    @property
    def child_relationships(self) -> tuple[ChildRelationship, ...]:
        return CHILD_RELATIONSHIPS.get(self.name, ())

    def child_relationship(self, name: str) -> ChildRelationship | None:
        """A child relationship by name, case-insensitively (``caseComments``)."""
        lowered = name.lower()
        return next((c for c in self.child_relationships if c.name.lower() == lowered), None)

    @property
    def id_column(self) -> Any:
        return self.model.id

    @property
    def key_prefix(self) -> str:
        return ids.KEY_PREFIXES[self.name]

    @property
    def deleted_column(self) -> Any | None:
        """The soft-delete flag, for objects in the recycle bin model."""
        return getattr(self.model, "is_deleted", None)

    def sharing_filter(self, user: User) -> ColumnElement[bool] | None:
        """What an external user may see; None means everything (internal users)."""
        if not user.is_external:
            return None
        mode = current_app.config["CASE_SHARING"]
        if self.model is Case:
            return sharing.case_filter(user, mode)
        if self.model is CaseComment:
            return sharing.case_comment_filter(user, mode)
        if self.model is Contact:
            return sharing.contact_filter(user, mode)
        if self.model is Account:
            return sharing.account_filter(user)
        if self.model is Organization:
            return None
        return self.model.id == user.id


def format_datetime(value: datetime) -> str:
    """Salesforce's datetime format, e.g. 2024-05-01T12:34:56.000+0000 (stored values are UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _ref(name: str, label: str, column: Any, target: str, relationship: str, **kw: Any) -> Field:
    return Field(
        name,
        label,
        "reference",
        column,
        18,
        reference_to=target,
        relationship_name=relationship,
        **kw,
    )


def _audit(model: type) -> tuple[Field, ...]:
    return (
        Field("CreatedDate", "Created Date", "datetime", model.created_date, nillable=False),
        _ref(
            "CreatedById", "Created By ID", model.created_by_id, "User", "CreatedBy", nillable=False
        ),
        Field(
            "LastModifiedDate",
            "Last Modified Date",
            "datetime",
            model.last_modified_date,
            nillable=False,
        ),
        _ref(
            "LastModifiedById",
            "Last Modified By ID",
            model.last_modified_by_id,
            "User",
            "LastModifiedBy",
            nillable=False,
        ),
        Field(
            "SystemModstamp", "System Modstamp", "datetime", model.system_modstamp, nillable=False
        ),
    )


def _picklist(name: str, label: str, column: Any) -> Field:
    return Field(name, label, "picklist", column, 40, True, picklist=True)


CASE = SObject(
    "Case",
    "Case",
    "Cases",
    Case,
    (
        Field("Id", "Case ID", "id", Case.id, 18, nillable=False),
        Field("IsDeleted", "Deleted", "boolean", Case.is_deleted, nillable=False),
        Field("CaseNumber", "Case Number", "autonumber", Case.case_number, 30, nillable=False),
        # A speaker names her contact (and may name her account) when she opens a case, and
        # never moves it after: a case moved to no contact or another would leave her view, or
        # land in a colleague's (choice, org-specific: issue 10).
        _ref(
            "ContactId",
            "Contact ID",
            Case.contact_id,
            "Contact",
            "Contact",
            createable=True,
            external_updateable=False,
        ),
        _ref(
            "AccountId",
            "Account ID",
            Case.account_id,
            "Account",
            "Account",
            createable=True,
            external_updateable=False,
        ),
        _ref("ParentId", "Parent Case ID", Case.parent_id, "Case", "Parent", createable=True),
        Field("SuppliedName", "Name", "string", Case.supplied_name, 80, True, updateable=False),
        Field(
            "SuppliedEmail",
            "Email Address",
            "email",
            Case.supplied_email,
            80,
            True,
            updateable=False,
        ),
        Field("SuppliedPhone", "Phone", "phone", Case.supplied_phone, 40, True, updateable=False),
        Field(
            "SuppliedCompany",
            "Company",
            "string",
            Case.supplied_company,
            80,
            True,
            updateable=False,
        ),
        _picklist("Type", "Case Type", Case.type),
        _picklist("Status", "Status", Case.status),
        _picklist("Reason", "Case Reason", Case.reason),
        _picklist("Origin", "Case Origin", Case.origin),
        Field("Subject", "Subject", "string", Case.subject, 255, True),
        _picklist("Priority", "Priority", Case.priority),
        Field(
            "Description",
            "Description",
            "textarea",
            Case.description,
            32000,
            True,
            filterable=False,
        ),
        Field("IsClosed", "Closed", "boolean", Case.is_closed, nillable=False),
        Field("ClosedDate", "Closed Date", "datetime", Case.closed_date),
        Field(
            "IsEscalated",
            "Escalated",
            "boolean",
            Case.is_escalated,
            createable=True,
            nillable=False,
            default=False,
        ),
        # Write-only: a value inserts a CaseComment; reading it always gives null.
        Field(
            "Comments",
            "Internal Comments",
            "textarea",
            null(),
            4000,
            True,
            filterable=False,
        ),
        _ref(
            "OwnerId",
            "Owner ID",
            Case.owner_id,
            "User",
            "Owner",
            createable=True,
            nillable=False,
            polymorphic=True,
        ),
        *_audit(Case),
        Field(
            "Portal_Request_Id__c",
            "Portal Request ID",
            "string",
            Case.portal_request_id,
            64,
            True,
            external_id=True,
            unique=True,
            custom=True,
        ),
    ),
    createable=True,
    updateable=True,
    deletable=True,
)

CASE_COMMENT = SObject(
    "CaseComment",
    "Case Comment",
    "Case Comments",
    CaseComment,
    (
        Field("Id", "Case Comment ID", "id", CaseComment.id, 18, nillable=False),
        _ref(
            "ParentId",
            "Parent Case ID",
            CaseComment.parent_id,
            "Case",
            "Parent",
            createable=True,
            updateable=False,
            nillable=False,
        ),
        Field("IsPublished", "Published", "boolean", CaseComment.is_published, createable=True),
        Field(
            "CommentBody",
            "Body",
            "textarea",
            CaseComment.comment_body,
            4000,
            True,
            filterable=False,
        ),
        *_audit(CaseComment),
        Field("IsDeleted", "Deleted", "boolean", CaseComment.is_deleted, nillable=False),
    ),
    createable=True,
)

USER = SObject(
    "User",
    "User",
    "Users",
    User,
    (
        Field("Id", "User ID", "id", User.id, 18, nillable=False),
        Field("Username", "Username", "string", User.username, 80, nillable=False),
        Field("LastName", "Last Name", "string", User.last_name, 80, nillable=False),
        Field("FirstName", "First Name", "string", User.first_name, 40),
        Field(
            "Name",
            "Full Name",
            "string",
            full_name(User.first_name, User.last_name),
            121,
            nillable=False,
        ),
        Field("Alias", "Alias", "string", User.alias, 8),
        Field("Email", "Email", "email", User.email, 128, nillable=False),
        Field("UserType", "User Type", "picklist", User.user_type, 40),
        Field("IsActive", "Active", "boolean", User.is_active, nillable=False),
        Field("LocaleSidKey", "Locale", "string", User.locale, 40),
        _ref("ContactId", "Contact ID", User.contact_id, "Contact", "Contact"),
        _ref("AccountId", "Account ID", User.account_id, "Account", "Account"),
        Field(
            "FederationIdentifier", "SAML Federation ID", "string", User.federation_identifier, 512
        ),
        Field("CreatedDate", "Created Date", "datetime", User.created_date),
    ),
)


def _modified(model: type) -> tuple[Field, ...]:
    """The audit dates a Contact or Account keeps (its creator and modifier are not stored)."""
    return (
        Field("CreatedDate", "Created Date", "datetime", model.created_date, nillable=False),
        Field(
            "LastModifiedDate",
            "Last Modified Date",
            "datetime",
            model.last_modified_date,
            nillable=False,
        ),
        Field(
            "SystemModstamp", "System Modstamp", "datetime", model.system_modstamp, nillable=False
        ),
    )


# Read-only here: the token handler creates them (REST create/update stays Case and comments).
CONTACT = SObject(
    "Contact",
    "Contact",
    "Contacts",
    Contact,
    (
        Field("Id", "Contact ID", "id", Contact.id, 18, nillable=False),
        _ref("AccountId", "Account ID", Contact.account_id, "Account", "Account"),
        Field("LastName", "Last Name", "string", Contact.last_name, 80, nillable=False),
        Field("FirstName", "First Name", "string", Contact.first_name, 40),
        Field(
            "Name",
            "Full Name",
            "string",
            full_name(Contact.first_name, Contact.last_name),
            121,
            nillable=False,
        ),
        Field("Phone", "Business Phone", "phone", Contact.phone, 40),
        Field("Email", "Email", "email", Contact.email, 80),
        Field("Title", "Title", "string", Contact.title, 128),
        *_modified(Contact),
    ),
)
ACCOUNT = SObject(
    "Account",
    "Account",
    "Accounts",
    Account,
    (
        Field("Id", "Account ID", "id", Account.id, 18, nillable=False),
        Field("Name", "Account Name", "string", Account.name, 255, nillable=False),
        Field("Phone", "Account Phone", "phone", Account.phone, 40),
        Field("Website", "Website", "url", Account.website, 255),
        Field("NumberOfEmployees", "Employees", "int", Account.number_of_employees),
        *_modified(Account),
    ),
)

PARENTS = {sobject.name: sobject for sobject in (CASE, USER, CONTACT, ACCOUNT)}


# The org itself (simple-salesforce's is_sandbox() reads IsSandbox), readable by every user.
ORGANIZATION = SObject(
    "Organization",
    "Organization",
    "Organizations",
    Organization,
    (
        Field("Id", "Organization ID", "id", Organization.id, 18, nillable=False),
        Field("Name", "Name", "string", Organization.name, 80, nillable=False),
        Field("IsSandbox", "Is Sandbox", "boolean", literal(False, Boolean), nillable=False),
        Field(
            "OrganizationType",
            "Edition",
            "picklist",
            literal("Developer Edition", String),
            40,
        ),
        Field("InstanceName", "Instance Name", "string", literal("MOCK1", String), 5),
    ),
)
# In name order, as the global describe lists them.
SOBJECTS = {
    sobject.name.lower(): sobject
    for sobject in (ACCOUNT, CASE, CASE_COMMENT, CONTACT, ORGANIZATION, USER)
}


def get_sobject(name: str) -> SObject | None:
    """A queryable object by API name, case-insensitively."""
    return SOBJECTS.get(name.lower())


# ---------------------------------------------------------------- describe documents


def object_urls(sobject: SObject, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {"rowTemplate": f"{base}/{{ID}}", "describe": f"{base}/describe", "sobject": base}


def object_summary(sobject: SObject, version: str) -> dict[str, Any]:
    """The object's entry in ``sobjects/`` and ``sobjects/{name}``'s ``objectDescribe``."""
    return {
        "createable": sobject.createable,
        "custom": False,
        "deletable": sobject.deletable,
        "keyPrefix": sobject.key_prefix,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "name": sobject.name,
        "queryable": True,
        "retrieveable": True,
        "updateable": sobject.updateable,
        "urls": object_urls(sobject, version),
    }


def describe_field(field: Field, user: User) -> dict[str, Any]:
    """One ``fields[]`` entry as this user may use it (keys in Salesforce's alphabetical order)."""
    entries = picklist(field.name) if field.picklist else ()
    default = next((e.value for e in entries if e.default), field.default)
    return {
        "aggregatable": field.aggregatable,
        "autoNumber": field.type == "autonumber",
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": default,
        "defaultedOnCreate": default is not None or not field.nillable,
        "externalId": field.external_id,
        "filterable": field.filterable,
        "groupable": field.groupable,
        "label": field.label,
        "length": field.length if field.type not in ("boolean", "datetime", "int") else 0,
        "name": field.name,
        "nillable": field.nillable,
        "picklistValues": [
            {
                "active": e.active,
                "defaultValue": e.default,
                "label": e.label,
                "validFor": None,
                "value": e.value,
            }
            for e in entries
        ],
        "polymorphicForeignKey": field.polymorphic,
        "referenceTo": (
            ["Group", "User"]
            if field.polymorphic
            else [field.reference_to]
            if field.reference_to
            else []
        ),
        "relationshipName": field.relationship_name,
        "restrictedPicklist": field.picklist and restricted_picklists(),
        "sortable": field.filterable,
        "type": DESCRIBE_TYPES.get(field.type, field.type),
        "unique": field.unique,
        "updateable": field.updateable_by(user),
    }


def describe(sobject: SObject, version: str, user: User) -> dict[str, Any]:
    """``GET sobjects/{name}/describe``: like Salesforce's, it reflects the caller's
    field-level security."""
    document = object_summary(sobject, version)
    document["childRelationships"] = [child.describe() for child in sobject.child_relationships]
    document["fields"] = [describe_field(field, user) for field in sobject.fields]
    return dict(sorted(document.items()))


def described(name: str) -> SObject:
    """A queryable object by name, else NOT_FOUND."""
    sobject = get_sobject(name)
    if sobject is None:
        raise NotFound()
    return sobject


def global_describe(version: str) -> dict[str, Any]:
    """``GET sobjects/``."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(s, version) for s in SOBJECTS.values()],
    }


def basic_info(name: str, version: str) -> dict[str, Any]:
    """``GET sobjects/{name}/``: the summary and the recently viewed records (none here)."""
    return {"objectDescribe": object_summary(described(name), version), "recentItems": []}


def full_describe(name: str, version: str, user: User) -> dict[str, Any]:
    """``GET sobjects/{name}/describe`` for this user."""
    return describe(described(name), version, user)
