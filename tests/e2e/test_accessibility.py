"""Every portal page passes axe-core without a serious or critical violation.

axe-core comes bundled in axe-playwright-python's wheel: no network. One logged-in browser
context serves the whole module; each page is its own test, so a report names the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser
from playwright.sync_api import Page
from playwright.sync_api import expect

from devstack import Stack
from tests.e2e.speaker import log_in

BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

axe = Axe()


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = [
        violation
        for violation in axe.run(page).response["violations"]
        if violation["impact"] in BLOCKING
    ]
    report = "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']}; targets: "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in violations
    )
    assert not violations, f"axe-core on {page.url}:\n{report}"


@pytest.fixture(scope="module")
def ada(browser: Browser, browser_context_args: dict[str, Any], stack: Stack) -> Iterator[Page]:
    """Ada, logged in once for the module, with a case of her own that has a comment."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    log_in(page, "ada@speakers.example", "ada-demo")
    page.goto("/support/cases/new")
    page.get_by_label("Subject").fill("Hearing loop in room D")
    page.get_by_label("Description").fill("For two attendees.")
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    page.get_by_label("Your comment").fill("Thank you!")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_have_text("Comment added.")
    page.case_url = page.url  # type: ignore[attr-defined]
    yield page
    context.close()


def home(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Speaker Portal")).to_be_visible()


def support(page: Page) -> None:
    page.goto("/support")
    expect(page.locator("#case-rows tr").first).to_be_visible()


def support_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    support(page)


def support_with_the_inspector_open(page: Page) -> None:
    support(page)
    page.locator("details.inspector-panel > summary").click()
    expect(page.locator("details.inspector-panel")).to_have_attribute("open", "")
    # Opening it fetches the steps: the diagram and the list are checked as a person sees them.
    expect(page.locator("details.inspector-panel .inspector-summary li").first).to_be_visible()


def support_searched(page: Page) -> None:
    page.goto("/support?status=all&q=nothing-matches-this")
    expect(page.get_by_text("No cases match your search.")).to_be_visible()


def case(page: Page) -> None:
    page.goto(page.case_url)  # type: ignore[attr-defined]
    expect(page.locator(".comments li")).to_have_count(1)


def new_case(page: Page) -> None:
    page.goto("/support/cases/new")
    expect(page.get_by_role("heading", name="New case")).to_be_visible()


def new_case_with_field_errors(page: Page) -> None:
    new_case(page)
    page.get_by_label("Subject").fill("")
    page.get_by_role("button", name="Create case").click()
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")


def schedule(page: Page) -> None:
    page.goto("/schedule")
    expect(page.locator("ol.talks > li").first).to_be_visible()


def inspector(page: Page) -> None:
    page.goto("/inspector")
    expect(page.get_by_role("heading", name="Flow inspector")).to_be_visible()
    expect(page.locator(".inspector-steps > li").first).to_be_visible()


def not_found(page: Page) -> None:
    response = page.goto("/support/cases/not-an-id")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()


PAGES: list[Callable[[Page], None]] = [
    home,
    support,
    support_phone,
    support_with_the_inspector_open,
    support_searched,
    case,
    new_case,
    new_case_with_field_errors,
    schedule,
    inspector,
    not_found,
]


def test_the_home_page_logged_out_is_accessible(page: Page) -> None:
    home(page)
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize("show", PAGES, ids=[show.__name__ for show in PAGES])
def test_each_page_of_a_logged_in_speaker_is_accessible(
    ada: Page, show: Callable[[Page], None]
) -> None:
    ada.set_viewport_size(DESKTOP)
    show(ada)
    assert_accessible(ada)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_setup_pages_that_fix_external_users_are_accessible(
    browser: Browser, stack: Stack, viewport: dict[str, int]
) -> None:
    """mock_sf's Profiles page and a user's page, where a developer fixes API access."""
    context = browser.new_context(base_url=stack.urls["sf"], viewport=viewport)
    page = context.new_page()
    page.goto("/setup/login")
    page.get_by_label("Username").fill("admin@sf.example")
    page.get_by_label("Password").fill("admin-demo")
    page.get_by_role("button", name="Log in").click()
    page.goto("/setup/profiles")
    expect(page.get_by_role("heading", name="Clone a profile")).to_be_visible()
    assert_accessible(page)
    page.goto("/setup/users")
    page.get_by_role("link", name="ada@speakers.example").click()
    expect(page.get_by_label("Federation ID")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()
