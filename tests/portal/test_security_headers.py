"""Every HTML page of the portal, logged in or not: a strict CSP, never framed (issue 10)."""

from __future__ import annotations

from tests.route_walk import walk


def test_every_page_denies_framing_and_inline_code_logged_out(app, client, idp) -> None:
    found = walk(app, client)
    assert int(found.pop("#html")[0]) >= 8
    assert found == {}


def test_every_page_of_a_speaker_denies_framing_and_inline_code(
    app, client, speaker, salesforce
) -> None:
    speaker.log_in()
    found = walk(app, client)
    assert int(found.pop("#html")[0]) >= 8  # home, support, a case, new case, schedule, inspector
    assert found == {}
