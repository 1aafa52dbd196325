"""Query batches (nextRecordsUrl, locators), queryAll and soft delete, COUNT(), relationship
fields as nested records (contract §6.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow

QUERY = "/services/data/v66.0/query"
CASES = "/services/data/v66.0/sobjects/Case/"


def add_cases(app: Flask, username: str, count: int, prefix: str = "Bulk") -> None:
    """Insert cases for a user's contact directly (fast), CaseNumbers after the seed's."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        start = db.session.scalar(select(db.func.max(Case.case_number))) + 1
        now = utcnow()
        rows = [
            {
                "id": f"500{i:012d}AAA",
                "case_number": start + i,
                "subject": f"{prefix} {i:04d}",
                "status": "New",
                "priority": "Low",
                "contact_id": user.contact_id,
                "account_id": user.account_id,
                "owner_id": user.id,
                "created_date": now - timedelta(minutes=i),
                "created_by_id": user.id,
                "last_modified_date": now,
                "last_modified_by_id": user.id,
                "system_modstamp": now,
            }
            for i in range(count)
        ]
        db.session.execute(insert(Case), rows)
        db.session.commit()


def query(api: Any, token: str, q: str, path: str = QUERY, **headers: str) -> Any:
    return api.client.get(
        path, query_string={"q": q}, headers={"Authorization": f"Bearer {token}", **headers}
    )


@pytest.fixture
def small_batches(app: Flask) -> None:
    app.config["QUERY_BATCH_SIZE"] = 3


def test_paging_walks_every_batch_in_order(
    app: Flask, api: Any, idp: Any, small_batches: None
) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 6)
    first = query(
        api, token, "SELECT Subject FROM Case WHERE Subject LIKE 'bulk%' ORDER BY Subject"
    )
    body = first.get_json()
    assert list(body) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert (body["totalSize"], body["done"]) == (6, False)
    locator, offset = body["nextRecordsUrl"].rsplit("/", 1)[1].rsplit("-", 1)
    assert body["nextRecordsUrl"] == f"/services/data/v66.0/query/{locator}-3"
    assert locator.startswith("01g") and len(locator) == 18 and offset == "3"
    subjects = [r["Subject"] for r in body["records"]]
    second = api.get(body["nextRecordsUrl"], token).get_json()
    assert list(second) == ["totalSize", "done", "records"]
    assert (second["totalSize"], second["done"]) == (6, True)
    subjects += [r["Subject"] for r in second["records"]]
    assert subjects == [f"Bulk {i:04d}" for i in range(6)]


def test_a_batch_size_header_is_clamped_to_200(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 250)
    body = query(
        api, token, "SELECT Id FROM Case", **{"Sforce-Query-Options": "batchSize=5"}
    ).get_json()
    assert (body["totalSize"], len(body["records"])) == (252, 200)
    rest = api.get(body["nextRecordsUrl"], token).get_json()
    assert (rest["done"], len(rest["records"])) == (True, 52)
    default = query(api, token, "SELECT Id FROM Case").get_json()
    assert (default["done"], len(default["records"])) == (True, 252)  # default batch 2,000


def test_locators_belong_to_their_user(app: Flask, api: Any, idp: Any, small_batches: None) -> None:
    ada = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 4)
    next_url = query(api, ada, "SELECT Id FROM Case").get_json()["nextRecordsUrl"]
    grace = api.token_for(idp.GRACE_SUB)
    locator = next_url.rsplit("/", 1)[1].rsplit("-", 1)[0]
    for token, path in (
        (grace, next_url),
        (ada, f"/services/data/v66.0/query/{locator}-99"),
        (ada, "/services/data/v66.0/query/01gD0000002HU6KIAW-3"),
        (ada, "/services/data/v66.0/query/nonsense"),
    ):
        response = api.get(path, token)
        assert response.status_code == 400
        assert response.get_json() == [
            {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
        ]


def test_an_idle_locator_expires(app: Flask, api: Any, idp: Any, small_batches: None) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 4)
    app.config["QUERY_LOCATOR_LIFETIME"] = 0
    next_url = query(api, token, "SELECT Id FROM Case").get_json()["nextRecordsUrl"]
    assert api.get(next_url, token).get_json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_delete_is_soft_and_query_all_shows_it(
    app: Flask, api: Any, idp: Any, small_batches: None
) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "Cancelled talk"}).get_json()["id"]
    deleted = api.client.delete(f"{CASES}{case_id}", headers={"Authorization": f"Bearer {token}"})
    assert (deleted.status_code, deleted.data) == (204, b"")

    q = "SELECT Subject, IsDeleted FROM Case ORDER BY CreatedDate"
    live = query(api, token, q).get_json()
    assert [r["Subject"] for r in live["records"]] == [
        "Projector adapter for room B",
        "Travel reimbursement form",
    ]
    everything = query(api, token, q, "/services/data/v66.0/queryAll").get_json()
    assert (everything["totalSize"], everything["done"]) == (3, True)
    assert everything["records"][-1]["Subject"] == "Cancelled talk"
    assert everything["records"][-1]["IsDeleted"] is True
    assert api.get(f"{CASES}{case_id}", token).status_code == 404
    again = api.client.delete(f"{CASES}{case_id}", headers={"Authorization": f"Bearer {token}"})
    assert (again.status_code, again.get_json()) == (
        404,
        [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}],
    )


def test_query_all_pages_under_query_all(
    app: Flask, api: Any, idp: Any, small_batches: None
) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 3)
    auth = {"Authorization": f"Bearer {token}"}
    api.client.delete(f"{CASES}500000000000000AAA", headers=auth)
    body = query(api, token, "SELECT Id FROM Case", "/services/data/v59.0/queryAll/").get_json()
    assert body["totalSize"] == 5
    assert body["nextRecordsUrl"].startswith("/services/data/v59.0/queryAll/01g")
    rest = api.get(body["nextRecordsUrl"], token).get_json()
    assert len(body["records"]) + len(rest["records"]) == 5
    live = query(api, token, "SELECT Id FROM Case").get_json()
    assert live["totalSize"] == 4


def test_count(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, "ada@speakers.example", 5)
    for q, total in (
        ("SELECT COUNT() FROM Case", 7),
        ("select count() from Case where Subject like 'Bulk%' and Priority = 'Low'", 5),
        ("SELECT COUNT() FROM Case LIMIT 3", 3),
    ):
        assert query(api, token, q).get_json() == {"totalSize": total, "done": True, "records": []}


def test_relationship_fields_come_back_nested(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    api.post(CASES, token, json={"Subject": "Orphan", "ContactId": None})
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        ids = (ada.id, ada.contact_id, ada.account_id)
    q = (
        "SELECT Subject, Contact.Name, Account.Name, Contact.Email, Owner.Name FROM Case"
        " WHERE Contact.Name = 'ada lovelace' ORDER BY Contact.Name, CreatedDate LIMIT 1"
    )
    [record] = query(api, token, q).get_json()["records"]
    assert record == {
        "attributes": record["attributes"],
        "Subject": "Projector adapter for room B",
        "Contact": {
            "attributes": {
                "type": "Contact",
                "url": f"/services/data/v66.0/sobjects/Contact/{ids[1]}",
            },
            "Name": "Ada Lovelace",
            "Email": "ada@speakers.example",
        },
        "Account": {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v66.0/sobjects/Account/{ids[2]}",
            },
            "Name": "Analytical Engines Ltd",
        },
        "Owner": {
            "attributes": {"type": "Name", "url": f"/services/data/v66.0/sobjects/User/{ids[0]}"},
            "Name": "Ada Lovelace",
        },
    }


def test_a_missing_parent_is_null(app: Flask, api: Any, idp: Any) -> None:
    with app.app_context():
        db.session.execute(db.update(Case).values(account_id=None))
        db.session.commit()
    token = api.token_for(idp.ADA_SUB)
    records = query(api, token, "SELECT Account.Name FROM Case").get_json()["records"]
    assert [r["Account"] for r in records] == [None, None]
