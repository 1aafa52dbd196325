"""``GET vNN.N/query?q=`` and ``queryAll?q=``, and the next batches at ``query/<locator>-<n>``:
SOQL run for the user with sharing ANDed in, in batches (contract §6.2)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest import locators
from mock_sf.rest import records
from mock_sf.rest.errors import MalformedQuery
from mock_sf.rest.soql import ID_LABEL
from mock_sf.rest.soql import PARENT_LABEL
from mock_sf.rest.soql import CompiledQuery
from mock_sf.rest.soql import compile_soql

MIN_BATCH_SIZE = 200  # Sforce-Query-Options: batchSize is 200..2000
MAX_BATCH_SIZE = 2000
MAX_AGGREGATE_ROWS = 2000
_BATCH_OPTION = re.compile(r"(?:^|[;,\s])batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(config: Mapping[str, Any], options_header: str | None) -> int:
    """The configured batch size, or the client's ``batchSize`` clamped to 200..2000."""
    match = _BATCH_OPTION.search(options_header or "")
    if match is None:
        return int(config.get("QUERY_BATCH_SIZE", MAX_BATCH_SIZE))
    digits = match.group(1).lstrip("0")[:5]  # more digits than 2000 has: clamped all the same
    return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(digits or "0")))


def run_query(
    soql: str | None,
    user: User,
    version: str,
    *,
    include_deleted: bool = False,
    batch: int = MAX_BATCH_SIZE,
    lifetime_seconds: int = 900,
    resource: str = "query",
) -> dict[str, Any]:
    """The first batch of a query; a locator keeps the rest when there is more."""
    if not soql or not soql.strip():
        raise MalformedQuery("A query string has to be specified")
    compiled = compile_soql(soql)
    stmt = records.restrict(compiled.sobject, compiled.stmt, user, include_deleted=include_deleted)
    if compiled.count:
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        return {"totalSize": total, "done": True, "records": []}
    if compiled.aggregate:
        # Aggregate results have no queryMore: one response of at most 2,000 groups.
        cap = (
            MAX_AGGREGATE_ROWS
            if compiled.limit is None
            else min(compiled.limit, MAX_AGGREGATE_ROWS)
        )
        groups = db.session.execute(stmt.limit(cap)).all()
        found = [records.render_aggregate(compiled.outputs, row._mapping) for row in groups]
        return {"totalSize": len(found), "done": True, "records": found}
    rows = [row._mapping for row in db.session.execute(stmt)]
    found = [
        records.render(compiled.sobject, compiled.selected, row, version) for row in rows[:batch]
    ]
    attach_children(compiled, rows[:batch], found, user, version, include_deleted)
    if len(rows) <= batch:
        return {"totalSize": len(rows), "done": True, "records": found}
    locator = locators.open_locator(
        user, soql, include_deleted, batch, [row[ID_LABEL] for row in rows], lifetime_seconds
    )
    return {
        "totalSize": len(rows),
        "done": False,
        "nextRecordsUrl": next_url(version, resource, locator.id, batch),
        "records": found,
    }


def query_more(
    path: str, user: User, version: str, *, lifetime_seconds: int = 900, resource: str = "query"
) -> dict[str, Any]:
    """A later batch of an open locator, in the snapshot's order."""
    position = locators.find_position(path, user, lifetime_seconds)
    locator = position.locator
    batch_ids = locator.ids_at(position.offset)
    compiled = compile_soql(locator.soql)
    sobject = compiled.sobject
    # LIMIT/OFFSET already shaped the snapshot; re-read only this batch's rows.
    stmt = records.restrict(
        sobject,
        compiled.base.where(sobject.id_column.in_(batch_ids)),
        user,
        include_deleted=locator.include_deleted,
    )
    by_id = {row._mapping[ID_LABEL]: row._mapping for row in db.session.execute(stmt)}
    rows = [by_id[record_id] for record_id in batch_ids if record_id in by_id]
    found = [records.render(sobject, compiled.selected, row, version) for row in rows]
    attach_children(compiled, rows, found, user, version, locator.include_deleted)
    end = position.offset + len(batch_ids)
    body: dict[str, Any] = {"totalSize": locator.total, "done": end >= locator.total}
    if end < locator.total:
        body["nextRecordsUrl"] = next_url(version, resource, locator.id, end)
    body["records"] = found
    return body


def attach_children(
    compiled: CompiledQuery,
    rows: list[Any],
    found: list[dict[str, Any]],
    user: User,
    version: str,
    include_deleted: bool,
) -> None:
    """Each subquery's records under its relationship name: one ``IN`` query per batch, with
    the child's sharing; ``null`` for a parent without children, its LIMIT per parent."""
    parent_ids = [row[ID_LABEL] for row in rows]
    for child in compiled.children:
        if not parent_ids:
            break
        sub = child.compiled
        stmt = sub.base.add_columns(child.parent_column.label(PARENT_LABEL))
        stmt = stmt.where(child.parent_column.in_(parent_ids))
        stmt = records.restrict(sub.sobject, stmt, user, include_deleted=include_deleted)
        by_parent: dict[str, list[Any]] = defaultdict(list)
        for row in db.session.execute(stmt):
            by_parent[row._mapping[PARENT_LABEL]].append(row._mapping)
        start = sub.offset or 0
        end = None if sub.limit is None else start + sub.limit
        for record, parent_id in zip(found, parent_ids, strict=True):
            children = [
                records.render(sub.sobject, sub.selected, row, version)
                for row in by_parent.get(parent_id, [])[start:end]
            ]
            record[child.name] = (
                {"totalSize": len(children), "done": True, "records": children}
                if children
                else None
            )


def next_url(version: str, resource: str, locator_id: str, offset: int) -> str:
    """``/services/data/vNN.N/query/<locator>-<offset>`` (``queryAll/`` for queryAll)."""
    return f"/services/data/v{version}/{resource}/{locator_id}-{offset}"
