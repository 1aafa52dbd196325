"""``sobjects/``: Case create / retrieve / update / delete, CaseComment create / retrieve, User
retrieve (REST API, contract §6.2-6.4). Sharing holds for every verb.

Writes flush and never commit: the request commits (rest/__init__.py), so Composite and
sObject Collections can roll a whole call back.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from mock_sf import ids
from mock_sf.models import Account
from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import Contact
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import next_case_number
from mock_sf.models import utcnow
from mock_sf.rest import records
from mock_sf.rest import sharing
from mock_sf.rest.describe import CASE
from mock_sf.rest.describe import CASE_COMMENT
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject
from mock_sf.rest.describe import closed_statuses
from mock_sf.rest.describe import get_sobject
from mock_sf.rest.describe import picklist
from mock_sf.rest.describe import picklist_default
from mock_sf.rest.describe import restricted_picklists
from mock_sf.rest.errors import DuplicateValue
from mock_sf.rest.errors import EntityIsDeleted
from mock_sf.rest.errors import InactiveOwnerOrUser
from mock_sf.rest.errors import InsufficientAccessOnCrossReference
from mock_sf.rest.errors import InvalidField
from mock_sf.rest.errors import InvalidFieldForInsertUpdate
from mock_sf.rest.errors import InvalidPicklistValue
from mock_sf.rest.errors import JsonParserError
from mock_sf.rest.errors import MalformedId
from mock_sf.rest.errors import NotFound
from mock_sf.rest.errors import RequiredFieldMissing
from mock_sf.rest.errors import StringTooLong
from mock_sf.rest.errors import load_json
from mock_sf.rest.soql import field_list

# Subject is not required in a real org (Object Reference, Case); CaseComment needs a parent.
REQUIRED_FIELDS = {"CaseComment": ("ParentId", "CommentBody")}


def parse_body(text: str, sobject: SObject = CASE) -> dict[str, Any]:
    """The JSON object of a create or update request, or JSON_PARSER_ERROR."""
    body = load_json(text)
    return json_object(body, sobject)


def json_object(body: Any, sobject: SObject) -> dict[str, Any]:
    """A decoded body that must be one record's field map."""
    if not isinstance(body, dict):
        raise JsonParserError(
            f"Cannot deserialize instance of {sobject.name} from {type(body).__name__}"
        )
    return body


def field_values(
    sobject: SObject, body: dict[str, Any], user: User, *, creating: bool
) -> dict[str, Any]:
    """API name -> value after Salesforce's field checks for this user's insert or update: the
    one place every write (sobjects, upsert, Collections, Composite) meets the field rules."""
    values: dict[str, Any] = {}
    read_only: list[str] = []
    for name, value in body.items():
        if name == "attributes":  # clients echo the record's attributes; Salesforce ignores them
            continue
        field = sobject.field(name)
        if field is not None and field.name == "Id":
            raise InvalidField("The Id field should not be specified in the sobject data.")
        if field is None:
            raise InvalidField(f"No such column '{name}' on sobject of type {sobject.name}")
        if not (field.createable if creating else field.updateable_by(user)):
            read_only.append(field.name)  # refused whatever the value, null included
        values[field.name] = json_value(field, value)
    if read_only:
        raise InvalidFieldForInsertUpdate(
            f"Unable to create/update fields: {', '.join(read_only)}. Please check the security"
            " settings of this field and verify that it is read/write for your profile or"
            " permission set.",
            read_only,
        )
    required = REQUIRED_FIELDS.get(sobject.name, ()) if creating else ()
    for name in required:
        if values.get(name) is None:
            raise RequiredFieldMissing(f"Required fields are missing: [{name}]", [name])
    for name, value in values.items():
        check_value(sobject.field(name), value)  # type: ignore[arg-type]
    return values


def json_value(field: Field, value: Any) -> Any:
    """A JSON value of the field's type ("" means null, as Salesforce stores it)."""
    kind = "boolean" if field.type == "boolean" else "string"
    expected = bool if kind == "boolean" else str
    if value is not None and not isinstance(value, expected):
        raise JsonParserError(
            f"Cannot deserialize instance of {kind} from {type(value).__name__} value for"
            f" field {field.name}"
        )
    if field.type == "boolean":
        return bool(value)
    return value or None


def check_value(field: Field, value: Any) -> None:
    """Length, and the picklist values when SF_RESTRICTED_PICKLISTS restricts them."""
    if value is None or field.type == "boolean":
        return
    if (
        field.picklist
        and restricted_picklists()
        and value not in {e.value for e in picklist(field.name) if e.active}
    ):
        raise InvalidPicklistValue(
            f"{field.label}: bad value for restricted picklist field: {value}", [field.name]
        )
    if field.length is not None and len(value) > field.length:
        raise StringTooLong(
            f"{field.label}: data value too large: {value[:40]}... (max length={field.length})",
            [field.name],
        )


def reference_id(sobject: SObject, field_name: str, raw_id: str) -> str:
    """The 18-char id in a lookup field, or MALFORMED_ID naming the field."""
    field = sobject.field(field_name)
    assert field is not None and field.reference_to is not None
    try:
        return ids.normalize(raw_id, ids.KEY_PREFIXES[field.reference_to])
    except ids.MalformedId:
        raise MalformedId(
            f"{field.label}: id value of incorrect type: {raw_id}", [field.name]
        ) from None


def no_access(raw_id: str) -> InsufficientAccessOnCrossReference:
    """Salesforce answers a reference you cannot see like one that does not exist."""
    return InsufficientAccessOnCrossReference(
        f"insufficient access rights on cross-reference id: {raw_id}", []
    )


def visible_contact(raw_id: str | None, user: User) -> Contact | None:
    """The case's contact: the external user's own by default; another only within her
    account when cases are shared by account (rest/sharing.py)."""
    if raw_id is None:
        return user.contact if user.is_external else None
    contact = db.session.get(Contact, reference_id(CASE, "ContactId", raw_id))
    mode = current_app.config["CASE_SHARING"]
    if contact is None or (user.is_external and not sharing.may_use_contact(user, contact, mode)):
        raise no_access(raw_id)
    return contact


def visible_account(raw_id: str, user: User) -> Account:
    """An explicit AccountId: an external user may name only her own account (choice: else
    a case could be shared into another company's view)."""
    account = db.session.get(Account, reference_id(CASE, "AccountId", raw_id))
    if account is None or (user.is_external and account.id != user.account_id):
        raise no_access(raw_id)
    return account


def case_owner(raw_id: str, user: User) -> User:
    """An explicit OwnerId: an active user; an external user may name only herself (choice:
    without "Transfer Cases" a community user cannot give a case away)."""
    owner = db.session.get(User, reference_id(CASE, "OwnerId", raw_id))
    if owner is None or (user.is_external and owner.id != user.id):
        raise no_access(raw_id)
    if not owner.is_active:
        raise InactiveOwnerOrUser(
            f"operation performed with inactive user [{owner.id}] as owner of case", []
        )
    return owner


def parent_case(raw_id: str, user: User) -> Case:
    """An explicit ParentId: a case the user can see."""
    try:
        return visible_case(reference_id(CASE, "ParentId", raw_id), user)
    except NotFound:
        raise no_access(raw_id) from None


def check_unique(value: str | None, case_id: str | None) -> None:
    """Portal_Request_Id__c is Unique, case-insensitively (Salesforce's default)."""
    if value is None:
        return
    stmt = select(Case.id).where(func.lower(Case.portal_request_id) == value.lower())
    if case_id is not None:
        stmt = stmt.where(Case.id != case_id)
    other = db.session.scalar(stmt)
    if other is not None:
        raise DuplicateValue(
            f"duplicate value found: Portal_Request_Id__c duplicates value on record with id:"
            f" {other}",
            [],
        )


def flush_case() -> None:
    """Flush, turning a unique index clash (a concurrent retry) into DUPLICATE_VALUE."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DuplicateValue(
            "duplicate value found: Portal_Request_Id__c duplicates value on another record", []
        ) from None


def add_comment(case: Case, body: str | None, user: User, now: Any) -> None:
    """Case.Comments: a value becomes a private CaseComment on the case."""
    if body is None:
        return
    db.session.add(
        CaseComment(
            parent_id=case.id,
            comment_body=body,
            is_published=False,
            created_date=now,
            created_by_id=user.id,
            last_modified_date=now,
            last_modified_by_id=user.id,
            system_modstamp=now,
        )
    )


def create_case(body: dict[str, Any], user: User) -> str:
    """Insert a Case as this user (flushed, not committed); return its 18-char id."""
    values = field_values(CASE, body, user, creating=True)
    contact = visible_contact(values.pop("ContactId", None), user)
    raw_account = values.pop("AccountId", None)
    account_id = visible_account(raw_account, user).id if raw_account else None
    raw_owner = values.pop("OwnerId", None)
    owner = case_owner(raw_owner, user) if raw_owner else user
    raw_parent = values.pop("ParentId", None)
    parent = parent_case(raw_parent, user) if raw_parent else None
    check_unique(values.get("Portal_Request_Id__c"), None)
    now = utcnow()
    status = values.get("Status") or picklist_default("Status") or "New"
    closed = status in closed_statuses()
    case = Case(
        id=ids.new_id(CASE.key_prefix),
        case_number=next_case_number(),
        subject=values.get("Subject"),
        description=values.get("Description"),
        status=status,
        priority=values.get("Priority") or picklist_default("Priority"),
        origin=values.get("Origin") or picklist_default("Origin"),
        type=values.get("Type") or picklist_default("Type"),
        reason=values.get("Reason") or picklist_default("Reason"),
        supplied_name=values.get("SuppliedName"),
        supplied_email=values.get("SuppliedEmail"),
        supplied_phone=values.get("SuppliedPhone"),
        supplied_company=values.get("SuppliedCompany"),
        contact_id=contact.id if contact else None,
        account_id=account_id or (contact.account_id if contact else None),
        owner_id=owner.id,
        parent_id=parent.id if parent else None,
        is_escalated=values.get("IsEscalated", False),
        portal_request_id=values.get("Portal_Request_Id__c"),
        is_closed=closed,
        closed_date=now if closed else None,
        created_date=now,
        created_by_id=user.id,
        last_modified_date=now,
        last_modified_by_id=user.id,
        system_modstamp=now,
    )
    db.session.add(case)
    add_comment(case, values.get("Comments"), user, now)
    flush_case()
    return case.id


CASE_COLUMNS = {
    "Subject": "subject",
    "Description": "description",
    "Status": "status",
    "Priority": "priority",
    "Origin": "origin",
    "Type": "type",
    "Reason": "reason",
    "IsEscalated": "is_escalated",
    "Portal_Request_Id__c": "portal_request_id",
}


def update_case(raw_id: str, body: dict[str, Any], user: User) -> str:
    """PATCH a visible Case: updateable fields only; IsClosed and ClosedDate follow Status.

    Every check runs before the case changes, so a refused update leaves the session clean.
    """
    case = visible_case(raw_id, user)
    values = field_values(CASE, body, user, creating=False)
    for required in ("Status", "OwnerId"):  # null would be ignored: refused instead (issue 10)
        if required in values and not values[required]:
            raise RequiredFieldMissing(f"Required fields are missing: [{required}]", [required])
    changes = {CASE_COLUMNS[name]: value for name, value in values.items() if name in CASE_COLUMNS}
    if "ContactId" in values:
        contact = visible_contact(values["ContactId"], user)
        changes["contact_id"] = contact.id if contact else None
        changes["account_id"] = contact.account_id if contact else None
    if "AccountId" in values:
        raw_account = values["AccountId"]
        changes["account_id"] = visible_account(raw_account, user).id if raw_account else None
    if "OwnerId" in values:
        changes["owner_id"] = case_owner(values["OwnerId"], user).id
    if "ParentId" in values:
        parent = parent_case(values["ParentId"], user) if values["ParentId"] else None
        changes["parent_id"] = parent.id if parent else None
    if "portal_request_id" in changes:
        check_unique(changes["portal_request_id"], case.id)
    for column, value in changes.items():
        setattr(case, column, value)
    now = utcnow()
    closed = case.status in closed_statuses()
    if closed and not case.is_closed:
        case.closed_date = now
    elif not closed:
        case.closed_date = None
    case.is_closed = closed
    case.last_modified_date = case.system_modstamp = now
    case.last_modified_by_id = user.id
    add_comment(case, values.get("Comments"), user, now)
    flush_case()
    return case.id


def delete_case(raw_id: str, user: User) -> str:
    """Soft delete (to the recycle bin): query hides it, queryAll shows IsDeleted true."""
    case = visible_case(raw_id, user, deleted_ok=True)
    if case.is_deleted:
        raise EntityIsDeleted()
    now = utcnow()
    case.is_deleted = True
    case.last_modified_date = case.system_modstamp = now
    case.last_modified_by_id = user.id
    # Deleting a case deletes its comments with it, as in Salesforce.
    db.session.execute(
        update(CaseComment)
        .where(CaseComment.parent_id == case.id)
        .values(is_deleted=True, system_modstamp=now)
    )
    db.session.flush()
    return case.id


def visible_case(raw_id: str, user: User, *, deleted_ok: bool = False) -> Case:
    """A Case the user may see (and, unless deleted_ok, not deleted); else MALFORMED_ID or 404."""
    case_id = record_id(CASE, raw_id)
    stmt = records.restrict(
        CASE, select(Case).where(Case.id == case_id), user, include_deleted=deleted_ok
    )
    case = db.session.scalar(stmt)
    if case is None:
        raise NotFound()
    return case


def create_case_comment(body: dict[str, Any], user: User) -> str:
    """Insert a CaseComment on a case the user may see; return its id."""
    values = field_values(CASE_COMMENT, body, user, creating=True)
    raw_parent = values["ParentId"]
    try:
        parent = visible_case(raw_parent, user)
    except NotFound:
        raise no_access(raw_parent) from None
    now = utcnow()
    comment = CaseComment(
        id=ids.new_id(CASE_COMMENT.key_prefix),
        parent_id=parent.id,
        comment_body=values["CommentBody"],
        is_published=values.get("IsPublished", False),
        created_date=now,
        created_by_id=user.id,
        last_modified_date=now,
        last_modified_by_id=user.id,
        system_modstamp=now,
    )
    db.session.add(comment)
    db.session.flush()
    return comment.id


def record_id(sobject: SObject, raw_id: str) -> str:
    """The 18-char id of this object's record, or MALFORMED_ID."""
    try:
        return ids.normalize(raw_id, ids.KEY_PREFIXES[sobject.name])
    except ids.MalformedId:
        raise MalformedId(f"{sobject.name} ID: id value of incorrect type: {raw_id}") from None


def get_record(
    sobject_name: str, raw_id: str, fields_param: str | None, user: User, version: str
) -> dict[str, Any]:
    """One record the user may see, with all fields or those in ``?fields=``; else 404."""
    sobject = get_sobject(sobject_name)
    if sobject is None:
        raise NotFound()
    wanted = record_id(sobject, raw_id)
    names = (
        [name.strip() for name in fields_param.split(",") if name.strip()] if fields_param else []
    )
    selected = records.plain(field_list(sobject, names) if names else sobject.fields)
    stmt = records.select_fields(sobject, selected).where(sobject.id_column == wanted)
    found = records.fetch(sobject, selected, stmt, user, version)
    if not found:
        raise NotFound()
    return found[0]


CREATORS = {"case": create_case, "casecomment": create_case_comment}
UPDATERS = {"case": update_case}
DELETERS = {"case": delete_case}
