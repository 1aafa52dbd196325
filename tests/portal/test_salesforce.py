"""The Salesforce client without Flask: exchange request, signature check, typed errors."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from portal.salesforce import ExchangeError
from portal.salesforce import SalesforceApi
from portal.salesforce import SalesforceApiError
from portal.salesforce import SalesforceClient
from portal.salesforce import SalesforceUnavailable
from portal.salesforce import SessionInvalid
from portal.salesforce import sign
from portal.salesforce import signature_valid

VECTOR_ID = "https://MyDomainName.my.salesforce.com/id/00Dxxxxxxxxxxxx/005xxxxxxxxxxxx"
VECTOR_SIGNATURE = "YTbEq0I7mEufZcoZGsPOKv7c+/M/DU8hz/FPmRwa1OI="


@pytest.fixture
def sf_client(transport, org) -> SalesforceClient:
    return SalesforceClient(
        login_url=org.url,
        client_id="speaker-portal",
        client_secret=org.secret,
        token_handler="SpeakerTokenHandler",
    )


def test_signature_matches_the_contract_vector() -> None:
    assert sign("secret", VECTOR_ID, "1667600739962") == VECTOR_SIGNATURE
    assert signature_valid("secret", VECTOR_ID, "1667600739962", VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("secret", "identity_url", "issued_at"),
    [
        ("secret", VECTOR_ID.replace("005x", "005y"), "1667600739962"),
        ("secret", VECTOR_ID, "1667600739963"),
        ("other-secret", VECTOR_ID, "1667600739962"),
    ],
    ids=["tampered id", "tampered issued_at", "wrong secret"],
)
def test_signature_fails_when_anything_changes(secret, identity_url, issued_at) -> None:
    assert not signature_valid(secret, identity_url, issued_at, VECTOR_SIGNATURE)


def test_exchange_request_is_the_documented_form(sf_client: SalesforceClient) -> None:
    assert sf_client.token_endpoint == "http://sf.test/services/oauth2/token"
    assert sf_client.exchange_request("eyJ.idp.token") == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "eyJ.idp.token",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
        "scope": "api",
        "token_handler": "SpeakerTokenHandler",
    }


def test_exchange_posts_the_form_and_returns_the_verified_token(sf_client, transport, org) -> None:
    transport.route("POST", org.token_endpoint, (200, org.token_body("1700000000123")))

    token = sf_client.exchange("eyJ.idp.token")

    (sent,) = transport.calls("POST", org.token_endpoint)
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body) == {
        key: [value] for key, value in sf_client.exchange_request("eyJ.idp.token").items()
    }
    assert token.access_token == "00D000000000001!sf-token-1700000000123"
    assert token.instance_url == org.url
    assert token.identity_url == org.identity_url
    assert token.issued_at == "1700000000123"
    assert token.user_id == org.user_id


def test_exchange_refuses_a_response_whose_signature_does_not_match(
    sf_client, transport, org
) -> None:
    body = org.token_body(secret="someone-else")
    transport.route("POST", org.token_endpoint, (200, body))

    with pytest.raises(ExchangeError) as caught:
        sf_client.exchange("eyJ.idp.token")

    assert (caught.value.error, caught.value.status) == ("invalid_signature", 200)


@pytest.mark.parametrize(
    ("status", "body", "error", "description"),
    [
        (
            400,
            {"error": "invalid_request", "error_description": "token handler not found"},
            "invalid_request",
            "token handler not found",
        ),
        (
            400,
            {"error": "invalid_grant", "error_description": "inactive user"},
            "invalid_grant",
            "inactive user",
        ),
        (401, {"error": "invalid_client"}, "invalid_client", ""),
        (500, "<html>Server error</html>", "invalid_response", "The token endpoint gave no token."),
        (
            200,
            {"access_token": "x"},
            "invalid_response",
            "The token response lacks 'instance_url'.",
        ),
    ],
)
def test_exchange_errors_are_typed(
    sf_client, transport, org, status, body, error, description
) -> None:
    transport.route("POST", org.token_endpoint, (status, body))

    with pytest.raises(ExchangeError) as caught:
        sf_client.exchange("eyJ.idp.token")

    assert (caught.value.error, caught.value.description, caught.value.status) == (
        error,
        description,
        status,
    )


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("slow")], ids=str
)
def test_unreachable_salesforce_is_unavailable(sf_client, transport, org, failure) -> None:
    transport.route("POST", org.token_endpoint, failure)

    with pytest.raises(SalesforceUnavailable):
        sf_client.exchange("eyJ.idp.token")


def test_query_sends_the_soql_with_the_bearer_token_and_follows_pages(
    sf_client, transport, org
) -> None:
    api = sf_client.api(org.url, "00D!token")
    transport.route(
        "GET",
        f"{org.data}/query",
        (
            200,
            {
                "totalSize": 2,
                "done": False,
                "records": [{"Id": "a"}],
                "nextRecordsUrl": "/services/data/v66.0/query/01g-1",
            },
        ),
    )
    transport.route(
        "GET",
        f"{org.data}/query/01g-1",
        (200, {"totalSize": 2, "done": True, "records": [{"Id": "b"}]}),
    )

    records = api.query("SELECT Id FROM Case")

    assert records == [{"Id": "a"}, {"Id": "b"}]
    first = transport.calls("GET", f"{org.data}/query")[0]
    assert parse_qs(urlsplit(first.url).query) == {"q": ["SELECT Id FROM Case"]}
    assert first.headers["Authorization"] == "Bearer 00D!token"


def test_get_and_create(sf_client, transport, org) -> None:
    api = sf_client.api(org.url, "00D!token")
    transport.route(
        "POST", f"{org.data}/sobjects/Case/", (201, {"id": "500X", "success": True, "errors": []})
    )
    transport.route("GET", f"{org.data}/sobjects/Case/500X", (200, {"CaseNumber": "00001002"}))

    assert api.create("Case", {"Subject": "Mic"}) == "500X"
    assert api.get("Case", "500X", ["CaseNumber", "Status"]) == {"CaseNumber": "00001002"}

    created = transport.calls("POST", f"{org.data}/sobjects/Case/")[0]
    assert created.body == b'{"Subject": "Mic"}'
    fetched = transport.calls("GET", f"{org.data}/sobjects/Case/500X")[0]
    assert parse_qs(urlsplit(fetched.url).query) == {"fields": ["CaseNumber,Status"]}


@pytest.mark.parametrize(
    ("status", "body", "error_type", "error_code", "message"),
    [
        (
            401,
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            SessionInvalid,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ),
        (
            401,
            [{"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}],
            SalesforceApiError,
            "INVALID_AUTH_HEADER",
            "INVALID_HEADER_TYPE",
        ),
        (
            400,
            [
                {
                    "message": "Required fields are missing: [Subject]",
                    "errorCode": "REQUIRED_FIELD_MISSING",
                    "fields": ["Subject"],
                }
            ],
            SalesforceApiError,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Subject]",
        ),
        (503, "<html>down for maintenance</html>", SalesforceApiError, "UNKNOWN_ERROR", "HTTP 503"),
        (
            200,
            "<html>login page</html>",
            SalesforceApiError,
            "INVALID_RESPONSE",
            "The answer is not a JSON object.",
        ),
    ],
)
def test_rest_errors_are_typed(
    sf_client, transport, org, status, body, error_type, error_code, message
) -> None:
    transport.route("GET", f"{org.data}/query", (status, body))

    with pytest.raises(SalesforceApiError) as caught:
        sf_client.api(org.url, "00D!token").query("SELECT Id FROM Case")

    assert type(caught.value) is error_type
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (
        status,
        error_code,
        message,
    )


def test_api_uses_the_configured_version_and_ca_file(transport, org) -> None:
    api = SalesforceApi(org.url, "t", api_version="60.0", verify="/etc/ca.pem")
    transport.route(
        "GET", f"{org.url}/services/data/v60.0/query", (200, {"done": True, "records": []})
    )

    assert api.query("SELECT Id FROM Case") == []
    assert transport.verify == ["/etc/ca.pem"]
