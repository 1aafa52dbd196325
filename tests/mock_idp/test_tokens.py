"""The minted tokens, checked as a relying party would: against the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import time

import jwt
import pytest

from tests.mock_idp import idp_session

ISSUER = "http://127.0.0.1:8001/oauth2/default"
KEYS = "/oauth2/default/v1/keys"
ADA_ID = "00u1ada1demo1speaker"


@pytest.fixture
def jwks(client) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(client.get(KEYS).json)


def decode(token: str, jwks: jwt.PyJWKSet, audience: str) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(token)
    key = jwks[header["kid"]]
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=ISSUER)
    return header, claims


def test_access_token_is_an_rfc9068_jwt_with_exact_claims(flow, jwks):
    before = int(time.time())
    body = flow.tokens()
    header, claims = decode(body["access_token"], jwks, "api://default")
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": jwks.keys[0].key_id}
    assert set(claims) == {
        "iss", "sub", "aud", "exp", "iat", "jti", "client_id", "cid", "uid", "scp"
    }  # fmt: skip
    assert claims["iss"] == ISSUER
    assert claims["sub"] == ADA_ID
    assert claims["uid"] == ADA_ID
    assert claims["aud"] == "api://default"
    assert claims["client_id"] == claims["cid"] == "speaker-portal"
    assert claims["scp"] == ["openid", "profile", "email"]
    assert claims["exp"] - claims["iat"] == 3600
    assert before <= claims["iat"] <= int(time.time())
    assert claims["jti"]


def test_each_access_token_has_its_own_jti(flow, jwks):
    first = decode(flow.tokens()["access_token"], jwks, "api://default")[1]
    second = decode(flow.tokens()["access_token"], jwks, "api://default")[1]
    assert first["jti"] != second["jti"]


def test_id_token_claims_with_profile_and_email(client, flow, jwks):
    body = flow.tokens()
    header, claims = decode(body["id_token"], jwks, "speaker-portal")
    assert header == {"alg": "RS256", "typ": "JWT", "kid": jwks.keys[0].key_id}
    auth_time = int(idp_session.auth_time(client))
    expected_at_hash = (
        base64.urlsafe_b64encode(hashlib.sha256(body["access_token"].encode()).digest()[:16])
        .rstrip(b"=")
        .decode()
    )
    assert claims == {
        "iss": ISSUER,
        "sub": ADA_ID,
        "aud": "speaker-portal",
        "exp": claims["iat"] + 3600,
        "iat": claims["iat"],
        "auth_time": auth_time,
        "nonce": flow.nonce,
        "at_hash": expected_at_hash,
        "jti": claims["jti"],
        "sid": idp_session.public_sid(client),
        "email": "ada@speakers.example",
        "email_verified": True,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_username": "ada@speakers.example",
        "company": "Analytical Engines Ltd",
        "speaker_id": "SPK-1815",
        "talks": ["Notes on the Analytical Engine"],
    }


def test_id_token_releases_only_what_the_scope_allows_and_omits_absent_nonce(flow, jwks):
    body = flow.tokens(scope="openid email", nonce=None)
    _, claims = decode(body["id_token"], jwks, "speaker-portal")
    assert set(claims) == {
        "iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash", "jti", "sid", "email",
        "email_verified",
    }  # fmt: skip


def test_each_id_token_has_its_own_jti_so_an_exchange_can_spend_it_once(flow, jwks):
    """Issue 10 finding 3: an ID token without a jti could be exchanged again and again."""
    jtis = [decode(flow.tokens()["id_token"], jwks, "speaker-portal")[1]["jti"] for _ in range(2)]
    assert jtis[0] != jtis[1]
    assert all(jti.startswith("ID.") and len(jti) > 30 for jti in jtis)


def test_grace_gets_her_own_subject(flow, jwks):
    body = flow.tokens(user={"email": "grace@speakers.example", "password": "grace-demo"})
    _, claims = decode(body["access_token"], jwks, "api://default")
    assert claims["sub"] == claims["uid"] == "00u1grace1demo1spkr0"


def test_tokens_fail_verification_with_another_audience(flow, jwks):
    body = flow.tokens()
    with pytest.raises(jwt.InvalidAudienceError):
        decode(body["access_token"], jwks, "speaker-portal")


def test_the_portal_gets_schedule_read_in_scp_and_keeps_it_on_refresh(client, flow, jwks):
    # The portal calls the platform's schedule API with this access token, unexchanged.
    scopes = ["openid", "profile", "email", "offline_access", "schedule.read"]
    body = flow.tokens(scope=" ".join(scopes))
    assert body["scope"] == " ".join(scopes)
    assert decode(body["access_token"], jwks, "api://default")[1]["scp"] == scopes
    refreshed = client.post(
        "/oauth2/default/v1/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=flow.basic_auth(),
    )
    assert refreshed.status_code == 200, refreshed.json
    assert decode(refreshed.json["access_token"], jwks, "api://default")[1]["scp"] == scopes
