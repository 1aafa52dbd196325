"""The portal against the real stack: log in at the real IdP, exchange at mock_sf, list, create."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests

from devstack import FREE_PORTS
from devstack import Stack

ADA = {"email": "ada@speakers.example", "password": "ada-demo"}
SEEDED_SUBJECTS = ["Projector adapter for room B", "Travel reimbursement form"]


class FormParser(HTMLParser):
    """The first form of a page: its action and input values (hidden ones included)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action") or ""
        elif tag == "input" and self.action is not None and not self.done and values.get("name"):
            self.fields[values["name"]] = values.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.done = True


def first_form(page: requests.Response) -> tuple[str, dict[str, str]]:
    parser = FormParser()
    parser.feed(page.text)
    assert parser.action is not None, page.text
    return urljoin(page.url, parser.action), parser.fields


def csrf_token(page: requests.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: these tests count on untouched demo data."""
    with Stack(tmp_path_factory.mktemp("portal-flow"), ports=FREE_PORTS) as running:
        yield running


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy, no CA bundle from the environment
    return session


def log_in_as(stack, http: requests.Session, speaker: dict[str, str] = ADA) -> requests.Response:
    """Start at the portal, sign in on the IdP's real form, follow the redirects back."""
    login_page = http.get(f"{stack.urls['portal']}/auth/login?next=/support", timeout=10)
    assert login_page.url.startswith(stack.urls["idp"]), login_page.url
    action, fields = first_form(login_page)
    fields.update(speaker)
    return http.post(action, data=fields, timeout=10)


def login_row(stack) -> tuple[str, str, str]:
    """The newest login's cached Salesforce token, as stored server-side by the portal."""
    with sqlite3.connect(stack.instance_paths["portal"] / "portal.sqlite3") as database:
        return database.execute(
            "SELECT id, sf_access_token, sf_issued_at FROM login_session "
            "ORDER BY created_at DESC LIMIT 1"
        ).fetchone()


def test_ada_logs_in_and_sees_her_seeded_cases(stack, http) -> None:
    support = log_in_as(stack, http)

    assert support.status_code == 200
    assert support.url == f"{stack.urls['portal']}/support"
    assert "<h1>Support cases</h1>" in support.text
    assert "Signed in as Ada Lovelace" in support.text
    for subject in SEEDED_SUBJECTS:
        assert f"<td>{subject}</td>" in support.text
    # The tokens stay on the server: the cookie holds only the login session id.
    session_id, sf_token, _ = login_row(stack)
    assert sf_token and sf_token not in str(http.cookies.get_dict())


def test_the_second_request_reuses_the_cached_salesforce_token(stack, http) -> None:
    log_in_as(stack, http)
    first = login_row(stack)

    again = http.get(f"{stack.urls['portal']}/support", timeout=10)

    assert again.status_code == 200
    assert login_row(stack) == first


def test_creating_a_case_lists_it(stack, http) -> None:
    support = log_in_as(stack, http)
    form = {
        "csrf_token": csrf_token(support),
        "subject": "Lapel microphone for my talk",
        "description": "Room B, Tuesday 10:00.",
        "priority": "High",
    }

    created = http.post(f"{stack.urls['portal']}/support/cases", data=form, timeout=10)

    assert created.url == f"{stack.urls['portal']}/support"
    number = re.search(r'<p role="status" class="message">Case (\d{8}) created\.</p>', created.text)
    assert number, created.text
    assert f"<td>{number.group(1)}</td>\n    <td>Lapel microphone for my talk</td>" in created.text


def test_htmx_create_returns_the_fragment(stack, http) -> None:
    support = log_in_as(stack, http)
    form = {"csrf_token": csrf_token(support), "subject": "Water on stage", "priority": "Low"}
    headers = {"HX-Request": "true", "HX-Current-URL": f"{stack.urls['portal']}/support"}

    created = http.post(
        f"{stack.urls['portal']}/support/cases", data=form, headers=headers, timeout=10
    )

    assert created.status_code == 200
    assert re.search(r'role="status" class="message">Case \d{8} created\.<', created.text)
    assert '<tbody id="case-rows" hx-swap-oob="true">' in created.text
    assert "<td>Water on stage</td>" in created.text
    assert "<html" not in created.text


def test_invalid_case_input_keeps_the_typed_values(stack, http) -> None:
    support = log_in_as(stack, http)
    form = {
        "csrf_token": csrf_token(support),
        "subject": "",
        "description": "I typed this carefully",
        "priority": "High",
    }

    refused = http.post(f"{stack.urls['portal']}/support/cases", data=form, timeout=10)

    assert refused.status_code == 422
    assert '<div role="alert" class="alert">' in refused.text
    assert "<li>Enter a subject.</li>" in refused.text
    assert "I typed this carefully</textarea>" in refused.text
    assert '<option selected value="High">High</option>' in refused.text


def test_grace_unknown_to_salesforce_gets_an_empty_case_list(stack, http) -> None:
    grace = {"email": "grace@speakers.example", "password": "grace-demo"}

    support = log_in_as(stack, http, speaker=grace)

    assert support.status_code == 200
    assert "Signed in as Grace Hopper" in support.text
    assert '<td colspan="5">No cases yet.</td>' in support.text
