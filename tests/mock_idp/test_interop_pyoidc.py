"""Interop: pyoidc (`oic`), an OIDC relying party independent of Authlib, registers itself
dynamically and completes the code flow with PKCE against mock_idp, verifying the ID token
against the published JWKS. HTTP goes to the Flask test client through a requests adapter."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from oic.oic import Client as OicClient
from oic.oic.message import AuthorizationResponse
from oic.oic.message import OpenIDSchema
from oic.oic.message import RegistrationResponse
from oic.utils import keyio
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.settings import OicClientSettings
from requests.adapters import BaseAdapter

ISSUER = "http://127.0.0.1:8001/oauth2/default"
REDIRECT = "http://127.0.0.1:9100/callback"
AUTHORIZE = "/oauth2/default/v1/authorize"


class FlaskAdapter(BaseAdapter):
    """Answers requests' calls from a Flask test client instead of the network."""

    def __init__(self, flask_client) -> None:
        super().__init__()
        self.flask_client = flask_client
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **_kwargs) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        url = urlsplit(request.url)
        answer = self.flask_client.open(
            url.path,
            method=request.method,
            query_string=url.query,
            headers=dict(request.headers),
            data=request.body,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.get_data()
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
def rp_session(app, monkeypatch) -> requests.Session:
    session = requests.Session()
    session.mount("http://127.0.0.1:8001", FlaskAdapter(app.test_client()))
    # pyoidc's key bundles fetch the JWKS with requests.get, not the settings' session.
    monkeypatch.setattr(keyio.requests, "get", session.get)
    return session


def test_pyoidc_completes_the_code_flow(demo_app, flow, rp_session):
    rp = OicClient(
        client_authn_method=CLIENT_AUTHN_METHOD,
        settings=OicClientSettings(requests_session=rp_session),
    )
    rp.provider_config(ISSUER)
    assert rp.provider_info["issuer"] == ISSUER
    registration = rp.register(
        rp.provider_info["registration_endpoint"],
        redirect_uris=[REDIRECT],
        scope="openid email profile",
        token_endpoint_auth_method="client_secret_basic",
    )
    assert isinstance(registration, RegistrationResponse)

    args, verifier = rp.add_code_challenge()
    state, nonce = "st-123", "nonce-456"
    request = rp.construct_AuthorizationRequest(
        request_args={
            "client_id": rp.client_id,
            "response_type": "code",
            "scope": ["openid", "email"],
            "redirect_uri": REDIRECT,
            "state": state,
            "nonce": nonce,
            **args,
        }
    )
    # The browser part: the user signs in at the IdP, which redirects back with the code.
    query = request.to_urlencoded()
    response = flow.client.get(f"{AUTHORIZE}?{query}")
    assert response.headers["Location"] == "/login"
    flow.login("ada@speakers.example", "ada-demo")
    callback = flow.client.get(AUTHORIZE + "/resume").headers["Location"]
    assert callback.startswith(REDIRECT + "?")

    auth = rp.parse_response(
        AuthorizationResponse, info=urlsplit(callback).query, sformat="urlencoded"
    )
    assert auth["state"] == state
    tokens = rp.do_access_token_request(
        state=state,
        request_args={"code": auth["code"], "code_verifier": verifier, "redirect_uri": REDIRECT},
        authn_method="client_secret_basic",
    )
    id_token = tokens["id_token"]  # verified by pyoidc: signature (JWKS), iss, aud, nonce
    assert id_token["iss"] == ISSUER
    assert id_token["sub"] == "00u1ada1demo1speaker"
    assert id_token["nonce"] == nonce
    assert id_token["aud"] == [rp.client_id]

    # pyoidc's default userinfo call: POST with the token in the form body (RFC 6750 §2.2).
    userinfo = rp.do_user_info_request(state=state)
    sent = rp_session.get_adapter(ISSUER).sent[-1]
    assert (sent.method, sent.headers["Content-Type"]) == (
        "POST",
        "application/x-www-form-urlencoded",
    )
    assert "Authorization" not in sent.headers
    assert parse_qs(sent.body) == {"access_token": [tokens["access_token"]]}
    assert isinstance(userinfo, OpenIDSchema)
    assert userinfo.to_dict() == {
        "sub": "00u1ada1demo1speaker",
        "email": "ada@speakers.example",
        "email_verified": True,
    }
