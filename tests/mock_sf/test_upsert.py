"""sObject Rows by External ID: upsert, read and delete a Case by Portal_Request_Id__c or Id."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import update

from mock_sf.models import Case
from mock_sf.models import db

V = "/services/data/v66.0"
BY_KEY = f"{V}/sobjects/Case/Portal_Request_Id__c"


def call(api: Any, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return api.client.open(
        path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def test_a_retried_create_makes_one_case(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    first = call(api, "PATCH", f"{BY_KEY}/req-42", token, json={"Subject": "Lapel mic"})
    assert first.status_code == 201
    created = first.get_json()
    assert list(created) == ["id", "errors", "success", "created"]
    assert (created["errors"], created["success"], created["created"]) == ([], True, True)
    again = call(api, "PATCH", f"{BY_KEY}/REQ-42", token, json={"Priority": "High"})
    assert (again.status_code, again.get_json()) == (
        200,
        {"id": created["id"], "errors": [], "success": True, "created": False},
    )
    with app.app_context():
        cases = db.session.scalars(select(Case).where(Case.portal_request_id.is_not(None))).all()
    assert [(c.id, c.portal_request_id, c.subject, c.priority) for c in cases] == [
        (created["id"], "req-42", "Lapel mic", "High")
    ]
    record = api.get(f"{BY_KEY}/Req-42", token).get_json()
    assert (record["Id"], record["Portal_Request_Id__c"]) == (created["id"], "req-42")
    q = "SELECT Id FROM Case WHERE Portal_Request_Id__c = 'REQ-42'"
    assert api.get(f"{V}/query", token, query_string={"q": q}).get_json()["totalSize"] == 1


def test_before_v46_the_update_is_a_204_and_the_create_has_no_created_flag(
    api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    path = "/services/data/v45.0/sobjects/Case/Portal_Request_Id__c/old-1"
    created = call(api, "PATCH", path, token, json={"Subject": "x"})
    assert (created.status_code, list(created.get_json())) == (201, ["id", "errors", "success"])
    updated = call(api, "PATCH", path, token, json={"Subject": "y"})
    assert (updated.status_code, updated.data) == (204, b"")


def test_upsert_by_id_updates_and_post_to_id_creates(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    created = api.post(f"{V}/sobjects/Case/Id", token, json={"Subject": "by null id"})
    assert created.status_code == 201
    case_id = created.get_json()["id"]
    updated = call(api, "PATCH", f"{V}/sobjects/Case/Id/{case_id}", token, json={"Subject": "z"})
    assert (updated.status_code, updated.get_json()["created"]) == (200, False)
    assert api.get(f"{V}/sobjects/Case/{case_id}", token).get_json()["Subject"] == "z"


def test_several_matches_answer_300_with_their_urls(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    ids = [
        call(api, "PATCH", f"{BY_KEY}/{key}", token, json={"Subject": key}).get_json()["id"]
        for key in ("dup-a", "dup-b")
    ]
    with app.app_context():  # the unique index is case-sensitive; Salesforce's match is not
        db.session.execute(update(Case).where(Case.id == ids[1]).values(portal_request_id="DUP-A"))
        db.session.commit()
    expected = [f"{V}/sobjects/Case/{i}" for i in sorted(ids)]
    for method in ("PATCH", "GET"):
        response = call(api, method, f"{BY_KEY}/dup-a", token, json={"Subject": "again"})
        assert (response.status_code, response.get_json()) == (300, expected)


def test_delete_by_external_id(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = call(api, "PATCH", f"{BY_KEY}/gone", token, json={}).get_json()["id"]
    assert call(api, "DELETE", f"{BY_KEY}/gone", token).status_code == 204
    with app.app_context():
        assert db.session.get(Case, case_id).is_deleted is True


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        (
            "PATCH",
            f"{V}/sobjects/Case/Subject/x",
            {},
            404,
            {
                "message": "Provided external ID field does not exist or is not accessible:"
                " Subject",
                "errorCode": "NOT_FOUND",
            },
        ),
        (
            "GET",
            f"{V}/sobjects/Case/Foo__c/x",
            None,
            404,
            {
                "message": "Provided external ID field does not exist or is not accessible: Foo__c",
                "errorCode": "NOT_FOUND",
            },
        ),
        (
            "GET",
            f"{BY_KEY}/nobody",
            None,
            404,
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"},
        ),
        (
            "PATCH",
            f"{V}/sobjects/Case/Id/500000000000001AAA",
            {"Subject": "x"},
            404,
            {
                "message": "Provided external ID field does not exist or is not accessible:"
                " 500000000000001AAA",
                "errorCode": "NOT_FOUND",
            },
        ),
        (
            "PATCH",
            f"{V}/sobjects/User/Id/005000000000001AAA",
            {},
            404,
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"},
        ),
        (
            "PATCH",
            f"{BY_KEY}/{'k' * 65}",
            {"Subject": "x"},
            400,
            {
                "message": f"Portal Request ID: data value too large: {'k' * 40}..."
                " (max length=64)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["Portal_Request_Id__c"],
            },
        ),
        (
            "PATCH",
            f"{BY_KEY}/k",
            {"Status": 3},
            400,
            {
                "message": "Cannot deserialize instance of string from int value for field Status",
                "errorCode": "JSON_PARSER_ERROR",
            },
        ),
    ],
    ids=[
        "not an external id",
        "no such field",
        "no match",
        "unknown id",
        "not writable",
        "too long",
        "bad body",
    ],
)
def test_upsert_errors(
    api: Any, idp: Any, method: str, path: str, body: Any, status: int, error: dict[str, Any]
) -> None:
    response = call(api, method, path, api.token_for(idp.ADA_SUB), json=body)
    assert (response.status_code, response.get_json()) == (status, [error])


def test_a_key_on_a_case_she_cannot_see_is_a_duplicate_value(api: Any, idp: Any) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    graces = call(api, "PATCH", f"{BY_KEY}/shared-key", grace, json={"Subject": "Visa"})
    response = call(
        api, "PATCH", f"{BY_KEY}/SHARED-key", api.token_for(idp.ADA_SUB), json={"Subject": "x"}
    )
    assert (response.status_code, response.get_json()) == (
        400,
        [
            {
                "message": "duplicate value found: Portal_Request_Id__c duplicates value on"
                f" record with id: {graces.get_json()['id']}",
                "errorCode": "DUPLICATE_VALUE",
                "fields": [],
            }
        ],
    )
