"""Portal configuration: defaults, peer URLs, settings derived from them, the secret key."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PEER_URLS = {
    "PORTAL_URL": "http://127.0.0.1:8000",
    "IDP_URL": "http://127.0.0.1:8001",
    "SF_URL": "http://127.0.0.1:8002",
}

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "portal_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "DEMO_CONTROLS": False,
    "DATABASE_URL": None,  # default: SQLite in the instance folder
    # The OIDC client the IdP knows us as; Authlib reads IDP_CLIENT_ID/SECRET by name.
    "IDP_CLIENT_ID": "speaker-portal",
    "IDP_CLIENT_SECRET": "portal-demo-secret",
    "IDP_ISSUER": None,  # default: {IDP_URL}/oauth2/default
    # How speakers log in: "oidc" (the IdP's OpenID Connect side) or "saml" (its SAML 2.0 side).
    "LOGIN_PROTOCOL": "oidc",
    # What the authorization request asks for; offline_access brings a refresh token (Okta and
    # most IdPs). Extra parameters such as {"prompt": "login"} or {"audience": "..."} go along.
    "IDP_SCOPES": "openid profile email offline_access schedule.read",
    # The audience the IdP gives its access tokens for the platform's APIs (Okta: api://default).
    "IDP_ACCESS_TOKEN_AUDIENCE": "api://default",
    "SCHEDULE_API_URL": None,  # default: {PORTAL_URL}/api/schedule
    "IDP_AUTHORIZE_PARAMS": {},
    # SAML logins (saml.py): the IdP's metadata (None: {IDP_URL}/saml/metadata), our entity id
    # (None: {PORTAL_URL}/saml/metadata), whether we sign AuthnRequests, clock skew in seconds.
    "SAML_IDP_METADATA_URL": None,
    "SAML_SP_ENTITY_ID": None,
    "SAML_SIGN_REQUESTS": False,
    "SAML_CLOCK_SKEW": 60,
    # The connected app Salesforce knows us as.
    "SF_CLIENT_ID": "speaker-portal",
    "SF_CLIENT_SECRET": "portal-sf-demo-secret",
    "SF_TOKEN_HANDLER": "SpeakerTokenHandler",
    # Which IdP token the portal exchanges: access_token, id_token, jwt, refresh_token, or
    # saml2 (SAML logins only). None: access_token for OIDC logins, saml2 for SAML ones.
    "SF_SUBJECT_TOKEN_TYPE": None,
    # refresh_token: Salesforce renews its own session when the connected app grants it.
    "SF_SCOPE": "api refresh_token",
    "SF_API_VERSION": "66.0",
    "SF_LOGIN_URL": None,  # default: SF_URL
    "SF_CA_FILE": None,  # CA bundle for an HTTPS Salesforce with a private CA
    "HTTP_TIMEOUT": 10,  # seconds, for every call to the IdP and Salesforce
    "INSPECTOR": True,  # the flow inspector (/inspector and a panel on every page)
    # Fernet keys for the login tokens at rest, comma-separated, newest first (token_vault.py).
    # None: one key derived from SECRET_KEY.
    "TOKEN_KEYS": None,
}
# Parameters the login sets itself: a setting must not override them.
PROTOCOL_PARAMS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)
SUBJECT_TOKEN_TYPES = ("access_token", "id_token", "jwt", "refresh_token", "saml2")


def peer_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """The three apps' base URLs from the environment, with the demo defaults."""
    return {key: environ.get(key, default) for key, default in PEER_URLS.items()}


def finish(config: dict[str, Any], instance_path: str) -> None:
    """Fill the settings that default to other settings, once every layer is applied."""
    for key in PEER_URLS:
        config[key] = config[key].rstrip("/")
    config["IDP_ISSUER"] = (config["IDP_ISSUER"] or f"{config['IDP_URL']}/oauth2/default").rstrip(
        "/"
    )
    config["SF_LOGIN_URL"] = (config["SF_LOGIN_URL"] or config["SF_URL"]).rstrip("/")
    config["SCHEDULE_API_URL"] = (
        config["SCHEDULE_API_URL"] or f"{config['PORTAL_URL']}/api/schedule"
    )
    # from_prefixed_env parses JSON, so PORTAL_SF_API_VERSION=66.0 arrives as a float.
    config["SF_API_VERSION"] = str(config["SF_API_VERSION"])
    check_login_settings(config)
    database_url = config["DATABASE_URL"] or f"sqlite:///{Path(instance_path) / 'portal.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_secret_key(Path(instance_path) / "secret_key")


def check_login_settings(config: dict[str, Any]) -> None:
    """Refuse to start with login settings that cannot work together."""
    protocol = config["LOGIN_PROTOCOL"]
    if protocol not in ("oidc", "saml"):
        raise ValueError(f"LOGIN_PROTOCOL must be oidc or saml, not {protocol!r}")
    kind = config["SF_SUBJECT_TOKEN_TYPE"] or ("saml2" if protocol == "saml" else "access_token")
    if kind not in SUBJECT_TOKEN_TYPES:
        raise ValueError(f"SF_SUBJECT_TOKEN_TYPE must be one of {', '.join(SUBJECT_TOKEN_TYPES)}")
    if (kind == "saml2") != (protocol == "saml"):
        raise ValueError("SF_SUBJECT_TOKEN_TYPE saml2 goes with LOGIN_PROTOCOL saml, and only")
    config["SF_SUBJECT_TOKEN_TYPE"] = kind
    params = config["IDP_AUTHORIZE_PARAMS"]
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise ValueError(
            'IDP_AUTHORIZE_PARAMS must be a JSON object of strings, e.g. {"prompt": "login"}'
        )
    if PROTOCOL_PARAMS & params.keys():
        raise ValueError(
            f"IDP_AUTHORIZE_PARAMS may not set {sorted(PROTOCOL_PARAMS & params.keys())}"
        )
    config["INSPECTOR"] = config["INSPECTOR"] not in (False, 0, "0", "false", "off")


def load_secret_key(path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first start.

    The file appears whole (a finished temp file linked into place): workers starting at once
    agree on the first one written, and none reads half of it.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won the race: its key is the key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
