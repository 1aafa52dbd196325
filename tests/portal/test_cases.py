"""The Support page against a fake Salesforce: exchange once, cache, re-exchange, errors, forms."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from portal.cases import case_query
from portal.cases import opened

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://portal.test/support"}
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_support_lists_the_speakers_cases_newest_first(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Support cases</h1>" in body
    assert body.index("Travel reimbursement form") < body.index("Projector adapter for room B")
    assert '<time datetime="2026-05-02T09:00:00.000+0000">2026-05-02 09:00 UTC</time>' in body
    (query,) = salesforce.calls("GET", f"{org.data}/query")
    assert parse_qs(urlsplit(query.url).query)["q"] == [case_query(org.contact_id)]
    assert query.headers["Authorization"] == "Bearer 00D000000000001!sf-token-1700000000000"


def test_the_exchange_uses_the_logins_idp_access_token(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    client.get("/support")

    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    assert parse_qs(exchange.body)["subject_token"] == ["idp-access-token"]
    login = speaker.login_session()
    assert (login.sf_user_id, login.sf_contact_id, login.sf_issued_at) == (
        org.user_id,
        org.contact_id,
        "1700000000000",
    )


def test_a_second_request_reuses_the_cached_salesforce_session(client, speaker, salesforce, org):
    speaker.log_in()

    client.get("/support")
    client.get("/support")

    assert len(salesforce.calls("POST", org.token_endpoint)) == 1
    assert len(salesforce.calls("GET", f"{org.data}/query")) == 2


def test_an_empty_case_list_says_so(client, speaker, salesforce, org) -> None:
    salesforce.route("GET", f"{org.data}/query", (200, org.query()))
    speaker.log_in()

    assert '<td colspan="5">No cases yet.</td>' in client.get("/support").get_data(as_text=True)


def test_invalid_session_twice_gives_a_friendly_502(
    client, speaker, salesforce, idp, issuer, org
) -> None:
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    salesforce.route("GET", f"{org.data}/query", (401, INVALID_SESSION))
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "<code>INVALID_SESSION_ID</code>" in body and "Session expired or invalid" in body
    assert len(salesforce.calls("POST", org.token_endpoint)) == 2


def test_a_refused_re_exchange_gives_the_502_page_and_keeps_the_login(
    client, speaker, salesforce, idp, issuer, org
) -> None:
    replayed = {"error": "invalid_grant", "error_description": "authentication failure"}
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    salesforce.route("POST", org.token_endpoint, (200, org.token_body("1")), (400, replayed))
    salesforce.route("GET", f"{org.data}/query", (401, INVALID_SESSION))
    speaker.log_in()

    response = client.get("/support")

    assert response.status_code == 502
    assert "<code>invalid_grant</code>" in response.get_data(as_text=True)
    assert speaker.login_session().idp_refresh_token == "idp-refresh-token-1"


def test_refused_exchange_gives_a_502_page_naming_the_error(client, speaker, salesforce, org):
    refusal = {"error": "invalid_request", "error_description": "token handler not found"}
    salesforce.route("POST", org.token_endpoint, (400, refusal))
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "Salesforce refused the sign-in" in body
    assert "<code>invalid_request</code>" in body and "token handler not found" in body
    assert '<a href="/">Back to the home page</a>' in body
    assert speaker.login_session().sf_access_token is None


def test_unreachable_salesforce_gives_a_503_page(client, speaker, transport) -> None:
    speaker.log_in()

    response = client.get("/support")

    assert response.status_code == 503
    assert "Salesforce is unavailable" in response.get_data(as_text=True)


def test_a_user_without_contact_gets_a_403_page(client, speaker, salesforce, org) -> None:
    salesforce.route(
        "GET",
        f"{org.data}/sobjects/User/{org.user_id}",
        (200, {"Id": org.user_id, "ContactId": None}),
    )
    speaker.log_in()

    response = client.get("/support")

    assert response.status_code == 403
    assert "<code>no_contact</code>" in response.get_data(as_text=True)


def test_expired_idp_token_without_refresh_token_sends_to_login(client, speaker, salesforce, org):
    speaker.log_in(expires_in=-1, refresh_token=None)

    response = client.get("/support")

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support")
    assert speaker.login_session() is None
    assert salesforce.calls("POST", org.token_endpoint) == []


def test_expired_idp_token_on_htmx_gets_hx_redirect(client, speaker, salesforce) -> None:
    speaker.log_in(expires_in=-1, refresh_token=None)
    form = {"csrf_token": speaker.csrf_token(), "subject": "Mic", "priority": "High"}

    response = client.post("/support/cases", data=form, headers=HTMX)

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/auth/login?next=/support"
    assert speaker.login_session() is None


@pytest.fixture
def creating(salesforce, org):
    """Salesforce accepting a new case 00001002 and listing it first afterwards."""
    new = org.case("00001002", "Microphone for my talk")
    salesforce.route(
        "POST",
        f"{org.data}/sobjects/Case/",
        (201, {"id": new["Id"], "success": True, "errors": []}),
    )
    salesforce.route(
        "GET", f"{org.data}/sobjects/Case/{new['Id']}", (200, {"CaseNumber": "00001002"})
    )
    salesforce.route("GET", f"{org.data}/query", (200, org.query(new)))
    return salesforce


def test_htmx_create_returns_fresh_form_message_and_rows(client, speaker, creating, org) -> None:
    speaker.log_in()
    form = {
        "csrf_token": speaker.csrf_token(),
        "subject": "  Microphone for my talk ",
        "description": "A lapel mic, please.",
        "priority": "High",
    }

    response = client.post("/support/cases", data=form, headers=HTMX)

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<p role="status" class="message">Case 00001002 created.</p>' in body
    assert 'id="subject" maxlength="255" name="subject" required type="text" value=""' in body
    assert '<tbody id="case-rows" hx-swap-oob="true">' in body
    assert "<td>Microphone for my talk</td>" in body
    (created,) = creating.calls("POST", f"{org.data}/sobjects/Case/")
    assert json.loads(created.body) == {
        "Subject": "Microphone for my talk",
        "Description": "A lapel mic, please.",
        "Priority": "High",
        "Origin": "Web",
        "ContactId": org.contact_id,
    }


def test_create_without_js_redirects_303_and_flashes(client, speaker, creating) -> None:
    speaker.log_in()
    form = {"csrf_token": speaker.csrf_token(), "subject": "Mic", "priority": "Low"}

    response = client.post("/support/cases", data=form)

    assert (response.status_code, response.location) == (303, "/support")
    page = client.get("/support").get_data(as_text=True)
    assert '<p role="status" class="message">Case 00001002 created.</p>' in page


@pytest.mark.parametrize(
    ("subject", "priority", "message"),
    [
        ("", "High", "Enter a subject."),
        ("    ", "High", "Enter a subject."),
        ("x" * 256, "High", "Keep the subject to 255 characters or fewer."),
        ("Mic", "Urgent", "Choose a priority: High, Medium or Low."),
    ],
    ids=["empty", "blank", "too long", "bad priority"],
)
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "no-js"])
def test_invalid_input_is_refused_with_the_typed_values_kept(
    client, speaker, salesforce, org, subject, priority, message, headers
) -> None:
    speaker.log_in()
    form = {
        "csrf_token": speaker.csrf_token(),
        "subject": subject,
        "description": "Typed <carefully>",
        "priority": priority,
    }

    response = client.post("/support/cases", data=form, headers=headers)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"<li>{message}</li>" in body and 'role="alert"' in body
    assert "Typed &lt;carefully&gt;</textarea>" in body
    if subject.strip() and len(subject) <= 255:
        assert f'value="{subject}"' in body
    assert ("<h1>Support cases</h1>" in body) is (headers == {})
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []


def test_salesforce_validation_error_is_shown_in_the_form(client, speaker, salesforce, org) -> None:
    error = [{"message": "Subject: data value too large", "errorCode": "STRING_TOO_LONG"}]
    salesforce.route("POST", f"{org.data}/sobjects/Case/", (400, error))
    speaker.log_in()
    form = {"csrf_token": speaker.csrf_token(), "subject": "Mic stand", "priority": "Medium"}

    response = client.post("/support/cases", data=form, headers=HTMX)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "<li>Salesforce refused the case: Subject: data value too large (STRING_TOO_LONG)</li>"
        in body
    )
    assert 'value="Mic stand"' in body


def test_htmx_errors_are_retargeted_to_main(client, speaker, salesforce, org) -> None:
    salesforce.route("POST", f"{org.data}/sobjects/Case/", (500, "<html>oops</html>"))
    speaker.log_in()
    form = {"csrf_token": speaker.csrf_token(), "subject": "Mic", "priority": "Medium"}

    response = client.post("/support/cases", data=form, headers=HTMX)

    assert response.status_code == 502
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
        "#main",
        "innerHTML",
    )
    assert response.get_data(as_text=True).startswith('<section class="error"')


def test_create_requires_csrf(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    response = client.post("/support/cases", data={"subject": "Mic", "priority": "High"})

    assert response.status_code == 400
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []


def test_case_query_refuses_anything_but_an_id() -> None:
    with pytest.raises(ValueError):
        case_query("003' OR Name != '")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-05-01T12:34:56.000+0000", "2026-05-01 12:34 UTC"),
        ("2026-05-01T12:34:56.000+0200", "2026-05-01 10:34 UTC"),
        ("yesterday", "yesterday"),
    ],
)
def test_opened_dates_are_shown_in_utc(value, shown) -> None:
    assert opened(value) == shown


def test_expiry_check_uses_the_stored_unix_time(speaker) -> None:
    speaker.log_in(expires_in=60)
    login = speaker.login_session()

    assert not login.idp_token_expired()
    assert login.idp_token_expired(now=time.time() + 61)
