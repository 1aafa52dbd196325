"""ID tokens (openid scope), JWKS at /id/keys and OpenID discovery (contract §2.1, §5)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask

from mock_sf import create_app
from mock_sf.oauth.keys import KID_PREFIX

SF = "http://127.0.0.1:18002"


def verify(client: Any, id_token: str, jwks_path: str = "/id/keys", **kwargs: Any) -> dict:
    keys = client.get(jwks_path).get_json()["keys"]
    header = jwt.get_unverified_header(id_token)
    jwk = next(key for key in keys if key["kid"] == header["kid"])
    public = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    return jwt.decode(id_token, public, algorithms=["RS256"], audience="speaker-portal", **kwargs)


def test_an_id_token_comes_only_with_openid(api: Any, idp: Any) -> None:
    assert "id_token" not in api.exchange(idp.access_token(), scope="api").get_json()
    assert "id_token" in api.exchange(idp.access_token(), scope="api openid").get_json()


def test_the_id_token_is_signed_and_carries_salesforce_claims(
    api: Any, client: Any, idp: Any
) -> None:
    body = api.exchange(idp.access_token(), scope="api openid").get_json()
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert header["kid"].startswith(KID_PREFIX)
    claims = verify(client, body["id_token"], issuer=SF)
    assert sorted(claims) == ["at_hash", "aud", "exp", "iat", "iss", "sub"]
    assert claims["sub"] == body["id"]
    assert claims["exp"] - claims["iat"] == 300
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_jwks_has_only_public_parts(client: Any) -> None:
    (key,) = client.get("/id/keys").get_json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert sorted(key) == ["alg", "e", "kid", "kty", "n", "use"]


def test_the_key_is_generated_once_into_its_file_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "signing_key.json"

    def fresh_app() -> Flask:
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "t",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'sf.sqlite3'}",
                "SIGNING_KEY_FILE": str(key_file),
            }
        )

    first = fresh_app().test_client().get("/id/keys").get_json()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert json.loads(key_file.read_text())["kid"] == first["keys"][0]["kid"]
    assert fresh_app().test_client().get("/id/keys").get_json() == first


def test_discovery_names_what_is_served(client: Any) -> None:
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.get_json()
    assert body["issuer"] == SF
    assert body["token_endpoint"] == f"{SF}/services/oauth2/token"
    assert body["revocation_endpoint"] == f"{SF}/services/oauth2/revoke"
    assert body["introspection_endpoint"] == f"{SF}/services/oauth2/introspect"
    assert body["userinfo_endpoint"] == f"{SF}/services/oauth2/userinfo"
    assert body["jwks_uri"] == f"{SF}/id/keys"
    assert body["grant_types_supported"] == [
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "refresh_token",
    ]
    assert body["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "authorization_endpoint" not in body
    # Each endpoint answers in its own dialect: the keys, and the POST-only endpoints' 405.
    keys = client.get(body["jwks_uri"].removeprefix(SF))
    assert keys.status_code == 200 and keys.get_json()["keys"][0]["alg"] == "RS256"
    for name in ("token_endpoint", "introspection_endpoint"):
        response = client.get(body[name].removeprefix(SF))
        assert response.status_code == 405, name
        assert "POST" in response.headers["Allow"].split(", "), name
        assert response.get_json()["error_description"] == "must use HTTP POST"
    # Revocation also takes GET ?token= (Salesforce documents both): no token, an OAuth 400.
    revoke = client.get(body["revocation_endpoint"].removeprefix(SF))
    assert revoke.status_code == 400 and revoke.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("path", ["/id/keys", "/.well-known/openid-configuration"])
def test_site_paths_serve_discovery_and_keys(client: Any, path: str) -> None:
    assert client.get(f"/speakers{path}").status_code == 200


def test_site_discovery_uses_the_site_as_issuer(client: Any) -> None:
    body = client.get("/speakers/.well-known/openid-configuration").get_json()
    assert body["issuer"] == f"{SF}/speakers"
    assert body["token_endpoint"] == f"{SF}/speakers/services/oauth2/token"
    assert body["jwks_uri"] == f"{SF}/speakers/id/keys"


def test_workers_starting_at_once_agree_on_one_whole_key(tmp_path: Path) -> None:
    """Eight key stores on one file race to create it: one key wins, none reads half a file."""
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from mock_sf.oauth.keys import SigningKeys

    path = tmp_path / "signing_key.json"
    stores = [SigningKeys(path, logging.getLogger("test")) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        kids = set(pool.map(lambda store: store.active.kid, stores))
    assert kids == {json.loads(path.read_text())["kid"]}
    assert [p.name for p in tmp_path.iterdir()] == ["signing_key.json"]
