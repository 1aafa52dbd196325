"""Key store: one dev RSA key in the instance folder, published as a public JWKS."""

from __future__ import annotations

import json
import os
import re
import stat

from mock_idp import create_app

KEYS = "/oauth2/default/v1/keys"


def test_jwks_publishes_only_the_public_key(client):
    response = client.get(KEYS)
    assert response.status_code == 200
    [key] = response.json["keys"]
    assert set(key) == {"kty", "kid", "use", "alg", "n", "e"}
    assert key["kty"] == "RSA"
    assert key["use"] == "sig"
    assert key["alg"] == "RS256"
    assert key["e"] == "AQAB"
    assert re.fullmatch(r"mock-idp-DEV-ONLY-\d{14}", key["kid"])


def test_jwks_is_briefly_cacheable(client):
    response = client.get(KEYS)
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_key_is_rsa_2048_and_matches_the_stored_private_key(app, client):
    with open(app.config["SIGNING_KEYS_PATH"]) as fh:
        [stored] = json.load(fh)["keys"]
    assert "d" in stored  # the private key lives only here
    published = client.get(KEYS).json["keys"][0]
    assert stored["n"] == published["n"]
    assert stored["kid"] == published["kid"]
    # 2048-bit modulus: 256 bytes, base64url without padding is 342 characters.
    assert len(published["n"]) == 342


def test_key_is_generated_once_and_reused(app, tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    again = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    first = app.test_client().get(KEYS).json
    second = again.test_client().get(KEYS).json
    assert first == second


def test_first_start_generates_a_private_key_file_and_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    assert not (tmp_path / "signing-keys.json").exists()
    create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    assert stat.S_IMODE(os.stat(tmp_path / "signing-keys.json").st_mode) == 0o600
    assert any(r.levelname == "WARNING" and "DEV-ONLY" in r.getMessage() for r in caplog.records)
