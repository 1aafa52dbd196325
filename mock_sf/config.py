"""mock_sf configuration: defaults, then derived values once every layer is applied."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

PEER_URLS = {
    "PORTAL_URL": "http://127.0.0.1:8000",
    "IDP_URL": "http://127.0.0.1:8001",
    "SF_URL": "http://127.0.0.1:8002",
}

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "sf_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "DEMO_CONTROLS": False,
    "DATABASE_URL": None,  # default: sqlite file in the instance folder
    "ACCESS_TOKEN_LIFETIME": 2 * 60 * 60,  # seconds; Salesforce's default session timeout
    # Issuers whose JWTs the built-in handler accepts; None -> the demo IdP at IDP_URL.
    "TRUSTED_ISSUERS": None,
    "JWT_LEEWAY": 60,
    "JWKS_CACHE_SECONDS": 300,
    "JWKS_REFETCH_COOLDOWN_SECONDS": 30,
    "HTTP_TIMEOUT_SECONDS": 5,
    "API_MAX_VERSION": "66.0",
    "ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",  # tests use "CHEAPEST"
}


def default_trusted_issuers(idp_url: str) -> list[dict[str, Any]]:
    """The demo IdP (Okta custom authorization server layout)."""
    issuer = f"{idp_url}/oauth2/default"
    return [
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/v1/keys",
            "userinfo_endpoint": f"{issuer}/v1/userinfo",
            "algorithms": ["RS256"],
            "access_token_audience": "api://default",
            "id_token_audience": "speaker-portal",
        }
    ]


def finalize(app: Flask) -> None:
    """Values derived from the layered config: URLs, database URI, secret key, issuers."""
    config = app.config
    for key in PEER_URLS:
        config[key] = str(config[key]).rstrip("/")
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'mock_sf.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = persistent_secret_key(Path(app.instance_path) / "secret_key")
    if config["TRUSTED_ISSUERS"] is None:
        config["TRUSTED_ISSUERS"] = default_trusted_issuers(config["IDP_URL"])


def persistent_secret_key(path: Path) -> str:
    """A random key generated once and kept (mode 0600) so restarts keep sessions."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
