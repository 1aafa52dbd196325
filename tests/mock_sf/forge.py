"""A fake of mock_idp's forge (demo controls): real tokens, broken one way each, signed by the
fake IdP's key; shared by the scorecard tests and the Apex mirror's agreement test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization

from mock_sf.setup.scorecard import ForgeError
from mock_sf.setup.scorecard import ForgeUnavailable

IDP_URL = "http://127.0.0.1:18001"
URN = "urn:ietf:params:oauth:token-type:"
TOKEN_TYPES = {kind: URN + kind for kind in ("access_token", "id_token", "jwt")}
WRONG_AUDIENCE = "urn:mock-idp:forge:wrong-audience"

# (kind, variant, check that must reject it; None = must be accepted), as mock_idp's forge lists.
VARIANTS: list[tuple[str, str, str | None]] = [
    ("access_token", "valid", None),
    ("access_token", "expired", "expiry"),
    ("access_token", "not_yet_valid", "not_before"),
    ("access_token", "wrong_issuer", "issuer"),
    ("access_token", "wrong_audience", "audience"),
    ("access_token", "alg_none", "jws_required"),
    ("access_token", "hs256_public_key", "alg_allowlist"),
    ("access_token", "unknown_kid", "kid"),
    ("access_token", "tampered_payload", "signature"),
    ("access_token", "missing_exp", "exp_required"),
    ("access_token", "too_long_lived", "lifetime"),
    ("access_token", "oversized", "size_limit"),
    ("access_token", "id_token_as_access_token", "token_type"),
    ("access_token", "other_client", "client_id"),
    ("id_token", "valid", None),
    ("id_token", "expired", "expiry"),
    ("id_token", "wrong_audience", "audience"),
    ("id_token", "too_long_lived", "lifetime"),
    ("jwt", "valid", None),
    ("jwt", "tampered_payload", "signature"),
    ("jwt", "too_long_lived", "lifetime"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeForge:
    """Serves the forge's two endpoints with real tokens signed by the fake IdP's key."""

    def __init__(self, idp: Any, variants: list[tuple[str, str, str | None]] = VARIANTS) -> None:
        self.idp = idp
        self.variants = variants
        self.requests: list[Mapping[str, Any] | None] = []
        self.minted: dict[tuple[str, str], str] = {}
        self.reachable = True
        self.broken: set[tuple[str, str]] = set()

    def fetch(self, method: str, url: str, body: Mapping[str, Any] | None, timeout: float) -> Any:
        assert timeout == 5
        if not self.reachable:
            raise ForgeUnavailable(f"{url}: ConnectionError")
        self.requests.append(body)
        if (method, url) == ("GET", f"{IDP_URL}/_demo/forge/variants"):
            return {
                "variants": [
                    {
                        "kind": kind,
                        "variant": name,
                        "token_type": TOKEN_TYPES[kind],
                        "expect": "accept" if check is None else "reject",
                        "check": check,
                        "checklist": None,
                        "description": f"{kind} {name}",
                    }
                    for kind, name, check in self.variants
                ]
            }
        assert (method, url) == ("POST", f"{IDP_URL}/_demo/forge")
        assert body is not None and body["user"] == "ada@speakers.example"
        key = (body["kind"], body["variant"])
        if key in self.broken:
            raise ForgeError("For a refresh token, audience must be a registered client_id.")
        token = self.mint(body["kind"], body["variant"], body.get("audience"))
        self.minted[key] = token
        return {"token": token, "token_type": TOKEN_TYPES[body["kind"]], "variant": key[1]}

    def mint(self, kind: str, name: str, audience: str | None) -> str:
        now = int(time.time())
        idp = self.idp
        if kind == "id_token" or name == "id_token_as_access_token":
            sign = idp.id_token
        elif kind == "jwt":
            sign = lambda **claims: idp.access_token(headers={"typ": "JWT"}, **claims)  # noqa: E731
        else:
            sign = idp.access_token
        aud = {"aud": audience} if audience else {}
        if name in ("valid", "id_token_as_access_token"):
            return sign(**aud)
        if name == "expired":
            return sign(**aud, iat=now - 4200, exp=now - 600)
        if name == "not_yet_valid":
            return sign(**aud, nbf=now + 3600, exp=now + 7200)
        if name == "wrong_issuer":
            return sign(**aud, iss=f"{IDP_URL}/oauth2/forged")
        if name == "wrong_audience":
            return sign(aud=WRONG_AUDIENCE)
        if name == "alg_none":
            return idp.access_token(key=None, algorithm="none", **aud)
        if name == "unknown_kid":
            return idp.access_token(headers={"kid": "mock-idp-DEV-ONLY-unknown-kid"}, **aud)
        if name == "missing_exp":
            return idp.access_token(drop=("exp",), **aud)
        if name == "too_long_lived":
            return sign(**aud, exp=now + 10 * 365 * 24 * 3600)
        if name == "other_client":
            return sign(**aud, client_id="another-client", cid="another-client")
        if name == "oversized":
            return idp.access_token(padding="x" * 16 * 1024, **aud)
        header, payload, signature = sign(**aud).split(".")
        if name == "tampered_payload":
            claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
            claims["sub"] = "00u0forged0subject00"
            return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
        assert name == "hs256_public_key"
        pem = idp.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        hs_header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": idp.kid}).encode())
        signing_input = f"{hs_header}.{payload}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
