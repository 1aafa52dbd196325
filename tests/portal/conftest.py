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
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter
from sqlalchemy import select

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
        self.prefixes: dict[tuple[str, str], Reply] = {}
        self.sent: list[requests.PreparedRequest] = []
        self.verify: list[bool | str] = []  # what each request asked of TLS verification

    def route(self, method: str, url: str, *replies: Reply) -> None:
        """Answer `method url` (query ignored) with these replies in turn; the last one repeats."""
        self.routes[(method, url)] = list(replies)

    def route_prefix(self, method: str, prefix: str, reply: Reply) -> None:
        """Answer every `method` URL under `prefix` that has no exact route with `reply`."""
        self.prefixes[(method, prefix)] = reply

    def calls(self, method: str, url: str) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.method == method and r.url.split("?")[0] == url]

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.verify.append(kwargs["verify"])
        queue = self.routes.get((request.method, request.url.split("?")[0]))
        if not queue:
            prefixes = [
                (prefix, reply)
                for (method, prefix), reply in self.prefixes.items()
                if method == request.method and request.url.startswith(prefix)
            ]
            if not prefixes:
                raise requests.ConnectionError(f"connection refused: {request.url}")
            queue = [max(prefixes, key=lambda item: len(item[0]))[1]]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(reply):
            reply = reply(request)
        if isinstance(reply, Exception):
            raise reply
        status, body = reply
        response = requests.Response()
        if status == 204:
            body = ""
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
def app(tmp_path, monkeypatch: pytest.MonkeyPatch, transport: FakeTransport, app_database) -> Flask:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_URL": PORTAL_URL,
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "DATABASE_URL": app_database,
        }
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
    def case(
        number: str,
        subject: str,
        created: str = "2026-05-01T12:34:56.000+0000",
        contact_id: str = CONTACT_ID,
        closed: bool = False,
    ) -> dict:
        case_id = f"50000000{number}AA"
        return {
            "attributes": {"type": "Case", "url": f"/services/data/v66.0/sobjects/Case/{case_id}"},
            "Id": case_id,
            "CaseNumber": number,
            "Subject": subject,
            "Description": f"About: {subject}",
            "Status": "Closed" if closed else "New",
            "IsClosed": closed,
            "Priority": "Medium",
            "ContactId": contact_id,
            "CreatedDate": created,
            "LastModifiedDate": created,
            "ClosedDate": None,
        }

    @staticmethod
    def query(*records: dict) -> dict:
        return {"totalSize": len(records), "done": True, "records": list(records)}


@pytest.fixture
def org() -> type[Org]:
    return Org


@pytest.fixture
def salesforce(transport: FakeTransport) -> FakeTransport:
    """Salesforce answering as for Ada: one exchange, her User record, her cases (FakeCases)."""
    transport.route("POST", TOKEN_ENDPOINT, (200, Org.token_body()))
    transport.route(
        "GET",
        f"{DATA}/sobjects/User/{SF_USER_ID}",
        (200, {"Id": SF_USER_ID, "ContactId": CONTACT_ID, "AccountId": None, "Name": "Ada"}),
    )
    cases = FakeCases(
        [
            Org.case("00001001", "Travel reimbursement form", "2026-05-02T09:00:00.000+0000"),
            Org.case("00001000", "Projector adapter for room B"),
        ]
    )
    cases.serve(transport)
    transport.cases = cases  # type: ignore[attr-defined]
    return transport


class FakeCases:
    """Ada's cases in a fake org: SOQL and SOSL as the portal writes them, records, describe."""

    LIMIT = re.compile(r"LIMIT (\d+) OFFSET (\d+)")

    def __init__(self, cases: list[dict[str, Any]]) -> None:
        self.cases = cases
        self.comments: list[dict[str, Any]] = []

    def serve(self, transport: FakeTransport) -> None:
        transport.route("GET", f"{DATA}/query", self.query)
        transport.route("GET", f"{DATA}/search", self.search)
        transport.route("GET", f"{DATA}/sobjects/Case/describe", (200, CASE_DESCRIBE))
        transport.route("GET", f"{DATA}/sobjects/CaseComment/describe", (200, COMMENT_DESCRIBE))
        transport.route("POST", f"{DATA}/sobjects/Case/", self.create)
        transport.route("POST", f"{DATA}/sobjects/CaseComment/", self.comment)
        transport.route_prefix("GET", f"{DATA}/sobjects/Case/", self.get)
        transport.route_prefix("PATCH", f"{DATA}/sobjects/Case/", self.update)

    @staticmethod
    def _q(request: requests.PreparedRequest) -> str:
        return parse_qs(urlsplit(request.url).query)["q"][0]

    def _matching(self, where: str) -> list[dict[str, Any]]:
        cases = [c for c in self.cases if f"ContactId = '{c['ContactId']}'" in where]
        if "IsClosed = true" in where:
            cases = [c for c in cases if c["IsClosed"]]
        if "IsClosed = false" in where:
            cases = [c for c in cases if not c["IsClosed"]]
        return sorted(cases, key=lambda c: c["LastModifiedDate"], reverse=True)

    def _page(self, soql: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit, offset = map(int, self.LIMIT.search(soql).groups())
        return cases[offset : offset + limit]

    def query(self, request: requests.PreparedRequest) -> Reply:
        soql = self._q(request)
        if "FROM CaseComment" in soql:
            parent = re.search(r"ParentId = '(\w+)'", soql).group(1)
            return 200, Org.query(*[c for c in self.comments if c["ParentId"] == parent])
        cases = self._matching(soql)
        if soql.startswith("SELECT IsClosed, COUNT(Id) n"):  # the status counts, grouped
            groups = [
                {"attributes": {"type": "AggregateResult"}, "IsClosed": closed, "n": n}
                for closed in (False, True)
                if (n := sum(c["IsClosed"] is closed for c in cases))
            ]
            return 200, {"totalSize": len(groups), "done": True, "records": groups}
        return 200, Org.query(*self._page(soql, cases))

    def search(self, request: requests.PreparedRequest) -> Reply:
        sosl = self._q(request)
        term = re.sub(r"\\(.)", r"\1", re.match(r"FIND \{(.*?)\} IN", sosl).group(1)).lower()
        found = [
            c
            for c in self._matching(sosl)
            if all(w in (c["Subject"] + " " + c["Description"]).lower() for w in term.split())
        ]
        return 200, {"searchRecords": self._page(sosl, found)}

    def get(self, request: requests.PreparedRequest) -> Reply:
        case_id = urlsplit(request.url).path.rsplit("/", 1)[-1]
        case = next((c for c in self.cases if c["Id"] == case_id), None)
        if case is None:
            return 404, [
                {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
            ]
        return 200, case

    def create(self, request: requests.PreparedRequest) -> Reply:
        values = json.loads(request.body)
        number = f"{1000 + len(self.cases):08d}"
        case = {**Org.case(number, values["Subject"], "2026-06-01T10:00:00.000+0000"), **values}
        self.cases.append(case)
        return 201, {"id": case["Id"], "success": True, "errors": []}

    def comment(self, request: requests.PreparedRequest) -> Reply:
        values = json.loads(request.body)
        self.comments.append(
            {
                **values,
                "Id": f"00a00000000{len(self.comments):04d}AAA",
                "CreatedDate": "2026-06-02T10:00:00.000+0000",
                "CreatedBy": {"Name": "Ada Lovelace"},
            }
        )
        return 201, {"id": self.comments[-1]["Id"], "success": True, "errors": []}

    def update(self, request: requests.PreparedRequest) -> Reply:
        status, case = self.get(request)
        if status != 200:
            return status, case
        values = json.loads(request.body)
        case.update(values)
        case["IsClosed"] = case["Status"] == "Closed"
        return 204, ""


def picklist(*values: str, default: str | None = None) -> list[dict[str, Any]]:
    return [{"value": v, "label": v, "active": True, "defaultValue": v == default} for v in values]


CASE_DESCRIBE = {
    "name": "Case",
    "fields": [
        {"name": "Subject", "length": 255, "picklistValues": []},
        {"name": "Description", "length": 32000, "picklistValues": []},
        {
            "name": "Priority",
            "length": 40,
            "picklistValues": picklist("High", "Medium", "Low", default="Medium"),
        },
        {
            "name": "Status",
            "length": 40,
            "picklistValues": picklist("New", "Working", "Closed", default="New"),
        },
    ],
}
COMMENT_DESCRIBE = {"name": "CaseComment", "fields": [{"name": "CommentBody", "length": 4000}]}


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
            sub = "00u1ada1demo1speaker"
            user = db.session.scalar(select(User).filter_by(sub=sub)) or User(
                sub=sub, email="ada@speakers.example", name=name
            )
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


@pytest.fixture(autouse=True)
def fresh_describes() -> None:
    """Each test starts with no describe cached (the cache is per process)."""
    from portal.support_cases import DESCRIBES

    DESCRIBES.clear()
