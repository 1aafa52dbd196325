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
