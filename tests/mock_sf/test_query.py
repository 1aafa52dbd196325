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
