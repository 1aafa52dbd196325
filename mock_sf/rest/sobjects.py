"""``sobjects/Case/`` create, ``sobjects/{Case|User}/{id}`` retrieve (REST API, contract §6.2)."""

from __future__ import annotations

import json
from typing import Any

from mock_sf import ids
from mock_sf.models import Case
from mock_sf.models import Contact
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import next_case_number
from mock_sf.models import utcnow
from mock_sf.rest import records
from mock_sf.rest.describe import CASE
from mock_sf.rest.describe import CLOSED_STATUSES
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import get_sobject
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

REQUIRED_CASE_FIELDS = ("Subject",)  # a choice of this mock: Salesforce itself does not require it


def parse_body(text: str) -> dict[str, Any]:
    """The JSON object of a create request, or JSON_PARSER_ERROR."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonParserError(f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]") from exc
    if not isinstance(body, dict):
        raise JsonParserError(f"Cannot deserialize instance of Case from {type(body).__name__}")
    return body


def case_values(body: dict[str, Any]) -> dict[Field, str | None]:
    """Field -> value for a Case insert, after Salesforce's field checks."""
    values: dict[Field, str | None] = {}
    for name, value in body.items():
        if (
            name == "attributes"
        ):  # clients may echo the record's attributes; Salesforce ignores them
            continue
        field = CASE.field(name)
        if field is not None and field.name == "Id":
            raise InvalidField("The Id field should not be specified in the sobject data.")
        if field is None:
            raise InvalidField(f"No such column '{name}' on sobject of type Case")
        if not field.createable:
            raise InvalidFieldForInsertUpdate(
                f"Unable to create/update fields: {field.name}. Please check the security"
                " settings of this field and verify that it is read/write for your profile or"
                " permission set.",
                [field.name],
            )
        if value is not None and not isinstance(value, str):
            raise JsonParserError(
                f"Cannot deserialize instance of string from {type(value).__name__} value for"
                f" field {field.name}"
            )
        values[field] = value or None
    for name in REQUIRED_CASE_FIELDS:
        if values.get(CASE.field(name)) is None:  # type: ignore[arg-type]
            raise RequiredFieldMissing(f"Required fields are missing: [{name}]", [name])
    for field, value in values.items():
        check_value(field, value)
    return values


def check_value(field: Field, value: str | None) -> None:
    """Length and restricted-picklist rules."""
    if value is None:
        return
    if field.picklist and value not in field.picklist:
        raise InvalidPicklistValue(
            f"{field.label}: bad value for restricted picklist field: {value}", [field.name]
        )
    if field.length is not None and len(value) > field.length:
        raise StringTooLong(
            f"{field.label}: data value too large: {value[:40]}... (max length={field.length})",
            [field.name],
        )


def visible_contact(raw_id: str | None, user: User) -> Contact | None:
    """The case's contact: the external user's own by default, never someone else's."""
    if raw_id is None:
        return user.contact if user.is_external else None
    try:
        contact_id = ids.normalize(raw_id, ids.KEY_PREFIXES["Contact"])
    except ids.MalformedId:
        raise MalformedId(
            f"Contact ID: id value of incorrect type: {raw_id}", ["ContactId"]
        ) from None
    contact = db.session.get(Contact, contact_id)
    if contact is None or (user.is_external and contact.id != user.contact_id):
        raise InsufficientAccessOnCrossReference(
            f"insufficient access rights on cross-reference id: {raw_id}", []
        )
    return contact


def create_case(body_text: str, user: User) -> str:
    """Insert a Case as this user; return its 18-char id."""
    values = {field.name: value for field, value in case_values(parse_body(body_text)).items()}
    contact = visible_contact(values.pop("ContactId", None), user)
    now = utcnow()
    status = values.get("Status") or "New"
    case = Case(
        case_number=next_case_number(),
        subject=values.get("Subject"),
        description=values.get("Description"),
        status=status,
        priority=values.get("Priority") or "Medium",
        origin=values.get("Origin"),
        type=values.get("Type"),
        contact_id=contact.id if contact else None,
        account_id=contact.account_id if contact else None,
        owner_id=user.id,
        is_closed=status in CLOSED_STATUSES,
        created_date=now,
        created_by_id=user.id,
        last_modified_date=now,
        last_modified_by_id=user.id,
        system_modstamp=now,
    )
    db.session.add(case)
    db.session.commit()
    return case.id


def get_record(
    sobject_name: str, raw_id: str, fields_param: str | None, user: User, version: str
) -> dict[str, Any]:
    """One record the user may see, with all fields or those in ``?fields=``; else 404."""
    sobject = get_sobject(sobject_name)
    if sobject is None:
        raise NotFound()
    try:
        record_id = ids.normalize(raw_id, ids.KEY_PREFIXES[sobject.name])
    except ids.MalformedId:
        raise MalformedId(f"{sobject.name} ID: id value of incorrect type: {raw_id}") from None
    names = (
        [name.strip() for name in fields_param.split(",") if name.strip()] if fields_param else []
    )
    fields = field_list(sobject, names) if names else list(sobject.fields)
    stmt = records.select_fields(sobject, fields).where(sobject.id_column == record_id)
    found = records.fetch(sobject, fields, stmt, user, version)
    if not found:
        raise NotFound()
    return found[0]


def sobject_supports_create(name: str) -> bool:
    """Only Case can be created in this milestone."""
    return name.lower() == "case"
