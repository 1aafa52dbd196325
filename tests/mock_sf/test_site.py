"""The Experience Cloud site path: {SF_URL}/speakers/services/oauth2/token (contract §1.1, §8)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from mock_sf import ids
from mock_sf.handlers.jwt import JwtTokenExchangeHandler
from mock_sf.models import db
from mock_sf.oauth.sites import Network

SF = "http://127.0.0.1:18002"
SITE_TOKEN = "/speakers/services/oauth2/token"


def exchange_form(subject_token: str, **overrides: str) -> dict[str, str]:
    """The portal's exchange request (as conftest builds it; conftest is not importable)."""
    return {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
        "scope": "api",
        "token_handler": "SpeakerTokenHandler",
        **overrides,
    }


def network_id(app: Flask) -> str:
    with app.app_context():
        return db.session.scalar(select(Network.id))


def test_the_demo_seed_has_one_site_and_is_idempotent(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["init-db", "--demo"]).exit_code == 0
    with app.app_context():
        (network,) = db.session.scalars(select(Network)).all()
        assert network.url_path_prefix == "speakers"
    assert ids.normalize(network.id, "0DB") == network.id


def test_a_site_exchange_adds_the_site_fields(app: Flask, client: Any, idp: Any) -> None:
    response = client.post(SITE_TOKEN, data=exchange_form(idp.access_token()))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert list(body) == [
        "access_token",
        "sfdc_community_url",
        "sfdc_community_id",
        "sfdc_site_url",
        "sfdc_site_id",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    site_id = network_id(app)
    assert body["sfdc_community_url"] == body["sfdc_site_url"] == f"{SF}/speakers"
    assert body["sfdc_community_id"] == body["sfdc_site_id"] == site_id
    # instance_url and the identity URL stay the org's.
    assert body["instance_url"] == SF
    assert body["id"].startswith(f"{SF}/id/")


def test_the_my_domain_path_has_no_site_fields(api: Any, idp: Any) -> None:
    body = api.exchange(idp.access_token()).get_json()
    assert not any(name.startswith("sfdc_") for name in body)


@pytest.mark.parametrize(
    ("path", "expected"), [(SITE_TOKEN, "site"), ("/services/oauth2/token", None)]
)
def test_the_handler_gets_the_network_id_on_the_site_path_only(
    app: Flask, client: Any, idp: Any, monkeypatch: pytest.MonkeyPatch, path: str, expected: Any
) -> None:
    seen: list[str | None] = []
    original = JwtTokenExchangeHandler.get_user_for_token_subject

    def spy(self: Any, network: str | None, *args: Any) -> Any:
        seen.append(network)
        return original(self, network, *args)

    monkeypatch.setattr(JwtTokenExchangeHandler, "get_user_for_token_subject", spy)
    assert client.post(path, data=exchange_form(idp.access_token())).status_code == 200
    assert seen == [network_id(app) if expected == "site" else None]


def test_site_id_token_is_issued_by_the_site(client: Any, idp: Any) -> None:
    form = exchange_form(idp.access_token(), scope="api openid")
    body = client.post(SITE_TOKEN, data=form).get_json()
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["iss"] == (
        f"{SF}/speakers"
    )


def test_refresh_on_the_site_path_adds_the_site_fields(app: Flask, client: Any, idp: Any) -> None:
    form = exchange_form(idp.access_token(), scope="api refresh_token")
    session = client.post(SITE_TOKEN, data=form).get_json()
    body = client.post(
        SITE_TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": session["refresh_token"],
            "client_id": "speaker-portal",
            "client_secret": "portal-sf-demo-secret",
        },
    ).get_json()
    assert body["sfdc_site_id"] == network_id(app)


def test_a_prefix_without_a_site_record_is_404(app: Flask, client: Any, idp: Any) -> None:
    with app.app_context():
        db.session.execute(db.delete(Network))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Network)) == 0
    assert client.post(SITE_TOKEN, data=exchange_form(idp.access_token())).status_code == 404
