"""The token endpoint's edges as Salesforce has them: only a form body is read, and
``offline_access`` is the same scope as ``refresh_token``."""

from __future__ import annotations

from typing import Any

import pytest

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
