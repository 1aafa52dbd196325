"""Ada logs in with OpenID Connect or SAML, and the portal exchanges each kind of IdP token.

The subject token type is read when the portal starts: one stack per type. access_token is the
default, which the session's stack serves; saml2 goes with SAML login (PORTAL_LOGIN_PROTOCOL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from devstack import FREE_PORTS
from devstack import Stack

ADA_CASES = ("Projector adapter for room B", "Travel reimbursement form")


def log_in_see_cases_and_log_out(page: Page, stack: Stack) -> None:
    saml = stack.env.get("PORTAL_LOGIN_PROTOCOL") == "saml"
    page.goto("/")
    page.get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.urls["idp"])))
    page.get_by_label("Email").fill("ada@speakers.example")
    page.get_by_label("Password").fill("ada-demo")
    # The IdP answers at the portal's SAML assertion consumer, or at its OIDC callback.
    answer = r"/saml/acs$" if saml else r"/auth/callback\?"
    with page.expect_request(re.compile(re.escape(stack.urls["portal"]) + answer)):
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()

    # Her first Support page is the token exchange: Salesforce's default handler took the token.
    page.get_by_role("link", name="Support", exact=True).click()
    expect(page.get_by_role("heading", name="Support cases")).to_be_visible()
    rows = page.locator("#case-rows tr")
    for subject in ADA_CASES:
        expect(rows.filter(has_text=subject)).to_have_count(1)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.urls["portal"]) + r"/(\?.*)?$"))
    expect(page.get_by_role("heading", name="Speaker Portal")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    # The IdP's session ended too: the next login asks for her password again.
    page.get_by_role("link", name="Log in").click()
    expect(page.get_by_label("Password")).to_be_visible()


def test_ada_logs_in_with_oidc_and_the_portal_exchanges_her_access_token(
    page: Page, stack: Stack
) -> None:
    log_in_see_cases_and_log_out(page, stack)


class TestOtherSubjectTokenTypes:
    """A stack of its own for each other subject token type."""

    @pytest.fixture(scope="class", params=("id_token", "jwt", "refresh_token", "saml2"))
    @classmethod
    def stack(
        cls, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Stack]:
        kind = request.param
        env = {"PORTAL_SF_SUBJECT_TOKEN_TYPE": kind}
        if kind == "saml2":
            env["PORTAL_LOGIN_PROTOCOL"] = "saml"
        with Stack(tmp_path_factory.mktemp(kind), ports=FREE_PORTS, extra_env=env) as running:
            yield running

    @pytest.fixture(scope="class")
    @classmethod
    def browser_context_args(cls, stack: Stack) -> dict[str, Any]:
        """Pages are addressed relative to this stack's portal."""
        return {"base_url": stack.urls["portal"]}

    def test_ada_logs_in_and_the_portal_exchanges_that_token(
        self, page: Page, stack: Stack
    ) -> None:
        log_in_see_cases_and_log_out(page, stack)
