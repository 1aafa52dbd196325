"""The flow inspector: this browser's protocol steps, redacted, drawn as a sequence diagram.

Every step is redacted before it is kept: token values, secrets, codes, cookies, signatures and
raw SAML messages become fingerprints (`eyJhbGci…(sha256:1a2b3c4d)`), found by field name and by
shape (JWTs, Salesforce session ids) wherever they appear. Decoded JWT headers and claims and
selected SAML fields stay readable: they are what a developer needs to see, and not the secret.

Steps live in the portal's database under a random flow id kept in the Flask session, at most
MAX_STEPS per flow, for FLOW_LIFETIME seconds. A request's steps are written once, at its end,
on a connection of their own, so the inspector never commits (or waits on) the portal's work.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import shlex
import time
import zlib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import requests
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import has_request_context
from flask import render_template
from flask import request
from flask import session
from lxml import etree
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from .models import db

bp = Blueprint("inspector", __name__, url_prefix="/inspector")

MAX_STEPS = 200  # per flow; the oldest go first
FLOW_LIFETIME = 24 * 3600  # seconds a step is kept
PRUNE_EVERY = 60  # seconds between two sweeps of old flows, per process
MAX_FIELD = 4096  # characters kept of any one string, after redaction
MAX_BODY = 256 * 1024  # bytes of a body worth parsing; a larger one is only measured
MAX_SAML = 512 * 1024  # bytes of SAML XML worth parsing
MAX_ITEMS = 100  # keys of an object or items of a list kept
MAX_DEPTH = 8
SESSION_KEY = "inspector_flow"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"

# ---------------------------------------------------------------------------------------------
# Redaction

# Field names whose values are secrets, compared lower-case without "-" and "_".
SECRET_NAMES = frozenset(
    {
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "idtokenhint",
        "subjecttoken",
        "actortoken",
        "logouttoken",
        "token",
        "clientsecret",
        "clientassertion",
        "code",
        "codeverifier",
        "password",
        "assertion",
        "samlresponse",
        "samlrequest",
        "samlart",
        "signature",
        "signaturevalue",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "sessionid",
        "secret",
        "privatekey",
    }
)
# Secrets a person may have chosen (guessable): a hash of them would be an oracle, so no hash.
CHOSEN_SECRETS = frozenset({"password", "clientsecret", "secret"})

# Each pattern starts only where a run of its characters starts (the lookbehinds): that keeps
# the scan linear, where a 100 kB word would otherwise be retried from every position.
JWT = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?"
    r"|[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})"
)
# A Salesforce session id: the org id, "!" (or %21 in a URL), the session part.
SF_SESSION = re.compile(r"(?<![A-Za-z0-9])00D[A-Za-z0-9]{12,15}(?:!|%21)[A-Za-z0-9._-]+")
AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Digest|OAuth|Negotiate)\s+([A-Za-z0-9._~+/=!%-]+)", re.I)
NAME_VALUE = re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]*)=([^&\s#\"'<>;]+)")
JSON_MEMBER = re.compile(r"\"([A-Za-z][A-Za-z0-9_-]*)\"\s*:\s*\"((?:[^\"\\]|\\.)*)\"")
LONG_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{120,}={0,2}")


def normalized(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


def is_secret_name(name: str) -> bool:
    """Whether a field of this name holds a secret (by name alone)."""
    key = normalized(name)
    return (
        key in SECRET_NAMES
        or key.endswith(("token", "secret", "password", "assertion"))
        or "password" in key
    )


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def fingerprint(value: str, *, hashed: bool = True) -> str:
    """What the inspector keeps instead of a secret: enough to tell two apart, never the value."""
    if JWT.fullmatch(value) and value.startswith("eyJ"):
        return f"{value[:8]}…(sha256:{digest(value)})"  # the start of a JWT header is no secret
    if SF_SESSION.fullmatch(value):
        org = re.split(r"!|%21", value, maxsplit=1)[0]
        return f"{org}!…(sha256:{digest(value)})"  # the org id is no secret
    if not hashed:
        return f"•••• ({len(value)} chars)"
    return f"•••• (sha256:{digest(value)}, {len(value)} chars)"


def redact_authorization(value: str) -> str:
    """An Authorization header: the scheme stays, the credentials become a fingerprint."""
    scheme, _, credentials = value.strip().partition(" ")
    if not credentials:
        return fingerprint(value)
    if scheme.lower() == "basic":
        client_id = basic_client_id(credentials)
        who = f"client_id {client_id}, " if client_id else ""
        return f"Basic •••• ({who}secret hidden)"
    return f"{scheme} {fingerprint(credentials.strip())}"


def basic_client_id(credentials: str) -> str | None:
    """The (public) client id of HTTP Basic credentials (RFC 6749 §2.3.1), or None."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, _ = decoded.partition(":")
    if not sep:
        return None
    client_id = unquote(user.replace("+", " "))
    return client_id if re.fullmatch(r"[\w.@:~-]{1,100}", client_id) else None


# What fingerprint() writes; a second scrub (of text that holds fingerprints) keeps these.
FINGERPRINT = re.compile(
    r"••••(?: \((?:sha256:[0-9a-f]{8}, )?\d+ chars\))?"
    r"|(?:eyJ[A-Za-z0-9_-]{5}|00D[A-Za-z0-9]{12,15}!)…\(sha256:[0-9a-f]{8}\)"
)
FINGERPRINT_TAIL = re.compile(r"…\(sha256:[0-9a-f]{8}\)")


def scrub(text: str, found: list[str] | None = None) -> str:
    """Replace every secret-shaped part of free text with its fingerprint; JWTs go to `found`."""

    def fingerprinted(match: re.Match[str]) -> bool:
        """Whether the match is the visible start of a fingerprint, not a secret."""
        return bool(FINGERPRINT_TAIL.match(match.string, match.end()))

    def auth(match: re.Match[str]) -> str:
        if fingerprinted(match):
            return match.group(0)
        return redact_authorization(f"{match.group(1)} {match.group(2)}")

    def name_value(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if not is_secret_name(name) or FINGERPRINT.fullmatch(value):
            return match.group(0)
        raw = unquote(value)
        if found is not None and JWT.fullmatch(raw):
            found.append(raw)
        return f"{name}={fingerprint(raw, hashed=normalized(name) not in CHOSEN_SECRETS)}"

    def json_member(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if not is_secret_name(name) or FINGERPRINT.fullmatch(value):
            return match.group(0)
        hashed = normalized(name) not in CHOSEN_SECRETS
        return f'"{name}": "{fingerprint(value, hashed=hashed)}"'

    def jwt(match: re.Match[str]) -> str:
        if found is not None:
            found.append(match.group(0))
        return fingerprint(match.group(0))

    text = AUTH_SCHEME.sub(auth, text)
    text = NAME_VALUE.sub(name_value, text)
    text = JSON_MEMBER.sub(json_member, text)
    text = JWT.sub(jwt, text)
    text = SF_SESSION.sub(
        lambda match: match.group(0) if fingerprinted(match) else fingerprint(match.group(0)), text
    )
    return LONG_BASE64.sub(lambda match: fingerprint(match.group(0)), text)


def has_secret_shape(text: str) -> bool:
    return bool(JWT.search(text) or SF_SESSION.search(text) or LONG_BASE64.search(text))


def cap(text: str, limit: int = MAX_FIELD) -> str:
    """At most `limit` characters; only ever applied to text already redacted."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more chars not kept)"


def as_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass
class Redactor:
    """Redacts nested request/response data; collects the JWTs and SAML messages it meets."""

    jwts: list[dict[str, Any]] = field(default_factory=list)
    saml: list[dict[str, Any]] = field(default_factory=list)

    def value(self, value: Any, name: str = "", depth: int = 0) -> Any:
        """A redacted copy of `value` (a field called `name`), safe to store and show."""
        if depth > MAX_DEPTH:
            return "… (nested too deep, not kept)"
        if name and is_secret_name(name) and isinstance(value, Mapping | list | tuple):
            return fingerprint(json.dumps(value, default=str))  # a secret, whatever its shape
        if isinstance(value, Mapping):
            items = list(value.items())
            kept = {
                cap(scrub(str(k)), 200): self.value(v, str(k), depth + 1)
                for k, v in items[:MAX_ITEMS]
            }
            if len(items) > MAX_ITEMS:
                kept["…"] = f"{len(items) - MAX_ITEMS} more fields not kept"
            return kept
        if isinstance(value, list | tuple):
            kept_items = [self.value(item, name, depth + 1) for item in value[:MAX_ITEMS]]
            if len(value) > MAX_ITEMS:
                kept_items.append(f"… {len(value) - MAX_ITEMS} more items not kept")
            return kept_items
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float) and not is_secret_name(name):
            return value
        text = as_text(value) if isinstance(value, bytes | str) else str(value)
        if is_secret_name(name):
            return self.secret(name, text)
        found: list[str] = []
        redacted = scrub(text, found)
        for token in found:
            self.note_jwt(name, token)
        return cap(redacted)

    def secret(self, name: str, text: str) -> str:
        """The fingerprint of a secret field; a JWT or SAML message in it is decoded on the side."""
        key = normalized(name)
        if key in {"authorization", "proxyauthorization"}:
            for match in JWT.finditer(text):
                self.note_jwt(name, match.group(0))
            return redact_authorization(text)
        if JWT.fullmatch(text):
            self.note_jwt(name, text)
        elif key in {"samlresponse", "samlrequest"}:
            xml = decode_saml_param(text)
            if xml is not None:
                self.note_saml(xml)
        return fingerprint(text, hashed=key not in CHOSEN_SECRETS)

    def note_jwt(self, name: str, token: str) -> None:
        """Decode a JWT (never verifying it) for display, once per token."""
        decoded = decode_jwt(token)
        if decoded is None:
            return
        print_ = fingerprint(token)
        if any(seen["fingerprint"] == print_ for seen in self.jwts):
            return
        header, claims = decoded
        inner = Redactor()  # claims may carry tokens of their own; those stay fingerprints
        self.jwts.append(
            {
                "field": name or "(text)",
                "fingerprint": print_,
                "header": inner.value(header),
                "claims": inner.value(claims) if claims is not None else None,
                "dates": claim_dates(claims or {}),
            }
        )

    def note_saml(self, xml: bytes) -> None:
        fields = saml_fields(xml)
        if fields and fields not in self.saml:
            self.saml.append(fields)


# ---------------------------------------------------------------------------------------------
# Decoding: JWTs (without verifying) and SAML messages (selected fields only)


def b64url_json(segment: str) -> Any:
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw.decode("utf-8"))


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """A JWT's header and (for a JWS) claims, decoded WITHOUT verifying; no signature kept."""
    parts = token.split(".")
    if len(parts) not in (3, 5):
        return None
    try:
        header = b64url_json(parts[0])
        claims = b64url_json(parts[1]) if len(parts) == 3 else None  # a JWE's payload is sealed
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or (claims is not None and not isinstance(claims, dict)):
        return None
    return header, claims


DATE_CLAIMS = ("exp", "iat", "nbf", "auth_time", "updated_at")


def claim_dates(claims: Mapping[str, Any]) -> dict[str, str]:
    """The time claims (seconds since the epoch) as readable UTC dates."""
    dates = {}
    for name in DATE_CLAIMS:
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                moment = datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                continue
            dates[name] = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return dates


def decode_saml_param(value: str) -> bytes | None:
    """The XML of a SAMLResponse/SAMLRequest parameter: base64 (POST) or deflated (Redirect)."""
    try:
        data = base64.b64decode(re.sub(r"\s", "", value), validate=False)
    except (binascii.Error, ValueError):
        return None
    if data.lstrip().startswith(b"<"):
        return data
    try:
        inflated = zlib.decompressobj(-15).decompress(data, MAX_SAML)  # bounded: no zip bombs
    except zlib.error:
        return None
    return inflated if inflated.lstrip().startswith(b"<") else None


SAML_XPATHS = {
    "Issuer": "//*[local-name()='Issuer']/text()",
    "Status": "//*[local-name()='StatusCode']/@Value",
    "NameID": "//*[local-name()='NameID']/text()",
    "NameID format": "//*[local-name()='NameID']/@Format",
    "Audience": "//*[local-name()='Audience']/text()",
    "Recipient": "//*[local-name()='SubjectConfirmationData']/@Recipient",
    "NotBefore": "//*[local-name()='Conditions']/@NotBefore",
    "NotOnOrAfter": (
        "//*[local-name()='SubjectConfirmationData' or local-name()='Conditions']/@NotOnOrAfter"
    ),
    "InResponseTo": "//@InResponseTo",
    "Signature algorithm": "//*[local-name()='SignatureMethod']/@Algorithm",
    "Digest algorithm": "//*[local-name()='DigestMethod']/@Algorithm",
    "AssertionConsumerServiceURL": "/*/@AssertionConsumerServiceURL",
    "ProtocolBinding": "/*/@ProtocolBinding",
    "NameIDPolicy format": "//*[local-name()='NameIDPolicy']/@Format",
    "AuthnContextClassRef": "//*[local-name()='AuthnContextClassRef']/text()",
}


def saml_fields(xml: bytes) -> dict[str, Any]:
    """What a SAML message says (never its signature value or certificate); junk gives an error."""
    if len(xml) > MAX_SAML:
        return {"error": f"{len(xml)} bytes: too large to parse"}
    # No entities, no network, no DTDs (defusedxml's rules): the XML comes from outside.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except (etree.LxmlError, ValueError):
        return {"error": "not well-formed XML"}
    if root is None or not isinstance(root.tag, str):
        return {"error": "no XML element"}
    if root.getroottree().docinfo.doctype:
        return {"error": "a DTD: refused"}
    fields: dict[str, Any] = {"message": etree.QName(root).localname}
    for attribute in ("ID", "Destination", "IssueInstant"):
        if root.get(attribute):
            fields[attribute] = cap(scrub(root.get(attribute)), 512)
    for label, xpath in SAML_XPATHS.items():
        values = unique(str(value).strip() for value in root.xpath(xpath))
        if values:
            fields[label] = [cap(scrub(value), 512) for value in values[:20]]
    signed = [
        etree.QName(element).localname
        for element in root.xpath("//*[*[local-name()='Signature']]")
        if isinstance(element.tag, str)
    ]
    if signed:
        fields["Signed elements"] = unique(signed)
    if root.xpath("//*[local-name()='EncryptedAssertion']"):
        fields["EncryptedAssertion"] = ["present (not decrypted)"]
    attributes = saml_attributes(root)
    if attributes:
        fields["Attributes"] = attributes
    return fields


def saml_attributes(root: Any) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for attribute in root.xpath("//*[local-name()='Attribute']")[:MAX_ITEMS]:
        name = cap(scrub(str(attribute.get("Name") or "?")), 200)
        values = attribute.xpath("*[local-name()='AttributeValue']/text()")
        attributes[name] = [cap(scrub(str(value).strip()), 512) for value in values[:20]]
    return attributes


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


# ---------------------------------------------------------------------------------------------
# What a call is: its kind, its participants, its parameters

KINDS = {
    "authorize": "Authorize (OIDC)",
    "callback": "Callback with the code",
    "discovery": "Discovery",
    "keys": "Signing keys (JWKS)",
    "code_exchange": "Code exchange",
    "refresh": "Refresh",
    "token_exchange": "Token exchange",
    "token": "Token request",
    "rest": "REST call",
    "revoke": "Revoke",
    "userinfo": "UserInfo",
    "introspect": "Introspection",
    "schedule_api": "Schedule API",
    "logout": "Logout (OIDC)",
    "saml_authn_request": "SAML AuthnRequest",
    "saml_response": "SAML Response",
    "saml_logout_request": "SAML LogoutRequest",
    "saml_logout_response": "SAML LogoutResponse",
    "http": "HTTP call",
}
GRANT_KINDS = {
    "authorization_code": "code_exchange",
    "refresh_token": "refresh",
    TOKEN_EXCHANGE_GRANT: "token_exchange",
}


def classify(method: str, url: str, params: Mapping[str, Any]) -> str:
    """The kind of a server-side call, from its URL and body."""
    grant = params.get("grant_type")
    if isinstance(grant, str) and grant:
        return GRANT_KINDS.get(grant, "token")
    path = urlsplit(url).path.lower()
    if "/.well-known/" in path:
        return "discovery"
    if "/services/data" in path:
        return "rest"
    if "/api/schedule" in path:
        return "schedule_api"
    if "revoke" in path:
        return "revoke"
    if "jwks" in path or path.endswith("/keys") or path.endswith("/certs"):
        return "keys"
    if "userinfo" in path:
        return "userinfo"
    if "introspect" in path:
        return "introspect"
    if path.endswith("/token"):
        return "token"
    return "http"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def participant(url: str, peers: Mapping[str, Iterable[str]]) -> str:
    """Who answers at this URL: "schedule" under the schedule API's URL, else a peer whose
    origin it has, else its host name."""
    parts = urlsplit(url)
    schedule = [peer.rstrip("/") for peer in peers.get("schedule", ()) if peer]
    if "/api/schedule" in parts.path or any(url.startswith(peer) for peer in schedule):
        return "schedule"  # the portal serves it too: its path tells it from the portal's pages
    here = origin(url)
    for name, urls in peers.items():
        if name != "schedule" and any(here == origin(peer) for peer in urls if peer):
            return name
    host = (parts.hostname or "").lower()
    if host.endswith((".salesforce.com", ".force.com")):
        return "salesforce"  # an instance URL on another host than the login URL
    return host or "unknown"


def split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    """The URL without its query (nor fragment), and the query's parameters."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return base, parse_qsl(parts.query, keep_blank_values=True)


def redact_url(url: str) -> str:
    """A URL with the values of its secret query parameters (and any secret shape) fingerprinted."""
    base, query = split_url(url)
    if not query:
        return cap(scrub(base), 2000)
    redactor = Redactor()
    pairs = [(name, str(redactor.value(value, name))) for name, value in query]
    return cap(scrub(base) + "?" + urlencode(pairs, safe="•…():,! "), 2000)


def parse_body(body: bytes | str | None, content_type: str) -> tuple[str, Any]:
    """A request or response body as ("form", pairs), ("json", value), ("text", str) or none."""
    if body is None or not isinstance(body, bytes | str) or len(body) == 0:
        return "none", None
    if len(body) > MAX_BODY:
        return "text", f"•••• ({len(body)} bytes, not kept)"
    text = as_text(body)
    content_type = content_type.lower()
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return "json", json.loads(text)
        except (ValueError, RecursionError):
            pass
    if "form-urlencoded" in content_type or re.fullmatch(r"[\w.~%+\-]+=[^\s]*", text):
        return "form", parse_qsl(text, keep_blank_values=True)
    return "text", text


# ---------------------------------------------------------------------------------------------
# "Copy as curl": the same call, with every secret as a shell variable

PLACEHOLDERS = {
    "subjecttoken": "SUBJECT_TOKEN",
    "actortoken": "ACTOR_TOKEN",
    "clientsecret": "CLIENT_SECRET",
    "clientassertion": "CLIENT_ASSERTION",
    "code": "CODE",
    "codeverifier": "CODE_VERIFIER",
    "refreshtoken": "REFRESH_TOKEN",
    "idtokenhint": "ID_TOKEN",
    "password": "PASSWORD",
    "assertion": "ASSERTION",
    "samlresponse": "SAML_RESPONSE",
    "samlrequest": "SAML_REQUEST",
}
# Placeholders travel as private-use characters, which json.dumps(ensure_ascii=False) keeps.
PLACEHOLDER = re.compile("\ue000([A-Z0-9_]+)\ue001")


def placeholder(name: str, receiver: str, params: Mapping[str, Any]) -> str:
    """The shell variable that stands for the secret in field `name`."""
    key = normalized(name)
    if key == "token":  # RFC 7009's one parameter: which token it is depends on where it goes
        if receiver == "salesforce":
            return "SF_ACCESS_TOKEN"
        hint = str(params.get("token_type_hint", "")).upper()
        return hint if hint in {"REFRESH_TOKEN", "ACCESS_TOKEN"} else "TOKEN"
    if key == "accesstoken":
        return "SF_ACCESS_TOKEN" if receiver == "salesforce" else "IDP_ACCESS_TOKEN"
    return PLACEHOLDERS.get(key) or re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "SECRET"


def shell_word(text: str) -> str:
    """One shell word: literal parts single-quoted as needed, placeholders as "$VARIABLE"."""
    # The last guard: whatever slipped through by name cannot survive a scrub by shape.
    pieces = [
        piece if index % 2 else scrub(piece) for index, piece in enumerate(PLACEHOLDER.split(text))
    ]
    literals = pieces[::2]
    if len(pieces) > 1 and not any(re.search(r"[\"\\$`!]", piece) for piece in literals):
        # Readable and still exact: nothing in the literal parts is special in double quotes.
        return '"' + "".join(f"${p}" if i % 2 else p for i, p in enumerate(pieces)) + '"'
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(f'"${piece}"')
        elif piece:
            out.append(shlex.quote(piece))
    return "".join(out) or "''"


def curl_command(
    method: str,
    url: str,
    *,
    receiver: str,
    query: list[tuple[str, str]],
    body_kind: str = "none",
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """A curl command for this call in which no secret appears, only shell variables."""
    flat = dict(query) | (dict(body) if body_kind == "form" else {})

    def safe(name: str, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        if is_secret_name(name) or has_secret_shape(text):
            return f"\ue000{placeholder(name, receiver, flat)}\ue001"
        return text

    lines = ["curl -sS" + (f" -X {method.upper()}" if method.upper() != "GET" else "")]
    for name, value in (headers or {}).items():
        if normalized(name) == "authorization":
            scheme, _, credentials = value.partition(" ")
            if scheme.lower() == "basic":
                user = basic_client_id(credentials) or "\ue000CLIENT_ID\ue001"
                lines.append("-u " + shell_word(f"{user}:\ue000CLIENT_SECRET\ue001"))
            else:
                variable = "SF_ACCESS_TOKEN" if receiver == "salesforce" else "IDP_ACCESS_TOKEN"
                lines.append("-H " + shell_word(f"Authorization: {scheme} \ue000{variable}\ue001"))
        elif normalized(name) in {"accept", "contenttype"} and value != "*/*":
            if not has_secret_shape(value):
                lines.append("-H " + shell_word(f"{name}: {value}"))
    if method.upper() == "GET" and query:
        lines.append("--get " + shell_word(cap(scrub(url), 2000)))
        for name, value in query:
            lines.append("--data-urlencode " + shell_word(f"{name}={safe(name, value)}"))
    else:
        target = url
        if query:
            target += "?" + "&".join(f"{name}={safe(name, value)}" for name, value in query)
        lines.append(shell_word(cap(scrub(target), 2000)))
    if body_kind == "form":
        for name, value in body:
            lines.append("--data-urlencode " + shell_word(f"{name}={safe(name, value)}"))
    elif body_kind == "json":
        lines.append(
            "--data-raw " + shell_word(json.dumps(placeheld(body, safe), ensure_ascii=False))
        )
    elif body_kind == "text":
        lines.append("--data-raw " + shell_word(cap(scrub(str(body)))))
    return " \\\n  ".join(lines)


def placeheld(value: Any, safe: Any, name: str = "", depth: int = 0) -> Any:
    """A JSON body with every secret value replaced by its placeholder."""
    if depth > MAX_DEPTH:
        return None
    if is_secret_name(name) and value is not None:
        return safe(name, value if isinstance(value, str) else json.dumps(value, default=str))
    if isinstance(value, Mapping):
        return {str(k): placeheld(v, safe, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [placeheld(item, safe, name, depth + 1) for item in value]
    if isinstance(value, str):
        return safe(name, value)
    return value


# ---------------------------------------------------------------------------------------------
# What each kind of step is for, and where it is specified


@dataclass(frozen=True)
class StepDoc:
    sentence: str
    links: tuple[tuple[str, str], ...]


OIDC_CORE = "https://openid.net/specs/openid-connect-core-1_0.html"
RFC = "https://www.rfc-editor.org/rfc"
SAML_PROFILES = "https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf"
DOCS = {
    "authorize": StepDoc(
        "The browser goes to the IdP to log in; the portal asks for an authorization code, "
        "bound to this browser by state, PKCE and a nonce.",
        (("OpenID Connect Core §3.1.2", f"{OIDC_CORE}#AuthRequest"),),
    ),
    "callback": StepDoc(
        "The IdP sends the browser back with a one-time authorization code and the state.",
        (("OpenID Connect Core §3.1.2.5", f"{OIDC_CORE}#AuthResponse"),),
    ),
    "discovery": StepDoc(
        "The portal reads the IdP's endpoints and capabilities from its discovery document.",
        (
            (
                "OpenID Connect Discovery 1.0 §4",
                "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig",
            ),
        ),
    ),
    "keys": StepDoc(
        "The portal fetches the IdP's public keys to verify the ID token's signature.",
        (("RFC 7517 §5 (JWK Set)", f"{RFC}/rfc7517#section-5"),),
    ),
    "code_exchange": StepDoc(
        "The portal trades the code and its PKCE verifier for an ID token, an access token and "
        "a refresh token.",
        (
            ("RFC 6749 §4.1.3", f"{RFC}/rfc6749#section-4.1.3"),
            ("RFC 7636 §4.5", f"{RFC}/rfc7636#section-4.5"),
        ),
    ),
    "refresh": StepDoc(
        "The portal gets a fresh IdP access token with the refresh token (which the IdP rotates).",
        (("RFC 6749 §6", f"{RFC}/rfc6749#section-6"),),
    ),
    "token_exchange": StepDoc(
        "The portal exchanges an IdP token (the subject token, of the type it names) for a "
        "Salesforce session; "
        "Salesforce's token handler validates it and maps its subject to a Salesforce user.",
        (
            ("RFC 8693 §2.1", f"{RFC}/rfc8693#section-2.1"),
            (
                "Salesforce: OAuth 2.0 Token Exchange Flow",
                "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_token_exchange_flow.htm",
            ),
        ),
    ),
    "token": StepDoc(
        "A request to a token endpoint.",
        (("RFC 6749 §3.2", f"{RFC}/rfc6749#section-3.2"),),
    ),
    "rest": StepDoc(
        "The portal calls the Salesforce REST API with the Salesforce access token as a Bearer "
        "token.",
        (
            (
                "Salesforce REST API Developer Guide",
                "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest.htm",
            ),
        ),
    ),
    "revoke": StepDoc(
        "At logout the portal revokes a token, so it cannot be used again.",
        (("RFC 7009 §2.1", f"{RFC}/rfc7009#section-2.1"),),
    ),
    "userinfo": StepDoc(
        "The portal asks the IdP for the speaker's claims with the access token.",
        (("OpenID Connect Core §5.3", f"{OIDC_CORE}#UserInfo"),),
    ),
    "introspect": StepDoc(
        "A token's holder asks the IdP whether the token is active and what it carries.",
        (("RFC 7662 §2", f"{RFC}/rfc7662#section-2"),),
    ),
    "schedule_api": StepDoc(
        "A platform API that accepts the IdP's access token directly, as a JWT Bearer token: no "
        "exchange needed, unlike Salesforce.",
        (
            ("RFC 6750 §2.1", f"{RFC}/rfc6750#section-2.1"),
            ("RFC 9068 §4", f"{RFC}/rfc9068#section-4"),
        ),
    ),
    "logout": StepDoc(
        "The browser goes to the IdP's end-session endpoint to log out there too.",
        (
            (
                "OpenID Connect RP-Initiated Logout 1.0 §2",
                "https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout",
            ),
        ),
    ),
    "saml_authn_request": StepDoc(
        "The portal, as a SAML service provider, sends the browser to the IdP with an "
        "AuthnRequest.",
        (("SAML 2.0 Profiles §4.1 (Web Browser SSO)", SAML_PROFILES),),
    ),
    "saml_response": StepDoc(
        "The IdP posts a signed Response with an assertion about the speaker to the portal's "
        "Assertion Consumer Service.",
        (("SAML 2.0 Profiles §4.1 (Web Browser SSO)", SAML_PROFILES),),
    ),
    "saml_logout_request": StepDoc(
        "A LogoutRequest ends the SAML session at the other party.",
        (("SAML 2.0 Profiles §4.4 (Single Logout)", SAML_PROFILES),),
    ),
    "saml_logout_response": StepDoc(
        "The LogoutResponse confirms the single logout.",
        (("SAML 2.0 Profiles §4.4 (Single Logout)", SAML_PROFILES),),
    ),
}
NO_DOC = StepDoc("An HTTP call the inspector has no description for.", ())

PARTICIPANTS = {
    "browser": "Speaker",
    "portal": "portal",
    "idp": "IdP",
    "salesforce": "Salesforce",
    "schedule": "schedule API",
}


# ---------------------------------------------------------------------------------------------
# A step: built from raw parts (then redacted), stored, read back


def build_step(
    *,
    kind: str,
    sender: str,
    receiver: str,
    method: str,
    url: str,
    status: int | None = None,
    params: Mapping[str, Any] | None = None,
    response: Any = None,
    latency_ms: float | None = None,
    saml_xml: bytes | None = None,
    note: str | None = None,
    headers: Mapping[str, str] | None = None,
    response_headers: Mapping[str, str] | None = None,
    curl: str | None = None,
) -> dict[str, Any]:
    """A step as the inspector keeps it: every value redacted, JWTs and SAML decoded aside."""
    redactor = Redactor()
    base, query = split_url(url)
    merged: dict[str, Any] = dict(query)
    if params:
        merged.update(params)
    details: dict[str, Any] = {"params": redactor.value(merged)}
    if headers:
        details["headers"] = redactor.value(dict(headers))
    if response is not None:
        details["response"] = redactor.value(response, "")
    if response_headers:
        details["response_headers"] = redactor.value(dict(response_headers))
    if saml_xml is not None:
        redactor.note_saml(saml_xml)
    if kind == "token_exchange":
        details["exchange"] = {
            name: details["params"][name]
            for name in ("token_handler", "subject_token_type", "requested_token_type", "scope")
            if name in details["params"]
        }
    details["jwts"] = redactor.jwts
    details["saml"] = redactor.saml
    if note:
        details["note"] = cap(scrub(note), 1000)
    if curl is None:
        form = sorted((params or {}).items()) if method.upper() != "GET" else []
        curl = curl_command(
            method,
            base,
            receiver=receiver,
            query=query if method.upper() != "GET" else [*query, *(params or {}).items()],
            body_kind="form" if form else "none",
            body=form,
        )
    details["curl"] = curl
    return {
        "at": time.time(),
        "kind": cap(kind, 40),
        "sender": cap(sender, 80),
        "receiver": cap(receiver, 80),
        "method": cap(method.upper(), 10),
        "url": cap(scrub(base), 2000),
        "status": status,
        "latency_ms": round(latency_ms, 1) if latency_ms is not None else None,
        "details": details,
    }


KEPT_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "Cookie")
KEPT_RESPONSE_HEADERS = ("Content-Type", "Location", "WWW-Authenticate", "Set-Cookie")


def step_from_response(response: requests.Response, peers: Mapping[str, Iterable[str]]) -> dict:
    """The step for one server-side HTTP call, from the requests response."""
    sent = response.request
    method = (sent.method or "GET").upper()
    url = sent.url or response.url or ""
    base, query = split_url(url)
    request_type = str(sent.headers.get("Content-Type", ""))
    body_kind, body = parse_body(sent.body, request_type)
    params: dict[str, Any] = {}
    if body_kind == "form":
        params.update(body)
    elif body_kind == "json" and isinstance(body, dict):
        params.update(body)
    elif body_kind != "none":
        params["(body)"] = body
    receiver = participant(url, peers)
    kind = classify(method, url, dict(query) | params)
    if receiver == "schedule" and kind == "http":
        kind = "schedule_api"
    headers = {
        name: str(sent.headers[name]) for name in KEPT_REQUEST_HEADERS if name in sent.headers
    }
    curl = curl_command(
        method,
        base,
        receiver=receiver,
        query=query,
        body_kind=body_kind,
        body=body,
        headers=headers,
    )
    return build_step(
        kind=kind,
        sender="portal",
        receiver=receiver,
        method=method,
        url=base,
        status=response.status_code,
        params=dict(query) | params,
        response=response_body(response),
        latency_ms=response.elapsed.total_seconds() * 1000
        if response.elapsed is not None
        else None,
        headers=headers,
        response_headers={
            name: (redact_url(value) if name == "Location" else value)
            for name in KEPT_RESPONSE_HEADERS
            if (value := response.headers.get(name)) is not None
        },
        curl=curl,
    )


def response_body(response: requests.Response) -> Any:
    """The parsed body of a response, or None when it cannot be read."""
    try:
        content = response.content
    except (requests.RequestException, RuntimeError):
        return None  # the caller will meet the same failure when it reads the body
    kind, body = parse_body(content, str(response.headers.get("Content-Type", "")))
    return [dict(body)] if kind == "form" else body  # a list keeps form pairs apart from JSON


@dataclass
class Step:
    """A stored (or pending) step, as the templates read it."""

    number: int
    kind: str
    sender: str
    receiver: str
    method: str
    url: str
    status: int | None
    latency_ms: float | None
    at: float
    details: dict[str, Any]

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, self.kind.replace("_", " ").capitalize())

    @property
    def doc(self) -> StepDoc:
        return DOCS.get(self.kind, NO_DOC)

    @property
    def sender_label(self) -> str:
        return PARTICIPANTS.get(self.sender, self.sender)

    @property
    def receiver_label(self) -> str:
        return PARTICIPANTS.get(self.receiver, self.receiver)

    @property
    def failed(self) -> bool:
        return self.status is not None and self.status >= 400

    @property
    def time(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%H:%M:%S UTC")

    @property
    def summary(self) -> str:
        outcome = f" → {self.status}" if self.status is not None else ""
        latency = f", {self.latency_ms:g} ms" if self.latency_ms is not None else ""
        return (
            f"{self.sender_label} → {self.receiver_label}: {self.title} "
            f"({self.method} {urlsplit(self.url).path or self.url}){outcome}{latency}"
        )


# ---------------------------------------------------------------------------------------------
# The sequence diagram, as inline SVG (presentation attributes only: the CSP forbids styles)

COLUMN = 160
MARGIN = 90
HEAD = 58
ROW = 40
INK = "#1d2430"
MUTED = "#4b5563"
ACCENT = "#1f5fbf"
BAD = "#a3262a"


def lanes(steps: list[Step]) -> list[str]:
    """The diagram's columns: the five participants, then any other host met (a few at most)."""
    names = list(PARTICIPANTS)
    for step in steps:
        for name in (step.sender, step.receiver):
            if name not in names and len(names) < 8:
                names.append(name)
    return names


def sequence_svg(steps: list[Step]) -> Markup:
    """The steps as a sequence diagram; the ordered list beside it is the text alternative."""
    names = lanes(steps)
    x = {name: MARGIN + index * COLUMN for index, name in enumerate(names)}
    width = 2 * MARGIN + COLUMN * (len(names) - 1)
    height = HEAD + ROW * len(steps) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12">',
        f"<title>Sequence diagram of {len(steps)} protocol steps; "
        "the numbered list of steps says the same in words</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for name in names:
        label = escape(cap(PARTICIPANTS.get(name, name), 22))
        out.append(
            f'<line x1="{x[name]}" y1="40" x2="{x[name]}" y2="{height - 8}" stroke="#8a94a3" '
            'stroke-dasharray="4 4"/>'
            f'<rect x="{x[name] - 70}" y="8" width="140" height="30" rx="4" fill="#eef3fb" '
            f'stroke="{ACCENT}"/>'
            f'<text x="{x[name]}" y="28" text-anchor="middle" fill="{INK}" '
            f'font-weight="600">{label}</text>'
        )
    for step in steps:
        out.append(arrow(step, x, HEAD + ROW * (step.number - 1) + 22))
    out.append("</svg>")
    return Markup("".join(out))


def arrow(step: Step, x: Mapping[str, int], y: int) -> str:
    """One step: a labelled arrow from sender to receiver (a loop when they are the same)."""
    color = BAD if step.failed else ACCENT
    start, end = x.get(step.sender, MARGIN), x.get(step.receiver, MARGIN)
    label = escape(cap(f"{step.number}. {step.title}", 40))
    outcome = "" if step.status is None else f"{step.status}"
    if step.latency_ms is not None:
        outcome += f" · {step.latency_ms:g} ms"
    if start == end:
        return (
            f'<path d="M{start} {y} h40 v12 h-40" fill="none" stroke="{color}" '
            'stroke-width="1.5"/>'
            f'<text x="{start + 46}" y="{y + 10}" fill="{INK}">{label} {escape(outcome)}</text>'
        )
    direction = 1 if end > start else -1
    tip = end - direction * 2
    head = f"{tip},{y} {tip - direction * 9},{y - 5} {tip - direction * 9},{y + 5}"
    middle = (start + end) / 2
    parts = [
        f'<line x1="{start}" y1="{y}" x2="{tip - direction * 8}" y2="{y}" stroke="{color}" '
        'stroke-width="1.5"/>',
        f'<polygon points="{head}" fill="{color}"/>',
        f'<text x="{middle}" y="{y - 6}" text-anchor="middle" fill="{INK}">{label}</text>',
    ]
    if outcome:
        parts.append(
            f'<text x="{middle}" y="{y + 14}" text-anchor="middle" '
            f'fill="{BAD if step.failed else MUTED}">{escape(outcome)}</text>'
        )
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Storage


class InspectorStep(db.Model):
    """One redacted protocol step of one browser's flow (nothing secret is ever stored)."""

    __tablename__ = "inspector_step"
    __table_args__ = (Index("ix_inspector_step_flow", "flow_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(43))
    # Unix seconds: cheap to compare when pruning, and no naive/aware datetime mix-ups in SQLite.
    at: Mapped[float] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(80))
    receiver: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[int | None]
    latency_ms: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


def enabled() -> bool:
    return bool(current_app.config.get("INSPECTOR", True))


def flow_id(create: bool = False) -> str | None:
    """This browser's flow id; a new one only when there is a step to keep."""
    current = session.get(SESSION_KEY)
    if current is None and create:
        current = session[SESSION_KEY] = secrets.token_urlsafe(16)
    return current


def start_new_flow() -> None:
    """Start a new flow for this browser (at login): the earlier steps are no longer shown."""
    if has_request_context():
        session[SESSION_KEY] = secrets.token_urlsafe(16)


def keep(step: dict[str, Any]) -> None:
    """Queue a redacted step; the request's steps are written together when it ends."""
    g.setdefault("inspector_pending", []).append({"flow_id": flow_id(create=True), **step})


def record_step(
    *,
    kind: str,
    sender: str,
    receiver: str,
    method: str,
    url: str,
    status: int | None = None,
    params: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    latency_ms: float | None = None,
    saml_xml: bytes | None = None,
    note: str | None = None,
) -> None:
    """Record a step that is no server-side HTTP call (a browser redirect, a SAML message)."""
    if not has_request_context() or not enabled():
        return
    try:
        step = build_step(
            kind=kind,
            sender=sender,
            receiver=receiver,
            method=method,
            url=url,
            status=status,
            params=params,
            response=response,
            latency_ms=latency_ms,
            saml_xml=saml_xml,
            note=note,
        )
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        current_app.logger.warning("Flow inspector: %s step not recorded: %r", kind, exc)
        return
    keep(step)


def observe(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A requests response hook: record the call as a step of this browser's flow."""
    if not has_request_context() or not enabled():
        return
    if kwargs.get("stream"):
        return  # reading a streamed body here would take it from the caller
    try:
        step = step_from_response(response, peers(current_app.config))
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        current_app.logger.warning("Flow inspector: call not recorded: %r", exc)
        return
    keep(step)


def peers(config: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        "idp": [config.get("IDP_ISSUER") or "", config.get("IDP_URL") or ""],
        "salesforce": [config.get("SF_LOGIN_URL") or "", config.get("SF_URL") or ""],
        "schedule": [config.get("SCHEDULE_API_URL") or ""],
        "portal": [config.get("PORTAL_URL") or ""],
    }


def has_steps() -> bool:
    """Whether this browser's flow may have steps (no read: the panel fetches them when opened)."""
    return has_request_context() and (flow_id() is not None or bool(pending_steps()))


def pending_steps() -> list[dict[str, Any]]:
    return g.get("inspector_pending", []) if has_request_context() else []


def write_pending(_exc: BaseException | None = None) -> None:
    """Write this request's steps in one transaction of their own, then trim and prune."""
    pending = g.pop("inspector_pending", None)
    if not pending:
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(insert(InspectorStep), pending)
            for flow in {row["flow_id"] for row in pending}:
                trim(connection, flow)
            prune(connection, time.time())
    except SQLAlchemyError as exc:
        current_app.logger.warning("Flow inspector: %d steps not stored: %s", len(pending), exc)


def trim(connection: Any, flow: str) -> None:
    """Keep the newest MAX_STEPS steps of a flow: one indexed look-up, a delete only if needed."""
    oldest_kept = connection.scalar(
        select(InspectorStep.id)
        .where(InspectorStep.flow_id == flow)
        .order_by(InspectorStep.id.desc())
        .offset(MAX_STEPS - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        connection.execute(
            delete(InspectorStep).where(
                InspectorStep.flow_id == flow, InspectorStep.id < oldest_kept
            )
        )


def prune(connection: Any, now: float) -> None:
    """Drop flows older than FLOW_LIFETIME, at most once every PRUNE_EVERY seconds per process."""
    state = current_app.extensions["portal.inspector"]
    if now - state["pruned_at"] < PRUNE_EVERY:
        return
    state["pruned_at"] = now
    connection.execute(delete(InspectorStep).where(InspectorStep.at < now - FLOW_LIFETIME))


def current_steps() -> list[Step]:
    """This browser's steps, oldest first, including those of this request not yet written."""
    if not has_request_context() or not enabled():
        return []
    flow = flow_id()
    if flow is None:
        return []
    table = InspectorStep.__table__
    columns = [table.c[name] for name in STEP_COLUMNS]
    # A connection of its own: reading never joins (or ends) the portal's transaction.
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(
                select(*columns).where(table.c.flow_id == flow).order_by(table.c.id)
            ).mappings()
            stored = [dict(row) for row in rows]
    except SQLAlchemyError as exc:  # e.g. no table yet: the page still renders, without steps
        current_app.logger.warning("Flow inspector: steps not read: %s", exc)
        stored = []
    pending = [
        {name: row[name] for name in STEP_COLUMNS}
        for row in pending_steps()
        if row["flow_id"] == flow
    ]
    steps = (stored + pending)[-MAX_STEPS:]
    return [Step(number=index, **row) for index, row in enumerate(steps, 1)]


STEP_COLUMNS = (
    "kind",
    "sender",
    "receiver",
    "method",
    "url",
    "status",
    "latency_ms",
    "at",
    "details",
)


# ---------------------------------------------------------------------------------------------
# Views and wiring


@bp.get("")
def page() -> str:
    if not enabled():
        abort(404)
    return render_template("inspector/page.html", steps=current_steps())


@bp.get("/panel")
def panel() -> str:
    """The panel's content alone, for htmx to refresh after a call that recorded steps."""
    if not enabled():
        abort(404)
    return render_template("inspector/_panel_body.html", steps=current_steps())


@bp.get("/diagram.svg")
def diagram() -> Response:
    if not enabled():
        abort(404)
    svg = sequence_svg(current_steps())
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def pretty_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def tell_htmx(response: Response) -> Response:
    """After an htmx request that recorded steps, have the panel fetch itself again."""
    if pending_steps() and request.headers.get("HX-Request") == "true":
        existing = response.headers.get("HX-Trigger")
        response.headers["HX-Trigger"] = (
            f"{existing}, inspector-step" if existing else ("inspector-step")
        )
    return response


def init_app(app: Flask) -> None:
    """Register the inspector's pages, its template helpers and the end-of-request write."""
    app.extensions["portal.inspector"] = {"pruned_at": 0.0}
    app.register_blueprint(bp)
    app.after_request(tell_htmx)
    app.teardown_request(write_pending)
    app.add_template_global(has_steps, "inspector_has_steps")
    app.add_template_global(enabled, "inspector_enabled")
    app.add_template_global(sequence_svg, "inspector_diagram")
    app.add_template_filter(pretty_json, "inspector_json")
