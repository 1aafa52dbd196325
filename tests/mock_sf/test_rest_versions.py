"""API versions as a real org serves them: 31.0 up to the newest; retired versions are 410 GONE
(7.0-30.0 since Summer '25), versions not yet released 404; the site path serves the same API."""

from __future__ import annotations

from typing import Any

import pytest

GONE = [
    {"message": "API version {v} has been retired and is no longer available.", "errorCode": "GONE"}
]
NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.mark.parametrize("version", ["20.0", "30.0", "7.0"])
def test_a_retired_version_is_gone(client: Any, version: str) -> None:
    response = client.get(f"/services/data/v{version}/query?q=SELECT+Id+FROM+Case")
    assert response.status_code == 410
    assert response.get_json() == [{**GONE[0], "message": GONE[0]["message"].format(v=version)}]


@pytest.mark.parametrize("version", ["67.0", "99.0", "66.5"])
def test_a_version_not_yet_released_is_not_found(client: Any, version: str) -> None:
    response = client.get(f"/services/data/v{version}/sobjects/")
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("version", ["31.0", "66.0"])
def test_supported_versions_answer(api: Any, idp: Any, version: str) -> None:
    response = api.get(f"/services/data/v{version}/", api.token_for(idp.ADA_SUB))
    assert response.status_code == 200
    assert response.get_json()["sobjects"] == f"/services/data/v{version}/sobjects"


def test_the_version_list_stops_at_the_newest(client: Any) -> None:
    listed = [entry["version"] for entry in client.get("/services/data/").get_json()]
    assert (listed[0], listed[-1]) == ("31.0", "66.0")


def test_the_site_path_serves_the_rest_api(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    response = api.get("/speakers/services/data/v66.0/query?q=SELECT+Subject+FROM+Case", token)
    assert response.status_code == 200
    assert response.get_json()["totalSize"] == 2


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/speakers/services/data/v66.0/nothing-here", 404, "NOT_FOUND"),
        ("/speakers/services/data/v66.0/query", 401, "INVALID_SESSION_ID"),
        ("/speakers/services/data/v20.0/", 410, "GONE"),
    ],
)
def test_site_path_errors_are_salesforce_arrays(
    client: Any, path: str, status: int, code: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.content_type == "application/json;charset=UTF-8"
    assert response.get_json()[0]["errorCode"] == code
