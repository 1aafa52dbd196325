"""Inputs that once answered 500 (issue 10, finding 6): each gets the protocol's own error."""

from __future__ import annotations

import pytest

CLIENTS = "/oauth2/default/v1/clients"


def test_registration_with_an_unclosed_ipv6_bracket_is_invalid_redirect_uri(demo):
    response = demo.post(CLIENTS, json={"redirect_uris": ["http://[::1"]})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize("kind", ["saml2", "jwt", "access_token", "id_token", "refresh_token"])
@pytest.mark.parametrize("audience", [["a"], {"a": 1}, 7])
def test_the_forge_refuses_an_audience_that_is_not_a_string(demo, kind, audience):
    body = {"kind": kind, "variant": "valid", "user": "ada@speakers.example", "audience": audience}
    response = demo.post("/_demo/forge", json=body)
    assert response.status_code == 400
    assert response.json == {
        "error": "invalid_request",
        "error_description": "audience must be a string (one audience per token).",
    }
