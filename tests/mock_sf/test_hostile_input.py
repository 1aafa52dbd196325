"""Inputs that once answered 500 (issue 10, finding 6): each gets an error in its own dialect."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from mock_sf.rest.soql import MAX_NESTING

QUERY = "/services/data/v66.0/query?q="
CASES = "/services/data/v66.0/sobjects/Case/"
HUGE = "9" * 4_400

RANGE, MALFORMED = "NUMBER_OUTSIDE_VALID_RANGE", "MALFORMED_QUERY"
SOQL = {
    "4,301-digit integer": (
        f"SELECT Id FROM Case WHERE CaseNumber = '1' OR Priority = {'7' * 4_301}",
        MALFORMED,
    ),
    "LIMIT with 4,400 digits": (f"SELECT Id FROM Case LIMIT {HUGE}", RANGE),
    "OFFSET with 4,400 digits": (f"SELECT Id FROM Case LIMIT 1 OFFSET {HUGE}", RANGE),
    "LAST_N_DAYS with 4,400 digits": (
        f"SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:{HUGE}",
        RANGE,
    ),
    "datetime past year 9999": (
        "SELECT Id FROM Case WHERE CreatedDate > 9999-12-31T23:00:00-01:00",
        MALFORMED,
    ),
    "datetime before year 1": (
        "SELECT Id FROM Case WHERE CreatedDate > 0001-01-01T00:00:00+01:00",
        MALFORMED,
    ),
    "500 nested parentheses": (
        "SELECT Id FROM Case WHERE " + "(" * 500 + "Subject = 'x'" + ")" * 500,
        MALFORMED,
    ),
    "300 NOTs": ("SELECT Id FROM Case WHERE " + "NOT " * 300 + "Subject = 'x'", MALFORMED),
}


@pytest.mark.parametrize(("soql", "error_code"), list(SOQL.values()), ids=list(SOQL))
def test_hostile_soql_is_refused_in_the_rest_dialect(
    api: Any, idp: Any, soql: str, error_code: str
) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = api.get(QUERY + quote(soql), token)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    [error] = response.get_json()
    assert error["errorCode"] == error_code


def alternating(depth: int) -> str:
    """``(Subject = 'a0' OR (Subject = 'a1' AND (...)))``, `depth` parentheses deep."""
    condition = "Subject = 'x'"
    for level in range(depth):
        condition = f"(Subject = 'a{level}' {'AND' if level % 2 else 'OR'} {condition})"
    return condition


DEEPEST = {  # MAX_NESTING levels: the deepest the parser takes
    "NOTs": "NOT " * MAX_NESTING + "Subject = 'x'",
    "parentheses, AND and OR by turns": alternating(MAX_NESTING),
    "NOT (... OR by turns": "NOT (Subject != 'a' OR " * (MAX_NESTING // 2)
    + "Subject = 'x'"
    + ")" * (MAX_NESTING // 2),
}


@pytest.mark.parametrize("condition", list(DEEPEST.values()), ids=list(DEEPEST))
def test_the_deepest_nesting_the_parser_takes_runs_on_the_database(
    api: Any, idp: Any, condition: str
) -> None:
    """30 NOTs (of the 100 the parser took) overflowed SQLite's parser stack, and 70 levels
    Python's recursion limit in SQLAlchemy's compiler: 500s (found by
    tests/fuzz/mock_sf/test_soql_grammar.py)."""
    response = api.get(
        QUERY + quote(f"SELECT Id FROM Case WHERE {condition}"), api.token_for(idp.ADA_SUB)
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_a_batch_size_of_5000_digits_is_clamped_as_any_other(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = api.client.get(
        QUERY + quote("SELECT Id FROM Case"),
        headers={
            "Authorization": f"Bearer {token}",
            "Sforce-Query-Options": "batchSize=" + "9" * 5_000,
        },
    )
    assert response.status_code == 200
    assert response.get_json()["done"] is True


BODIES = {
    "deeply nested JSON": '{"Subject": ' + "[" * 5_000 + "]" * 5_000 + "}",
    "a 5,000-digit number": '{"Subject": "x", "Priority": ' + "7" * 5_000 + "}",
}


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_a_hostile_case_body_is_json_parser_error(api: Any, idp: Any, body: str) -> None:
    token = api.token_for(idp.ADA_SUB)
    before = api.get(QUERY + quote("SELECT COUNT() FROM Case"), token).get_json()["totalSize"]
    response = api.post(CASES, token, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    after = api.get(QUERY + quote("SELECT COUNT() FROM Case"), token).get_json()["totalSize"]
    assert after == before  # nothing stored


def test_setup_login_with_a_broken_next_url_lands_on_setup(setup_browser: Any) -> None:
    form = setup_browser.client.get("/setup/login?next=//[")
    assert form.status_code == 200 and "<form" in form.get_data(as_text=True)
    data = {
        "csrf_token": setup_browser.csrf_token(),
        "username": setup_browser.USERNAME,
        "password": setup_browser.PASSWORD,
    }
    response = setup_browser.client.post("/setup/login?next=//[", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/setup/"


def test_a_composite_body_too_deep_is_json_parser_error(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    body = json.dumps({"compositeRequest": []})[:-1] + ', "x": ' + "[" * 5_000 + "]" * 5_000 + "}"
    response = api.post(
        "/services/data/v66.0/composite", token, data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "JSON_PARSER_ERROR"
