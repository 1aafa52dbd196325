"""The forge (a demo control): valid tokens of each kind and every broken variant of the
security checklist (shared/contracts/security-checklist.md) that applies, each naming the check
that must reject it. mock_sf's security scorecard uses it.

Valid tokens come from the real minting code; a broken variant changes exactly one thing, so a
verifier that runs the checks in the usual order fails it at its named check and nowhere earlier.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from lxml import etree
from sqlalchemy import select

from mock_idp import users
from mock_idp.keys import key_store
from mock_idp.models import Client
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.oidc import grants
from mock_idp.oidc import tokens
from mock_idp.saml import assertion as saml_assertion
from mock_idp.saml.credential import SigningCredential
from mock_idp.saml.credential import self_signed_certificate
from mock_idp.saml.credential import signing_credential
from mock_idp.saml.sp import NAMEID_PERSISTENT
from mock_idp.saml.sso import new_session_index

TOKEN_TYPES = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "id_token": "urn:ietf:params:oauth:token-type:id_token",
    "jwt": "urn:ietf:params:oauth:token-type:jwt",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
    "saml2": "urn:ietf:params:oauth:token-type:saml2",
}
JWT_KINDS = ("access_token", "id_token", "jwt")
JWT_SIZE_CAP = 16 * 1024  # checklist 4a.11 (Reducto's cap)
SAML_SIZE_CAP = 100_000  # checklist 4b.1 (identizer's cap), bytes of XML
WRONG_AUDIENCE = "urn:mock-idp:forge:wrong-audience"
UNKNOWN_KID = "mock-idp-DEV-ONLY-unknown-kid"
PORTAL_CLIENT_ID = "speaker-portal"
OTHER_CLIENT_ID = "mock-idp-forge-other-client"
TEN_YEARS = 10 * 365 * 24 * 3600  # far past any maximum lifetime (Google's STS: 48 h)


class ForgeError(Exception):
    """A forge request that cannot be served (unknown kind, variant or user)."""


@dataclass(frozen=True)
class Variant:
    """One forgeable token: what it is, whether a verifier must accept it, which check rejects."""

    kind: str
    name: str
    check: str | None
    checklist: str | None
    description: str

    @property
    def expect(self) -> str:
        """'accept' for the valid token, 'reject' for every broken one."""
        return "accept" if self.check is None else "reject"

    def as_dict(self) -> dict[str, Any]:
        """The listing entry."""
        return {
            "kind": self.kind,
            "variant": self.name,
            "token_type": TOKEN_TYPES[self.kind],
            "expect": self.expect,
            "check": self.check,
            "checklist": self.checklist,
            "description": self.description,
        }


_JWT_VARIANTS = (
    ("valid", None, None, "A token exactly as this IdP issues it."),
    ("expired", "expiry", "4a.7", "exp is in the past."),
    ("not_yet_valid", "not_before", "4a.7", "nbf is an hour in the future."),
    ("wrong_issuer", "issuer", "4a.5", "iss is not the configured issuer."),
    ("wrong_audience", "audience", "4a.6", f"aud is {WRONG_AUDIENCE}."),
    ("alg_none", "jws_required", "4a.1", "Unsigned: header alg none, empty signature."),
    (
        "hs256_public_key",
        "alg_allowlist",
        "4a.2",
        "HS256, HMAC keyed with the IdP's public key PEM.",
    ),
    ("unknown_kid", "kid", "4a.3", "Signed with the real key, but the kid is not in the JWKS."),
    ("tampered_payload", "signature", "4a.1", "Payload changed after signing (sub)."),
    ("missing_exp", "exp_required", "4a.7", "Validly signed, but has no exp."),
    ("too_long_lived", "lifetime", "4a.7", "exp is ten years ahead: past any maximum lifetime."),
    ("oversized", "size_limit", "4a.11", f"Validly signed, over {JWT_SIZE_CAP} bytes."),
)
_SAML_VARIANTS = (
    ("valid", None, None, "A signed Assertion exactly as this IdP issues it."),
    ("unsigned", "signature_required", "4b.3", "The Assertion carries no signature."),
    (
        "signature_wrapped",
        "signature_wrapping",
        "4b.4",
        "XSW: a forged Assertion wraps the signed one (inside its ds:Signature/ds:Object);"
        " the signature verifies, but over an element that is not the one consumed.",
    ),
    (
        "foreign_certificate",
        "trusted_certificate",
        "4b.2",
        "Signed by a key whose self-signed certificate rides in KeyInfo.",
    ),
    ("expired", "expiry", "4b.7", "Conditions and bearer NotOnOrAfter are in the past."),
    (
        "too_long_lived",
        "lifetime",
        "4b.7",
        "Conditions and bearer NotOnOrAfter are ten years ahead: past any maximum lifetime.",
    ),
    ("wrong_audience", "audience", "4b.6", f"AudienceRestriction names {WRONG_AUDIENCE}."),
    ("oversized", "size_limit", "4b.1", f"Validly signed, over {SAML_SIZE_CAP} bytes of XML."),
)


def variants() -> list[Variant]:
    """Every forgeable token, kind by kind."""
    found = [Variant(kind, *row) for kind in JWT_KINDS for row in _JWT_VARIANTS]
    found[len(_JWT_VARIANTS) : len(_JWT_VARIANTS)] = [
        Variant(
            "access_token",
            "id_token_as_access_token",
            "token_type",
            "4a.9",
            "An ID token (typ JWT) whose aud is the access-token audience, posted as an access"
            " token: only the typ check tells them apart.",
        ),
        Variant(
            "access_token",
            "other_client",
            "client_id",
            "4a.6",
            f"Issued to another client ({OTHER_CLIENT_ID} in client_id and cid, RFC 9068 §2.2):"
            " its audience is right, but the token was never meant for this integration.",
        ),
    ]
    found.append(Variant("refresh_token", "valid", None, None, "An opaque refresh token."))
    found.extend(Variant("saml2", *row) for row in _SAML_VARIANTS)
    return found


def find_variant(kind: str, name: str) -> Variant:
    """The variant called `name` of `kind`, or ForgeError."""
    for variant in variants():
        if variant.kind == kind and variant.name == name:
            return variant
    raise ForgeError(f"Unknown kind/variant: {kind}/{name}. See GET /_demo/forge/variants.")


def default_audience(kind: str, config: Mapping[str, Any]) -> str:
    """Who a token of `kind` is for unless the request says otherwise."""
    if kind == "access_token":
        return config["ACCESS_TOKEN_AUDIENCE"]
    if kind in ("id_token", "refresh_token"):
        return PORTAL_CLIENT_ID
    return config["SF_URL"]  # jwt and saml2: the authorization server (RFC 7523, RFC 7522)


def forge(
    kind: str, name: str, user: User, audience: str | None, config: Mapping[str, Any]
) -> dict:
    """The token record for one variant."""
    variant = find_variant(kind, name)
    audience = audience or default_audience(kind, config)
    now = int(time.time())
    if kind == "saml2":
        token = _forge_saml(name, user, audience, now, config)
    elif kind == "refresh_token":
        token = _forge_refresh_token(user, audience, now, config)
    else:
        token = _forge_jwt(kind, name, user, audience, now, config)
    return {**variant.as_dict(), "token": token, "user": user.email, "audience": audience}


# --- JWTs -------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def _valid_jwt(kind: str, user: User, audience: str, now: int, config: Mapping[str, Any]) -> str:
    keys = key_store()
    scopes = ["openid", "profile", "email"]
    if kind == "jwt":
        claims = {
            "iss": config["ISSUER"],
            "sub": user.id,
            "aud": audience,
            "exp": now + config["ACCESS_TOKEN_LIFETIME"],
            "iat": now,
            "jti": tokens.new_jti().replace("AT.", "JWT.", 1),
            "email": user.email,
            # With the address, whether anyone confirmed it (OIDC Core §5.1 pairs them).
            "email_verified": user.email_verified,
        }
        return keys.sign(claims, "JWT")
    client_id = audience if kind == "id_token" else PORTAL_CLIENT_ID
    grant = tokens.Grant(config["ISSUER"], client_id, user.id, scopes, now, None)
    access_token = tokens.mint_access_token(
        keys,
        grant,
        audience=audience if kind == "access_token" else config["ACCESS_TOKEN_AUDIENCE"],
        now=now,
        lifetime=config["ACCESS_TOKEN_LIFETIME"],
    )
    if kind == "access_token":
        return access_token
    return tokens.mint_id_token(
        keys,
        grant,
        access_token=access_token,
        user_claims=users.oidc_claims(user, scopes),
        now=now,
        lifetime=config["ID_TOKEN_LIFETIME"],
    )


def _resign(token: str, change: Callable[[dict[str, Any]], None], kid: str | None = None) -> str:
    """The token's claims changed by `change`, signed again with the IdP's real key."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    change(claims)
    store = key_store()
    headers = {"typ": header["typ"], "kid": kid or header["kid"]}
    return jwt.encode(claims, store._private_key, algorithm="RS256", headers=headers)


def _forge_jwt(
    kind: str, name: str, user: User, audience: str, now: int, config: Mapping[str, Any]
) -> str:
    if name == "id_token_as_access_token":
        return _valid_jwt("id_token", user, audience, now, config)
    token = _valid_jwt(kind, user, audience, now, config)
    lifetime = config["ACCESS_TOKEN_LIFETIME"]
    if name == "valid":
        return token
    if name == "expired":
        return _resign(token, lambda c: c.update(iat=now - lifetime - 600, exp=now - 600))
    if name == "not_yet_valid":
        return _resign(token, lambda c: c.update(nbf=now + 3600, exp=now + 3600 + lifetime))
    if name == "wrong_issuer":
        return _resign(token, lambda c: c.update(iss=config["IDP_URL"] + "/oauth2/forged"))
    if name == "wrong_audience":
        return _resign(token, lambda c: c.update(aud=WRONG_AUDIENCE))
    if name == "missing_exp":
        return _resign(token, lambda c: c.pop("exp"))
    if name == "too_long_lived":
        return _resign(token, lambda c: c.update(exp=now + TEN_YEARS))
    if name == "other_client":
        return _resign(token, lambda c: c.update(client_id=OTHER_CLIENT_ID, cid=OTHER_CLIENT_ID))
    if name == "oversized":
        return _resign(token, lambda c: c.update(padding="x" * JWT_SIZE_CAP))
    if name == "unknown_kid":
        return _resign(token, lambda c: None, kid=UNKNOWN_KID)
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    if name == "tampered_payload":
        claims["sub"] = "00u0forged0subject00"
        return f"{header_b64}.{_b64url_json(claims)}.{signature_b64}"
    if name == "alg_none":
        return f"{_b64url_json({'alg': 'none', 'typ': header['typ']})}.{payload_b64}."
    if name == "hs256_public_key":
        # RFC 8725 §2.1 key confusion: PyJWT refuses to do this, so it is done by hand.
        pem = key_store()._public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signing_input = f"{_b64url_json({**header, 'alg': 'HS256'})}.{payload_b64}"
        mac = hmac.new(pem, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(mac)}"
    raise ForgeError(f"Unknown variant {name}.")  # pragma: no cover - find_variant guards


def _forge_refresh_token(user: User, client_id: str, now: int, config: Mapping[str, Any]) -> str:
    if db.session.get(Client, client_id) is None:
        raise ForgeError("For a refresh token, audience must be a registered client_id.")
    lifetimes = grants.Lifetimes(
        absolute=config["REFRESH_TOKEN_LIFETIME"], idle=config["REFRESH_TOKEN_IDLE_LIFETIME"]
    )
    family = grants.start_family(
        client_id=client_id,
        user_id=user.id,
        scope="openid profile email offline_access",
        auth_time=now,
        now=now,
        lifetimes=lifetimes,
    )
    value = grants.issue_refresh_token(family, now=now, lifetimes=lifetimes)
    db.session.commit()
    return value


# --- SAML -------------------------------------------------------------------------------------


@functools.cache
def foreign_credential() -> SigningCredential:
    """An attacker's key and self-signed certificate (made once per process)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningCredential(key, self_signed_certificate(key, "forge foreign certificate"))


def _saml_spec(
    user: User, audience: str, now: int, config: Mapping[str, Any], padding: str = ""
) -> saml_assertion.AssertionSpec:
    attributes = saml_assertion.saml_attributes(user)
    if padding:
        attributes["padding"] = [padding]
    return saml_assertion.AssertionSpec(
        issuer=config["SAML_ENTITY_ID"],
        audience=audience,
        recipient=config["SF_URL"] + "/services/oauth2/token",
        # Persistent NameID = the OIDC sub: Salesforce maps both protocols to one federation id.
        name_id=user.id,
        name_id_format=NAMEID_PERSISTENT,
        now=now,
        lifetime=config["SAML_ASSERTION_LIFETIME"],
        authn_instant=now,
        session_index=new_session_index(),
        attributes=attributes,
    )


def _forge_saml(name: str, user: User, audience: str, now: int, config: Mapping[str, Any]) -> str:
    credential = signing_credential()
    spec = _saml_spec(user, audience, now, config)
    if name == "expired":
        spec = _saml_spec(user, audience, now - 3600, config)
    elif name == "wrong_audience":
        spec = _saml_spec(user, WRONG_AUDIENCE, now, config)
    elif name == "too_long_lived":
        spec = dataclasses.replace(spec, lifetime=TEN_YEARS)
    elif name == "oversized":
        spec = _saml_spec(user, audience, now, config, padding="x" * SAML_SIZE_CAP)
    elif name == "foreign_certificate":
        credential = foreign_credential()
    element = saml_assertion.build_assertion(spec)
    if name == "unsigned":
        element = saml_assertion.drop_placeholder(element)
    else:
        element = saml_assertion.sign(element, credential)
    if name == "signature_wrapped":
        element = _wrap(element)
    # RFC 8693 §3 / RFC 7522 §2.1: base64url, no padding.
    return _b64url(etree.tostring(element, encoding="UTF-8"))


def _wrap(signed: etree._Element) -> etree._Element:
    """XSW: a forged Assertion (new ID, other subject) carrying the original signature, with the
    original Assertion moved into that signature's ds:Object so the Reference still resolves."""
    ds = saml_assertion.DS
    evil = copy.deepcopy(signed)
    evil.set("ID", saml_assertion.new_id())
    name_id = evil.find(f"{saml_assertion.saml_tag('Subject')}/{saml_assertion.saml_tag('NameID')}")
    name_id.text = "someone-else@speakers.example"
    original = copy.deepcopy(signed)
    original.remove(original.find(f"{{{ds}}}Signature"))
    signature = evil.find(f"{{{ds}}}Signature")
    etree.SubElement(signature, f"{{{ds}}}Object").append(original)
    return evil


# --- HTTP -------------------------------------------------------------------------------------

bp = Blueprint("forge", __name__, url_prefix="/_demo/forge")


@bp.get("/variants")
def list_variants() -> Response:
    """GET /_demo/forge/variants: everything the forge can mint."""
    return jsonify(variants=[variant.as_dict() for variant in variants()])


@bp.post("")
def mint() -> Response | tuple[Response, int]:
    """POST /_demo/forge {"kind", "variant", "user", "audience"}: one token record."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error("The body must be a JSON object.")
    try:
        return jsonify(_mint(body))
    except ForgeError as err:
        return _error(str(err))


@bp.get("")
def page() -> str:
    """GET /_demo/forge: a form over the same minting, the result shown below it."""
    result, error = None, None
    if "kv" in request.args:
        kind, _, name = request.args["kv"].partition("/")
        try:
            result = _mint({**request.args.to_dict(), "kind": kind, "variant": name})
        except ForgeError as err:
            error = str(err)
    return render_template(
        "forge/index.html",
        variants=variants(),
        users=db.session.scalars(select(User).order_by(User.email)).all(),
        form=request.args,
        result=result,
        error=error,
    )


def _mint(body: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(body.get("kind") or "")
    if kind not in TOKEN_TYPES:
        raise ForgeError(f"kind must be one of {', '.join(TOKEN_TYPES)}.")
    user = users.find_by_email(str(body.get("user") or ""))
    if user is None:
        raise ForgeError("user must be the email of a user in the directory.")
    audience = body.get("audience") or None
    if audience is not None and not isinstance(audience, str):
        raise ForgeError("audience must be a string (one audience per token).")
    return forge(kind, str(body.get("variant") or "valid"), user, audience, current_app.config)


def _error(description: str) -> tuple[Response, int]:
    return jsonify(error="invalid_request", error_description=description), 400
