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
    # The connected app Salesforce knows us as.
    "SF_CLIENT_ID": "speaker-portal",
    "SF_CLIENT_SECRET": "portal-sf-demo-secret",
    "SF_TOKEN_HANDLER": "SpeakerTokenHandler",
    "SF_SCOPE": "api",
    "SF_API_VERSION": "66.0",
    "SF_LOGIN_URL": None,  # default: SF_URL
    "SF_CA_FILE": None,  # CA bundle for an HTTPS Salesforce with a private CA
    "HTTP_TIMEOUT": 10,  # seconds, for every call to the IdP and Salesforce
}


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
    # from_prefixed_env parses JSON, so PORTAL_SF_API_VERSION=66.0 arrives as a float.
    config["SF_API_VERSION"] = str(config["SF_API_VERSION"])
    database_url = config["DATABASE_URL"] or f"sqlite:///{Path(instance_path) / 'portal.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_secret_key(Path(instance_path) / "secret_key")


def load_secret_key(path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first start."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as file:
        file.write(key)
    return key
