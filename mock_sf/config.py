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

CASE_SHARING_MODES = ("contact_or_account", "contact")

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
    # The longest a subject token may still be valid for (JWT exp, SAML NotOnOrAfter), in seconds:
    # a stolen token must not work for years, and the replay cache keeps each id until it expires.
    # Google's STS accepts at most 48 hours.
    "MAX_SUBJECT_TOKEN_LIFETIME": 48 * 60 * 60,
    # SAML 2.0 subject tokens (mock_sf/handlers/saml.py): trusted IdPs (None -> the demo IdP's
    # metadata at IDP_URL), this org's entity id that AudienceRestriction must name (None ->
    # SF_URL), clock skew, cap on the decoded assertion, metadata cache lifetime.
    "TRUSTED_SAML_IDPS": None,
    "SAML_SP_ENTITY_ID": None,
    "SAML_CLOCK_SKEW": 60,
    "SAML_MAX_ASSERTION_BYTES": 100_000,
    "SAML_METADATA_CACHE_SECONDS": 3600,
    "JWKS_CACHE_SECONDS": 300,
    "JWKS_REFETCH_COOLDOWN_SECONDS": 30,
    "HTTP_TIMEOUT_SECONDS": 5,
    "API_MAX_VERSION": "66.0",
    # REST (mock_sf/rest): records per query batch (Sforce-Query-Options batchSize 200..2000
    # overrides), idle lifetime of a query locator, Case picklists per field (None -> stock
    # values; e.g. {"Type": ["Travel", {"value": "AV", "active": false}]}).
    "QUERY_BATCH_SIZE": 2000,
    "QUERY_LOCATOR_LIFETIME": 15 * 60,
    "CASE_PICKLISTS": None,
    # Standard picklists are unrestricted in a real org (an unknown value is stored as given);
    # true refuses values outside CASE_PICKLISTS with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST.
    "RESTRICTED_PICKLISTS": False,
    # DailyApiRequests: REST calls per org per UTC day (a Developer Edition's 15,000); past it,
    # 403 REQUEST_LIMIT_EXCEEDED. Every response says the usage in Sforce-Limit-Info.
    "DAILY_API_REQUESTS": 15_000,
    # TLS (mock_sf/tls.py, `flask --app mock_sf tls-cert`): None -> <instance>/ca.pem,
    # server.pem, server-key.pem, ca-key.pem; HTTPS_PORT is where the launcher serves them.
    "TLS_CA_PATH": None,
    "TLS_CA_KEY_PATH": None,
    "TLS_CERT_PATH": None,
    "TLS_KEY_PATH": None,
    "HTTPS_PORT": 8443,
    # OAuth (mock_sf/oauth): the Experience Cloud site path ({SF_URL}/speakers/services/oauth2/...),
    # ID tokens, the signing key file (None -> <instance>/signing_key.json), and the throttle of
    # subject tokens a handler refused (oauth/throttle.py): per subject within an app, and per
    # app, inside the window (a limit of 0 turns that level off).
    "SITE_PATH_PREFIX": "speakers",
    "SITE_NAME": "Speakers",
    "ID_TOKEN_LIFETIME": 5 * 60,
    "SIGNING_KEY_FILE": None,
    "SUBJECT_TOKEN_FAILURE_LIMIT": 10,
    "SUBJECT_TOKEN_FAILURE_APP_LIMIT": 1000,
    "SUBJECT_TOKEN_FAILURE_WINDOW_SECONDS": 60,
    # Wrong client secrets (oauth/throttle.py, failed_credentials.py) at the token and
    # introspection endpoints: per app at one client address, and per app at all addresses.
    "CLIENT_SECRET_FAILURE_LIMIT": 20,
    "CLIENT_SECRET_FAILURE_APP_LIMIT": 1000,
    "CLIENT_SECRET_FAILURE_WINDOW_SECONDS": 900,
    # The Setup console (setup/admin.py): an admin session's lifetime (Salesforce's default
    # session timeout), and wrong passwords per username at one client address, per username at
    # all addresses, and per address across usernames.
    "SETUP_SESSION_LIFETIME": 2 * 60 * 60,
    "SETUP_LOGIN_FAILURE_LIMIT": 5,
    "SETUP_LOGIN_FAILURE_USER_LIMIT": 100,
    "SETUP_LOGIN_FAILURE_ADDRESS_LIMIT": 20,
    "SETUP_LOGIN_FAILURE_WINDOW_SECONDS": 900,
    "ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",  # tests use "CHEAPEST"
    # Proxies in front of mock_sf whose X-Forwarded-For is trusted (werkzeug ProxyFix x_for):
    # 0 = none, the client address is the socket's; 1 = one proxy (SF_TRUSTED_PROXIES=1).
    "TRUSTED_PROXIES": 0,
    # Access (mock_sf/oauth/permitted_users.py, profiles.py, rest/sharing.py): the profile of
    # just-in-time users whose handler sets none (the demo seeds this clone, API Enabled); which
    # cases an external user sees
    # ("contact_or_account" or "contact"); handler records registered by config (a JSON list,
    # see mock_sf/handlers/registration.py), applied by `init-db`; the email domain the example
    # handler (mock_sf/handlers/examples.py) admits.
    "JIT_PROFILE": "Speaker Community User",
    # Digital Experiences setting "Allow using standard external profiles for self-registration
    # and user creation" (off: new users need a cloned external profile, since Spring '20).
    "ALLOW_STANDARD_EXTERNAL_PROFILES": False,
    "CASE_SHARING": "contact_or_account",
    "TOKEN_EXCHANGE_HANDLERS": [],
    "ALLOWED_EMAIL_DOMAIN": "speakers.example",
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
            # RFC 7662 for opaque access/refresh tokens (mock_sf/handlers/introspection.py),
            # with the handler's own client at the IdP; demo credentials only.
            "introspection_endpoint": f"{issuer}/v1/introspect",
            "introspection_client_id": "salesforce-introspection",
            "introspection_client_secret": "sf-introspect-demo-secret",
            "introspection_token_client_ids": ["speaker-portal"],
            "introspection_audience": "api://default",
        }
    ]


def default_trusted_saml_idps(idp_url: str) -> list[dict[str, Any]]:
    """The demo IdP's SAML side: entity id = metadata URL, certificate from that metadata.

    Its persistent NameID is the OIDC `sub`, so its subjects live in the OIDC issuer's namespace.
    """
    return [
        {
            "entity_id": f"{idp_url}/saml/metadata",
            "metadata_url": f"{idp_url}/saml/metadata",
            "federation_issuer": f"{idp_url}/oauth2/default",
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
    if config["TRUSTED_SAML_IDPS"] is None:
        config["TRUSTED_SAML_IDPS"] = default_trusted_saml_idps(config["IDP_URL"])
    if not config["SAML_SP_ENTITY_ID"]:
        config["SAML_SP_ENTITY_ID"] = config["SF_URL"]
    if config["CASE_SHARING"] not in CASE_SHARING_MODES:
        raise ValueError(
            f"CASE_SHARING must be one of {', '.join(CASE_SHARING_MODES)},"
            f" not {config['CASE_SHARING']!r}"
        )


def persistent_secret_key(path: Path) -> str:
    """A random key generated once and kept (mode 0600) so restarts keep sessions.

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
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: its key is the key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
