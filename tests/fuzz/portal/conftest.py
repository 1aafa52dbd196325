"""The portal for the fuzz tests, in front of a real mock_sf in this process (so what the portal
sends is checked by Salesforce's rules, not a fake's), with Ada signed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.models import LoginSession
from portal.models import db
from tests.fuzz.apps import MockSalesforce
from tests.fuzz.apps import mock_salesforce
from tests.fuzz.harness import Snapshot
from tests.fuzz.harness import Tables
from tests.mock_sf.conftest import IDP_URL
from tests.mock_sf.conftest import ISSUER
from tests.mock_sf.conftest import SF_URL
from tests.portal.conftest import IDP_METADATA
from tests.portal.conftest import FakeTransport
from tests.portal.conftest import Speaker

PORTAL_URL = "http://portal.test"
# Rows a refused request writes on purpose: what a speaker typed into a form posted after her
# login ended is kept to fill the form in again (draft); the flow inspector records every call,
# failed ones too (inspector_step). Nothing else may change.
COUNTED_TABLES = ("draft", "inspector_step")


class Bridge(FakeTransport):
    """Salesforce's URLs answered by mock_sf's WSGI app; the IdP's by the fake's routes."""

    def __init__(self, sf: MockSalesforce) -> None:
        super().__init__()
        self.sf = sf

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not (request.url or "").startswith(SF_URL + "/"):
            return super().send(request, **kwargs)
        answer = self.sf.app.test_client().open(
            request.path_url,
            method=request.method or "GET",
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            data=request.body,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.get_data()
        response.headers.update(answer.headers)
        response.url = request.url or ""
        response.request = request
        return response


@dataclass
class Portal:
    """The portal, Ada's signed-in browser, her case ids, and mock_sf behind it."""

    app: Flask
    browser: FlaskClient
    sf: MockSalesforce
    case_ids: list[str]
    tables: Tables

    def snapshot(self) -> tuple[Snapshot, Snapshot]:
        """The portal's rows and mock_sf's, but the counters either adds to on a refusal."""
        with self.app.app_context():
            portal_rows = self.tables.snapshot()
        return portal_rows, self.sf.snapshot()

    def csrf_token(self, client: FlaskClient) -> str:
        """The session's CSRF token from the home page (a browser signed out has none)."""
        page = client.get("/").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        return match.group(1) if match else ""


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal on a fresh database; Ada signed in with a real IdP access token (the fake IdP
    mock_sf trusts), her Salesforce session already exchanged."""
    folder = tmp_path_factory.mktemp("fuzz_portal")
    sf = mock_salesforce(folder)
    bridge = Bridge(sf)
    bridge.route("GET", f"{ISSUER}/.well-known/openid-configuration", (200, IDP_METADATA))
    bridge.route(
        "POST",
        IDP_METADATA["token_endpoint"],
        (400, {"error": "invalid_grant", "error_description": "The code is invalid."}),
    )
    with pytest.MonkeyPatch.context() as env:
        env.setattr(requests.Session, "get_adapter", lambda self, url: bridge)
        env.setenv("PORTAL_INSTANCE_PATH", str(folder))
        for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
            env.delenv(name, raising=False)
        app = create_app(
            {
                "TESTING": True,
                "PORTAL_URL": PORTAL_URL,
                "IDP_URL": IDP_URL,
                "SF_URL": SF_URL,
                "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
            }
        )
        with app.app_context():
            db.create_all()
        browser = app.test_client()
        speaker = Speaker(app, browser)
        login_id = speaker.log_in(refresh_token=None)
        with app.app_context():
            login = db.session.scalar(select(LoginSession).filter_by(id=login_id))
            login.idp_access_token = sf.idp.access_token()
            db.session.commit()
        assert browser.get("/support").status_code == 200  # the exchange happens here
        response = sf.client.get(
            "/services/data/v66.0/query",
            query_string={"q": "SELECT Id FROM Case"},
            headers={"Authorization": f"Bearer {sf.access_token}"},
        )
        case_ids = [record["Id"] for record in response.get_json()["records"]]
        with app.app_context():
            tables = Tables(db.engine, COUNTED_TABLES)
        yield Portal(app, browser, sf, case_ids, tables)
        with app.app_context():
            db.engine.dispose()
    with sf.app.app_context():
        sf.app.extensions["sqlalchemy"].engine.dispose()
