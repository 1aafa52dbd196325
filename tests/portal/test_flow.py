"""The portal against the real stack: log in at the real IdP, exchange at mock_sf, list, create."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from devstack import FREE_PORTS
from devstack import Stack
from portal.token_vault import TokenVault
from portal.token_vault import keys_from_settings

ADA = {"email": "ada@speakers.example", "password": "ada-demo"}
SEEDED_SUBJECTS = ["Projector adapter for room B", "Travel reimbursement form"]
TOKEN_COLUMNS = {
    "idp_access_token",
    "idp_id_token",
    "idp_refresh_token",
    "saml_assertion",
    "sf_access_token",
    "sf_refresh_token",
}


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


def listed(subject: str, page: str) -> bool:
    """Whether the case list shows a row linking to a case with this subject."""
    return re.search(rf'<a href="/support/cases/500\w+">{re.escape(subject)}</a>', page) is not None


def csrf_token(page: requests.Response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_env: Callable[[str], dict[str, str]],
) -> Iterator[Stack]:
    """A stack of this module's own (these tests count on untouched demo data), on each kind
    of database."""
    root = tmp_path_factory.mktemp(f"portal-flow-{request.param}")
    with Stack(root, ports=FREE_PORTS, extra_env=database_env(request.param)) as running:
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


def portal_database(stack) -> Engine:
    """The running portal's own database: PostgreSQL when the stack was given one, else SQLite."""
    default = f"sqlite:///{stack.instance_paths['portal'] / 'portal.sqlite3'}"
    return create_engine(stack.env.get("PORTAL_DATABASE_URL", default), poolclass=NullPool)


def portal_vault(stack) -> TokenVault:
    """The running portal's token vault: keys from the settings it started with."""
    secret = stack.env.get("PORTAL_SECRET_KEY") or (
        (stack.instance_paths["portal"] / "secret_key").read_text().strip()
    )
    return TokenVault(keys_from_settings(stack.env.get("PORTAL_TOKEN_KEYS"), secret))


def stored_login(stack) -> dict[str, object]:
    """The newest login session's row in the portal's database, as stored (tokens encrypted)."""
    with portal_database(stack).connect() as database:
        row = database.execute(
            text("SELECT * FROM login_session ORDER BY created_at DESC LIMIT 1")
        ).one()
    return dict(row._mapping)


def newest_login(stack) -> dict[str, object]:
    """The newest login session's row with its tokens decrypted, as the portal reads them."""
    vault = portal_vault(stack)
    return {
        column: vault.decrypt(value) if column in TOKEN_COLUMNS and value else value
        for column, value in stored_login(stack).items()
    }


def login_row(stack) -> tuple[str, str, str]:
    """The newest login's cached Salesforce token, as stored server-side by the portal."""
    login = newest_login(stack)
    return login["id"], login["sf_access_token"], login["sf_issued_at"]


def edit_login(stack, login_id: str, **values: object) -> None:
    """Change a login session's row behind the running portal's back."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with portal_database(stack).begin() as database:
        database.execute(
            text(f"UPDATE login_session SET {assignments} WHERE id = :login_id"),
            {**values, "login_id": login_id},
        )


def test_ada_logs_in_and_sees_her_seeded_cases(stack, http) -> None:
    support = log_in_as(stack, http)

    assert support.status_code == 200
    assert support.url == f"{stack.urls['portal']}/support"
    assert "<h1>Support cases</h1>" in support.text
    assert "Signed in as Ada Lovelace" in support.text
    for subject in SEEDED_SUBJECTS:
        assert listed(subject, support.text)
    # The tokens stay on the server: the cookie holds only the login session id.
    session_id, sf_token, _ = login_row(stack)
    assert sf_token and sf_token not in str(http.cookies.get_dict())
    # And the server's database holds them encrypted (portal/token_vault.py).
    stored = stored_login(stack)
    tokens = [newest_login(stack)[column] for column in TOKEN_COLUMNS]
    assert len([token for token in tokens if token]) >= 4
    assert [t[:12] for t in tokens if t and t in str(stored)] == []


def test_the_second_request_reuses_the_cached_salesforce_token(stack, http) -> None:
    log_in_as(stack, http)
    first = login_row(stack)

    again = http.get(f"{stack.urls['portal']}/support", timeout=10)

    assert again.status_code == 200
    assert login_row(stack) == first


def test_creating_a_case_opens_it_and_lists_it(stack, http) -> None:
    support = log_in_as(stack, http)
    form = {
        "csrf_token": csrf_token(support),
        "subject": "Lapel microphone for my talk",
        "description": "Room B, Tuesday 10:00.",
        "priority": "High",
    }

    created = http.post(f"{stack.urls['portal']}/support/cases", data=form, timeout=10)

    assert re.fullmatch(rf"{stack.urls['portal']}/support/cases/500\w{{15}}", created.url)
    number = re.search(r'<p role="status" class="message">Case (\d{8}) created\.</p>', created.text)
    assert number, created.text
    assert f"Case {number.group(1)}</span> Lapel microphone for my talk</h1>" in created.text
    assert "Room B, Tuesday 10:00." in created.text
    listing = http.get(f"{stack.urls['portal']}/support", timeout=10)
    assert listed("Lapel microphone for my talk", listing.text)


def test_search_finds_a_case_by_its_description_through_sosl(stack, http) -> None:
    support = log_in_as(stack, http)
    form = {
        "csrf_token": csrf_token(support),
        "subject": "Water on stage",
        "description": "Sparkling, for the keynote speaker's lectern.",
        "priority": "Low",
    }
    http.post(f"{stack.urls['portal']}/support/cases", data=form, timeout=10)

    found = http.get(f"{stack.urls['portal']}/support", params={"q": "lectern"}, timeout=10)

    assert found.status_code == 200
    assert listed("Water on stage", found.text)
    assert not any(listed(subject, found.text) for subject in SEEDED_SUBJECTS)


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
    assert 'class="alert" role="alert"' in refused.text
    assert '<p class="field-error" id="subject-error">Enter a subject.</p>' in refused.text
    assert "I typed this carefully</textarea>" in refused.text
    assert '<option selected value="High">High</option>' in refused.text


def test_grace_unknown_to_salesforce_gets_an_empty_case_list(stack, http) -> None:
    grace = {"email": "grace@speakers.example", "password": "grace-demo"}

    support = log_in_as(stack, http, speaker=grace)

    assert support.status_code == 200
    assert "Signed in as Grace Hopper" in support.text
    assert '<p class="empty" id="case-rows">No cases yet.</p>' in support.text


def test_an_expired_idp_access_token_is_refreshed_and_support_still_works(stack, http) -> None:
    log_in_as(stack, http)
    before = newest_login(stack)
    # The IdP access token expired, and Salesforce's session is gone with it: a new exchange
    # needs a fresh IdP access token, which only the refresh token can bring.
    edit_login(
        stack,
        before["id"],
        idp_access_token_expires_at=0,
        sf_access_token=None,
        sf_refresh_token=None,
    )

    support = http.get(f"{stack.urls['portal']}/support", timeout=10)

    assert support.url == f"{stack.urls['portal']}/support"
    assert support.status_code == 200
    for subject in SEEDED_SUBJECTS:
        assert listed(subject, support.text)
    after = newest_login(stack)
    assert after["id"] == before["id"]
    assert after["idp_access_token"] != before["idp_access_token"]
    assert after["idp_refresh_token"] not in (None, before["idp_refresh_token"])
    assert after["idp_access_token_expires_at"] > time.time() + 60
    assert after["sf_access_token"] not in (None, before["sf_access_token"])


def test_a_session_salesforce_revoked_is_renewed_with_its_refresh_token(stack, http) -> None:
    log_in_as(stack, http)
    before = newest_login(stack)
    assert before["sf_refresh_token"]  # the connected app grants one for scope refresh_token
    revoked = http.post(
        f"{stack.urls['sf']}/services/oauth2/revoke",
        data={"token": before["sf_access_token"]},
        timeout=10,
    )
    assert revoked.status_code == 200

    support = http.get(f"{stack.urls['portal']}/support", timeout=10)

    assert support.status_code == 200
    assert listed(SEEDED_SUBJECTS[0], support.text)
    after = newest_login(stack)
    assert after["sf_access_token"] not in (None, before["sf_access_token"])
    assert after["idp_refresh_token"] == before["idp_refresh_token"]  # no new exchange needed


def test_a_revoked_salesforce_refresh_token_means_a_refresh_and_a_new_exchange(stack, http):
    log_in_as(stack, http)
    before = newest_login(stack)
    revoked = http.post(
        f"{stack.urls['sf']}/services/oauth2/revoke",
        data={"token": before["sf_refresh_token"]},  # takes its access tokens along
        timeout=10,
    )
    assert revoked.status_code == 200

    support = http.get(f"{stack.urls['portal']}/support", timeout=10)

    assert support.status_code == 200
    assert listed(SEEDED_SUBJECTS[0], support.text)
    after = newest_login(stack)
    assert after["sf_access_token"] not in (None, before["sf_access_token"])
    assert after["sf_refresh_token"] not in (None, before["sf_refresh_token"])
    assert after["idp_refresh_token"] != before["idp_refresh_token"]


def test_logout_revokes_the_refresh_token_and_ends_the_idp_session(stack, http) -> None:
    support = log_in_as(stack, http)
    refresh_token = newest_login(stack)["idp_refresh_token"]
    salesforce_token = newest_login(stack)["sf_access_token"]

    page = http.post(
        f"{stack.urls['portal']}/auth/logout", data={"csrf_token": csrf_token(support)}, timeout=10
    )
    # The browser posts the logout form on to the IdP (portal.js); the ID token is in no URL.
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert action == f"{stack.urls['idp']}/oauth2/default/v1/logout" and "id_token_hint" in fields
    home = http.post(action, data=fields, timeout=10)

    assert all("id_token_hint" not in step.url for step in [*home.history, home])
    assert home.url.startswith(f"{stack.urls['portal']}/?state=")
    assert "You are logged out, at the identity provider too." in home.text
    introspection = http.post(
        f"{stack.urls['idp']}/oauth2/default/v1/introspect",
        data={"token": refresh_token},
        auth=("speaker-portal", "portal-demo-secret"),
        timeout=10,
    )
    assert introspection.json() == {"active": False}
    rest = http.get(
        f"{stack.urls['sf']}/services/data/v66.0/",
        headers={"Authorization": f"Bearer {salesforce_token}"},
        timeout=10,
    )
    assert rest.status_code == 401  # the cached Salesforce session was revoked too
    login_page = http.get(f"{stack.urls['portal']}/auth/login", timeout=10)
    assert login_page.url.startswith(stack.urls["idp"])
    assert 'type="password"' in login_page.text


def test_no_app_logs_a_code_or_token_of_a_login_and_logout(stack, http) -> None:
    support = log_in_as(stack, http)
    login = newest_login(stack)
    page = http.post(
        f"{stack.urls['portal']}/auth/logout", data={"csrf_token": csrf_token(support)}, timeout=10
    )
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    http.post(action, data=fields, timeout=10)
    callback = next(r.url for r in support.history if "/auth/callback?" in r.url)
    code = parse_qs(urlsplit(callback).query)["code"][0]

    logs = "\n".join(stack.logs(tail=100_000).values())
    assert "/auth/callback?code=[redacted]" in logs  # the request line is still there
    tokens = [value for name, value in login.items() if "token" in name]
    secrets_ = [code, fields["state"], fields["id_token_hint"], *tokens]
    leaked = [s[:12] for s in secrets_ if isinstance(s, str) and len(s) >= 16 and s in logs]
    assert leaked == []
