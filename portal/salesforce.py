"""Salesforce client: the OAuth 2.0 token exchange (RFC 8693, Salesforce style) and REST calls.

No Flask here: the portal wires it from config, tests drive it with a fake transport.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

import requests

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
# RFC 8693 §3 token type URNs, by the short names the portal's settings use.
SUBJECT_TOKEN_TYPES = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "id_token": "urn:ietf:params:oauth:token-type:id_token",
    "jwt": "urn:ietf:params:oauth:token-type:jwt",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
    "saml2": "urn:ietf:params:oauth:token-type:saml2",
}
ACCESS_TOKEN_TYPE = SUBJECT_TOKEN_TYPES["access_token"]


class SalesforceError(Exception):
    """Anything that stops the portal from talking to Salesforce."""


class ExchangeError(SalesforceError):
    """The token endpoint refused the exchange, or answered something we cannot trust."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(f"{error}: {description} (HTTP {status})")
        self.error = error
        self.description = description
        self.status = status


class SalesforceApiError(SalesforceError):
    """The REST API answered with its error array `[{"message", "errorCode"}]`."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"HTTP {status}: {errors}")
        self.status = status
        self.errors = errors

    @property
    def error_code(self) -> str:
        return str(self.errors[0].get("errorCode", "UNKNOWN_ERROR"))

    @property
    def message(self) -> str:
        return str(self.errors[0].get("message", ""))


class SessionInvalid(SalesforceApiError):
    """401 INVALID_SESSION_ID: the Salesforce access token expired or was revoked."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce could not be reached (connection refused, timeout, TLS failure)."""


@dataclass(frozen=True)
class SalesforceToken:
    """The parts of a Salesforce token response the portal keeps (contract §2.1)."""

    access_token: str
    instance_url: str
    identity_url: str
    issued_at: str
    scope: str
    refresh_token: str | None = None  # only when the connected app grants one (scope refresh_token)

    @property
    def user_id(self) -> str:
        """The Salesforce user id: the last path segment of the identity URL."""
        return self.identity_url.rstrip("/").rsplit("/", 1)[-1]


def sign(client_secret: str, identity_url: str, issued_at: str) -> str:
    """Salesforce's `signature`: base64 HMAC-SHA256(client secret, id + issued_at) (§4.1)."""
    digest = hmac.new(
        client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signature_valid(client_secret: str, identity_url: str, issued_at: str, signature: str) -> bool:
    """Whether `signature` proves the identity URL and issued_at came from Salesforce unaltered."""
    expected = sign(client_secret, identity_url, issued_at)
    return hmac.compare_digest(expected.encode(), signature.encode())


@dataclass
class SalesforceClient:
    """Exchanges IdP access tokens for Salesforce sessions at the token endpoint."""

    login_url: str
    client_id: str
    client_secret: str
    token_handler: str
    scope: str = "api"
    api_version: str = "66.0"
    timeout: float = 10
    verify: bool | str = True  # a CA file path when Salesforce uses a private CA
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def token_endpoint(self) -> str:
        return f"{self.login_url}/services/oauth2/token"

    def exchange_request(
        self, subject_token: str, subject_token_type: str = ACCESS_TOKEN_TYPE
    ) -> dict[str, str]:
        """The form fields of a token-exchange request (RFC 8693 §2.1, Salesforce's fields)."""
        return {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": subject_token,
            "subject_token_type": subject_token_type,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
            "token_handler": self.token_handler,
        }

    def exchange(
        self, subject_token: str, subject_token_type: str = ACCESS_TOKEN_TYPE
    ) -> SalesforceToken:
        """Exchange an IdP token for a Salesforce session, checking the response's signature."""
        return self._token(self.exchange_request(subject_token, subject_token_type))

    def refresh(self, refresh_token: str) -> SalesforceToken:
        """A new Salesforce access token from its refresh token (RFC 6749 §6; contract §5)."""
        return self._token(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
            refresh_token=refresh_token,
        )

    def _token(self, form: dict[str, str], refresh_token: str | None = None) -> SalesforceToken:
        response = _send(
            self.http,
            "POST",
            self.token_endpoint,
            data=form,
            timeout=self.timeout,
            verify=self.verify,
        )
        token = self.parse_token_response(response)
        # Salesforce sends no new refresh token on refresh unless rotation is on: keep the old one.
        if token.refresh_token is None and refresh_token is not None:
            token = replace(token, refresh_token=refresh_token)
        return token

    def parse_token_response(self, response: requests.Response) -> SalesforceToken:
        """Turn a token endpoint response into a verified token or an ExchangeError."""
        body = _json(response)
        status = response.status_code
        if not response.ok or not isinstance(body, dict):
            if isinstance(body, dict) and "error" in body:
                raise ExchangeError(
                    str(body["error"]), str(body.get("error_description", "")), status
                )
            raise ExchangeError("invalid_response", "The token endpoint gave no token.", status)
        try:
            token = SalesforceToken(
                access_token=body["access_token"],
                instance_url=body["instance_url"].rstrip("/"),
                identity_url=body["id"],
                issued_at=body["issued_at"],
                scope=body.get("scope", ""),
                refresh_token=body.get("refresh_token"),
            )
            signature = body["signature"]
        except (KeyError, AttributeError) as exc:
            raise ExchangeError(
                "invalid_response", f"The token response lacks {exc}.", status
            ) from None
        if not signature_valid(self.client_secret, token.identity_url, token.issued_at, signature):
            raise ExchangeError(
                "invalid_signature", "The token response signature does not match.", status
            )
        return token

    def revoke(self, token: str) -> None:
        """Revoke a Salesforce token (contract §5: 200 on success, 400 with an OAuth error)."""
        response = _send(
            self.http,
            "POST",
            f"{self.login_url}/services/oauth2/revoke",
            data={"token": token},
            timeout=self.timeout,
            verify=self.verify,
        )
        if not response.ok:
            body = _json(response)
            error = body.get("error", "invalid_response") if isinstance(body, dict) else "?"
            raise ExchangeError(str(error), "Salesforce refused to revoke the token.", 400)

    def api(self, instance_url: str, access_token: str) -> SalesforceApi:
        """A REST client for one Salesforce session, sharing this client's connection pool."""
        return SalesforceApi(
            instance_url=instance_url,
            access_token=access_token,
            api_version=self.api_version,
            timeout=self.timeout,
            verify=self.verify,
            http=self.http,
        )


@dataclass
class SalesforceApi:
    """The REST API (`/services/data/vNN.N/`) for one Salesforce session."""

    instance_url: str
    access_token: str
    api_version: str = "66.0"
    timeout: float = 10
    verify: bool | str = True
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def base_url(self) -> str:
        return f"{self.instance_url}/services/data/v{self.api_version}"

    def query(self, soql: str) -> list[dict[str, Any]]:
        """All records of a SOQL query, following `nextRecordsUrl` pages."""
        page = self.query_page(soql)
        records = list(page["records"])
        while not page.get("done", True):
            page = self._request("GET", f"{self.instance_url}{page['nextRecordsUrl']}")
            records.extend(page["records"])
        return records

    def query_page(self, soql: str) -> dict[str, Any]:
        """The first page of a SOQL query: `totalSize`, `done`, `records` (a COUNT() has none)."""
        return self._request("GET", f"{self.base_url}/query", params={"q": soql})

    def search(self, sosl: str) -> list[dict[str, Any]]:
        """The records a SOSL search finds (`searchRecords`, API v37.0 and later)."""
        return list(
            self._request("GET", f"{self.base_url}/search", params={"q": sosl})["searchRecords"]
        )

    def describe(self, sobject: str) -> dict[str, Any]:
        """An object's describe: its fields, lengths and picklist values."""
        return self._request("GET", f"{self.base_url}/sobjects/{sobject}/describe")

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        """Change fields of a record (PATCH answers 204 No Content)."""
        self._request("PATCH", f"{self.base_url}/sobjects/{sobject}/{record_id}", json=values)

    def get(self, sobject: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """One record, optionally only some fields."""
        params = {"fields": ",".join(fields)} if fields else None
        return self._request(
            "GET", f"{self.base_url}/sobjects/{sobject}/{record_id}", params=params
        )

    def create(self, sobject: str, values: dict[str, Any]) -> str:
        """Insert a record and return its id."""
        return self._request("POST", f"{self.base_url}/sobjects/{sobject}/", json=values)["id"]

    def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}
        response = _send(
            self.http,
            method,
            url,
            headers=headers,
            timeout=self.timeout,
            verify=self.verify,
            **kwargs,
        )
        if not response.ok:
            raise api_error(response)
        if response.status_code == 204:
            return {}
        body = _json(response)
        if not isinstance(body, dict):
            error = {"errorCode": "INVALID_RESPONSE", "message": "The answer is not a JSON object."}
            raise SalesforceApiError(response.status_code, [error])
        return body


def api_error(response: requests.Response) -> SalesforceApiError:
    """The typed error for a failed REST call (§6.3)."""
    body = _json(response)
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        errors = body
    else:
        errors = [{"errorCode": "UNKNOWN_ERROR", "message": f"HTTP {response.status_code}"}]
    if response.status_code == 401 and errors[0].get("errorCode") == "INVALID_SESSION_ID":
        return SessionInvalid(response.status_code, errors)
    return SalesforceApiError(response.status_code, errors)


def _send(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return http.request(method, url, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise SalesforceUnavailable(f"{method} {url}: {exc}") from exc


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
