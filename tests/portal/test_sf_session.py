"""The Salesforce session of a login: exchange once, cache, renew once, subject token types."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs

import pytest

from portal.models import db

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
TYPES = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "jwt": "urn:ietf:params:oauth:token-type:jwt",
    "id_token": "urn:ietf:params:oauth:token-type:id_token",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
}


def form(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body).items()}


def unsigned_jwt(**claims) -> str:
    """A JWT-shaped ID token (the portal reads its exp unverified, only to decide to refresh)."""
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'RS256'})}.{encode(claims)}.c2ln"


def test_the_exchange_uses_the_logins_idp_access_token(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    client.get("/support")

    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    sent = form(exchange)
    assert sent["subject_token"] == "idp-access-token"
    assert sent["subject_token_type"] == TYPES["access_token"]
    assert (sent["token_handler"], sent["scope"]) == ("SpeakerTokenHandler", "api refresh_token")
    login = speaker.login_session()
    assert (login.sf_user_id, login.sf_contact_id, login.sf_issued_at) == (
        org.user_id,
        org.contact_id,
        "1700000000000",
    )


@pytest.mark.parametrize("kind", ["access_token", "jwt", "id_token", "refresh_token"])
def test_the_subject_token_type_is_a_setting(
    tmp_path, monkeypatch, transport, salesforce, org, kind
):
    from portal import create_app
    from portal.models import db
    from tests.portal.conftest import IDP_URL
    from tests.portal.conftest import PORTAL_URL
    from tests.portal.conftest import SF_URL
    from tests.portal.conftest import Speaker

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_URL": PORTAL_URL,
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "SF_SUBJECT_TOKEN_TYPE": kind,
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    speaker = Speaker(app, client)
    speaker.log_in()
    with app.app_context():
        login = db.session.get(type(speaker.login_session()), speaker.login_id)
        login.idp_id_token = unsigned_jwt(exp=time.time() + 600)
        db.session.commit()
        id_token = login.idp_id_token

    assert client.get("/support").status_code == 200

    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    expected = {
        "access_token": "idp-access-token",
        "jwt": "idp-access-token",
        "id_token": id_token,
        "refresh_token": "idp-refresh-token-0",
    }[kind]
    assert (form(exchange)["subject_token"], form(exchange)["subject_token_type"]) == (
        expected,
        TYPES[kind],
    )


def test_an_expired_id_token_is_refreshed_before_it_is_exchanged(
    app, client, speaker, salesforce, idp, issuer, org
) -> None:
    app.config["SF_SUBJECT_TOKEN_TYPE"] = "id_token"
    fresh = unsigned_jwt(exp=time.time() + 600)
    idp.route("POST", issuer.token_endpoint, (200, {**issuer.refreshed(1), "id_token": fresh}))
    speaker.log_in()  # its ID token "idp-id-token" is no JWT: treated as expired

    client.get("/support")

    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    assert form(exchange)["subject_token"] == fresh


def test_a_sent_id_token_is_spent_and_the_next_exchange_refreshes_for_a_new_one(
    app, client, speaker, salesforce, idp, issuer, org
) -> None:
    """mock_idp's ID tokens carry a jti that mock_sf spends (issue 10 finding 3): never resent."""
    app.config["SF_SUBJECT_TOKEN_TYPE"] = "id_token"
    fresh = unsigned_jwt(exp=time.time() + 600)
    idp.route("POST", issuer.token_endpoint, (200, {**issuer.refreshed(1), "id_token": fresh}))
    speaker.log_in()
    with app.app_context():
        login = db.session.get(type(speaker.login_session()), speaker.login_id)
        login.idp_id_token = unsigned_jwt(exp=time.time() + 600)  # unexpired, but already sent
        login.idp_token_sent = True
        db.session.commit()

    client.get("/support")

    (exchange,) = salesforce.calls("POST", org.token_endpoint)
    assert form(exchange)["subject_token"] == fresh
    assert speaker.login_session().idp_token_sent is True


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SF_SUBJECT_TOKEN_TYPE": "saml2"}, "saml2 goes with LOGIN_PROTOCOL saml"),
        ({"SF_SUBJECT_TOKEN_TYPE": "password"}, "must be one of"),
        ({"LOGIN_PROTOCOL": "ldap"}, "LOGIN_PROTOCOL must be oidc or saml"),
        ({"IDP_AUTHORIZE_PARAMS": {"state": "x"}}, "may not set ['state']"),
        ({"IDP_AUTHORIZE_PARAMS": ["prompt"]}, "must be a JSON object of strings"),
    ],
)
def test_login_settings_that_cannot_work_refuse_to_start(tmp_path, monkeypatch, settings, message):
    from portal import create_app

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError) as error:
        create_app({"TESTING": True, **settings})
    assert message in str(error.value)


def test_a_second_request_reuses_the_cached_salesforce_session(client, speaker, salesforce, org):
    speaker.log_in()

    client.get("/support")
    client.get("/support")

    assert len(salesforce.calls("POST", org.token_endpoint)) == 1


def test_the_salesforce_refresh_token_renews_an_ended_session(client, speaker, salesforce, org):
    granted = {**org.token_body("1"), "refresh_token": "5Aep861sf-refresh"}
    renewed = org.token_body("2")
    salesforce.route("POST", org.token_endpoint, (200, granted), (200, renewed))
    query = salesforce.routes[("GET", f"{org.data}/query")][0]
    salesforce.route("GET", f"{org.data}/query", (401, INVALID_SESSION), query)
    speaker.log_in()

    assert client.get("/support").status_code == 200

    first, second = salesforce.calls("POST", org.token_endpoint)
    assert form(first)["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert form(second) == {
        "grant_type": "refresh_token",
        "refresh_token": "5Aep861sf-refresh",
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
    }
    login = speaker.login_session()
    assert (login.sf_access_token, login.sf_refresh_token) == (
        renewed["access_token"],
        "5Aep861sf-refresh",
    )


def test_invalid_session_twice_gives_a_friendly_502(client, speaker, salesforce, idp, issuer, org):
    idp.route("POST", issuer.token_endpoint, (200, issuer.refreshed(1)))
    salesforce.route("GET", f"{org.data}/query", (401, INVALID_SESSION))
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "<code>INVALID_SESSION_ID</code>" in body and "Session expired or invalid" in body
    assert len(salesforce.calls("POST", org.token_endpoint)) == 2


def test_a_refused_exchange_gives_a_502_page_naming_the_error(client, speaker, salesforce, org):
    refusal = {"error": "invalid_request", "error_description": "token handler not found"}
    salesforce.route("POST", org.token_endpoint, (400, refusal))
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "Salesforce refused the sign-in" in body and "What to do:" in body
    assert "<summary>For developers</summary>" in body
    assert "<code>invalid_request</code>" in body and "token handler not found" in body
    assert speaker.login_session().sf_access_token is None


def test_unreachable_salesforce_gives_a_503_page(client, speaker, transport) -> None:
    speaker.log_in()

    response = client.get("/support")

    assert response.status_code == 503
    assert "Salesforce is unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("where", "answer", "code"),
    [
        (
            "token",
            (503, {"error": "temporarily_unavailable", "error_description": "try again later"}),
            "temporarily_unavailable",
        ),
        (
            "query",
            (503, [{"message": "Try again later.", "errorCode": "SERVER_UNAVAILABLE"}]),
            "SERVER_UNAVAILABLE",
        ),
    ],
    ids=["exchange", "rest"],
)
def test_salesforce_saying_it_is_unavailable_gives_the_503_page(
    client, speaker, salesforce, org, where, answer, code
) -> None:
    if where == "token":
        salesforce.route("POST", org.token_endpoint, answer)
    else:
        salesforce.route("GET", f"{org.data}/query", answer)
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Salesforce is unavailable" in body and f"<code>{code}</code>" in body


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
