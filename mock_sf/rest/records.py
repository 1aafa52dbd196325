"""Read records through the describe table: select API fields, AND in sharing, render JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject

ID_LABEL = "__id"


def select_fields(sobject: SObject, fields: Sequence[Field]) -> Select[Any]:
    """SELECT the record id (for ``attributes.url``) plus the fields, labelled by API name."""
    columns = [sobject.id_column.label(ID_LABEL)]
    columns += [field.column.label(field.name) for field in fields]
    return select(*columns).select_from(sobject.model)


def fetch(
    sobject: SObject,
    fields: Sequence[Field],
    stmt: Select[Any],
    user: User,
    version: str,
) -> list[dict[str, Any]]:
    """Run a statement built by select_fields with the user's sharing filter ANDed in."""
    visible: ColumnElement[bool] | None = sobject.sharing_filter(user)
    if visible is not None:
        stmt = stmt.where(visible)
    return [render(sobject, fields, row._mapping, version) for row in db.session.execute(stmt)]


def render(sobject: SObject, fields: Sequence[Field], row: Any, version: str) -> dict[str, Any]:
    """One record in the REST shape, ``attributes`` first."""
    record: dict[str, Any] = {
        "attributes": {
            "type": sobject.name,
            "url": f"/services/data/v{version}/sobjects/{sobject.name}/{row[ID_LABEL]}",
        }
    }
    for field in fields:
        record[field.name] = field.to_api(row[field.name])
    return record
