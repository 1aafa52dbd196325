"""The identity service: the identity URL ``/id/<org>/<user>`` and ``/services/oauth2/userinfo``
(contract §5), for the user behind a live access token.

Errors are Salesforce's plain-text codes, not OAuth JSON: 401 ``Missing_OAuth_Token``, 403
``Bad_OAuth_Token`` (jsforce#736 observed a 403 for an expired token on the identity URL), 403
``Insufficient_Scope``, 404 ``Bad_Id`` (identity URL of another org or user).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from sqlalchemy import select

from mock_sf import ids
from mock_sf.models import OAuthToken
from mock_sf.models import Organization
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.sites import current_site
from mock_sf.oauth.token_response import identity_url
from mock_sf.oauth.tokens import find_access_token

# "id" and its synonyms, "openid" and "full" open the identity service; "api" alone does not.
IDENTITY_SCOPES = frozenset({"id", "profile", "email", "address", "phone", "openid", "full"})
# Users carry no time zone column yet: every user is on GMT.
TIMEZONE, UTC_OFFSET_MS = "GMT", 0
_VERSION = re.compile(r"\d+\.\d")


class IdentityError(Exception):
    """A refused identity-service call: status and Salesforce's plain-text code."""

    def __init__(self, status_code: int, code: str) -> None:
        super().__init__(code)
        self.status_code = status_code
        self.code = code


def render_identity_error(exc: IdentityError) -> tuple[str, int, dict[str, str]]:
    """The identity service answers errors as bare text codes."""
    return exc.code, exc.status_code, {"Content-Type": "text/plain;charset=UTF-8"}


def userinfo_endpoint() -> Response:
    """OpenID Connect UserInfo for the bearer token's user."""
    current_site()
    token = bearer_token(request.headers.get("Authorization"), None)
    return jsonify(userinfo_claims(token, current_app.config["SF_URL"]))


def identity_endpoint(org_id: str, user_id: str) -> Response | tuple[bytes, int, dict[str, str]]:
    """The identity URL: JSON by default, XML on ``format=xml`` or an XML Accept header."""
    token = bearer_token(request.headers.get("Authorization"), request.args.get("oauth_token"))
    check_identity_path(token, org_id, user_id)
    config = current_app.config
    version = resolve_version(request.args.get("version"), config["API_MAX_VERSION"])
    claims = identity_claims(token, config["SF_URL"], version)
    if wants_xml(request.args, request.headers.get("Accept", "")):
        return to_xml(claims), 200, {"Content-Type": "application/xml;charset=UTF-8"}
    return jsonify(claims)


def bearer_token(authorization: str | None, query_token: str | None) -> OAuthToken:
    """The live token from ``Authorization: Bearer|OAuth`` or ``?oauth_token=``, with scope."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    raw = value.strip() if scheme.lower() in ("bearer", "oauth") else ""
    raw = raw or (query_token or "")
    if not raw:
        raise IdentityError(401, "Missing_OAuth_Token")
    token = find_access_token(raw)
    if token is None or not token.user.is_active:
        raise IdentityError(403, "Bad_OAuth_Token")
    if IDENTITY_SCOPES.isdisjoint(token.scopes.split()):
        raise IdentityError(403, "Insufficient_Scope")
    return token


def check_identity_path(token: OAuthToken, org_id: str, user_id: str) -> None:
    """The identity URL must name this org and the token's own user (15 or 18 chars)."""
    try:
        org = ids.normalize(org_id, ids.KEY_PREFIXES["Organization"])
        user = ids.normalize(user_id, ids.KEY_PREFIXES["User"])
    except ids.MalformedId as exc:
        raise IdentityError(404, "Bad_Id") from exc
    if org != db.session.scalar(select(Organization.id)) or user != token.user_id:
        raise IdentityError(404, "Bad_Id")


def resolve_version(requested: str | None, max_version: str) -> str | None:
    """``version=`` fills the ``{version}`` placeholders; ``latest`` means the newest version."""
    if requested == "latest":
        return max_version
    return requested if requested and _VERSION.fullmatch(requested) else None


def _urls(base: str, org_id: str, user_id: str, version: str | None) -> dict[str, str]:
    urls = {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org_id}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org_id}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org_id}",
        "rest": f"{base}/services/data/v{{version}}/",
        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
        "search": f"{base}/services/data/v{{version}}/search/",
        "query": f"{base}/services/data/v{{version}}/query/",
        "recent": f"{base}/services/data/v{{version}}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org_id}",
        "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
        "profile": f"{base}/{user_id}",
        "feeds": f"{base}/services/data/v{{version}}/chatter/feeds",
        "groups": f"{base}/services/data/v{{version}}/chatter/groups",
        "users": f"{base}/services/data/v{{version}}/chatter/users",
        "feed_items": f"{base}/services/data/v{{version}}/chatter/feed-items",
        "feed_elements": f"{base}/services/data/v{{version}}/chatter/feed-elements",
        "custom_domain": base,
    }
    if version is not None:
        urls = {name: url.replace("{version}", version) for name, url in urls.items()}
    return urls


def identity_user_type(user_type: str) -> str:
    """``CspLitePortal`` -> ``CSP_LITE_PORTAL``: the identity service spells types that way."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", user_type).upper()


def _timestamp(user: User) -> str:
    return user.created_date.strftime("%Y-%m-%dT%H:%M:%SZ")


def _photos(base: str, user: User) -> dict[str, str]:
    return {
        "picture": f"{base}/profilephoto/005/F",
        "thumbnail": f"{base}/profilephoto/005/T",
    }


def identity_claims(token: OAuthToken, sf_url: str, version: str | None) -> dict[str, Any]:
    """The identity URL's JSON body, in the documented field order."""
    user = token.user
    org_id = db.session.scalar(select(Organization.id))
    return {
        "id": identity_url(sf_url, org_id, user.id),
        "asserted_user": True,
        "user_id": user.id,
        "organization_id": org_id,
        "username": user.username,
        "nick_name": user.alias or user.username.partition("@")[0],
        "display_name": user.name,
        "email": user.email,
        "email_verified": True,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": TIMEZONE,
        "photos": _photos(sf_url, user),
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": None,
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(sf_url, org_id, user.id, version),
        "active": user.is_active,
        "user_type": identity_user_type(user.user_type),
        "language": user.locale,
        "locale": user.locale,
        "utcOffset": UTC_OFFSET_MS,
        "last_modified_date": _timestamp(user),
        "is_app_installed": True,
    }


def userinfo_claims(token: OAuthToken, sf_url: str) -> dict[str, Any]:
    """The userinfo body (OpenID claims plus Salesforce's own), ``sub`` = identity URL."""
    user = token.user
    org_id = db.session.scalar(select(Organization.id))
    photos = _photos(sf_url, user)
    return {
        "sub": identity_url(sf_url, org_id, user.id),
        "user_id": user.id,
        "organization_id": org_id,
        "preferred_username": user.username,
        "nickname": user.alias or user.username.partition("@")[0],
        "name": user.name,
        "email": user.email,
        "email_verified": True,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": TIMEZONE,
        "photos": photos,
        "profile": f"{sf_url}/{user.id}",
        "picture": photos["picture"],
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": _urls(sf_url, org_id, user.id, None),
        "active": user.is_active,
        "user_type": identity_user_type(user.user_type),
        "language": user.locale,
        "locale": user.locale,
        "utcOffset": UTC_OFFSET_MS,
        "updated_at": _timestamp(user),
    }


def wants_xml(args: Mapping[str, str], accept: str) -> bool:
    """``format=xml``, or an Accept header that prefers XML over JSON."""
    requested = args.get("format")
    if requested:
        return requested.lower() == "xml"
    return "xml" in accept and "json" not in accept


def to_xml(claims: Mapping[str, Any]) -> bytes:
    """The identity body as XML: a ``<user>`` element with one child per field."""
    root = ElementTree.Element("user")
    _fill(root, claims)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            _fill(ElementTree.SubElement(element, name), child)
    elif value is None:
        element.set("xsi:nil", "true")
        element.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    else:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)
