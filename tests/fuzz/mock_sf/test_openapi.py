"""mock_sf's OpenAPI document (``/openapi.json``): valid, complete, and fuzzed with schemathesis.

Every operation gets generated inputs, valid (positive) and invalid (negative), with Ada's real
session, a supported version, a record of hers or a valid exchange form planted in some of them
so the fuzzing reaches past authentication. No input may answer 5xx; an error is in the
dialect of its path; and a refused request leaves every table as it was (but the counters
conftest.COUNTED_TABLES names).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.fuzz.harness import differences
from tests.fuzz.harness import fuzz_settings

DOCUMENT = Path(__file__).parents[3] / "mock_sf" / "openapi.json"
PATHS = json.loads(DOCUMENT.read_text())["paths"]
OPERATIONS = [(method.upper(), path) for path, item in PATHS.items() for method in item]
# Negative generation needs an input to get wrong: a parameter or a body.
WITH_INPUTS = [
    (method, path)
    for method, path in OPERATIONS
    if PATHS[path][method.lower()].get("parameters") or "requestBody" in PATHS[path][method.lower()]
]
MODES = [
    pytest.param(mode, method, path, id=f"{method} {path} {mode.value}")
    for mode in GenerationMode
    for method, path in (OPERATIONS if mode is GenerationMode.POSITIVE else WITH_INPUTS)
]
DOCUMENTED_BLUEPRINTS = ("oauth", "rest")  # the token endpoint and the OAuth endpoints; REST
EXAMPLES = 20  # per operation and mode: about 1,300 requests in all
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@pytest.fixture(scope="module")
def schema(sf: Any) -> Any:
    """The document as the app serves it, loaded by schemathesis (which validates it)."""
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", sf.app)
    loaded.validate()
    return loaded


@pytest.fixture(scope="module")
def ada_cases(sf: Any) -> list[str]:
    """Ids of cases Ada's session may see (the demo seeds several)."""
    response = sf.client.get(
        "/services/data/v66.0/query",
        query_string={"q": "SELECT Id FROM Case"},
        headers={"Authorization": f"Bearer {sf.access_token}"},
    )
    ids = [record["Id"] for record in response.get_json()["records"]]
    assert ids
    return ids


def test_the_document_is_valid_openapi_and_every_operation_loads(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted((op.method.upper(), op.path) for op in operations) == sorted(OPERATIONS)


def test_the_document_is_served_as_json(sf: Any) -> None:
    response = sf.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["openapi"].startswith("3.")
    assert response.get_data() == DOCUMENT.read_bytes()


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``<version:version>`` -> ``{version}``, no trailing /."""
    return ARGUMENT.sub(r"{\1}", rule).rstrip("/") or "/"


def test_every_route_of_the_token_endpoint_and_the_rest_api_is_documented(sf: Any) -> None:
    routes = {
        (method, openapi_path(rule.rule))
        for rule in sf.app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in DOCUMENTED_BLUEPRINTS
        for method in (rule.methods or ()) - {"HEAD", "OPTIONS"}
    }
    assert routes - set(OPERATIONS) == set(), "routes missing from mock_sf/openapi.json"
    assert set(OPERATIONS) - routes == set(), "documented paths mock_sf does not route"


def new_case(sf: Any) -> str:
    """A case of Ada's to delete."""
    response = sf.client.post(
        "/services/data/v66.0/sobjects/Case",
        json={"Subject": "To delete"},
        headers={"Authorization": f"Bearer {sf.access_token}"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.mark.parametrize("server", ["", "/speakers"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_documented_path_answers(
    sf: Any, ada_cases: list[str], server: str, method: str, path: str
) -> None:
    """Every operation with real values is routed: never 404 or 405 (only a made-up query
    locator is refused, and as one)."""
    headers = {"Authorization": f"Bearer {sf.access_token}"}
    identity = sf.client.get("/services/data/v66.0/", headers=headers).get_json()["identity"]
    org_id, user_id = identity.rsplit("/", 2)[1:]
    record = new_case(sf) if method == "DELETE" else ada_cases[0]
    values = {
        "version": "v66.0",
        "sobject": "Case",
        "record_id": record,
        "field": "Id",
        "value": record,
        "locator": "01g000000000001-2000",
        "org_id": org_id,
        "user_id": user_id,
    }
    url = server + re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
    response = sf.client.open(url, method=method, headers=headers)
    assert response.status_code < 500
    if "{locator}" in path:
        assert response.get_json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    else:
        assert response.status_code not in (404, 405), response.get_data()[:300]


def plant(case: Any, draw: Any, sf: Any, case_ids: list[str]) -> None:
    """Put valid values into most generated cases, so fuzzing reaches past the checks that
    refuse everything random: Ada's session, version 66.0, one of her cases or an External ID
    field, a valid exchange or refresh form. (Hypothesis starts from the smallest draws: 0 and
    False plant.)"""
    path = case.operation.path
    params = case.path_parameters = dict(case.path_parameters or {})
    if "{version}" in path and draw(st.integers(0, 4)) < 4:
        params["version"] = "v66.0"
    if not path.startswith("/services/oauth2/") and draw(st.integers(0, 4)) < 4:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {sf.access_token}"}
    if "{record_id}" in path and not draw(st.booleans()):
        params.update(sobject="Case", record_id=draw(st.sampled_from(case_ids)))
    if "{field}" in path and not draw(st.booleans()):
        params.update(sobject="Case", field=draw(st.sampled_from(["Portal_Request_Id__c", "Id"])))
    if path == "/services/oauth2/token" and isinstance(case.body, dict):
        valid = (
            sf.exchange_form()
            if not draw(st.booleans())
            else {
                "grant_type": "refresh_token",
                "refresh_token": sf.refresh_token,
                "client_id": "speaker-portal",
                "client_secret": "portal-sf-demo-secret",
            }
        )
        names = draw(st.sets(st.sampled_from(sorted(valid))))
        case.body = {**case.body, **{name: valid[name] for name in names}}
    introspect = path == "/services/oauth2/introspect"
    if introspect and isinstance(case.body, dict) and not draw(st.booleans()):
        case.body = {
            **case.body,
            "client_id": "speaker-portal",
            "client_secret": "portal-sf-demo-secret",
        }


def dialect_problem(path: str, response: Any) -> str | None:
    """What is wrong with an error response's body for its path's dialect, if anything."""
    media = (response.headers.get("content-type") or [""])[0]
    if path.startswith(("/id/", "/services/oauth2/userinfo")) and media.startswith("text/plain"):
        return None  # the identity service's bare text codes
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"not JSON: {response.content[:200]!r}"
    if path.startswith("/services/data"):
        if not (
            isinstance(body, list)
            and body
            and all(isinstance(e, dict) and {"message", "errorCode"} <= set(e) for e in body)
        ):
            return f"not a REST error array: {body!r}"
    elif not (isinstance(body, dict) and {"error", "error_description"} <= set(body)):
        return f"not an OAuth error: {body!r}"
    return None


@pytest.mark.parametrize(("mode", "method", "path"), MODES)
def test_no_input_is_a_server_error_or_stores_anything_when_refused(
    sf: Any, schema: Any, ada_cases: list[str], mode: GenerationMode, method: str, path: str
) -> None:
    strategy = schema[path][method].as_strategy(mode)
    last = {"snapshot": sf.snapshot()}

    @fuzz_settings(EXAMPLES)
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        case = data.draw(strategy)
        plant(case, data.draw, sf, ada_cases)
        response = case.call()
        after = sf.snapshot()
        before, last["snapshot"] = last["snapshot"], after
        assert response.status_code < 500, (case.as_curl_command(), response.content[:500])
        if response.status_code >= 400:
            assert dialect_problem(path, response) is None, dialect_problem(path, response)
            assert differences(before, after) == {}, case.as_curl_command()

    fuzz()
