"""``GET vNN.N/query?q=`` and ``queryAll?q=``, and the next batches at ``query/<locator>-<n>``:
SOQL run for the user with sharing ANDed in, in batches (contract §6.2)."""

from __future__ import annotations

import re
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
from mock_sf.rest.soql import compile_soql

MIN_BATCH_SIZE = 200  # Sforce-Query-Options: batchSize is 200..2000
MAX_BATCH_SIZE = 2000
_BATCH_OPTION = re.compile(r"(?:^|[;,\s])batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(config: Mapping[str, Any], options_header: str | None) -> int:
    """The configured batch size, or the client's ``batchSize`` clamped to 200..2000."""
    match = _BATCH_OPTION.search(options_header or "")
    if match is None:
        return int(config.get("QUERY_BATCH_SIZE", MAX_BATCH_SIZE))
    return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(match.group(1))))


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
    rows = [row._mapping for row in db.session.execute(stmt)]
    found = [
        records.render(compiled.sobject, compiled.selected, row, version) for row in rows[:batch]
    ]
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
    found = [
        records.render(sobject, compiled.selected, by_id[record_id], version)
        for record_id in batch_ids
        if record_id in by_id
    ]
    end = position.offset + len(batch_ids)
    body: dict[str, Any] = {"totalSize": locator.total, "done": end >= locator.total}
    if end < locator.total:
        body["nextRecordsUrl"] = next_url(version, resource, locator.id, end)
    body["records"] = found
    return body


def next_url(version: str, resource: str, locator_id: str, offset: int) -> str:
    """``/services/data/vNN.N/query/<locator>-<offset>`` (``queryAll/`` for queryAll)."""
    return f"/services/data/v{version}/{resource}/{locator_id}-{offset}"
