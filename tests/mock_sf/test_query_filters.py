"""SOQL filter and sort semantics against real rows: NULL with !=, IN, LIKE, datetimes,
relative dates, picklist order."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from mock_sf.models import Case
from mock_sf.models import db

CASES = "/services/data/v66.0/sobjects/Case/"


@pytest.fixture
def ada(api: Any, idp: Any, app: Flask) -> Any:
    """Ada's token, with a third case typed Other, and the seed's created dates known."""
    token = api.token_for(idp.ADA_SUB)
    api.post(
        CASES, token, json={"Subject": "50% off badge", "Type": "Other", "Status": "Escalated"}
    )
    return token


def subjects(api: Any, token: str, where: str, order: str = "Subject") -> list[str]:
    q = f"SELECT Subject FROM Case WHERE {where} ORDER BY {order}"
    response = api.get("/services/data/v66.0/query", token, query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return [r["Subject"] for r in response.get_json()["records"]]


SEEDED = ["Projector adapter for room B", "Travel reimbursement form"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Type != 'Other'", SEEDED),  # NULL Type matches !=, as in SOQL
        ("Type NOT IN ('Other')", SEEDED),
        ("Type = null", SEEDED),
        ("Type IN ('other')", ["50% off badge"]),
        ("Status IN ('New', 'Working')", SEEDED),
        ("Subject LIKE '%ROOM%'", ["Projector adapter for room B"]),
        (r"Subject LIKE '50\%%'", ["50% off badge"]),
        ("Subject LIKE '_0%'", ["50% off badge"]),
        ("CreatedDate = TODAY", ["50% off badge"]),
        ("CreatedDate = LAST_N_DAYS:1", ["50% off badge", "Travel reimbursement form"]),
        ("CreatedDate < YESTERDAY", ["Projector adapter for room B"]),
        (
            "CreatedDate > 2000-01-01T00:00:00Z AND CreatedDate < 2100-01-01T00:00:00.000+01:00",
            ["50% off badge", *SEEDED],
        ),
        ("(Status = 'New' OR Status = 'Escalated') AND NOT Type = 'Other'", [SEEDED[1]]),
    ],
)
def test_filters(api: Any, ada: str, where: str, expected: list[str]) -> None:
    assert subjects(api, ada, where) == expected


def test_picklists_sort_in_picklist_order_and_text_ignores_case(
    app: Flask, api: Any, ada: str
) -> None:
    # Status order is New, Working, Escalated, Closed; alphabetical would put Escalated first.
    assert subjects(api, ada, "IsClosed = false", "Status") == [
        "Travel reimbursement form",
        "Projector adapter for room B",
        "50% off badge",
    ]
    with app.app_context():
        db.session.execute(db.update(Case).where(Case.type.is_(None)).values(subject="a lower"))
        db.session.commit()
    assert subjects(api, ada, "IsClosed = false", "Subject DESC")[-1] == "50% off badge"
    assert subjects(api, ada, "IsClosed = false", "Subject")[:2] == ["50% off badge", "a lower"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CreatedDate = THIS_MONTH", ["first of January"]),
        ("CreatedDate < THIS_MONTH", ["new year's eve"]),  # before its start
        ("CreatedDate > THIS_MONTH", ["first of February"]),  # after its end
        ("CreatedDate >= THIS_MONTH", ["first of February", "first of January"]),
        ("CreatedDate <= THIS_MONTH", ["first of January", "new year's eve"]),
        ("CreatedDate != THIS_MONTH", ["first of February", "new year's eve"]),
        ("CreatedDate = LAST_MONTH", ["new year's eve"]),
        ("CreatedDate = LAST_YEAR", ["new year's eve"]),
        ("CreatedDate = THIS_YEAR", ["first of February", "first of January"]),
        ("CreatedDate = THIS_WEEK", ["first of January", "new year's eve"]),
        ("CreatedDate = NEXT_N_DAYS:31", ["first of February"]),
        ("CreatedDate = N_DAYS_AGO:1", ["new year's eve"]),
    ],
)
def test_date_literals_against_a_frozen_now(
    app: Flask, api: Any, ada: str, monkeypatch: pytest.MonkeyPatch, where: str, expected: Any
) -> None:
    from datetime import datetime

    from mock_sf.rest import soql

    monkeypatch.setattr(soql, "utcnow", lambda: datetime(2026, 1, 1, 5, 0))  # a Thursday
    created = {
        "new year's eve": datetime(2025, 12, 31, 23, 59, 59),
        "first of January": datetime(2026, 1, 1, 0, 0, 0),
        "first of February": datetime(2026, 2, 1, 0, 0, 0),
    }
    with app.app_context():
        cases = db.session.scalars(db.select(Case).order_by(Case.case_number)).all()
        for case_row, (subject, when) in zip(cases, created.items(), strict=True):
            case_row.subject, case_row.created_date = subject, when
        db.session.commit()
    assert subjects(api, ada, where) == expected
