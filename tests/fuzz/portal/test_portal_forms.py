"""Form fuzzing of the portal in front of a real mock_sf: the case form, comments, close and
reopen, the case list's filter and search (with htmx's headers), a case page, and the login
callback's query.

Each example fills some fields with valid values (the CSRF token, one of Ada's cases, a state the
portal issued) and the rest with hostile ones. No answer is 5xx; an error is an HTML page; and a
refused request changes no row of the portal's or of Salesforce's, but the counters each keeps
on purpose (tests/fuzz/portal/conftest.py, tests/fuzz/apps.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import differences
from tests.fuzz.harness import fuzz_settings
from tests.fuzz.portal.conftest import PORTAL_URL
from tests.fuzz.values import HOSTILE
from tests.fuzz.values import form

EXAMPLES = 60
HEADER_TEXT = HOSTILE.filter(lambda text: text.isascii() and text.isprintable())
HTMX = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"HX-Request": st.sampled_from(["true", "false"]) | HEADER_TEXT},
        optional={
            "HX-Target": st.sampled_from(["case-list", "main"]) | HEADER_TEXT,
            "HX-Current-URL": st.sampled_from([f"{PORTAL_URL}/support?status=closed", "http://["])
            | HEADER_TEXT,
        },
    ),
)


@dataclass(frozen=True)
class Endpoint:
    """How to send a generated request and what counts as accepted."""

    method: str
    path: str  # "{case_id}" and "{change}" are filled from fields of those names
    fields: Callable[[Any], dict[str, Any]]
    accepted: Callable[[Any], bool]
    csrf: bool = False
    anonymous: st.SearchStrategy[bool] = st.just(False)  # sometimes from a browser not signed in
    as_query: bool = False


def sent(response: Any) -> bool:
    """A form that went through: a redirect, or htmx's HX-Redirect."""
    return response.status_code == 303 or "HX-Redirect" in response.headers


def read_only(response: Any) -> bool:
    return False  # a GET changes nothing, whatever it answers


def case_id(portal: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(portal.case_ids)


ENDPOINTS = {
    "create a case": Endpoint(
        "POST",
        "/support/cases",
        lambda portal: {
            "subject": "Projector adapter",
            "description": "For room B",
            "priority": st.sampled_from(["Medium", "High", "Low"]),
        },
        sent,
        csrf=True,
        anonymous=st.integers(0, 5).map(lambda n: n == 5),
    ),
    "comment on a case": Endpoint(
        "POST",
        "/support/cases/{case_id}/comments",
        lambda portal: {"case_id": case_id(portal), "body": "Any news?"},
        sent,
        csrf=True,
        anonymous=st.integers(0, 5).map(lambda n: n == 5),
    ),
    "close or reopen a case": Endpoint(
        "POST",
        "/support/cases/{case_id}/{change}",
        lambda portal: {"case_id": case_id(portal), "change": st.sampled_from(["close", "reopen"])},
        sent,
        csrf=True,
    ),
    "filter and search the cases": Endpoint(
        "GET",
        "/support",
        lambda portal: {
            "status": st.sampled_from(["open", "closed", "all"]),
            "q": st.sampled_from(["projector", "travel form", "a"]),
            "page": st.sampled_from(["1", "2", "0", "-1", "99999999999999999999"]),
        },
        read_only,
        as_query=True,
    ),
    "a case page": Endpoint(
        "GET", "/support/cases/{case_id}", lambda portal: {"case_id": case_id(portal)}, read_only
    ),
    "the login callback": Endpoint(
        "GET",
        "/auth/callback",
        lambda portal: {
            "code": "a-code",
            "state": st.none(),  # planted from a login the portal started, see send()
            "iss": f"{PORTAL_URL}/not-the-issuer",
            "error": st.sampled_from([None, "access_denied", "login_required"]),
            "error_description": st.sampled_from([None, "The user said no."]),
        },
        lambda response: False,  # the fake IdP refuses every code: no login can succeed
        anonymous=st.just(True),
        as_query=True,
    ),
}


def started_state(client: Any) -> str:
    """The state of a login the portal starts in this browser (its redirect to authorize)."""
    location = client.get("/auth/login").headers["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def send(portal: Any, endpoint: Endpoint, data: Any) -> Any:
    """Build one request from `data` (Hypothesis' draw) and send it."""
    client = portal.app.test_client() if data.draw(endpoint.anonymous) else portal.browser
    values = data.draw(form(endpoint.fields(portal)))
    path = endpoint.path
    for name in ("case_id", "change"):
        if "{" + name + "}" in path:
            value = values.pop(name, "") or ""
            path = path.replace("{" + name + "}", quote(str(value), safe="") or "x")
    if endpoint.path == "/auth/callback" and not data.draw(st.booleans()):
        values["state"] = started_state(client)
    if endpoint.csrf and data.draw(st.integers(0, 4)) < 4:
        values["csrf_token"] = portal.csrf_token(client)
    headers = data.draw(HTMX)
    if endpoint.as_query:
        return client.open(path, method=endpoint.method, query_string=values, headers=headers)
    return client.open(path, method=endpoint.method, data=values, headers=headers)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_no_form_is_a_server_error_or_stores_anything_when_refused(portal: Any, name: str) -> None:
    endpoint = ENDPOINTS[name]
    last = {"snapshot": portal.snapshot()}

    @fuzz_settings(EXAMPLES)
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        response = send(portal, endpoint, data)
        after = portal.snapshot()
        before, last["snapshot"] = last["snapshot"], after
        assert response.status_code < 500, response.get_data()[:1000]
        if response.status_code >= 400:
            assert response.mimetype == "text/html", response.mimetype
        if not endpoint.accepted(response):
            assert differences(before[0], after[0]) == {}, ("portal", response.status_code)
            assert differences(before[1], after[1]) == {}, ("mock_sf", response.status_code)

    fuzz()
