"""sObject Collections (``composite/sobjects``): create, update, upsert, retrieve and delete up
to 200 records in one call, each record's outcome in a result array.

Results use ``statusCode`` (not ``errorCode``) in their errors, as the REST guide shows them.
With ``allOrNone`` a failure rolls the whole call back and every other record reports
ALL_OR_NONE_OPERATION_ROLLED_BACK; without it each record commits on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from flask import g

from mock_sf import ids
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest import records
from mock_sf.rest import sobjects
from mock_sf.rest import upsert
from mock_sf.rest.describe import described
from mock_sf.rest.errors import AllOrNoneRolledBack
from mock_sf.rest.errors import ExceededIdLimit
from mock_sf.rest.errors import InsufficientAccessOrReadonly
from mock_sf.rest.errors import InvalidField
from mock_sf.rest.errors import InvalidInput
from mock_sf.rest.errors import InvalidType
from mock_sf.rest.errors import JsonParserError
from mock_sf.rest.errors import MalformedId
from mock_sf.rest.errors import MissingArgument
from mock_sf.rest.errors import RestError
from mock_sf.rest.errors import load_json
from mock_sf.rest.soql import field_list

MAX_RECORDS = 200
MAX_RETRIEVE_IDS = 2000
PREFIX_TYPES = {prefix: name for name, prefix in ids.KEY_PREFIXES.items()}

Operation = Callable[[dict[str, Any]], dict[str, Any]]


def error_item(exc: RestError) -> dict[str, Any]:
    """One error in a result: ``statusCode``, ``message``, ``fields``."""
    return {"statusCode": exc.error_code, "message": exc.message, "fields": exc.fields or []}


def failure(exc: RestError) -> dict[str, Any]:
    return {"success": False, "errors": [error_item(exc)]}


def parse_request(text: str) -> tuple[bool, list[dict[str, Any]]]:
    """``{"allOrNone": bool, "records": [...]}``, at most 200 records."""
    body = load_json(text)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise InvalidInput("A records array is required")
    rows = body["records"]
    if not all(isinstance(row, dict) for row in rows):
        raise JsonParserError("Each record must be a JSON object")
    if len(rows) > MAX_RECORDS:
        raise ExceededIdLimit()
    return bool(body.get("allOrNone", False)), rows


def all_or_none_forced() -> bool:
    """A Composite request with allOrNone makes its collections all-or-none too."""
    return bool(g.get("composite_all_or_none"))


def run(rows: Sequence[dict[str, Any]], operation: Operation, all_or_none: bool) -> list[Any]:
    """Apply the operation record by record, committing or rolling back as allOrNone says."""
    all_or_none = all_or_none or all_or_none_forced()
    results: list[dict[str, Any]] = []
    failed = False
    for row in rows:
        try:
            results.append(operation(row))
        except RestError as exc:
            db.session.rollback()  # only this record's work, or all of it (rolled back anyway)
            results.append(failure(exc))
            failed = True
            continue
        if not all_or_none:
            db.session.commit()
    if all_or_none and failed:
        db.session.rollback()
        rolled_back = failure(AllOrNoneRolledBack())
        results = [r if r["success"] is False else rolled_back for r in results]
    return results


def record_type(row: dict[str, Any]) -> str:
    """``attributes.type``, which every record needs."""
    attributes = row.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(kind, str) or not kind:
        raise InvalidType("attributes.type is required on every record")
    return kind


def fields_of(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != "attributes"}


def saved(record_id: str) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": []}


def create_one(user: User) -> Operation:
    def create(row: dict[str, Any]) -> dict[str, Any]:
        kind = record_type(row)
        creator = sobjects.CREATORS.get(kind.lower())
        if creator is None:
            raise InvalidType(f"sObject type '{kind}' cannot be created")
        return saved(creator(fields_of(row), user))

    return create


def update_one(user: User) -> Operation:
    def update(row: dict[str, Any]) -> dict[str, Any]:
        kind = record_type(row)
        values = fields_of(row)
        record_id = next((values.pop(k) for k in list(values) if k.lower() == "id"), None)
        if not record_id:
            raise MissingArgument("Id not specified in an update call")
        updater = sobjects.UPDATERS.get(kind.lower())
        if updater is None:
            raise InsufficientAccessOrReadonly()
        return saved(updater(str(record_id), values, user))

    return update


def upsert_one(sobject_name: str, field_name: str, user: User, version: str) -> Operation:
    def upsert_row(row: dict[str, Any]) -> dict[str, Any]:
        record_type(row)
        values = fields_of(row)
        key = next((k for k in values if k.lower() == field_name.lower()), None)
        if key is None or not isinstance(values[key], str) or not values[key]:
            raise InvalidField(f"{field_name} not specified")  # choice: the wording
        value = values.pop(key) if field_name.lower() == "id" else values[key]
        done = upsert.upsert(sobject_name, field_name, value, values, user, version)
        return {**saved(done.id), "created": done.created}

    return upsert_row


def delete_one(user: User) -> Operation:
    def delete(row: dict[str, Any]) -> dict[str, Any]:
        raw = row["id"]
        kind = PREFIX_TYPES.get(raw[:3])
        if kind is None or len(raw) not in (15, 18):
            raise MalformedId(f"malformed id {raw}")
        deleter = sobjects.DELETERS.get(kind.lower())
        if deleter is None:
            raise InsufficientAccessOrReadonly()
        return saved(deleter(raw, user))

    return delete


def create(text: str, user: User) -> list[Any]:
    """``POST composite/sobjects``."""
    all_or_none, rows = parse_request(text)
    return run(rows, create_one(user), all_or_none)


def update(text: str, user: User) -> list[Any]:
    """``PATCH composite/sobjects``."""
    all_or_none, rows = parse_request(text)
    return run(rows, update_one(user), all_or_none)


def upsert_many(text: str, sobject: str, field: str, user: User, version: str) -> list[Any]:
    """``PATCH composite/sobjects/Case/Portal_Request_Id__c``: ``created`` on each result."""
    upsert.external_id_field(upsert.writable_sobject(sobject), field)
    all_or_none, rows = parse_request(text)
    return run(rows, upsert_one(sobject, field, user, version), all_or_none)


def split_ids(raw: str | list[Any] | None, limit: int) -> list[str]:
    """``ids=a,b`` (or a JSON array of ids), at most ``limit``."""
    if raw is None:
        raise MissingArgument("ids parameter is required")
    values = raw.split(",") if isinstance(raw, str) else raw
    found = [str(value).strip() for value in values if str(value).strip()]
    if not found:
        raise MissingArgument("ids parameter is required")
    if len(found) > limit:
        raise ExceededIdLimit()
    return found


def delete(raw_ids: str | None, all_or_none: str | None, user: User) -> list[Any]:
    """``DELETE composite/sobjects?ids=a,b&allOrNone=false``."""
    rows = [{"id": raw} for raw in split_ids(raw_ids, MAX_RECORDS)]
    return run(rows, delete_one(user), (all_or_none or "").lower() == "true")


def retrieve(
    sobject_name: str, raw_ids: Any, raw_fields: Any, user: User, version: str
) -> list[Any]:
    """``GET composite/sobjects/Case?ids=&fields=`` (or POST with a body): records in the
    order asked, ``null`` for one that does not exist or that the caller cannot see."""
    sobject = described(sobject_name)
    wanted = [sobjects.record_id(sobject, raw) for raw in split_ids(raw_ids, MAX_RETRIEVE_IDS)]
    if raw_fields is None:
        raise MissingArgument("fields parameter is required")
    names = raw_fields.split(",") if isinstance(raw_fields, str) else raw_fields
    names = [str(name).strip() for name in names if str(name).strip()]
    if not names:
        raise MissingArgument("fields parameter is required")
    selected = records.plain(field_list(sobject, names))
    stmt = records.select_fields(sobject, selected).where(sobject.id_column.in_(wanted))
    found = {
        record["attributes"]["url"].rsplit("/", 1)[1]: record
        for record in records.fetch(sobject, selected, stmt, user, version)
    }
    return [found.get(record_id) for record_id in wanted]


def retrieve_body(text: str) -> tuple[Any, Any]:
    """The POST form of retrieve: ``{"ids": [...], "fields": [...]}``."""
    body = load_json(text)
    if not isinstance(body, dict):
        raise JsonParserError("The request body must be a JSON object")
    for name in ("ids", "fields"):
        if not isinstance(body.get(name), list | str | None):
            raise JsonParserError(f"Cannot deserialize {name}: a JSON array is expected")
    return body.get("ids"), body.get("fields")


def is_collection_failure(body: Any) -> bool:
    """A result array with a failed record (Composite's allOrNone treats it as a failure)."""
    return isinstance(body, list) and any(
        isinstance(item, dict) and item.get("success") is False for item in body
    )
