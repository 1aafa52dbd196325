"""A database that cannot be reached (a restart, an outage) answers 503 in each dialect, never
500: the app runs on a PostgreSQL URL whose loopback port has no server, so every connection is
refused exactly as during an outage."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import InternalServerError

from devstack.stack import free_port
from mock_sf import create_app
from mock_sf.web import render_http_error

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("SF_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SF_DATABASE_URL", raising=False)
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/mock_sf",
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_rest_says_server_unavailable(client: FlaskClient) -> None:
    response = client.get(
        "/services/data/v66.0/query",
        query_string={"q": "SELECT Id FROM Case"},
        headers={"Authorization": "Bearer 00Dx!session"},
    )

    assert response.status_code == 503
    assert response.get_json() == [
        {
            "message": "The server is unavailable to handle the request. Try again later.",
            "errorCode": "SERVER_UNAVAILABLE",
        }
    ]
    assert "Sforce-Limit-Info" not in response.headers  # the usage lives in the database


def test_the_version_list_needs_no_database(client: FlaskClient) -> None:
    response = client.get("/services/data/")

    assert response.status_code == 200
    assert response.get_json()[-1]["version"] == "66.0"
    assert "Sforce-Limit-Info" not in response.headers


@pytest.mark.parametrize(
    "path", ["/services/oauth2/token", "/speakers/services/oauth2/token"], ids=["my-domain", "site"]
)
def test_the_token_endpoint_says_temporarily_unavailable(client: FlaskClient, path: str) -> None:
    response = client.post(
        path,
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": "eyJ.x.y",
            "subject_token_type": ACCESS_TOKEN,
            "client_id": "speaker-portal",
            "client_secret": "portal-sf-demo-secret",
        },
    )

    assert response.status_code == 503
    assert response.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": "the service is temporarily unavailable, try again later",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_a_setup_page_says_so_in_words(client: FlaskClient) -> None:
    form = client.get("/setup/login").get_data(as_text=True)  # the form itself needs no database
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    response = client.post(
        "/setup/login",
        data={"csrf_token": csrf_token, "username": "admin@sf.example", "password": "admin-demo"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "<h1>503 Service Unavailable</h1>" in page
    assert "The database is unavailable. Try again later." in page


def test_the_log_keeps_the_driver_error(client: FlaskClient, caplog: Any) -> None:
    client.get("/services/data/v66.0/limits", headers={"Authorization": "Bearer 00Dx!session"})

    [record] = [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert "Connection refused" in record.getMessage()


def test_a_failure_after_the_view_is_a_503_too(app: Flask) -> None:
    """What Flask hands the 500 handler when an after_request hook (the rollback) raised."""
    lost = OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    with app.test_request_context("/services/data/v66.0/query"):
        response = render_http_error(InternalServerError(original_exception=lost))

    assert response.status_code == 503
    assert response.get_json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
