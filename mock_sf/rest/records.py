"""Read records through the describe table: select API fields, AND in sharing and the recycle
bin, render JSON (relationship fields as nested records, aggregate rows as AggregateResult)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject
from mock_sf.rest.soql import ID_LABEL
from mock_sf.rest.soql import Output
from mock_sf.rest.soql import Selected


def plain(fields: Sequence[Field]) -> tuple[Selected, ...]:
    """Own fields of the object, no relationships."""
    return tuple(Selected(field, field.column) for field in fields)


def select_fields(sobject: SObject, selected: Sequence[Selected]) -> Select[Any]:
    """SELECT the record id (for ``attributes.url``) plus own fields, labelled by position."""
    columns = [sobject.id_column.label(ID_LABEL)]
    columns += [item.column.label(f"c{i}") for i, item in enumerate(selected)]
    return select(*columns).select_from(sobject.model)


def restrict(
    sobject: SObject, stmt: Select[Any], user: User, *, include_deleted: bool = False
) -> Select[Any]:
    """AND in the user's sharing filter and, unless queryAll, hide soft-deleted rows."""
    visible = sobject.sharing_filter(user)
    if visible is not None:
        stmt = stmt.where(visible)
    deleted = sobject.deleted_column
    if deleted is not None and not include_deleted:
        stmt = stmt.where(deleted.is_(False))
    return stmt


def fetch(
    sobject: SObject,
    selected: Sequence[Selected],
    stmt: Select[Any],
    user: User,
    version: str,
    *,
    include_deleted: bool = False,
) -> list[dict[str, Any]]:
    """Run a statement built by select_fields or the SOQL compiler, restricted for the user."""
    stmt = restrict(sobject, stmt, user, include_deleted=include_deleted)
    rows = db.session.execute(stmt)
    return [render(sobject, selected, row._mapping, version) for row in rows]


def record_url(version: str, type_name: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{type_name}/{record_id}"


def render(
    sobject: SObject, selected: Sequence[Selected], row: Any, version: str
) -> dict[str, Any]:
    """One record in the REST shape, ``attributes`` first, parents nested where first selected."""
    record: dict[str, Any] = {
        "attributes": {
            "type": sobject.name,
            "url": record_url(version, sobject.name, row[ID_LABEL]),
        }
    }
    for i, item in enumerate(selected):
        value = item.to_api(row[f"c{i}"])
        rel = item.relationship
        if rel is None:
            record[item.field.name] = value
            continue
        parent_id = row[f"{ID_LABEL}_{_lookup_name(sobject, rel.name)}"]
        if parent_id is None:
            record[rel.name] = None
            continue
        parent = record.get(rel.name) or {
            "attributes": {
                "type": rel.type_name,
                "url": record_url(version, rel.target.name, parent_id),
            }
        }
        parent[item.field.name] = value
        record[rel.name] = parent
    return record


def render_aggregate(outputs: Sequence[Output], row: Any) -> dict[str, Any]:
    """One group of an aggregate query: ``AggregateResult`` (no url), aliases or ``expr0``."""
    record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    for i, output in enumerate(outputs):
        record[output.key] = output.to_api(row[f"c{i}"])
    return record


def _lookup_name(sobject: SObject, relationship_name: str) -> str:
    lookup = sobject.relationship(relationship_name)
    return lookup.name if lookup is not None else relationship_name
