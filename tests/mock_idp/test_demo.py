"""The demo controls exist only in an app created with them: without DEMO_CONTROLS their routes
are not registered at all (404), with it every one is, under its blueprint of mock_idp/demo/."""

from __future__ import annotations

import pytest

from mock_idp import demo as demo_controls

# (path, method) of every demo control route.
DEMO_ROUTES = {
    ("/_demo/outbox", "GET"),
    ("/_demo/outbox.json", "GET"),
    ("/_demo/forge", "GET"),
    ("/_demo/forge", "POST"),
    ("/_demo/forge/variants", "GET"),
    ("/_demo/rotate-keys", "POST"),
    ("/oauth2/default/v1/clients", "POST"),
}
DEMO_BLUEPRINTS = {"outbox", "forge", "key_rotation", "client_registration"}


def routes(app, paths=None):
    """{(path, method)} of the app's URL map (HEAD and OPTIONS left out), optionally only at
    `paths`."""
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if paths is None or rule.rule in paths
    }


def test_the_demo_package_registers_exactly_the_demo_blueprints():
    assert {blueprint.name for blueprint in demo_controls.BLUEPRINTS} == DEMO_BLUEPRINTS


def test_without_demo_controls_no_demo_route_is_registered(app):
    assert app.config["DEMO_CONTROLS"] is False
    assert DEMO_BLUEPRINTS.isdisjoint(app.blueprints)
    assert routes(app, {path for path, _ in DEMO_ROUTES}) == set()
    assert not [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/_demo")]


@pytest.mark.parametrize(("path", "method"), sorted(DEMO_ROUTES))
def test_without_demo_controls_each_demo_route_is_404(client, path, method):
    assert client.open(path, method=method, json={}).status_code == 404


def test_with_demo_controls_every_demo_route_is_registered_by_its_blueprint(demo_app):
    by_demo_blueprints = {
        (rule.rule, method)
        for rule in demo_app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in DEMO_BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert by_demo_blueprints == DEMO_ROUTES
    assert routes(demo_app, {path for path, _ in DEMO_ROUTES}) == DEMO_ROUTES
    under_demo = {route for route in routes(demo_app) if route[0].startswith("/_demo")}
    assert under_demo == {route for route in DEMO_ROUTES if route[0].startswith("/_demo")}


def test_with_demo_controls_the_demo_routes_answer(demo):
    assert demo.get("/_demo/outbox").status_code == 200
    assert demo.get("/_demo/outbox.json").json == {"messages": []}
    assert demo.get("/_demo/forge").status_code == 200
    assert len(demo.get("/_demo/forge/variants").json["variants"]) > 1
    assert demo.post("/_demo/forge", json={}).json["error"] == "invalid_request"
    assert demo.post("/_demo/rotate-keys").status_code == 200
    # Client registration answers in the OAuth JSON dialect outside the oidc blueprint too.
    response = demo.post("/oauth2/default/v1/clients", json={"redirect_uris": "x"})
    assert (response.status_code, response.json["error"]) == (400, "invalid_redirect_uri")
    assert response.headers["Cache-Control"] == "no-store"
