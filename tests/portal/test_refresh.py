"""Fresh IdP access tokens from the rotating refresh token, one request of a login at a time."""

from __future__ import annotations

import base64
import threading
import time
from urllib.parse import parse_qs

import pytest

from portal import lease as refresh
from portal.errors import LoginExpired
from portal.models import LoginSession
from portal.models import db

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
REVOKED = {"error": "invalid_grant", "error_description": "The refresh token has been revoked."}


def form(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body).items()}


def test_an_expired_idp_token_is_refreshed_then_exchanged(
    client, speaker, salesforce, idp, issuer, org
) -> None:
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    speaker.log_in(expires_in=-1)

    response = client.get("/support")

    assert response.status_code == 200
    (refresh_request,) = idp.calls("POST", issuer.token_endpoint)
    assert form(refresh_request) == {
        "grant_type": "refresh_token",
        "refresh_token": "idp-refresh-token-0",
    }  # no scope: RFC 6749 §6, a strict IdP refuses one the grant lacks
    credentials = base64.b64encode(b"speaker-portal:portal-demo-secret").decode()
    assert refresh_request.headers["Authorization"] == f"Basic {credentials}"
    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    assert form(exchange)["subject_token"] == "idp-access-token-1"


def test_the_rotated_tokens_are_stored_with_the_refreshed_id_token(
    client, speaker, salesforce, idp, issuer
) -> None:
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    speaker.log_in(expires_in=-1)

    client.get("/support")

    login = speaker.login_session()
    assert (login.idp_access_token, login.idp_refresh_token, login.idp_id_token) == (
        "idp-access-token-1",
        "idp-refresh-token-1",
        "refreshed-id-token-1",  # the one to exchange when the subject token type is id_token
    )
    assert login.idp_access_token_expires_at >= time.time() + 3500
    assert login.idp_token_sent is True
    assert (login.renewal_lease, login.renewal_lease_until) == (None, None)


def test_invalid_session_refreshes_and_exchanges_the_fresh_token(
    client, speaker, salesforce, idp, issuer, org
) -> None:
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    salesforce.route(
        "POST", org.token_endpoint, (200, org.token_body("1")), (200, org.token_body("2"))
    )
    salesforce.route("GET", f"{org.data}/query", (401, INVALID_SESSION), (200, org.query()))
    speaker.log_in()

    response = client.get("/support")

    assert response.status_code == 200
    first, second = salesforce.calls("POST", org.token_endpoint)
    # Salesforce takes an IdP access token once: the second exchange needs a refreshed one.
    assert [form(first)["subject_token"], form(second)["subject_token"]] == [
        "idp-access-token",
        "idp-access-token-1",
    ]
    assert speaker.login_session().sf_access_token == "00D000000000001!sf-token-2"


def test_each_refresh_spends_the_refresh_token_the_last_one_returned(
    client, speaker, salesforce, idp, issuer, org
) -> None:
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)), (200, issuer.refreshed(2)))
    salesforce.route(
        "GET",
        f"{org.data}/query",
        (401, INVALID_SESSION),
        (200, org.query()),
        (401, INVALID_SESSION),
        (200, org.query()),
    )
    speaker.log_in()

    assert [client.get("/support").status_code for _ in range(2)] == [200, 200]

    spent = [form(call)["refresh_token"] for call in idp.calls("POST", issuer.token_endpoint)]
    assert spent == ["idp-refresh-token-0", "idp-refresh-token-1"]
    assert speaker.login_session().idp_refresh_token == "idp-refresh-token-2"


@pytest.mark.parametrize(
    ("refresh_token", "answer"),
    [
        ("idp-refresh-token-0", (400, REVOKED)),
        ("idp-refresh-token-0", (400, {"error": "invalid_grant"})),
        (None, None),
    ],
    ids=["revoked", "no-description", "no-refresh-token"],
)
def test_a_refused_refresh_ends_the_login_and_sends_to_login(
    client, speaker, salesforce, idp, issuer, org, refresh_token, answer
) -> None:
    if answer:
        idp.route("POST", issuer.token_endpoint, answer)
    speaker.log_in(expires_in=-1, refresh_token=refresh_token)

    response = client.get("/support")

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support")
    assert speaker.login_session() is None
    assert salesforce.calls("POST", org.token_endpoint) == []


def test_a_refused_refresh_on_htmx_gets_hx_redirect(client, speaker, idp, issuer) -> None:
    idp.route("POST", issuer.token_endpoint, (400, REVOKED))
    speaker.log_in(expires_in=-1)
    data = {"csrf_token": speaker.csrf_token(), "subject": "Mic", "priority": "High"}
    headers = {"HX-Request": "true", "HX-Current-URL": "http://portal.test/support"}

    response = client.post("/support/cases", data=data, headers=headers)

    assert (response.status_code, response.headers["HX-Redirect"]) == (
        200,
        "/auth/login?next=/support",
    )
    assert speaker.login_session() is None


@pytest.mark.parametrize(
    "answer",
    [
        (401, {"error": "invalid_client", "error_description": "bad secret"}),
        (400, {"error": "invalid_scope", "error_description": "offline_access was not granted"}),
        (400, {"error": "invalid_request"}),
    ],
    ids=["client-refused", "scope-refused", "request-refused"],
)
def test_any_refused_refresh_means_log_in_again(client, speaker, salesforce, idp, issuer, answer):
    idp.route("POST", issuer.token_endpoint, answer)
    speaker.log_in(expires_in=-1)

    response = client.get("/support")

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support")
    assert speaker.login_session() is None


def test_an_unreachable_idp_shows_a_page_and_keeps_the_login(client, speaker, salesforce, idp):
    speaker.log_in(expires_in=-1)

    response = client.get("/support")

    assert response.status_code == 503
    assert "<code>idp_unavailable</code>" in response.get_data(as_text=True)
    login = speaker.login_session()
    assert (login.idp_refresh_token, login.renewal_lease) == ("idp-refresh-token-0", None)


def test_the_lease_is_taken_once_given_back_and_lapses(app, speaker) -> None:
    login_id = speaker.log_in()
    now = int(time.time())
    with app.app_context():
        assert refresh.take_lease(login_id, "first", now) is True
        assert refresh.take_lease(login_id, "second", now) is False
        refresh.give_back_lease(login_id, "second")  # not its lease: nothing happens
        assert refresh.take_lease(login_id, "second", now) is False
        refresh.give_back_lease(login_id, "first")
        assert refresh.take_lease(login_id, "second", now) is True
        # A holder that never gives it back (crashed) loses it when the lease lapses.
        assert refresh.take_lease(login_id, "third", now + refresh.LEASE_SECONDS) is True


def test_a_lease_on_an_ended_login_is_login_expired(app, speaker) -> None:
    login_id = speaker.log_in()
    with app.app_context():
        db.session.delete(db.session.get(LoginSession, login_id))
        db.session.commit()

        with pytest.raises(LoginExpired):
            refresh.take_lease(login_id, "lease", int(time.time()))


def test_concurrent_requests_of_one_login_spend_the_refresh_token_once(
    app, client, speaker, salesforce, idp, issuer, org, monkeypatch
) -> None:
    refreshing, waiting, release = threading.Event(), threading.Event(), threading.Event()

    def slow_refresh(_request):
        refreshing.set()
        release.wait(10)
        return 200, issuer.refreshed(1)

    def wait_for_the_first(_seconds: float) -> None:
        waiting.set()
        release.wait(10)

    # A second use of the same refresh token would revoke the grant, as the real IdP does.
    idp.route("POST", issuer.token_endpoint, slow_refresh, (400, REVOKED))
    monkeypatch.setattr(refresh, "pause", wait_for_the_first)
    login_id = speaker.log_in(expires_in=-1)
    other_tab = app.test_client()
    with other_tab.session_transaction() as session:
        session["_user_id"] = login_id
    statuses: dict[str, int] = {}

    def visit(name, browser) -> None:
        statuses[name] = browser.get("/support").status_code

    first = threading.Thread(target=visit, args=("first", client))
    second = threading.Thread(target=visit, args=("second", other_tab))
    first.start()
    assert refreshing.wait(10)  # the first request holds the lease, inside the refresh
    second.start()
    assert waiting.wait(10)  # the second found the lease taken and waits
    release.set()
    first.join(10)
    second.join(10)

    assert statuses == {"first": 200, "second": 200}
    assert len(idp.calls("POST", issuer.token_endpoint)) == 1
    assert len(salesforce.calls("POST", org.token_endpoint)) == 1  # the second used its session
    assert speaker.login_session().idp_refresh_token == "idp-refresh-token-1"
