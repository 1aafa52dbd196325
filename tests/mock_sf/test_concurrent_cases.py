"""Cases created at once each get their own CaseNumber, on SQLite and on PostgreSQL (where two
transactions could read the same max(CaseNumber) without the lock models.py takes)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import db
from tests.mock_sf.conftest import ADA_SUB

CASES = "/services/data/v66.0/sobjects/Case/"
CREATES = 8


@pytest.fixture(params=("sqlite", "postgresql"))
def app_database(request: pytest.FixtureRequest) -> str | None:
    """This module's tests run on both kinds of database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_database")()


def test_cases_created_at_once_get_distinct_case_numbers(app: Flask, api: Any) -> None:
    token = api.token_for(ADA_SUB)
    start = threading.Barrier(CREATES)

    def create(index: int) -> Any:
        client = app.test_client()
        start.wait()
        return client.post(
            CASES, headers={"Authorization": f"Bearer {token}"}, json={"Subject": f"n{index}"}
        )

    with ThreadPoolExecutor(max_workers=CREATES) as pool:
        responses = list(pool.map(create, range(CREATES)))

    assert [r.status_code for r in responses] == [201] * CREATES, [r.get_json() for r in responses]
    with app.app_context():
        numbers = db.session.scalars(select(Case.case_number)).all()
    assert len(numbers) == len(set(numbers)) == CREATES + 2  # and Ada's two seeded cases
