"""Composite: subrequests through the REST routes, references between them, allOrNone."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import db

V = "/services/data/v60.0"
COMPOSITE = f"{V}/composite"
HALTED = [
    {
        "message": "The transaction was rolled back since another operation in the same"
        " transaction failed.",
        "errorCode": "PROCESSING_HALTED",
    }
]


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        cases = db.session.scalar(select(func.count()).select_from(Case))
        comments = db.session.scalar(select(func.count()).select_from(CaseComment))
        return cases or 0, comments or 0


def sub(method: str, url: str, reference_id: str, body: Any = None) -> dict[str, Any]:
    entry = {"method": method, "url": f"{V}{url}", "referenceId": reference_id}
    if body is not None:
        entry["body"] = body
    return entry


def test_a_case_its_comment_and_a_query_in_one_call(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    request = {
        "allOrNone": True,
        "collateSubrequests": False,
        "compositeRequest": [
            sub("POST", "/sobjects/Case", "newCase", {"Subject": "Lapel mic"}),
            sub(
                "POST",
                "/sobjects/CaseComment",
                "newComment",
                {"ParentId": "@{newCase.id}", "CommentBody": "for @{newCase.id}"},
            ),
            sub("GET", "/query?q=SELECT+Id,Subject+FROM+Case+WHERE+Id='@{newCase.id}'", "found"),
            sub("PATCH", "/sobjects/Case/@{found.records[0].Id}", "touch", {"Priority": "High"}),
            sub("GET", "/sobjects/Case/@{newCase.id}?fields=Priority", "read"),
        ],
    }
    response = api.post(COMPOSITE, token, json=request)
    assert response.status_code == 200
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=1/")  # one call
    created, comment, found, touch, read = response.get_json()["compositeResponse"]
    case_id = created["body"]["id"]
    assert created == {
        "body": {"id": case_id, "errors": [], "success": True},
        "httpHeaders": {"Location": f"{V}/sobjects/Case/{case_id}"},
        "httpStatusCode": 201,
        "referenceId": "newCase",
    }
    assert comment["httpStatusCode"] == 201
    assert [r["Subject"] for r in found["body"]["records"]] == ["Lapel mic"]
    assert (touch["httpStatusCode"], touch["body"], touch["httpHeaders"]) == (204, None, {})
    assert read["body"]["Priority"] == "High"
    with app.app_context():
        stored = db.session.get(CaseComment, comment["body"]["id"])
        assert (stored.parent_id, stored.comment_body) == (case_id, f"for {case_id}")


def test_all_or_none_rolls_back_and_halts_the_others(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = counts(app)
    request = {
        "allOrNone": True,
        "compositeRequest": [
            sub("POST", "/sobjects/Case", "ok", {"Subject": "kept?"}),
            sub("POST", "/sobjects/Case", "bad", {"Subject": "x" * 256}),
            sub("POST", "/sobjects/Case", "later", {"Subject": "never"}),
        ],
    }
    results = api.post(COMPOSITE, token, json=request).get_json()["compositeResponse"]
    assert [(r["referenceId"], r["httpStatusCode"]) for r in results] == [
        ("ok", 400),
        ("bad", 400),
        ("later", 400),
    ]
    assert results[0]["body"] == results[2]["body"] == HALTED
    assert results[1]["body"][0]["errorCode"] == "STRING_TOO_LONG"
    assert counts(app) == before


def test_without_all_or_none_only_dependents_are_skipped(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = counts(app)
    request = {
        "compositeRequest": [
            sub("POST", "/sobjects/Case", "bad", {"Subject": "x" * 256}),
            sub("POST", "/sobjects/CaseComment", "dependent", {"ParentId": "@{bad.id}"}),
            sub("POST", "/sobjects/Case", "independent", {"Subject": "kept"}),
            sub("GET", "/sobjects/Case/@{independent.nope}", "wrong_path"),
        ],
    }
    bad, dependent, independent, wrong_path = api.post(COMPOSITE, token, json=request).get_json()[
        "compositeResponse"
    ]
    assert bad["httpStatusCode"] == 400
    assert (dependent["httpStatusCode"], dependent["body"]) == (
        400,
        [
            {
                "message": "Invalid reference specified. No value for bad.id found in bad."
                " Provided referenceId ('bad') is either invalid or isn't in the right order.",
                "errorCode": "PROCESSING_HALTED",
            }
        ],
    )
    assert independent["httpStatusCode"] == 201
    assert wrong_path["body"][0]["message"].startswith(
        "Invalid reference specified. No value for independent.nope found in independent."
    )
    assert counts(app) == (before[0] + 1, before[1])


def test_subrequests_run_as_the_caller(api: Any, idp: Any) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    graces = api.post(f"{V}/sobjects/Case", grace, json={"Subject": "Visa"}).get_json()["id"]
    request = {"compositeRequest": [sub("GET", f"/sobjects/Case/{graces}", "peek")]}
    [peek] = api.post(COMPOSITE, api.token_for(idp.ADA_SUB), json=request).get_json()[
        "compositeResponse"
    ]
    assert (peek["httpStatusCode"], peek["body"][0]["errorCode"]) == (404, "NOT_FOUND")


def test_a_collection_subrequest_fails_the_all_or_none_composite(
    app: Flask, api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = counts(app)
    records = [{"attributes": {"type": "Case"}, "Subject": s} for s in ("a", "x" * 256)]
    request = {
        "allOrNone": True,
        "compositeRequest": [
            sub("POST", "/sobjects/Case", "first", {"Subject": "first"}),
            sub("POST", "/composite/sobjects", "many", {"allOrNone": False, "records": records}),
        ],
    }
    first, many = api.post(COMPOSITE, token, json=request).get_json()["compositeResponse"]
    assert (first["httpStatusCode"], first["body"]) == (400, HALTED)
    assert [r["success"] for r in many["body"]] == [False, False]
    assert many["body"][0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert counts(app) == before


def test_unknown_routes_and_methods_inside_a_composite(api: Any, idp: Any) -> None:
    request = {
        "compositeRequest": [
            sub("GET", "/nothing", "missing"),
            sub("PUT", "/sobjects/Case/500000000000001AAA/", "put"),
            sub("POST", "/composite", "nested", {"compositeRequest": []}),
        ]
    }
    results = api.post(COMPOSITE, api.token_for(idp.ADA_SUB), json=request).get_json()
    assert [
        (r["httpStatusCode"], r["body"][0]["errorCode"]) for r in results["compositeResponse"]
    ] == [(404, "NOT_FOUND"), (405, "METHOD_NOT_ALLOWED"), (404, "NOT_FOUND")]


def test_a_subrequest_to_a_retired_version_is_gone(api: Any, idp: Any) -> None:
    request = {
        "compositeRequest": [
            {"method": "GET", "url": "/services/data/v20.0/limits", "referenceId": "old"},
            {"method": "GET", "url": "/services/data/v99.0/limits", "referenceId": "new"},
        ]
    }
    results = api.post(COMPOSITE, api.token_for(idp.ADA_SUB), json=request).get_json()
    assert [
        (r["httpStatusCode"], r["body"][0]["errorCode"]) for r in results["compositeResponse"]
    ] == [(410, "GONE"), (404, "NOT_FOUND")]


@pytest.mark.parametrize(
    ("request_body", "error"),
    [
        (
            {"compositeRequest": [sub("GET", "/limits", f"r{i}") for i in range(26)]},
            {
                "message": "Maximum number of subrequests exceeded: 25",
                "errorCode": "LIMIT_EXCEEDED",
            },
        ),
        (
            {"compositeRequest": [sub("GET", "/limits", "same"), sub("GET", "/limits", "same")]},
            {
                "message": "Duplicate referenceId provided in the request: same",
                "errorCode": "INVALID_INPUT",
            },
        ),
        (
            {"compositeRequest": [sub("GET", "/limits", "bad-id")]},
            {
                "message": "Invalid referenceId for a subrequest: bad-id",
                "errorCode": "INVALID_INPUT",
            },
        ),
        (
            {
                "compositeRequest": [
                    {**sub("GET", "/limits", "a"), "httpHeaders": {"Authorization": "x"}}
                ]
            },
            {
                "message": "Accept, Authorization and Content-Type are inherited by subrequests",
                "errorCode": "INVALID_INPUT",
            },
        ),
        (
            {"compositeRequest": [{"method": "GET", "url": "/setup/", "referenceId": "a"}]},
            {"message": "Invalid url for a subrequest: /setup/", "errorCode": "INVALID_INPUT"},
        ),
        (
            {"allOrNone": True},
            {"message": "A compositeRequest array is required", "errorCode": "INVALID_INPUT"},
        ),
    ],
    ids=[
        "26 subrequests",
        "duplicate referenceId",
        "bad referenceId",
        "auth header",
        "url",
        "none",
    ],
)
def test_composite_request_errors(api: Any, idp: Any, request_body: Any, error: Any) -> None:
    response = api.post(COMPOSITE, api.token_for(idp.ADA_SUB), json=request_body)
    assert (response.status_code, response.get_json()) == (400, [error])
