"""``GET vNN.N/query?q=``: run SOQL for the user, sharing filter ANDed in (contract §6.2)."""

from __future__ import annotations

from typing import Any

from mock_sf.models import User
from mock_sf.rest import records
from mock_sf.rest.errors import MalformedQuery
from mock_sf.rest.soql import compile_soql


def run_query(soql: str | None, user: User, version: str) -> dict[str, Any]:
    """The query response; every batch is complete (paging comes later)."""
    if not soql or not soql.strip():
        raise MalformedQuery("A query string has to be specified")
    compiled = compile_soql(soql)
    found = records.fetch(compiled.sobject, compiled.fields, compiled.stmt, user, version)
    return {"totalSize": len(found), "done": True, "records": found}
