"""A running stack driven over HTTP, without a browser: a speaker's login at the portal, tokens
from the IdP's forge, token exchanges at mock_sf, and mock_sf's exchange log."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from devstack import APPS
from devstack import Stack

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPES = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
}
SF_TLS = next(app for app in APPS if app.tls)
SPEAKERS = {
    "ada": {"email": "ada@speakers.example", "password": "ada-demo"},
    "grace": {"email": "grace@speakers.example", "password": "grace-demo"},
}
TIMEOUT = 15


def browser() -> requests.Session:
    """A client that keeps cookies and talks only to loopback (no proxy, no CA bundle)."""
    session = requests.Session()
    session.trust_env = False
    return session


def sign_in_at_idp(stack: Stack, http: requests.Session, speaker: str) -> requests.Response:
    """Start a login at the portal and sign in on the IdP's form; the answer is the IdP's
    redirect back to the portal's callback, not followed."""
    page = http.get(f"{stack.urls['portal']}/auth/login?next=/support", timeout=TIMEOUT)
    assert page.url.startswith(stack.urls["idp"]), page.url
    form = re.search(r'<form[^>]*action="([^"]*)"', page.text)
    assert form is not None, page.text
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    answer = http.post(
        urljoin(page.url, form.group(1)),
        data={**fields, **SPEAKERS[speaker]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    while answer.is_redirect and next_url(answer).startswith(stack.urls["idp"]):
        answer = http.get(next_url(answer), allow_redirects=False, timeout=TIMEOUT)
    return answer


def next_url(response: requests.Response) -> str:
    """Where a redirect sends the browser."""
    return urljoin(response.url, response.headers["Location"])


def log_in(stack: Stack, http: requests.Session, speaker: str) -> requests.Response:
    """Log in at the portal through the IdP and follow the redirects back to /support."""
    answer = sign_in_at_idp(stack, http, speaker)
    assert answer.is_redirect, (answer.status_code, answer.text)
    return http.get(next_url(answer), timeout=TIMEOUT)


def forged(stack: Stack, email: str, kind: str = "access_token", variant: str = "valid") -> str:
    """A token the IdP's forge mints (demo controls): valid unless another variant is asked."""
    with browser() as http:
        response = http.post(
            f"{stack.urls['idp']}/_demo/forge",
            json={"kind": kind, "variant": variant, "user": email},
            timeout=TIMEOUT,
        )
    response.raise_for_status()
    return str(response.json()["token"])


def exchange(
    stack: Stack, subject_token: str, kind: str = "access_token", server: str = "sf"
) -> requests.Response:
    """The portal's token exchange (RFC 8693), at one of the two mock_sf processes."""
    verify = str(stack.tls_file(SF_TLS, "ca")) if server == SF_TLS.name else True
    with browser() as http:
        return http.post(
            f"{stack.urls[server]}/services/oauth2/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": TOKEN_TYPES[kind],
                "client_id": "speaker-portal",
                "client_secret": "portal-sf-demo-secret",
            },
            verify=verify,
            timeout=30,
        )


def sf_database_url(stack: Stack) -> str:
    """mock_sf's database: the one its environment names, else SQLite in its folder."""
    return stack.env.get("SF_DATABASE_URL") or (
        f"sqlite:///{stack.instance_paths['sf'] / 'mock_sf.sqlite3'}"
    )


def exchange_log(stack: Stack) -> list[dict[str, Any]]:
    """mock_sf's exchange log (ExchangeAttempt rows), oldest first."""
    engine = create_engine(sf_database_url(stack))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT outcome, error, reason, token_type, user_id"
                    " FROM exchange_attempt ORDER BY id"
                )
            )
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()
