"""Fixtures for the portal: an app on a tmp instance, a fake transport for every HTTP call it
makes (IdP and Salesforce), and helpers to log a speaker in without a browser."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter

from portal import create_app
from portal.models import LoginSession
from portal.models import User
from portal.models import db

PORTAL_URL = "http://portal.test"
IDP_URL = "http://idp.test"
SF_URL = "http://sf.test"
SF_SECRET = "portal-sf-demo-secret"
TOKEN_ENDPOINT = f"{SF_URL}/services/oauth2/token"
DATA = f"{SF_URL}/services/data/v66.0"
ORG_ID = "00D000000000001AAA"
SF_USER_ID = "005000000000001AAA"
CONTACT_ID = "003000000000001AAA"
IDENTITY_URL = f"{SF_URL}/id/{ORG_ID}/{SF_USER_ID}"

ISSUER = f"{IDP_URL}/oauth2/default"
IDP_METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/v1/authorize",
    "token_endpoint": f"{ISSUER}/v1/token",
    "jwks_uri": f"{ISSUER}/v1/keys",
    "revocation_endpoint": f"{ISSUER}/v1/revoke",
    "end_session_endpoint": f"{ISSUER}/v1/logout",
    "id_token_signing_alg_values_supported": ["RS256"],
}

Reply = tuple[int, Any] | Exception | Callable[[requests.PreparedRequest], Any]


class FakeTransport(BaseAdapter):
    """Answers requests from a routing table and records them; an unrouted URL is 'down'."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.sent: list[requests.PreparedRequest] = []
        self.verify: list[bool | str] = []  # what each request asked of TLS verification

    def route(self, method: str, url: str, *replies: Reply) -> None:
        """Answer `method url` (query ignored) with these replies in turn; the last one repeats."""
        self.routes[(method, url)] = list(replies)

    def calls(self, method: str, url: str) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.method == method and r.url.split("?")[0] == url]

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.verify.append(kwargs["verify"])
        queue = self.routes.get((request.method, request.url.split("?")[0]))
        if not queue:
            raise requests.ConnectionError(f"connection refused: {request.url}")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, Exception):
            raise reply
        status, body = reply
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = request.url
        if isinstance(body, str):
            response._content = body.encode()
            response.headers["Content-Type"] = "text/html"
        else:
            response._content = json.dumps(body).encode()
            response.headers["Content-Type"] = "application/json;charset=UTF-8"
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    """Every requests.Session (ours and Authlib's) talks to this fake instead of the network."""
    fake = FakeTransport()
    monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: fake)
    return fake


@pytest.fixture
def app(tmp_path, monkeypatch: pytest.MonkeyPatch, transport: FakeTransport) -> Flask:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(
        {"TESTING": True, "PORTAL_URL": PORTAL_URL, "IDP_URL": IDP_URL, "SF_URL": SF_URL}
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def idp(transport: FakeTransport, idp_key: rsa.RSAPrivateKey) -> FakeTransport:
    """The IdP's discovery document and keys; tests add the token endpoint's answers."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(idp_key.public_key(), as_dict=True)
    transport.route("GET", f"{ISSUER}/.well-known/openid-configuration", (200, IDP_METADATA))
    transport.route(
        "GET", IDP_METADATA["jwks_uri"], (200, {"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
    )
    return transport


class Issuer:
    """The fake IdP's endpoints and its answers to the refresh grant."""

    issuer = ISSUER
    metadata = IDP_METADATA
    token_endpoint = IDP_METADATA["token_endpoint"]
    revocation_endpoint = IDP_METADATA["revocation_endpoint"]
    end_session_endpoint = IDP_METADATA["end_session_endpoint"]

    @staticmethod
    def refreshed(number: int) -> dict[str, Any]:
        """Rotated tokens, numbered `number`, as the refresh grant returns them."""
        return {
            "access_token": f"idp-access-token-{number}",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email offline_access",
            "id_token": f"refreshed-id-token-{number}",
            "refresh_token": f"idp-refresh-token-{number}",
        }


@pytest.fixture
def issuer() -> type[Issuer]:
    return Issuer


class Org:
    """The fake Salesforce org the tests talk to: its URLs, ids and response bodies."""

    url = SF_URL
    secret = SF_SECRET
    token_endpoint = TOKEN_ENDPOINT
    data = DATA
    user_id = SF_USER_ID
    contact_id = CONTACT_ID
    identity_url = IDENTITY_URL

    @staticmethod
    def token_body(issued_at: str = "1700000000000", secret: str = SF_SECRET) -> dict[str, str]:
        """A token-exchange success body, signed as contract §4.1 says."""
        message = (IDENTITY_URL + issued_at).encode()
        signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
        return {
            "access_token": f"{ORG_ID[:15]}!sf-token-{issued_at}",
            "signature": signature.decode(),
            "scope": "api",
            "instance_url": SF_URL,
            "id": IDENTITY_URL,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    @staticmethod
    def case(number: str, subject: str, created: str = "2026-05-01T12:34:56.000+0000") -> dict:
        case_id = f"500000000{number}AA"
        return {
            "attributes": {"type": "Case", "url": f"/services/data/v66.0/sobjects/Case/{case_id}"},
            "Id": case_id,
            "CaseNumber": number,
            "Subject": subject,
            "Status": "New",
            "Priority": "Medium",
            "CreatedDate": created,
        }

    @staticmethod
    def query(*records: dict) -> dict:
        return {"totalSize": len(records), "done": True, "records": list(records)}


@pytest.fixture
def org() -> type[Org]:
    return Org


@pytest.fixture
def salesforce(transport: FakeTransport) -> FakeTransport:
    """Salesforce answering as for Ada: one exchange, her User record, her two cases."""
    transport.route("POST", TOKEN_ENDPOINT, (200, Org.token_body()))
    transport.route(
        "GET",
        f"{DATA}/sobjects/User/{SF_USER_ID}",
        (200, {"Id": SF_USER_ID, "ContactId": CONTACT_ID, "AccountId": None, "Name": "Ada"}),
    )
    transport.route(
        "GET",
        f"{DATA}/query",
        (
            200,
            Org.query(
                Org.case("00001001", "Travel reimbursement form", "2026-05-02T09:00:00.000+0000"),
                Org.case("00001000", "Projector adapter for room B"),
            ),
        ),
    )
    return transport


class Speaker:
    """Logs a speaker into the portal the way the callback does, without an IdP round trip."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.login_id: str | None = None

    def log_in(
        self,
        expires_in: int = 3600,
        name: str = "Ada Lovelace",
        refresh_token: str | None = "idp-refresh-token-0",
    ) -> str:
        with self.app.app_context():
            user = User(sub="00u1ada1demo1speaker", email="ada@speakers.example", name=name)
            login = LoginSession(
                user=user,
                idp_access_token="idp-access-token",
                idp_access_token_expires_at=int(time.time()) + expires_in,
                idp_id_token="idp-id-token",
                idp_refresh_token=refresh_token,
            )
            db.session.add(login)
            db.session.commit()
            self.login_id = login.id
        with self.client.session_transaction() as session:
            session["_user_id"] = self.login_id
            session["_fresh"] = True
        return self.login_id

    def login_session(self) -> LoginSession | None:
        with self.app.app_context():
            login = db.session.get(LoginSession, self.login_id)
            if login is not None:
                db.session.expunge(login)
            return login

    def csrf_token(self) -> str:
        page = self.client.get("/").get_data(as_text=True)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def speaker(app: Flask, client: FlaskClient) -> Speaker:
    return Speaker(app, client)
