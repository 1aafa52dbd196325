"""refresh_token grant: rotation, family revocation on reuse, scope narrowing, lifetimes."""

from __future__ import annotations

import hashlib

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy import update

from mock_idp.models import Client
from mock_idp.models import db
from mock_idp.oidc.grants import GrantFamily
from mock_idp.oidc.grants import RefreshToken

TOKEN = "/oauth2/default/v1/token"
INTROSPECT = "/oauth2/default/v1/introspect"
OFFLINE = "openid profile email offline_access"


def refresh(flow, token: str, **extra: str):
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return flow.client.post(TOKEN, data=data, headers=flow.basic_auth())


def active(flow, token: str) -> bool:
    return flow.client.post(INTROSPECT, data={"token": token}, headers=flow.basic_auth()).json[
        "active"
    ]


def assert_oauth_error(response, status: int, error: str) -> None:
    assert response.status_code == status, response.json
    assert response.json["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_offline_access_issues_an_opaque_refresh_token_stored_hashed(app, flow):
    body = flow.tokens(scope=OFFLINE)
    assert set(body) == {
        "token_type", "expires_in", "access_token", "id_token", "refresh_token", "scope"
    }  # fmt: skip
    assert body["scope"] == OFFLINE
    assert body["refresh_token"].count(".") == 0  # opaque, not a JWT
    with app.app_context():
        [stored] = db.session.scalars(select(RefreshToken))
        assert stored.token_hash == hashlib.sha256(body["refresh_token"].encode()).hexdigest()
        family = db.session.get(GrantFamily, stored.family_id)
        assert (family.client_id, family.user_id, family.scope) == (
            "speaker-portal",
            "00u1ada1demo1speaker",
            OFFLINE,
        )


def test_refresh_rotates_and_returns_new_tokens(flow):
    first = flow.tokens(scope=OFFLINE)
    response = refresh(flow, first["refresh_token"])
    assert response.status_code == 200, response.json
    second = response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == OFFLINE
    old_id = jwt.decode(first["id_token"], options={"verify_signature": False})
    new_id = jwt.decode(second["id_token"], options={"verify_signature": False})
    assert new_id["sub"] == old_id["sub"] and new_id["auth_time"] == old_id["auth_time"]
    assert new_id["sid"] == old_id["sid"]  # the same IdP session: a logout hint for it still
    assert new_id["jti"] != old_id["jti"]
    assert "nonce" not in new_id  # OIDC Core §12.2
    # The new refresh token works in turn.
    assert refresh(flow, second["refresh_token"]).status_code == 200


def test_reuse_of_a_rotated_token_revokes_the_whole_family(flow):
    first = flow.tokens(scope=OFFLINE)
    second = refresh(flow, first["refresh_token"]).json
    reuse = refresh(flow, first["refresh_token"])
    assert_oauth_error(reuse, 400, "invalid_grant")
    assert reuse.json["error_description"] == (
        "The refresh token was already used; the grant is revoked."
    )
    # The legitimate newest token and every access token of the grant are dead too.
    assert_oauth_error(refresh(flow, second["refresh_token"]), 400, "invalid_grant")
    assert not active(flow, second["refresh_token"])
    assert not active(flow, second["access_token"])
    assert not active(flow, first["access_token"])
    userinfo = flow.client.get(
        "/oauth2/default/v1/userinfo",
        headers={"Authorization": f"Bearer {second['access_token']}"},
    )
    assert userinfo.status_code == 401


def test_another_login_is_another_family(flow):
    one = flow.tokens(scope=OFFLINE)
    two = flow.tokens(scope=OFFLINE)
    refresh(flow, one["refresh_token"])
    refresh(flow, one["refresh_token"])  # reuse kills family one only
    assert refresh(flow, two["refresh_token"]).status_code == 200


def test_scope_may_be_narrowed_but_the_grant_keeps_its_scope(flow):
    first = flow.tokens(scope=OFFLINE)
    narrowed = refresh(flow, first["refresh_token"], scope="openid email")
    assert narrowed.status_code == 200
    assert narrowed.json["scope"] == "openid email"
    claims = jwt.decode(narrowed.json["access_token"], options={"verify_signature": False})
    assert claims["scp"] == ["openid", "email"]
    # RFC 6749 §6: the new refresh token carries the original scope, so it can widen back.
    wide = refresh(flow, narrowed.json["refresh_token"], scope="openid profile")
    assert wide.status_code == 200
    assert wide.json["scope"] == "openid profile"


def test_narrowing_without_openid_gives_no_id_token(flow):
    first = flow.tokens(scope=OFFLINE)
    body = refresh(flow, first["refresh_token"], scope="offline_access").json
    assert "id_token" not in body and body["scope"] == "offline_access"


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"scope": "openid phone"}, "invalid_scope"),
        ({"scope": "openid schedule.read"}, "invalid_scope"),
        ({"refresh_token": "not-a-token"}, "invalid_grant"),
        ({"refresh_token": ""}, "invalid_request"),
    ],
)
def test_refresh_failures(flow, extra, error):
    first = flow.tokens(scope=OFFLINE)
    data = {"refresh_token": first["refresh_token"], **extra}
    response = refresh(flow, data.pop("refresh_token"), **data)
    assert_oauth_error(response, 400, error)
    # A refused request does not burn the token.
    assert refresh(flow, first["refresh_token"]).status_code == 200


def test_refresh_token_is_bound_to_its_client(app, flow):
    with app.app_context():
        db.session.add(
            Client(
                client_id="other-app",
                secret_hash=hashlib.sha256(b"other-secret").hexdigest(),
                name="other",
                redirect_uris=[],
                scopes=["openid", "offline_access"],
                grant_types=["authorization_code", "refresh_token"],
            )
        )
        db.session.commit()
    first = flow.tokens(scope=OFFLINE)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    stolen = flow.client.post(
        TOKEN, data=data, headers=flow.basic_auth("other-app", "other-secret")
    )
    assert_oauth_error(stolen, 400, "invalid_grant")
    assert refresh(flow, first["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_invalid_grant(app, flow):
    first = flow.tokens(scope=OFFLINE)
    with app.app_context():
        db.session.execute(update(RefreshToken).values(expires_at=RefreshToken.issued_at))
        db.session.commit()
    response = refresh(flow, first["refresh_token"])
    assert_oauth_error(response, 400, "invalid_grant")
    assert response.json["error_description"] == "The refresh token has expired."


def test_idle_and_absolute_lifetimes_come_from_config(app, flow):
    app.config.update(REFRESH_TOKEN_LIFETIME=1000, REFRESH_TOKEN_IDLE_LIFETIME=100)
    flow.tokens(scope=OFFLINE)
    with app.app_context():
        [token] = db.session.scalars(select(RefreshToken))
        family = db.session.get(GrantFamily, token.family_id)
        assert family.expires_at - family.created_at == 1000
        assert token.expires_at - token.issued_at == 100


def test_client_without_refresh_grant_gets_no_refresh_token(app, flow):
    with app.app_context():
        db.session.get(Client, "speaker-portal").grant_types = ["authorization_code"]
        db.session.commit()
    assert "refresh_token" not in flow.tokens(scope=OFFLINE)
