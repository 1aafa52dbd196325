"""GET /services/data/vNN.N/query: shape, sharing, versions."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import User
from mock_sf.models import db

CASE_LIST = (
    "SELECT Id, CaseNumber, Subject, Status, Priority, CreatedDate FROM Case "
    "WHERE ContactId = '{contact}' ORDER BY CreatedDate DESC"
)


def contact_of(app: Flask, username: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.contact_id).where(User.username == username))


def test_the_portal_case_list(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    ada_contact = contact_of(app, "ada@speakers.example")
    response = api.get(
        "/services/data/v66.0/query",
        token,
        query_string={"q": CASE_LIST.format(contact=ada_contact)},
    )

    assert response.status_code == 200
    assert response.content_type == "application/json;charset=UTF-8"
    body = response.get_json()
    assert (body["totalSize"], body["done"]) == (2, True)
    newest, oldest = body["records"]
    assert list(newest) == [
        "attributes",
        "Id",
        "CaseNumber",
        "Subject",
        "Status",
        "Priority",
        "CreatedDate",
    ]
    assert newest["attributes"] == {
        "type": "Case",
        "url": f"/services/data/v66.0/sobjects/Case/{newest['Id']}",
    }
    assert (newest["Subject"], newest["Status"], newest["CaseNumber"]) == (
        "Travel reimbursement form",
        "New",
        "00001001",
    )
    assert (oldest["Subject"], oldest["Status"], oldest["Priority"]) == (
        "Projector adapter for room B",
        "Working",
        "High",
    )
    assert newest["CreatedDate"] > oldest["CreatedDate"]
    assert newest["CreatedDate"].endswith("+0000") and newest["CreatedDate"][19] == "."


def test_ada_never_sees_graces_cases(app: Flask, api: Any, idp: Any) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    created = api.post(
        "/services/data/v66.0/sobjects/Case/", grace, json={"Subject": "Visa letter"}
    )
    assert created.status_code == 201
    ada = api.token_for(idp.ADA_SUB)
    grace_contact = contact_of(app, "grace@speakers.example")

    for q in (CASE_LIST.format(contact=grace_contact), "SELECT Id, Subject FROM Case"):
        body = api.get("/services/data/v66.0/query/", ada, query_string={"q": q}).get_json()
        assert "Visa letter" not in [record.get("Subject") for record in body["records"]]
    everything = api.get(
        "/services/data/v66.0/query/", ada, query_string={"q": "SELECT Subject FROM Case"}
    )
    assert everything.get_json()["totalSize"] == 2
    grace_view = api.get(
        "/services/data/v66.0/query", grace, query_string={"q": "SELECT Subject FROM Case"}
    )
    assert [r["Subject"] for r in grace_view.get_json()["records"]] == ["Visa letter"]


def test_an_injection_attempt_is_just_a_non_matching_string(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    q = r"SELECT Id FROM Case WHERE Subject = 'x\' OR Subject != \'x'"
    body = api.get("/services/data/v66.0/query", token, query_string={"q": q}).get_json()
    assert body == {"totalSize": 0, "done": True, "records": []}


def test_text_comparisons_ignore_case_like_soql(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    q = "SELECT Subject FROM Case WHERE Status = 'working' LIMIT 1"
    body = api.get("/services/data/v59.0/query/", token, query_string={"q": q}).get_json()
    assert [r["Subject"] for r in body["records"]] == ["Projector adapter for room B"]
    assert body["records"][0]["attributes"]["url"].startswith("/services/data/v59.0/sobjects/Case/")


@pytest.mark.parametrize(
    ("q", "status", "code"),
    [
        (None, 400, "MALFORMED_QUERY"),
        ("SELECT Id FRM Case", 400, "MALFORMED_QUERY"),
        ("SELECT Nope FROM Case", 400, "INVALID_FIELD"),
        ("SELECT Id FROM Nope", 400, "INVALID_TYPE"),
    ],
)
def test_query_errors_are_salesforce_arrays(
    api: Any, idp: Any, q: str | None, status: int, code: str
) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = api.get("/services/data/v66.0/query", token, query_string={"q": q} if q else {})
    assert response.status_code == status
    assert response.content_type == "application/json;charset=UTF-8"
    [error] = response.get_json()
    assert error["errorCode"] == code
    if q is None:
        assert error["message"] == "A query string has to be specified"


def test_versions_list_needs_no_auth(client: Any) -> None:
    for path in ("/services/data/", "/services/data"):
        response = client.get(path)
        assert response.status_code == 200
        versions = response.get_json()
        assert versions[-1] == {
            "label": "Spring '26",
            "url": "/services/data/v66.0",
            "version": "66.0",
        }
        assert {"label": "Winter '26", "url": "/services/data/v65.0", "version": "65.0"} in versions


def test_resources_include_the_absolute_identity_url(api: Any, idp: Any) -> None:
    session = api.session_for(idp.ADA_SUB)
    for path in ("/services/data/v66.0/", "/services/data/v66.0"):
        body = api.get(path, session["access_token"]).get_json()
        assert body == {
            "sobjects": "/services/data/v66.0/sobjects",
            "query": "/services/data/v66.0/query",
            "queryAll": "/services/data/v66.0/queryAll",
            "search": "/services/data/v66.0/search",
            "limits": "/services/data/v66.0/limits",
            "composite": "/services/data/v66.0/composite",
            "identity": session["id"],
        }


def test_unknown_paths_are_not_found_arrays(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    for path in ("/services/data/v66.0/nothing", "/services/data/vX/query"):
        response = api.get(path, token)
        assert response.status_code == 404
        assert response.get_json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]


# ---------------------------------------------------------------- aggregates

Q = "/services/data/v66.0/query"
AGGREGATE = {"type": "AggregateResult"}


def rows(api: Any, token: str, q: str) -> list[dict[str, Any]]:
    response = api.get(Q, token, query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["done"], body["totalSize"], "nextRecordsUrl" in body) == (
        True,
        len(body["records"]),
        False,
    )
    return body["records"]


def new_case(api: Any, token: str, **fields: Any) -> str:
    created = api.post("/services/data/v66.0/sobjects/Case/", token, json=fields)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def test_group_by_counts_as_aggregate_results(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    assert rows(api, ada, "SELECT Status, COUNT(Id) FROM Case GROUP BY Status ORDER BY Status") == [
        {"attributes": AGGREGATE, "Status": "New", "expr0": 1},
        {"attributes": AGGREGATE, "Status": "Working", "expr0": 1},
    ]


def test_aliases_and_implied_expr_names(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    q = (
        "SELECT Status st, MAX(Priority), COUNT(Id) n, MIN(Priority) FROM Case"
        " WHERE Status = 'Working' GROUP BY Status"
    )
    [record] = rows(api, ada, q)
    assert record == {
        "attributes": AGGREGATE,
        "st": "Working",
        "expr0": "High",
        "n": 1,
        "expr1": "High",
    }


def test_aggregates_without_group_by_and_count_kept(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    q = "SELECT COUNT(Id), COUNT(Type), COUNT_DISTINCT(Status), COUNT_DISTINCT(Origin) FROM Case"
    assert rows(api, ada, q) == [
        {"attributes": AGGREGATE, "expr0": 2, "expr1": 0, "expr2": 2, "expr3": 1}
    ]
    [none] = rows(api, ada, "SELECT COUNT(Id), MAX(CreatedDate) FROM Case WHERE Subject = 'x'")
    assert none == {"attributes": AGGREGATE, "expr0": 0, "expr1": None}
    body = api.get(Q, ada, query_string={"q": "SELECT COUNT() FROM Case"}).get_json()
    assert body == {"totalSize": 2, "done": True, "records": []}


def test_min_and_max_of_a_picklist_follow_its_order(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    new_case(api, ada, Subject="Badge", Status="Escalated")
    # Picklist order New, Working, Escalated, Closed; alphabetically MIN is Escalated.
    [record] = rows(api, ada, "SELECT MIN(Status), MAX(Status), MAX(CaseNumber) FROM Case")
    assert record == {
        "attributes": AGGREGATE,
        "expr0": "New",
        "expr1": "Escalated",
        "expr2": "00001002",
    }


def test_having_and_order_by_an_aggregate(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    new_case(api, ada, Subject="Badge", Priority="High")
    q = "SELECT Priority, COUNT(Id) c FROM Case GROUP BY Priority HAVING COUNT(Id) > 1"
    assert rows(api, ada, q) == [{"attributes": AGGREGATE, "Priority": "High", "c": 2}]
    q = "SELECT Priority, COUNT(Id) FROM Case GROUP BY Priority ORDER BY COUNT(Id) DESC LIMIT 1"
    assert rows(api, ada, q) == [{"attributes": AGGREGATE, "Priority": "High", "expr0": 2}]


def test_group_by_a_relationship_field_keys_it_by_the_field_name(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    q = "SELECT Contact.Name, COUNT(Id) FROM Case GROUP BY Contact.Name"
    assert rows(api, ada, q) == [{"attributes": AGGREGATE, "Name": "Ada Lovelace", "expr0": 2}]


def test_aggregates_count_only_what_the_user_may_see(api: Any, idp: Any) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    new_case(api, grace, Subject="Visa letter")
    ada = api.token_for(idp.ADA_SUB)
    assert rows(api, ada, "SELECT COUNT(Id) FROM Case") == [{"attributes": AGGREGATE, "expr0": 2}]
    assert rows(api, grace, "SELECT COUNT(Id) FROM Case") == [{"attributes": AGGREGATE, "expr0": 1}]


def test_aggregate_results_stop_at_the_cap_without_a_locator(
    api: Any, idp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mock_sf.rest import query

    monkeypatch.setattr(query, "MAX_AGGREGATE_ROWS", 1)
    ada = api.token_for(idp.ADA_SUB)
    assert len(rows(api, ada, "SELECT Status, COUNT(Id) FROM Case GROUP BY Status")) == 1


def test_sum_and_avg_of_a_number_field(app: Flask, api: Any, idp: Any) -> None:
    from mock_sf.models import Account

    ada = api.token_for(idp.ADA_SUB)
    api.token_for(idp.GRACE_SUB)  # her account, Compilers Inc, is created with her
    with app.app_context():
        for account in db.session.scalars(select(Account)):
            account.number_of_employees = 40 if account.name == "Analytical Engines Ltd" else 9
        db.session.commit()
    q = "SELECT SUM(NumberOfEmployees), AVG(NumberOfEmployees), MIN(NumberOfEmployees) FROM Account"
    assert rows(api, ada, q) == [{"attributes": AGGREGATE, "expr0": 40, "expr1": 40.0, "expr2": 40}]
    from tests.mock_sf.test_case_updates import admin_token

    assert rows(api, admin_token(app), q) == [
        {"attributes": AGGREGATE, "expr0": 49, "expr1": 24.5, "expr2": 9}
    ]
    big = "SELECT Name FROM Account WHERE NumberOfEmployees > 10"
    assert [r["Name"] for r in rows(api, admin_token(app), big)] == ["Analytical Engines Ltd"]


# ---------------------------------------------------------------- subqueries

COMMENTS = "/services/data/v66.0/sobjects/CaseComment/"
WITH_COMMENTS = (
    "SELECT Id, Subject, (SELECT Id, CommentBody FROM CaseComments ORDER BY CreatedDate)"
    " FROM Case ORDER BY CaseNumber"
)


@pytest.fixture
def commented(app: Flask, api: Any, idp: Any) -> dict[str, str]:
    """Ada's first case with a published and an unpublished staff comment and one of hers."""
    from tests.mock_sf.test_case_updates import admin_token

    ada = api.token_for(idp.ADA_SUB)
    admin = admin_token(app)
    first = rows(api, ada, "SELECT Id FROM Case ORDER BY CaseNumber LIMIT 1")[0]["Id"]
    for token, body, published in (
        (admin, "We ordered the adapter.", True),
        (admin, "Internal: check stock.", False),
        (ada, "Thanks!", False),
    ):
        comment = {"ParentId": first, "CommentBody": body, "IsPublished": published}
        assert api.post(COMMENTS, token, json=comment).status_code == 201
    return {"ada": ada, "admin": admin, "case": first}


def bodies(record: dict[str, Any]) -> list[str] | None:
    nested = record["CaseComments"]
    if nested is None:
        return None
    assert (nested["done"], nested["totalSize"]) == (True, len(nested["records"]))
    assert {r["attributes"]["type"] for r in nested["records"]} == {"CaseComment"}
    return [r["CommentBody"] for r in nested["records"]]


def test_case_comments_subquery_per_sharing(api: Any, commented: dict[str, str]) -> None:
    first, second = rows(api, commented["ada"], WITH_COMMENTS)
    assert list(first) == ["attributes", "Id", "Subject", "CaseComments"]
    assert bodies(first) == ["We ordered the adapter.", "Thanks!"]  # published, or her own
    assert bodies(second) is None  # no children: null, not an empty result
    staff_first, _ = rows(api, commented["admin"], WITH_COMMENTS)
    assert bodies(staff_first) == ["We ordered the adapter.", "Internal: check stock.", "Thanks!"]


def test_a_subquery_limit_counts_per_parent(api: Any, commented: dict[str, str]) -> None:
    q = (
        "SELECT Id, (SELECT CommentBody FROM caseComments ORDER BY CreatedDate DESC LIMIT 1)"
        " FROM Case ORDER BY CaseNumber"
    )
    first, second = rows(api, commented["admin"], q)
    assert bodies(first) == ["Thanks!"]
    assert bodies(second) is None


def test_children_come_from_one_query_per_batch(
    app: Flask, api: Any, commented: dict[str, str]
) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        rows(api, commented["admin"], WITH_COMMENTS)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM case_comment" in s]) == 1


def test_children_follow_every_batch(app: Flask, api: Any, commented: dict[str, str]) -> None:
    app.config["QUERY_BATCH_SIZE"] = 1
    body = api.get(Q, commented["admin"], query_string={"q": WITH_COMMENTS}).get_json()
    assert bodies(body["records"][0]) == [
        "We ordered the adapter.",
        "Internal: check stock.",
        "Thanks!",
    ]
    more = api.get(body["nextRecordsUrl"], commented["admin"]).get_json()
    assert (more["done"], bodies(more["records"][0])) == (True, None)


# ---------------------------------------------------------------- FIELDS(), toLabel, WITH


def test_fields_standard_selects_the_described_fields(api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    described = api.get("/services/data/v66.0/sobjects/Case/describe", ada).get_json()
    names = [field["name"] for field in described["fields"]]
    for q in ("SELECT FIELDS(STANDARD) FROM Case", "SELECT FIELDS(ALL) FROM Case LIMIT 200"):
        first = rows(api, ada, q)[0]
        assert list(first) == ["attributes", *names]
    [only] = rows(api, ada, "SELECT FIELDS(CUSTOM) FROM Case ORDER BY CaseNumber LIMIT 1")
    assert list(only) == ["attributes"]  # no custom fields in this org


def test_to_label_returns_the_picklist_label(app: Flask, api: Any, idp: Any) -> None:
    ada = api.token_for(idp.ADA_SUB)
    q = "SELECT Status, toLabel(Priority) FROM Case ORDER BY CaseNumber"
    assert [r["Priority"] for r in rows(api, ada, q)] == [
        "High",
        "Medium",
    ]  # stock: labels = values
    app.config["CASE_PICKLISTS"] = {
        "Priority": [{"value": "High", "label": "Haute"}, "Medium", "Low"],
    }
    assert [(r["Status"], r["Priority"]) for r in rows(api, ada, q)] == [
        ("Working", "Haute"),
        ("New", "Medium"),
    ]
    grouped = "SELECT toLabel(Priority), COUNT(Id) FROM Case GROUP BY Priority ORDER BY Priority"
    assert [r["Priority"] for r in rows(api, ada, grouped)] == ["Haute", "Medium"]


@pytest.mark.parametrize("mode", ["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"])
def test_with_security_modes_keep_sharing(api: Any, idp: Any, mode: str) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    new_case(api, grace, Subject="Visa letter")
    ada = api.token_for(idp.ADA_SUB)
    q = f"SELECT Subject FROM Case WHERE Subject != null WITH {mode} ORDER BY Subject"
    assert [r["Subject"] for r in rows(api, ada, q)] == [
        "Projector adapter for room B",
        "Travel reimbursement form",
    ]
