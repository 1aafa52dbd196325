"""``sobjects/``: Case create / retrieve / update / delete, CaseComment create / retrieve, User
retrieve (REST API, contract §6.2-6.4). Sharing holds for every verb."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from mock_sf import ids
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
from mock_sf.rest.errors import EntityIsDeleted
from mock_sf.rest.errors import InsufficientAccessOnCrossReference
from mock_sf.rest.errors import InvalidField
from mock_sf.rest.errors import InvalidFieldForInsertUpdate
from mock_sf.rest.errors import InvalidPicklistValue
from mock_sf.rest.errors import JsonParserError
from mock_sf.rest.errors import MalformedId
from mock_sf.rest.errors import NotFound
from mock_sf.rest.errors import RequiredFieldMissing
from mock_sf.rest.errors import StringTooLong
from mock_sf.rest.soql import field_list

# Subject: a choice of this mock (Salesforce does not require it); CaseComment needs a parent.
REQUIRED_FIELDS = {"Case": ("Subject",), "CaseComment": ("ParentId", "CommentBody")}


def parse_body(text: str, sobject: SObject = CASE) -> dict[str, Any]:
    """The JSON object of a create or update request, or JSON_PARSER_ERROR."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonParserError(f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]") from exc
    if not isinstance(body, dict):
        raise JsonParserError(
            f"Cannot deserialize instance of {sobject.name} from {type(body).__name__}"
        )
    return body


def field_values(sobject: SObject, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """API name -> value after Salesforce's field checks for an insert or an update."""
    values: dict[str, Any] = {}
    for name, value in body.items():
        if (
            name == "attributes"
        ):  # clients may echo the record's attributes; Salesforce ignores them
            continue
        field = sobject.field(name)
        if field is not None and field.name == "Id":
            raise InvalidField("The Id field should not be specified in the sobject data.")
        if field is None:
            raise InvalidField(f"No such column '{name}' on sobject of type {sobject.name}")
        if not (field.createable if creating else field.is_updateable):
            raise InvalidFieldForInsertUpdate(
                f"Unable to create/update fields: {field.name}. Please check the security"
                " settings of this field and verify that it is read/write for your profile or"
                " permission set.",
                [field.name],
            )
        values[field.name] = json_value(field, value)
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
    """Length and restricted-picklist rules."""
    if value is None or field.type == "boolean":
        return
    if field.picklist and value not in {e.value for e in picklist(field.name) if e.active}:
        raise InvalidPicklistValue(
            f"{field.label}: bad value for restricted picklist field: {value}", [field.name]
        )
    if field.length is not None and len(value) > field.length:
        raise StringTooLong(
            f"{field.label}: data value too large: {value[:40]}... (max length={field.length})",
            [field.name],
        )


def visible_contact(raw_id: str | None, user: User) -> Contact | None:
    """The case's contact: the external user's own by default; another only within her
    account when cases are shared by account (rest/sharing.py)."""
    if raw_id is None:
        return user.contact if user.is_external else None
    try:
        contact_id = ids.normalize(raw_id, ids.KEY_PREFIXES["Contact"])
    except ids.MalformedId:
        raise MalformedId(
            f"Contact ID: id value of incorrect type: {raw_id}", ["ContactId"]
        ) from None
    contact = db.session.get(Contact, contact_id)
    mode = current_app.config["CASE_SHARING"]
    if contact is None or (user.is_external and not sharing.may_use_contact(user, contact, mode)):
        raise InsufficientAccessOnCrossReference(
            f"insufficient access rights on cross-reference id: {raw_id}", []
        )
    return contact


def create_case(body_text: str, user: User) -> str:
    """Insert a Case as this user; return its 18-char id."""
    values = field_values(CASE, parse_body(body_text), creating=True)
    contact = visible_contact(values.pop("ContactId", None), user)
    now = utcnow()
    status = values.get("Status") or picklist_default("Status") or "New"
    closed = status in closed_statuses()
    case = Case(
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
        account_id=contact.account_id if contact else None,
        owner_id=user.id,
        is_closed=closed,
        closed_date=now if closed else None,
        created_date=now,
        created_by_id=user.id,
        last_modified_date=now,
        last_modified_by_id=user.id,
        system_modstamp=now,
    )
    db.session.add(case)
    db.session.commit()
    return case.id


CASE_COLUMNS = {
    "Subject": "subject",
    "Description": "description",
    "Status": "status",
    "Priority": "priority",
    "Origin": "origin",
    "Type": "type",
    "Reason": "reason",
}


def update_case(raw_id: str, body_text: str, user: User) -> None:
    """PATCH a visible Case: updateable fields only; IsClosed and ClosedDate follow Status."""
    body = parse_body(body_text)
    case = visible_case(raw_id, user)
    values = field_values(CASE, body, creating=False)
    if "ContactId" in values:
        contact = visible_contact(values.pop("ContactId"), user)
        case.contact_id = contact.id if contact else None
        case.account_id = contact.account_id if contact else None
    for name, value in values.items():
        setattr(case, CASE_COLUMNS[name], value)
    if not case.status:
        raise RequiredFieldMissing("Required fields are missing: [Status]", ["Status"])
    now = utcnow()
    closed = case.status in closed_statuses()
    if closed and not case.is_closed:
        case.closed_date = now
    elif not closed:
        case.closed_date = None
    case.is_closed = closed
    case.last_modified_date = case.system_modstamp = now
    case.last_modified_by_id = user.id
    db.session.commit()


def delete_case(raw_id: str, user: User) -> None:
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
    db.session.commit()


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


def create_case_comment(body_text: str, user: User) -> str:
    """Insert a CaseComment on a case the user may see; return its id."""
    values = field_values(CASE_COMMENT, parse_body(body_text, CASE_COMMENT), creating=True)
    raw_parent = values["ParentId"]
    try:
        parent = visible_case(raw_parent, user)
    except NotFound:
        # Salesforce answers a parent you cannot see like one that does not exist.
        raise InsufficientAccessOnCrossReference(
            f"insufficient access rights on cross-reference id: {raw_parent}", []
        ) from None
    now = utcnow()
    comment = CaseComment(
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
    db.session.commit()
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
