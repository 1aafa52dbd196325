"""sobjects/Case create and retrieve, sobjects/User retrieve (contract §6.2-6.4)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import User
from mock_sf.models import db

CASES = "/services/data/v66.0/sobjects/Case/"


def ada(app: Flask) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        db.session.expunge(user)
        return user


def test_create_case_as_the_portal_does(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    me = ada(app)
    body = {
        "Subject": "Lapel mic",
        "Description": "Room A",
        "Priority": "High",
        "Origin": "Web",
        "ContactId": me.contact_id,
    }
    response = api.post(CASES, token, json=body)

    assert response.status_code == 201
    assert response.content_type == "application/json;charset=UTF-8"
    created = response.get_json()
    assert list(created) == ["id", "errors", "success"]
    assert (created["errors"], created["success"]) == ([], True)
    assert created["id"].startswith("500") and len(created["id"]) == 18

    record = api.get(f"{CASES}{created['id']}", token).get_json()
    assert record["attributes"] == {
        "type": "Case",
        "url": f"/services/data/v66.0/sobjects/Case/{created['id']}",
    }
    assert record["CaseNumber"] == "00001002"
    assert (record["Subject"], record["Description"], record["Priority"], record["Origin"]) == (
        "Lapel mic",
        "Room A",
        "High",
        "Web",
    )
    assert (record["Status"], record["IsClosed"], record["Type"]) == ("New", False, None)
    assert (record["ContactId"], record["AccountId"]) == (me.contact_id, me.account_id)
    assert record["OwnerId"] == record["CreatedById"] == record["LastModifiedById"] == me.id
    assert record["CreatedDate"].endswith(".000+0000") or record["CreatedDate"][-5:] == "+0000"


def test_defaults_contact_from_the_external_user_and_accepts_no_trailing_slash(
    app: Flask, api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = api.post(CASES.rstrip("/"), token, json={"Subject": "Badge reprint"})
    assert response.status_code == 201
    with app.app_context():
        case = db.session.get(Case, response.get_json()["id"])
        assert (case.contact_id, case.priority, case.status) == (
            ada(app).contact_id,
            "Medium",
            "New",
        )


def test_get_with_fields_and_a_15_char_id(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "Water on stage"}).get_json()["id"]
    response = api.get(f"{CASES}{case_id[:15]}/", token, query_string={"fields": "Subject,status"})
    assert response.get_json() == {
        "attributes": {"type": "Case", "url": f"/services/data/v66.0/sobjects/Case/{case_id}"},
        "Subject": "Water on stage",
        "Status": "New",
    }


def test_someone_elses_case_is_not_found(api: Any, idp: Any) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    case_id = api.post(CASES, grace, json={"Subject": "Visa letter"}).get_json()["id"]
    response = api.get(f"{CASES}{case_id}", api.token_for(idp.ADA_SUB))
    assert response.status_code == 404
    assert response.get_json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_a_foreign_contact_is_refused(app: Flask, api: Any, idp: Any) -> None:
    api.token_for(idp.GRACE_SUB)
    with app.app_context():
        grace_contact = db.session.scalar(
            select(User.contact_id).where(User.username == "grace@speakers.example")
        )
    response = api.post(
        CASES, api.token_for(idp.ADA_SUB), json={"Subject": "x", "ContactId": grace_contact}
    )
    assert response.status_code == 400
    assert response.get_json() == [
        {
            "message": f"insufficient access rights on cross-reference id: {grace_contact}",
            "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
            "fields": [],
        }
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"Subject": "x", "Id": "500000000000001"},
            {
                "message": "The Id field should not be specified in the sobject data.",
                "errorCode": "INVALID_FIELD",
            },
        ),
        (
            {"Subject": "x", "Foo__c": "y"},
            {
                "message": "No such column 'Foo__c' on sobject of type Case",
                "errorCode": "INVALID_FIELD",
            },
        ),
        (
            {"Subject": "x" * 256},
            {
                "message": f"Subject: data value too large: {'x' * 40}... (max length=255)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["Subject"],
            },
        ),
        (
            {"Subject": "x", "Priority": "P" * 41},
            {
                "message": f"Priority: data value too large: {'P' * 40}... (max length=40)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["Priority"],
            },
        ),
        (
            {"Subject": "x", "CaseNumber": "1"},
            {
                "message": "Unable to create/update fields: CaseNumber. Please check the security"
                " settings"
                " of this field and verify that it is read/write for your profile or"
                " permission set.",
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["CaseNumber"],
            },
        ),
        (
            {"Subject": "x", "ContactId": "nope"},
            {
                "message": "Contact ID: id value of incorrect type: nope",
                "errorCode": "MALFORMED_ID",
                "fields": ["ContactId"],
            },
        ),
        (
            {"Subject": 5},
            {
                "message": "Cannot deserialize instance of string from int value for field Subject",
                "errorCode": "JSON_PARSER_ERROR",
            },
        ),
    ],
    ids=[
        "Id",
        "unknown field",
        "long subject",
        "long picklist value",
        "read-only",
        "malformed contact",
        "number",
    ],
)
def test_create_errors(api: Any, idp: Any, body: dict[str, Any], error: dict[str, Any]) -> None:
    response = api.post(CASES, api.token_for(idp.ADA_SUB), json=body)
    assert response.status_code == 400
    assert response.get_json() == [error]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"Subject": "x", "Priority": "Urgent"},
            {
                "message": "Priority: bad value for restricted picklist field: Urgent",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Priority"],
            },
        ),
        (
            {"Subject": "x", "Status": "Open"},
            {
                "message": "Status: bad value for restricted picklist field: Open",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Status"],
            },
        ),
        (
            {"Subject": "x", "Origin": "Fax"},
            {
                "message": "Case Origin: bad value for restricted picklist field: Fax",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Origin"],
            },
        ),
        (
            {"Subject": "x", "Type": "Hardware"},
            {
                "message": "Case Type: bad value for restricted picklist field: Hardware",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Type"],
            },
        ),
    ],
    ids=["priority", "status", "origin", "type"],
)
def test_restricted_picklists_refuse_unknown_values(
    app: Flask, api: Any, idp: Any, body: dict[str, Any], error: dict[str, Any]
) -> None:
    app.config["RESTRICTED_PICKLISTS"] = True
    response = api.post(CASES, api.token_for(idp.ADA_SUB), json=body)
    assert response.status_code == 400
    assert response.get_json() == [error]


def test_standard_picklists_store_unknown_values_and_subject_is_optional(
    api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    body = {"Description": "no subject", "Priority": "Urgent", "Status": "Open", "Type": "AV"}
    response = api.post(CASES, token, json=body)
    assert response.status_code == 201
    record = api.get(f"{CASES}{response.get_json()['id']}", token).get_json()
    assert (record["Subject"], record["Priority"], record["Status"], record["Type"]) == (
        None,
        "Urgent",
        "Open",
        "AV",
    )
    assert record["IsClosed"] is False


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", ""])
def test_malformed_json_is_a_parser_error(api: Any, idp: Any, raw: str) -> None:
    response = api.post(
        CASES, api.token_for(idp.ADA_SUB), data=raw, content_type="application/json"
    )
    assert response.status_code == 400
    [error] = response.get_json()
    assert error["errorCode"] == "JSON_PARSER_ERROR"


def test_closed_status_closes_the_case(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "done", "Status": "Closed"}).get_json()["id"]
    assert (
        api.get(f"{CASES}{case_id}", token, query_string={"fields": "IsClosed"}).get_json()[
            "IsClosed"
        ]
        is True
    )


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/services/data/v66.0/sobjects/Case/nope", 404, "NOT_FOUND"),
        ("/services/data/v66.0/sobjects/Case/500000000000001AAB", 400, "MALFORMED_ID"),
        ("/services/data/v66.0/sobjects/Case/001M000000qfPySIAU", 400, "MALFORMED_ID"),
        ("/services/data/v66.0/sobjects/Case/500000000000001AAA", 404, "NOT_FOUND"),
        ("/services/data/v66.0/sobjects/Nope/500000000000001AAA", 404, "NOT_FOUND"),
    ],
)
def test_get_errors(api: Any, idp: Any, path: str, status: int, code: str) -> None:
    response = api.get(path, api.token_for(idp.ADA_SUB))
    assert response.status_code == status
    assert response.get_json()[0]["errorCode"] == code


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_record_path_that_is_no_id_is_not_found(api: Any, idp: Any, method: str) -> None:
    """Salesforce reads a one-segment non-id as an external id field that does not exist."""
    token = api.token_for(idp.ADA_SUB)
    response = api.client.open(
        "/services/data/v66.0/sobjects/Case/my-case",
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        json={"Subject": "x"} if method == "PATCH" else None,
    )
    assert (response.status_code, response.get_json()) == (
        404,
        [
            {
                "message": "Provided external ID field does not exist or is not accessible:"
                " my-case",
                "errorCode": "NOT_FOUND",
            }
        ],
    )


def test_unknown_field_in_fields_param(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "x"}).get_json()["id"]
    response = api.get(f"{CASES}{case_id}", token, query_string={"fields": "Subject,Nope"})
    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "INVALID_FIELD"


def test_unsupported_method_is_a_405_array(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "x"}).get_json()["id"]
    response = api.client.put(f"{CASES}{case_id}/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.get_json() == [
        {
            "message": "HTTP Method 'PUT' not allowed. Allowed are DELETE,GET,HEAD,PATCH",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]
    assert set(response.headers["Allow"].split(", ")) >= {"DELETE", "GET", "PATCH"}


def test_a_user_reads_her_own_user_record(app: Flask, api: Any, idp: Any) -> None:
    session = api.session_for(idp.ADA_SUB)
    user_id = session["id"].rsplit("/", 1)[1]
    me = ada(app)
    response = api.get(
        f"/services/data/v66.0/sobjects/User/{user_id}",
        session["access_token"],
        query_string={"fields": "Id,ContactId,AccountId,Name"},
    )
    assert response.get_json() == {
        "attributes": {"type": "User", "url": f"/services/data/v66.0/sobjects/User/{user_id}"},
        "Id": user_id,
        "ContactId": me.contact_id,
        "AccountId": me.account_id,
        "Name": "Ada Lovelace",
    }


def test_another_users_record_is_not_found_for_external_users(
    app: Flask, api: Any, idp: Any
) -> None:
    grace_id = api.session_for(idp.GRACE_SUB)["id"].rsplit("/", 1)[1]
    response = api.get(f"/services/data/v66.0/sobjects/User/{grace_id}", api.token_for(idp.ADA_SUB))
    assert response.status_code == 404
    assert response.get_json()[0]["errorCode"] == "NOT_FOUND"
