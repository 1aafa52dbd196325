"""The portal's database cannot be reached (a restart, an outage): a friendly 503 page, never a
500, and the speaker stays logged in for when it is back. The app runs on a PostgreSQL URL whose
loopback port has no server, so every connection is refused exactly as during an outage."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import PendingRollbackError
from werkzeug.exceptions import InternalServerError

from devstack.stack import free_port
from portal import create_app

LOGIN_KEY = "_user_id"  # where Flask-Login keeps the login's id in the session


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/portal",
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A speaker's browser with a login whose row the portal cannot read now."""
    client = app.test_client()
    with client.session_transaction() as session:
        session[LOGIN_KEY] = "login-1"
    return client


@pytest.mark.parametrize("path", ["/support", "/", "/schedule"])
def test_a_page_says_the_portal_is_unavailable(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert (
        '<h1 id="error-title" tabindex="-1" data-autofocus>The portal is unavailable</h1>' in page
    )
    assert "you stay logged in" in page
    assert "<code>database_unavailable</code>" in page
    assert "Signed in as" not in page  # drawn without reading the login


def test_the_login_is_kept_for_when_the_database_is_back(client: FlaskClient) -> None:
    client.get("/support")

    with client.session_transaction() as session:
        assert session[LOGIN_KEY] == "login-1"


def test_an_htmx_request_gets_the_fragment_in_place_of_the_main_content(
    client: FlaskClient,
) -> None:
    response = client.get("/support", headers={"HX-Request": "true"})

    assert response.status_code == 503
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
        "#main",
        "innerHTML",
    )
    assert "The portal is unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "lost",
    [
        OperationalError("SELECT 1", {}, Exception("terminating connection")),
        PendingRollbackError("Can't reconnect until invalid transaction is rolled back."),
    ],
    ids=["cut-mid-query", "lost-mid-transaction"],
)
def test_a_connection_lost_during_the_request_gives_the_page_too(
    app: Flask, client: FlaskClient, lost: Exception
) -> None:
    def view() -> str:
        raise lost

    app.add_url_rule("/_lost", view_func=view)

    response = client.get("/_lost")

    assert response.status_code == 503
    assert "<code>database_unavailable</code>" in response.get_data(as_text=True)


def test_a_connection_lost_while_another_error_page_is_drawn_gives_the_page(
    app: Flask, client: FlaskClient
) -> None:
    def view() -> str:  # what Flask hands the 500 handler when drawing a page raised
        raise InternalServerError(original_exception=PendingRollbackError("lost"))

    app.add_url_rule("/_lost", view_func=view)

    response = client.get("/_lost")

    assert response.status_code == 503
    assert "<code>database_unavailable</code>" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "form", "typed"),
    [
        (
            "/support/cases",
            {"subject": "Projector flickers", "description": "Room 3, HDMI <b>2</b>"},
            ["Projector flickers", "Room 3, HDMI &lt;b&gt;2&lt;/b&gt;"],
        ),
        (
            "/support/cases/500000000000001AAA/comments",
            {"body": "Still flickering after the swap"},
            ["Still flickering after the swap"],
        ),
    ],
    ids=["new case", "comment"],
)
def test_a_form_sent_while_the_database_is_down_comes_back_as_typed(
    client: FlaskClient, path: str, form: dict[str, str], typed: list[str]
) -> None:
    response = client.post(path, data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Not sent yet" in page and "Nothing you typed is lost." in page
    assert all(text in page for text in typed), page
    assert f'action="{path}"' in page  # sent again to the same place
