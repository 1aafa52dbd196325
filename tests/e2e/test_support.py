"""A speaker works her Support cases: the list, a case, many cases, and typed input kept.

The module has its own stack: it creates many cases and stops Salesforce, which the journeys of
other modules must not see.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from playwright.sync_api import Page
from playwright.sync_api import expect

from devstack import APPS
from devstack import FREE_PORTS
from devstack import Stack
from portal.token_vault import TokenVault
from portal.token_vault import keys_from_settings
from tests.e2e.speaker import log_in

ADA = ("ada@speakers.example", "ada-demo")
GRACE = ("grace@speakers.example", "grace-demo")
ADA_CASES = ("Projector adapter for room B", "Travel reimbursement form")
TOKEN_COLUMNS = ("idp_access_token", "idp_id_token", "idp_refresh_token", "sf_access_token")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The default stack (OIDC login, access_token exchange), for this module alone."""
    with Stack(tmp_path_factory.mktemp("support"), ports=FREE_PORTS) as running:
        yield running


@pytest.fixture(scope="module")
def browser_context_args(stack: Stack) -> dict[str, Any]:
    """Pages are addressed relative to this module's portal."""
    return {"base_url": stack.urls["portal"]}


def open_support(page: Page) -> None:
    page.get_by_role("link", name="Support", exact=True).click()
    expect(page.get_by_role("heading", name="Support cases")).to_be_visible()


def fill_new_case(page: Page, subject: str, description: str, priority: str = "Medium") -> None:
    """On the new-case form: fill it in, without sending it."""
    expect(page.get_by_role("heading", name="New case")).to_be_visible()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Priority").select_option(priority)


def portal_db(stack: Stack) -> sqlite3.Connection:
    """The portal's own SQLite database (tokens are kept server-side, in login_session)."""
    connection = sqlite3.connect(stack.instance_paths["portal"] / "portal.sqlite3", timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def portal_vault(stack: Stack) -> TokenVault:
    """The running portal's token vault (its tokens are encrypted at rest), from its settings."""
    secret = stack.env.get("PORTAL_SECRET_KEY") or (
        (stack.instance_paths["portal"] / "secret_key").read_text().strip()
    )
    return TokenVault(keys_from_settings(stack.env.get("PORTAL_TOKEN_KEYS"), secret))


def login_rows(stack: Stack, email: str) -> list[sqlite3.Row]:
    """Every login_session row of that speaker, newest first."""
    with portal_db(stack) as db:
        return db.execute(
            "SELECT login_session.* FROM login_session JOIN user ON user.id = user_id "
            "WHERE user.email = ? ORDER BY created_at DESC",
            (email,),
        ).fetchall()


def end_portal_logins(stack: Stack, email: str) -> None:
    """End her portal logins server-side, as an expiry or an admin would; the IdP's stays."""
    with portal_db(stack) as db:
        db.execute(
            "DELETE FROM login_session WHERE user_id IN (SELECT id FROM user WHERE email = ?)",
            (email,),
        )
    assert not login_rows(stack, email)


@contextmanager
def salesforce_down(stack: Stack) -> Iterator[None]:
    """Stop mock_sf's HTTP process; start it again on the same port when the block ends."""
    app = next(app for app in APPS if app.name == "sf")
    process = stack.processes[app.name]
    process.terminate()
    process.wait(timeout=10)
    try:
        yield
    finally:
        stack._spawn(app)
        stack._wait_ready(app)


class SalesforceRest:
    """mock_sf's REST API with a speaker's own Salesforce session, as the portal holds it."""

    def __init__(self, stack: Stack, email: str) -> None:
        row = login_rows(stack, email)[0]
        self.base = f"{row['sf_instance_url']}/services/data/v66.0"
        self.contact_id = row["sf_contact_id"]
        self.http = requests.Session()
        self.http.trust_env = False
        token = portal_vault(stack).decrypt(row["sf_access_token"])
        self.http.headers["Authorization"] = f"Bearer {token}"

    def create_case(self, subject: str, description: str) -> str:
        values = {
            "Subject": subject,
            "Description": description,
            "Priority": "Low",
            "Origin": "Web",
            "ContactId": self.contact_id,
        }
        response = self.http.post(f"{self.base}/sobjects/Case/", json=values, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def close_case(self, case_id: str) -> None:
        response = self.http.patch(
            f"{self.base}/sobjects/Case/{case_id}", json={"Status": "Closed"}, timeout=10
        )
        assert response.status_code == 204, response.text


def test_ada_logs_in_and_sees_her_cases(page: Page) -> None:
    log_in(page, *ADA)
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    open_support(page)
    rows = page.locator("#case-rows tr")
    for subject in ADA_CASES:
        expect(rows.filter(has_text=subject)).to_have_count(1)
    tabs = page.get_by_role("navigation", name="Case status")
    expect(tabs.locator("[aria-current=page]")).to_contain_text("Open")


def test_ada_comments_on_a_case_closes_it_and_reopens_it(page: Page) -> None:
    log_in(page, *ADA)
    open_support(page)
    page.get_by_role("link", name="Travel reimbursement form").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"Case \d{8}"))
    expect(heading).to_contain_text("Travel reimbursement form")
    facts = page.locator(".case-facts")
    for fact in ("Status", "Priority", "Opened", "Last updated"):
        expect(facts).to_contain_text(fact)

    comments = page.locator(".comments li")
    before = comments.count()
    page.get_by_label("Your comment").fill("The receipts are attached to my email of Monday.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_have_text("Comment added.")
    expect(comments).to_have_count(before + 1)
    expect(comments.last).to_contain_text("The receipts are attached to my email of Monday.")
    expect(page.get_by_role("heading", name=re.compile(r"^Comments"))).to_contain_text(
        str(before + 1)
    )

    page.get_by_role("button", name="Close case").click()
    expect(page.get_by_role("status")).to_contain_text("Case closed.")
    expect(facts).to_contain_text("Closed")
    page.get_by_role("link", name="Support cases").click()
    expect(
        page.locator("#case-rows tr").filter(has_text="Travel reimbursement form")
    ).to_have_count(0)
    page.get_by_role("navigation", name="Case status").get_by_role("link", name="Closed").click()
    page.get_by_role("link", name="Travel reimbursement form").click()

    page.get_by_role("button", name="Reopen case").click()
    expect(page.get_by_role("status")).to_have_text("Case reopened.")
    expect(page.get_by_role("button", name="Close case")).to_be_visible()


def test_grace_filters_searches_and_pages_through_45_cases(page: Page, stack: Stack) -> None:
    log_in(page, *GRACE)
    open_support(page)  # her first exchange creates her Salesforce user and contact
    expect(page.get_by_text("No cases yet.")).to_be_visible()

    salesforce = SalesforceRest(stack, GRACE[0])
    ids = [
        salesforce.create_case(
            f"Grace case {n:02d}",
            "Bring the nanosecond wire" if n == 17 else f"Routine request number {n}.",
        )
        for n in range(1, 46)
    ]
    page.reload()
    tabs = page.get_by_role("navigation", name="Case status")
    expect(tabs).to_contain_text(re.compile(r"Open\s+45"))
    rows = page.locator("#case-rows tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("Grace case 45")  # newest change first
    paging = page.get_by_role("navigation", name="Pages")
    expect(paging).to_contain_text("Page 1 of 3")
    expect(paging.get_by_role("link", name="Previous")).to_have_count(0)

    paging.get_by_role("link", name="Next").click()
    expect(paging).to_contain_text("Page 2 of 3")
    expect(rows).to_have_count(20)
    paging.get_by_role("link", name="Next").click()
    expect(paging).to_contain_text("Page 3 of 3")
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("Grace case 01")
    expect(paging.get_by_role("link", name="Next")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[?&]page=3"))
    paging.get_by_role("link", name="Previous").click()
    expect(paging).to_contain_text("Page 2 of 3")

    # Three closed in Salesforce, one by the speaker in the portal.
    for case_id in ids[:3]:
        salesforce.close_case(case_id)
    page.goto(f"/support/cases/{ids[3]}")
    page.get_by_role("button", name="Close case").click()
    expect(page.get_by_role("status")).to_contain_text("Case closed.")
    page.get_by_role("link", name="Support cases").click()
    expect(tabs.get_by_role("link", name=re.compile(r"^Open"))).to_contain_text("41")
    expect(tabs.get_by_role("link", name=re.compile(r"^Closed"))).to_contain_text("4")
    expect(tabs.get_by_role("link", name=re.compile(r"^All"))).to_contain_text("45")
    expect(paging).to_contain_text("Page 1 of 3")

    tabs.get_by_role("link", name=re.compile(r"^Closed")).click()
    expect(tabs.locator("[aria-current=page]")).to_contain_text("Closed")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("navigation", name="Pages")).to_have_count(0)
    tabs.get_by_role("link", name=re.compile(r"^All")).click()
    expect(tabs.locator("[aria-current=page]")).to_contain_text("All")
    expect(paging).to_contain_text("Page 1 of 3")

    # Search as she types: a word only the description of case 17 has.
    page.locator("#case-search").press_sequentially("nanosecond")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace case 17")
    expect(page).to_have_url(re.compile(r"[?&]q=nanosecond"))
    page.locator("#case-search").fill("no such word anywhere")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No cases match your search.")).to_be_visible()


def test_ada_sees_her_talks(page: Page) -> None:
    log_in(page, *ADA)
    page.get_by_role("link", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Notes on the Analytical Engine")).to_be_visible()
    expect(page.locator("ol.talks > li")).to_have_count(2)
    expect(page.get_by_text("No token exchange is involved")).to_be_visible()


def test_the_inspector_shows_the_exchange_and_never_a_full_token(page: Page, stack: Stack) -> None:
    log_in(page, *ADA)
    open_support(page)
    expect(page.locator("#case-rows tr").filter(has_text=ADA_CASES[0])).to_have_count(1)
    page.get_by_role("link", name="Schedule").click()
    expect(page.locator("ol.talks > li").first).to_be_visible()
    panel = page.locator("details.inspector-panel")
    expect(panel).to_have_count(1)
    expect(panel).not_to_have_attribute("open", "")

    page.goto("/inspector")
    expect(page.get_by_role("heading", name="Flow inspector")).to_be_visible()
    expect(page.get_by_text(re.compile("token exchange", re.IGNORECASE)).first).to_be_visible()

    content = page.content()
    vault = portal_vault(stack)
    rows = login_rows(stack, ADA[0])
    tokens = [vault.decrypt(row[column]) for row in rows for column in TOKEN_COLUMNS if row[column]]
    assert len(tokens) >= 4
    leaked = [token[:12] + "…" for token in tokens if token in content]
    assert not leaked, f"full tokens in /inspector: {leaked}"


def test_a_case_sent_while_salesforce_is_down_is_kept_and_sent_again(
    page: Page, stack: Stack
) -> None:
    log_in(page, *ADA)
    open_support(page)
    page.get_by_role("link", name="New case").click()
    fill_new_case(page, "Stage monitor for room C", "Facing the speaker, please.", "High")
    with salesforce_down(stack):
        with page.expect_response(re.compile(r"/support/cases$")) as sent:
            page.get_by_role("button", name="Create case").click()
        assert sent.value.status == 503
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Not sent yet")
        expect(alert).to_be_focused()
        expect(page.get_by_label("Subject")).to_have_value("Stage monitor for room C")
        expect(page.get_by_label("Description")).to_have_value("Facing the speaker, please.")
        expect(page.get_by_label("Priority")).to_have_value("High")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Stage monitor for room C")
    expect(page.locator(".case-facts")).to_contain_text("High")


def test_a_case_sent_after_the_portal_login_ended_is_kept_through_the_new_login(
    page: Page, stack: Stack
) -> None:
    log_in(page, *ADA)
    open_support(page)
    page.get_by_role("link", name="New case").click()
    fill_new_case(page, "Water on stage", "Still, not sparkling.\nTwo bottles.", "Low")
    end_portal_logins(stack, ADA[0])

    page.get_by_role("button", name="Create case").click()
    # The IdP's session is still alive, so she may come straight back; else she signs in.
    expect(
        page.get_by_role("heading", name="New case").or_(page.get_by_label("Password"))
    ).to_be_visible()
    if page.url.startswith(stack.urls["idp"]):
        page.get_by_label("Email").fill(ADA[0])
        page.get_by_label("Password").fill(ADA[1])
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="New case")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Not sent yet. This is what you typed before you had to log in again."
    )
    expect(page.get_by_label("Subject")).to_have_value("Water on stage")
    expect(page.get_by_label("Description")).to_have_value("Still, not sparkling.\nTwo bottles.")
    expect(page.get_by_label("Priority")).to_have_value("Low")
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Water on stage")


PHONE = {"width": 390, "height": 844}
LONG_WORD = "Projector" + "x" * 246  # one 255-character word: the Subject's limit


def assert_no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


def test_a_phone_shows_every_page_without_sideways_scrolling(page: Page) -> None:
    assert len(LONG_WORD) == 255
    log_in(page, *ADA)
    open_support(page)
    page.get_by_role("link", name="New case").click()
    fill_new_case(page, LONG_WORD, LONG_WORD + " " + LONG_WORD)
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    case_url = page.url

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(LONG_WORD)
    assert_no_horizontal_overflow(page)
    page.goto("/support")
    expect(page.locator("#case-rows tr").first).to_contain_text(LONG_WORD)
    assert_no_horizontal_overflow(page)
    page.goto("/support/cases/new")
    expect(page.get_by_label("Subject")).to_be_visible()
    assert_no_horizontal_overflow(page)
    page.get_by_role("button", name="Create case").click()  # empty: field errors shown
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_horizontal_overflow(page)
    page.goto("/schedule")
    expect(page.locator("ol.talks > li").first).to_be_visible()
    assert_no_horizontal_overflow(page)
    page.goto(case_url)
    page.locator("details.inspector-panel summary").click()
    assert_no_horizontal_overflow(page)
