"""Configuration layers shared by every start: defaults, peer URLs, derived keys."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

PEER_URL_DEFAULTS = {
    "PORTAL_URL": "http://127.0.0.1:8000",
    "IDP_URL": "http://127.0.0.1:8001",
    "SF_URL": "http://127.0.0.1:8002",
}

# Okta's custom authorization server "default" lives under this path of the org URL.
ISSUER_PATH = "/oauth2/default"


def defaults() -> dict[str, Any]:
    """Settings a bare start gets; every one can be overridden by IDP_<KEY> or test_config."""
    return {
        "SESSION_COOKIE_NAME": "idp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "DEMO_CONTROLS": False,
        # Reverse proxies (load balancers) in front that set X-Forwarded-For/-Proto/-Host: the
        # login throttle's client address comes from there only when this is above 0.
        "TRUSTED_PROXIES": 0,
        "PASSWORD_HASH_PROFILE": "default",
        # The longest an IdP session (idp_sessions.py) lasts after its sign-in; seconds.
        "SESSION_LIFETIME": 12 * 3600,
        "ACCESS_TOKEN_AUDIENCE": "api://default",
        "ACCESS_TOKEN_LIFETIME": 3600,
        "ID_TOKEN_LIFETIME": 3600,
        "AUTHORIZATION_CODE_LIFETIME": 120,
        "JWKS_MAX_AGE": 300,
        # OIDC depth (oidc/grants.py, keys.py); seconds. Idle None: only the absolute limit.
        "REFRESH_TOKEN_LIFETIME": 30 * 86400,
        "REFRESH_TOKEN_IDLE_LIFETIME": 7 * 86400,
        "KEY_RETIREMENT_LEEWAY": 60,
        # Accounts (registration.py, password_reset.py, throttle.py); seconds unless named.
        "PASSWORD_MIN_LENGTH": 12,
        "EMAIL_VERIFICATION_LINK_LIFETIME": 86400,
        "PASSWORD_RESET_LINK_LIFETIME": 1800,
        "LOGIN_FAILURE_WINDOW": 900,
        "LOGIN_LOCKOUT": 900,
        # Sign-in failures per account from one client address (the guesser's address is locked,
        # not the owner's), per account from all addresses together (a ceiling on guessing
        # spread over many addresses), and per address across accounts.
        "LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS": 5,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": 100,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
        # Registration and forgot-password mail per target email / client address per window.
        "ACCOUNT_MAIL_WINDOW": 3600,
        "ACCOUNT_MAIL_MAX_PER_EMAIL": 5,
        "ACCOUNT_MAIL_MAX_PER_ADDRESS": 20,
        # SAML IdP (saml/); SAML_ENTITY_ID defaults to {IDP_URL}/saml/metadata. Seconds.
        "SAML_ASSERTION_LIFETIME": 300,
        # Single logout (saml/slo.py): an SP's LogoutResponse later than this counts as failed;
        # an IdP session that served SAML lasts at most SAML_SESSION_LIFETIME. Seconds.
        "SAML_LOGOUT_TIMEOUT": 60,
        "SAML_SESSION_LIFETIME": 12 * 3600,
        # Every SP must sign its AuthnRequests and LogoutRequests (else per SP registration).
        "SAML_WANT_REQUESTS_SIGNED": False,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    }


def peer_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """The three apps' base URLs from the environment, trailing slash stripped."""
    return {
        key: environ.get(key, default).rstrip("/") for key, default in PEER_URL_DEFAULTS.items()
    }


def finalize(config: MutableMapping[str, Any], instance_path: str) -> None:
    """Derive the settings that depend on the layered ones (URLs, database, secret, keys)."""
    for key in PEER_URL_DEFAULTS:
        config[key] = str(config[key]).rstrip("/")
    config["ISSUER"] = config["IDP_URL"] + ISSUER_PATH
    config["SQLALCHEMY_DATABASE_URI"] = config.get("DATABASE_URL") or (
        f"sqlite:///{Path(instance_path) / 'mock_idp.sqlite3'}"
    )
    config.setdefault("SIGNING_KEYS_PATH", str(Path(instance_path) / "signing-keys.json"))
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret_key(Path(instance_path) / "secret_key")


def load_or_create_secret_key(path: Path) -> str:
    """Read the persisted session secret, creating it (mode 0600) on first start.

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
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won the race: its key is the key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
