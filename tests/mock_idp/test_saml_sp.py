"""SAML SP registrations seeded from speakers.toml."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from mock_idp.models import db
from mock_idp.saml import sp as registry
from mock_idp.saml.sp import ServiceProvider


def test_demo_portal_sp_is_seeded_from_the_configured_portal_url(app):
    with app.app_context():
        sp = registry.get("http://127.0.0.1:8000/saml/metadata")
        assert sp.name == "Speaker Portal"
        assert sp.acs_urls == ["http://127.0.0.1:8000/saml/acs"]
        assert sp.slo_url == "http://127.0.0.1:8000/saml/slo"
        assert (sp.sign_response, sp.sign_assertion) == (True, True)
        assert sp.nameid_format_uri == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        assert sp.certificate is None
        assert sp.exchange_audience == "http://127.0.0.1:8002"
        assert sp.exchange_recipient == "http://127.0.0.1:8002/services/oauth2/token"


def test_seeding_twice_adds_and_changes_nothing(app):
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceProvider)) == 1
        assert not db.session.dirty


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"nameid_format": "transient"}, "nameid_format must be one of"),
        ({"sign_response": False, "sign_assertion": False}, "sign the Response"),
        ({"exchange_audience": "{SF_URL}"}, "exchange_audience and exchange_recipient together"),
    ],
)
def test_invalid_registrations_are_refused(app, entry, message):
    base = {"entity_id": "urn:sp", "name": "SP", "acs_urls": ["http://127.0.0.1:9/acs"]}
    with app.app_context(), pytest.raises(ValueError, match=message):
        registry.seed([{**base, **entry}], app.config)


def test_acs_url_must_match_verbatim(app):
    with app.app_context():
        sp = registry.get("http://127.0.0.1:8000/saml/metadata")
        assert registry.acs_url(sp, None) == "http://127.0.0.1:8000/saml/acs"
        with pytest.raises(registry.SamlRequestError):
            registry.acs_url(sp, "http://127.0.0.1:8000/saml/acs/")
