"""The token endpoint's edges as Salesforce has them: only a form body is read,
``offline_access`` is the same scope as ``refresh_token``, and no parameter is read twice."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from tests.mock_sf.test_site import exchange_form

UNSUPPORTED = {"error": "unsupported_grant_type", "error_description": "grant type not supported"}


@pytest.mark.parametrize(
    "send",
    [
        lambda client, form: client.post("/services/oauth2/token", json=form),
        lambda client, form: client.post(
            "/services/oauth2/token", data=str(form), content_type="text/plain"
        ),
    ],
    ids=["json", "text"],
)
def test_a_body_that_is_not_a_form_has_no_grant_type(client: Any, idp: Any, send: Any) -> None:
    response = send(client, exchange_form(idp.access_token()))
    assert (response.status_code, response.get_json()) == (400, UNSUPPORTED)


def test_a_form_with_a_charset_is_a_form(client: Any, idp: Any) -> None:
    from urllib.parse import urlencode

    response = client.post(
        "/services/oauth2/token",
        data=urlencode(exchange_form(idp.access_token())),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("scope", ["api offline_access", "api refresh_token"])
def test_offline_access_is_a_synonym_of_refresh_token(api: Any, idp: Any, scope: str) -> None:
    body = api.exchange(idp.access_token(), scope=scope).get_json()
    assert body["refresh_token"].startswith("5Aep861")
    assert body["scope"] == " ".join(sorted(scope.split()))


def test_offline_access_needs_the_refresh_scope_on_the_app(app: Any, api: Any, idp: Any) -> None:
    from mock_sf.models import ConnectedApp
    from mock_sf.models import db

    with app.app_context():
        db.session.get(ConnectedApp, 1).scopes = "api openid"
        db.session.commit()
    response = api.exchange(idp.access_token(), scope="api offline_access")
    assert response.get_json()["error"] == "invalid_scope"


def sent_twice(form: dict[str, str], name: str, second: str) -> list[tuple[str, str]]:
    """The form as ordered pairs with ``name`` sent a second time, after the first."""
    pairs = list(form.items())
    return [*pairs, (name, second)]


def other_value(idp: Any, name: str, value: str) -> str:
    """A second value: another valid subject token, or the same value again."""
    return idp.access_token() if name == "subject_token" else value


EXCHANGE_PARAMETERS = [
    "grant_type",
    "subject_token",
    "subject_token_type",
    "client_id",
    "client_secret",
    "scope",
    "token_handler",
]


@pytest.mark.parametrize("name", EXCHANGE_PARAMETERS)
def test_an_exchange_parameter_sent_twice_is_refused(
    app: Any, client: Any, idp: Any, name: str
) -> None:
    """RFC 6749 §3.2 (issue 10: a duplicated subject_token took the first value)."""
    token = idp.access_token()
    form = exchange_form(token)
    response = client.post(
        "/services/oauth2/token",
        data=MultiDict(sent_twice(form, name, other_value(idp, name, form[name]))),
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "invalid_request", "error_description": f"{name} is included more than once"},
    )
    assert response.headers["Cache-Control"] == "no-store"
    again = client.post("/services/oauth2/token", data=form)  # the token was not consumed
    assert again.status_code == 200, again.get_json()


@pytest.mark.parametrize("name", ["refresh_token", "client_secret"])
def test_a_refresh_parameter_sent_twice_is_refused(client: Any, idp: Any, name: str) -> None:
    session = client.post(
        "/services/oauth2/token", data=exchange_form(idp.access_token(), scope="api refresh_token")
    ).get_json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": session["refresh_token"],
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
    }
    response = client.post(
        "/services/oauth2/token", data=MultiDict(sent_twice(form, name, form[name]))
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "invalid_request", "error_description": f"{name} is included more than once"},
    )


def test_an_introspection_parameter_sent_twice_is_refused(client: Any, idp: Any) -> None:
    first = client.post("/services/oauth2/token", data=exchange_form(idp.access_token()))
    second = client.post("/services/oauth2/token", data=exchange_form(idp.access_token()))
    form = [
        ("token", first.get_json()["access_token"]),
        ("token", second.get_json()["access_token"]),
        ("client_id", "speaker-portal"),
        ("client_secret", "portal-sf-demo-secret"),
    ]
    response = client.post("/services/oauth2/introspect", data=MultiDict(form))
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "invalid_request", "error_description": "token is included more than once"},
    )
