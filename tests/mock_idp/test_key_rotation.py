"""Key rotation: a new active key, the previous one published until its tokens expired, and a
running app that notices a rotation made by another process."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import jwt
import pytest

from mock_idp import create_app
from mock_idp.key_rotation import rotate
from mock_idp.keys import KeyStore

KEYS = "/oauth2/default/v1/keys"
USERINFO = "/oauth2/default/v1/userinfo"


def kids(client) -> list[str]:
    return [key["kid"] for key in client.get(KEYS).json["keys"]]


def test_cli_rotation_adds_an_active_key_and_keeps_the_old_one_published(app, flow, client):
    old_token = flow.tokens()["access_token"]
    [old_kid] = kids(client)
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    new_kid = result.output.strip().removeprefix("active signing key: ")
    assert kids(client) == [new_kid, old_kid]
    assert new_kid != old_kid
    # New tokens are signed with the new key; old tokens still verify against the JWKS.
    new_token = flow.tokens()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    for token in (old_token, new_token):
        assert client.get(USERINFO, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    stored = json.loads(Path(app.config["SIGNING_KEYS_PATH"]).read_text())["keys"]
    assert [entry["kid"] for entry in stored] == [new_kid, old_kid]
    assert "retire_after" not in stored[0]
    assert stat.S_IMODE(os.stat(app.config["SIGNING_KEYS_PATH"]).st_mode) == 0o600


def test_retired_key_leaves_the_jwks_after_the_longest_token_lifetime(app, tmp_path):
    now = [1_000_000.0]
    store = KeyStore.load_or_create(tmp_path / "k.json", clock=lambda: now[0])
    old = store.kid
    token = store.sign(
        {"iss": "i", "sub": "s", "aud": "a", "exp": 2_000_000_000, "iat": 1}, "at+jwt"
    )
    store.rotate(retire_after=int(now[0]) + 3660)
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [store.kid, old]
    now[0] += 3659
    assert len(store.public_jwks()["keys"]) == 2
    store.public_key_for(token)
    now[0] += 1
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [store.kid]
    with pytest.raises(jwt.InvalidTokenError):
        store.public_key_for(token)
    store.rotate(retire_after=int(now[0]) + 10)  # the retired key is dropped from the file
    stored = json.loads((tmp_path / "k.json").read_text())["keys"]
    assert old not in [entry["kid"] for entry in stored] and len(stored) == 2


def test_previous_key_retires_after_the_longest_lifetime_plus_leeway(app):
    app.config.update(ACCESS_TOKEN_LIFETIME=100, ID_TOKEN_LIFETIME=300, KEY_RETIREMENT_LEEWAY=7)
    before = int(time.time())
    result = rotate(app, app.extensions["mock_idp.keys"])
    after = int(time.time())
    stored = json.loads(Path(app.config["SIGNING_KEYS_PATH"]).read_text())["keys"]
    assert stored[1]["retire_after"] == result["previous_retire_after"]
    assert before + 307 <= result["previous_retire_after"] <= after + 307


def test_running_app_reloads_a_rotation_from_another_process_at_most_once_a_second(
    app, tmp_path, monkeypatch
):
    store = app.extensions["mock_idp.keys"]
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    other_process = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    other_process.extensions["mock_idp.keys"].rotate(retire_after=2_000_000_000)
    new_kid = other_process.extensions["mock_idp.keys"].kid
    assert store.refresh_if_changed(now=1000.0) is True
    assert store.kid == new_kid
    other_process.extensions["mock_idp.keys"].rotate(retire_after=2_000_000_000)
    assert store.refresh_if_changed(now=1000.5) is False  # checked less than a second ago
    assert store.refresh_if_changed(now=1001.0) is True


def test_demo_endpoint_rotates_inside_the_running_app(demo):
    before = kids(demo)
    response = demo.post("/_demo/rotate-keys")
    assert response.status_code == 200
    assert response.json["previous_kid"] == before[0]
    assert kids(demo) == [response.json["active_kid"], before[0]]


def test_two_rotations_in_one_second_get_distinct_kids(demo):
    first = demo.post("/_demo/rotate-keys").json["active_kid"]
    second = demo.post("/_demo/rotate-keys").json["active_kid"]
    assert first != second
    assert len(set(kids(demo))) == 3
