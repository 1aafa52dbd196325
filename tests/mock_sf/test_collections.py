"""sObject Collections: create, update, upsert, retrieve and delete lists, with allOrNone."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import db

V = "/services/data/v66.0"
COLLECTION = f"{V}/composite/sobjects"
ROLLED_BACK = {
    "success": False,
    "errors": [
        {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the request"
            " was using AllOrNone header",
            "fields": [],
        }
    ],
}
LONG_SUBJECT = {
    "success": False,
    "errors": [
        {
            "statusCode": "STRING_TOO_LONG",
            "message": f"Subject: data value too large: {'x' * 40}... (max length=255)",
            "fields": ["Subject"],
        }
    ],
}


def call(api: Any, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return api.client.open(
        path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def case(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Case"}, **fields}


def case_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case)) or 0


def test_create_many_reports_each_record(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = case_count(app)
    body = {"records": [case(Subject="one"), case(Subject="x" * 256), case(Subject="three")]}
    response = api.post(COLLECTION, token, json=body)
    assert response.status_code == 200
    first, second, third = response.get_json()
    assert (list(first), first["success"], first["errors"]) == (
        ["id", "success", "errors"],
        True,
        [],
    )
    assert second == LONG_SUBJECT
    assert third["success"] is True
    assert case_count(app) == before + 2


def test_all_or_none_rolls_everything_back(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = case_count(app)
    body = {"allOrNone": True, "records": [case(Subject="one"), case(Subject="x" * 256)]}
    assert api.post(COLLECTION, token, json=body).get_json() == [ROLLED_BACK, LONG_SUBJECT]
    assert case_count(app) == before


def test_update_retrieve_and_delete_many(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    created = api.post(COLLECTION, token, json={"records": [case(Subject="a"), case(Subject="b")]})
    a, b = (result["id"] for result in created.get_json())
    updated = call(
        api,
        "PATCH",
        COLLECTION,
        token,
        json={
            "records": [case(Id=a, Priority="High"), case(Priority="Low"), case(id=b, Subject="B")]
        },
    )
    assert updated.get_json() == [
        {"id": a, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "MISSING_ARGUMENT",
                    "message": "Id not specified in an update call",
                    "fields": [],
                }
            ],
        },
        {"id": b, "success": True, "errors": []},
    ]
    grace_case = api.post(
        f"{V}/sobjects/Case", api.token_for(idp.GRACE_SUB), json={"Subject": "Visa"}
    ).get_json()["id"]
    retrieved = api.get(
        f"{COLLECTION}/Case",
        token,
        query_string={"ids": f"{b},{a[:15]},{grace_case}", "fields": "Subject,Priority"},
    ).get_json()
    assert retrieved == [
        {
            "attributes": {"type": "Case", "url": f"{V}/sobjects/Case/{b}"},
            "Subject": "B",
            "Priority": "Medium",
        },
        {
            "attributes": {"type": "Case", "url": f"{V}/sobjects/Case/{a}"},
            "Subject": "a",
            "Priority": "High",
        },
        None,
    ]
    posted = api.post(f"{COLLECTION}/Case", token, json={"ids": [a], "fields": ["Id"]})
    assert posted.get_json() == [
        {"attributes": {"type": "Case", "url": f"{V}/sobjects/Case/{a}"}, "Id": a}
    ]
    deleted = call(api, "DELETE", COLLECTION, token, query_string={"ids": f"{a},{grace_case}"})
    assert deleted.get_json() == [
        {"id": a, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "NOT_FOUND",
                    "message": "The requested resource does not exist",
                    "fields": [],
                }
            ],
        },
    ]
    with app.app_context():
        assert (
            db.session.get(Case, a).is_deleted and not db.session.get(Case, grace_case).is_deleted
        )


def test_delete_all_or_none_keeps_every_record(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    [a] = [r["id"] for r in api.post(COLLECTION, token, json={"records": [case()]}).get_json()]
    response = call(
        api, "DELETE", COLLECTION, token, query_string={"ids": f"{a},nope", "allOrNone": "true"}
    )
    assert response.get_json() == [
        ROLLED_BACK,
        {
            "success": False,
            "errors": [
                {"statusCode": "MALFORMED_ID", "message": "malformed id nope", "fields": []}
            ],
        },
    ]
    with app.app_context():
        assert db.session.get(Case, a).is_deleted is False


def test_upsert_many_by_external_id(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    path = f"{COLLECTION}/Case/Portal_Request_Id__c"
    first = call(
        api, "PATCH", path, token, json={"records": [case(Portal_Request_Id__c="k1", Subject="a")]}
    ).get_json()
    assert [(r["success"], r["created"]) for r in first] == [(True, True)]
    again = call(
        api,
        "PATCH",
        path,
        token,
        json={
            "records": [
                case(Portal_Request_Id__c="K1", Subject="b"),
                case(Portal_Request_Id__c="k2", Subject="c"),
            ]
        },
    ).get_json()
    assert [(r["id"] == first[0]["id"], r["created"]) for r in again] == [
        (True, False),
        (False, True),
    ]
    with app.app_context():
        assert db.session.get(Case, first[0]["id"]).subject == "b"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        (
            "POST",
            COLLECTION,
            {"json": {"records": [case()] * 201}},
            400,
            {
                "message": "record limit reached. cannot submit more than 200 records into this"
                " call",
                "errorCode": "EXCEEDED_ID_LIMIT",
            },
        ),
        (
            "POST",
            COLLECTION,
            {"json": [case()]},
            400,
            {"message": "A records array is required", "errorCode": "INVALID_INPUT"},
        ),
        (
            "GET",
            f"{COLLECTION}/Case",
            {"query_string": {"ids": "500000000000001AAA"}},
            400,
            {"message": "fields parameter is required", "errorCode": "MISSING_ARGUMENT"},
        ),
        (
            "GET",
            f"{COLLECTION}/Case",
            {"query_string": {"ids": "500000000000001AAA", "fields": "Nope"}},
            400,
            {
                "message": "No such column 'Nope' on entity 'Case'. If you are attempting to use a"
                " custom field, be sure to append the '__c' after the custom field name. Please"
                " reference your WSDL or the describe call for the appropriate names.",
                "errorCode": "INVALID_FIELD",
            },
        ),
        (
            "PATCH",
            f"{COLLECTION}/Case/Subject",
            {"json": {"records": []}},
            404,
            {
                "message": "Provided external ID field does not exist or is not accessible:"
                " Subject",
                "errorCode": "NOT_FOUND",
            },
        ),
    ],
    ids=["too many", "not an object", "no fields", "unknown field", "not an external id"],
)
def test_collection_request_errors(
    api: Any, idp: Any, method: str, path: str, kwargs: Any, status: int, error: Any
) -> None:
    response = call(api, method, path, api.token_for(idp.ADA_SUB), **kwargs)
    assert (response.status_code, response.get_json()) == (status, [error])


def test_every_record_needs_its_type(api: Any, idp: Any) -> None:
    response = api.post(
        COLLECTION, api.token_for(idp.ADA_SUB), json={"records": [{"Subject": "x"}]}
    )
    assert response.get_json() == [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "INVALID_TYPE",
                    "message": "attributes.type is required on every record",
                    "fields": [],
                }
            ],
        }
    ]


@pytest.mark.parametrize("body", [{"ids": False, "fields": []}, {"ids": [], "fields": 7}])
def test_a_retrieve_body_whose_ids_or_fields_are_no_array_is_json_parser_error(
    api: Any, idp: Any, body: dict[str, Any]
) -> None:
    response = api.post(f"{COLLECTION}/Case", api.token_for(idp.ADA_SUB), json=body)
    name = "ids" if body["ids"] is False else "fields"
    assert (response.status_code, response.get_json()) == (
        400,
        [
            {
                "message": f"Cannot deserialize {name}: a JSON array is expected",
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    )
