"""Inputs that once answered 500 (issue 10, finding 6): a friendly page or redirect instead."""

from __future__ import annotations


def test_htmx_with_a_broken_current_url_after_the_login_ended_is_sent_to_log_in(client) -> None:
    response = client.get(
        "/support", headers={"HX-Request": "true", "HX-Current-URL": "http://[::1"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/auth/login?next=/support"


def test_htmx_with_a_broken_current_url_lists_the_cases(client, speaker, salesforce) -> None:
    speaker.log_in()
    response = client.get(
        "/support",
        headers={"HX-Request": "true", "HX-Current-URL": "http://[::1", "HX-Target": "case-list"},
    )
    assert response.status_code == 200
    assert "Travel reimbursement form" in response.get_data(as_text=True)
