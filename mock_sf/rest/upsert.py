"""sObject Rows by External ID: ``sobjects/Case/{field}/{value}``, to read, upsert or delete a
record by an External ID field (``Portal_Request_Id__c``) or by ``Id``.

An external id matches case-insensitively, like the field's Unique setting, among the records
the caller can see; a value held by a record she cannot see makes the insert a DUPLICATE_VALUE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from mock_sf import ids
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest import records
from mock_sf.rest import sobjects
from mock_sf.rest.describe import CASE
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject
from mock_sf.rest.describe import described
from mock_sf.rest.errors import DuplicateValue
from mock_sf.rest.errors import NotFound
from mock_sf.rest.errors import RestError

CREATED_FLAG_VERSION = 46.0  # the upsert body says "created" from API version 46.0


class MultipleMatches(RestError):
    """HTTP 300: the value matches several records; the body lists their URLs."""

    status_code = 300

    def __init__(self, urls: list[str]) -> None:
        super().__init__("more than one record matches")
        self.urls = urls


@dataclass(frozen=True)
class Upserted:
    """The record an upsert wrote, and whether it inserted it."""

    id: str
    created: bool

    def result(self, version: str) -> dict[str, Any]:
        """The body Salesforce answers, ``created`` only from v46.0 (as in collections)."""
        body: dict[str, Any] = {"id": self.id, "errors": [], "success": True}
        if float(version) >= CREATED_FLAG_VERSION:
            body["created"] = self.created
        return body


def not_accessible(name: str) -> NotFound:
    return NotFound(f"Provided external ID field does not exist or is not accessible: {name}")


def writable_sobject(name: str) -> SObject:
    """Upsert writes Cases only: this mock updates no other object."""
    sobject = described(name)
    if sobject is not CASE:
        raise NotFound()
    return sobject


def external_id_field(sobject: SObject, name: str) -> Field:
    """``Id`` or a field marked External ID; else 404 NOT_FOUND naming it."""
    field = sobject.field(name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise not_accessible(name)
    return field


def matching_ids(sobject: SObject, field: Field, value: str, user: User) -> list[str]:
    """Ids of the visible, undeleted records whose field holds the value."""
    if field.name == "Id":
        try:
            condition = field.column == ids.normalize(value, sobject.key_prefix)
        except ids.MalformedId:
            return []
    else:
        condition = func.lower(field.column) == value.lower()
    stmt = select(sobject.id_column).where(condition).order_by(sobject.id_column)
    return list(db.session.scalars(records.restrict(sobject, stmt, user)))


def single_match(sobject: SObject, field: Field, value: str, user: User, version: str) -> str:
    """The one record with that value; NOT_FOUND for none, 300 for several."""
    found = matching_ids(sobject, field, value, user)
    if len(found) > 1:
        raise MultipleMatches([records.record_url(version, sobject.name, i) for i in found])
    if not found:
        if field.name == "Id":
            raise not_accessible(value)
        raise NotFound()
    return found[0]


def upsert(
    sobject_name: str, field_name: str, value: str, body: dict[str, Any], user: User, version: str
) -> Upserted:
    """Update the record the value names, or insert one carrying it."""
    sobject = writable_sobject(sobject_name)
    field = external_id_field(sobject, field_name)
    for attempt in range(2):  # a concurrent insert of the same value: update it instead
        try:
            found = single_match(sobject, field, value, user, version)
        except NotFound:
            if field.name == "Id":
                raise  # an Id that matches nothing cannot be inserted
        else:
            return Upserted(sobjects.update_case(found, body, user), created=False)
        try:
            # The path's value wins over one in the body (choice).
            return Upserted(sobjects.create_case({**body, field.name: value}, user), created=True)
        except DuplicateValue:
            if attempt:
                raise
    raise AssertionError("unreachable")


def get_by_external_id(
    sobject_name: str, field_name: str, value: str, user: User, version: str
) -> dict[str, Any]:
    """``GET sobjects/Case/{field}/{value}``: the record with every field."""
    sobject = described(sobject_name)
    field = external_id_field(sobject, field_name)
    record_id = single_match(sobject, field, value, user, version)
    return sobjects.get_record(sobject.name, record_id, None, user, version)


def delete_by_external_id(
    sobject_name: str, field_name: str, value: str, user: User, version: str
) -> None:
    """``DELETE sobjects/Case/{field}/{value}``."""
    sobject = writable_sobject(sobject_name)
    field = external_id_field(sobject, field_name)
    sobjects.delete_case(single_match(sobject, field, value, user, version), user)
