"""Typed input is never lost: Salesforce or the IdP down, the login ended, the form expired."""

from __future__ import annotations

import pytest

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://portal.test/support/cases/new"}
TYPED = {"subject": "Lapel microphone", "description": "Room A, Friday 10:00", "priority": "High"}


def test_salesforce_down_brings_the_form_back_with_what_was_typed(client, speaker, salesforce, org):
    speaker.log_in()
    token = speaker.csrf_token()
    client.get("/support")  # the session and describe are cached; now Salesforce goes down
    del salesforce.routes[("POST", f"{org.data}/sobjects/Case/")]

    response = client.post("/support/cases", data={**TYPED, "csrf_token": token})

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Not sent yet" in body and "Salesforce, where your support cases live" in body
    assert 'value="Lapel microphone"' in body and "Room A, Friday 10:00</textarea>" in body
    assert "Try again" in body and "<code>unavailable</code>" in body


def test_the_idp_down_during_renewal_keeps_what_was_typed(client, speaker, salesforce, idp) -> None:
    speaker.log_in(
        expires_in=-1
    )  # the exchange needs a refresh, and the IdP's token endpoint is down

    response = client.post("/support/cases", data={**TYPED, "csrf_token": speaker.csrf_token()})

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "identity provider could not be reached" in body and 'value="Lapel microphone"' in body


@pytest.mark.parametrize("headers", [{"Referer": "http://portal.test/support/cases/new"}, HTMX])
def test_an_ended_login_keeps_the_draft_and_restores_it_after_login(
    app, client, speaker, salesforce, org, headers
) -> None:
    speaker.log_in()
    token = speaker.csrf_token()
    with client.session_transaction() as session:
        session.pop("_user_id")  # the login ended (logged out in another tab, expired)

    response = client.post("/support/cases", data={**TYPED, "csrf_token": token}, headers=headers)

    login_url = "/auth/login?next=/support/cases/new"
    assert response.headers.get("HX-Redirect", response.location) == login_url
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []
    speaker.log_in()  # she logs in again
    page = client.get("/support/cases/new").get_data(as_text=True)
    assert "Not sent yet." in page
    assert 'value="Lapel microphone"' in page and "Room A, Friday 10:00</textarea>" in page
    assert '<option selected value="High">' in page

    sent = client.post("/support/cases", data={**TYPED, "csrf_token": speaker.csrf_token()})

    assert sent.status_code == 303
    assert "Not sent yet." not in client.get("/support/cases/new").get_data(as_text=True)


def test_a_refused_refresh_keeps_the_comment_draft(client, speaker, salesforce, idp, issuer, org):
    case_id = org.case("00001001", "x")["Id"]
    idp.route("POST", issuer.token_endpoint, (400, {"error": "invalid_grant"}))
    speaker.log_in(expires_in=-1)
    referer = {"Referer": f"http://portal.test/support/cases/{case_id}"}

    response = client.post(
        f"/support/cases/{case_id}/comments",
        data={"body": "Still no adapter", "csrf_token": speaker.csrf_token()},
        headers=referer,
    )

    assert response.location == f"/auth/login?next=/support/cases/{case_id}"
    speaker.log_in()
    page = client.get(f"/support/cases/{case_id}").get_data(as_text=True)
    assert "Not sent yet." in page and "Still no adapter</textarea>" in page


def test_another_browser_never_sees_a_draft(app, client, speaker, salesforce) -> None:
    speaker.log_in()
    token = speaker.csrf_token()
    with client.session_transaction() as session:
        session.pop("_user_id")
    client.post("/support/cases", data={**TYPED, "csrf_token": token})

    from tests.portal.conftest import Speaker

    other = app.test_client()
    Speaker(app, other).log_in()
    assert "Lapel microphone" not in other.get("/support/cases/new").get_data(as_text=True)


def test_an_expired_csrf_token_keeps_the_comment(client, speaker, salesforce, org) -> None:
    case_id = org.case("00001001", "x")["Id"]
    speaker.log_in()

    response = client.post(
        f"/support/cases/{case_id}/comments", data={"body": "Mine", "csrf_token": "stale"}
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This form had expired" in body and "Mine</textarea>" in body
    assert salesforce.cases.comments == []
