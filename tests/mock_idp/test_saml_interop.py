"""Interop: pysaml2, an independent SP library (xmlsec1 verifies the signatures), sends its own
AuthnRequest and accepts the IdP's Response, configured only from the IdP's metadata."""

from __future__ import annotations

import base64
import os
import re
import shutil
from html import unescape

import pytest

from mock_idp.models import db
from mock_idp.saml import sp as registry

saml2 = pytest.importorskip("saml2")
from saml2 import BINDING_HTTP_POST  # noqa: E402
from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402

PORTAL_URL = "http://127.0.0.1:8000"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
ACS = f"{PORTAL_URL}/saml/acs"
IDP_ENTITY = "http://127.0.0.1:8001/saml/metadata"

# CI installs xmlsec1 (make system-deps), so there a missing binary is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    shutil.which("xmlsec1") is None and not os.environ.get("CI"), reason="needs Debian's xmlsec1"
)


def sp_client(idp_metadata: str, allow_unsolicited: bool = False) -> Saml2Client:
    config = SPConfig()
    config.load(
        {
            "entityid": SP_ENTITY,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "metadata": {"inline": [idp_metadata]},
            "allow_unknown_attributes": True,  # speakerId, talks: not in pysaml2's basic map
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(ACS, BINDING_HTTP_POST)]},
                    "want_response_signed": True,
                    "want_assertions_signed": True,
                    "authn_requests_signed": False,
                    "allow_unsolicited": allow_unsolicited,
                    "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                }
            },
        }
    )
    return Saml2Client(config)


@pytest.fixture
def plain_portal(app):
    """The portal registered without the exchange audience and recipient (a plain SP)."""
    entry = {
        "entity_id": SP_ENTITY,
        "name": "Speaker Portal",
        "acs_urls": [ACS],
        "nameid_format": "persistent",
    }
    with app.app_context():
        registry.seed([entry], app.config)
        db.session.commit()


def saml_response(html: str) -> str:
    return unescape(re.search(r'name="SAMLResponse" value="([^"]+)"', html).group(1))


@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_pysaml2_sp_accepts_the_response(client, flow, plain_portal, binding):
    sp = sp_client(client.get("/saml/metadata").text)
    request_id, info = sp.prepare_for_authenticate(
        entityid=IDP_ENTITY, relay_state="rs-1", binding=binding
    )
    flow.login("ada@speakers.example", "ada-demo")
    if binding == BINDING_HTTP_REDIRECT:
        location = dict(info["headers"])["Location"]
        response = client.get(location.removeprefix("http://127.0.0.1:8001"))
    else:
        html = info["data"]
        fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', html))
        response = client.post("/saml/sso/post", data={k: unescape(v) for k, v in fields.items()})
    assert response.status_code == 200, response.text
    authn = sp.parse_authn_request_response(
        saml_response(response.text), BINDING_HTTP_POST, outstanding={request_id: "/"}
    )
    assert authn is not None
    assert authn.name_id.text == "00u1ada1demo1speaker"
    assert authn.in_response_to == request_id
    identity = authn.get_identity()
    assert identity["speakerId"] == ["SPK-1815"]
    assert identity["company"] == ["Analytical Engines Ltd"]


def test_pysaml2_accepts_idp_initiated_only_when_unsolicited_is_allowed(client, flow):
    metadata = client.get("/saml/metadata").text
    flow.login("grace@speakers.example", "grace-demo")
    html = client.get("/saml/idp-init", query_string={"sp": SP_ENTITY}).text
    authn = sp_client(metadata, allow_unsolicited=True).parse_authn_request_response(
        saml_response(html), BINDING_HTTP_POST
    )
    assert authn.name_id.text == "00u1grace1demo1spkr0"
    with pytest.raises(Exception, match="[Uu]nsolicited"):
        sp_client(metadata).parse_authn_request_response(saml_response(html), BINDING_HTTP_POST)


def test_pysaml2_rejects_a_response_with_a_changed_name_id(client, flow, plain_portal):
    sp = sp_client(client.get("/saml/metadata").text)
    request_id, info = sp.prepare_for_authenticate(
        entityid=IDP_ENTITY, binding=BINDING_HTTP_REDIRECT
    )
    flow.login("ada@speakers.example", "ada-demo")
    location = dict(info["headers"])["Location"]
    html = client.get(location.removeprefix("http://127.0.0.1:8001")).text
    xml = base64.b64decode(saml_response(html)).replace(
        b">00u1ada1demo1speaker</saml:NameID>", b">00u1grace1demo1spkr0</saml:NameID>"
    )
    with pytest.raises(Exception, match="[Ss]ignature"):
        sp.parse_authn_request_response(
            base64.b64encode(xml).decode(), BINDING_HTTP_POST, outstanding={request_id: "/"}
        )


def test_pysaml2_wants_in_response_to_on_every_confirmation_so_the_exchange_shape_needs_care(
    client, flow
):
    """With the exchange audience and recipient, pysaml2 verifies the signature, both audiences
    and the time window, but it wants InResponseTo on EVERY bearer confirmation (stricter than
    SAML Core §2.4.1.2, where any one confirms); the exchange confirmation has none by design
    (RFC 7522 §3). So the portal checks InResponseTo and Recipient itself (portal/saml_sp.py)."""
    sp = sp_client(client.get("/saml/metadata").text)
    request_id, info = sp.prepare_for_authenticate(
        entityid=IDP_ENTITY, binding=BINDING_HTTP_REDIRECT
    )
    flow.login("ada@speakers.example", "ada-demo")
    html = client.get(dict(info["headers"])["Location"].removeprefix("http://127.0.0.1:8001")).text
    with pytest.raises(saml2.response.UnsolicitedResponse):
        sp.parse_authn_request_response(
            saml_response(html), BINDING_HTTP_POST, outstanding={request_id: "/"}
        )
    authn = sp_client(client.get("/saml/metadata").text, allow_unsolicited=True)
    authn = authn.parse_authn_request_response(saml_response(html), BINDING_HTTP_POST)
    assert authn.in_response_to == request_id
    assert authn.name_id.text == "00u1ada1demo1speaker"
    confirmations = authn.assertion.subject.subject_confirmation
    assert [
        (c.subject_confirmation_data.recipient, c.subject_confirmation_data.in_response_to)
        for c in confirmations
    ] == [
        (ACS, request_id),
        ("http://127.0.0.1:8002/services/oauth2/token", None),
    ]
    (restriction,) = authn.assertion.conditions.audience_restriction
    assert [a.text for a in restriction.audience] == [SP_ENTITY, "http://127.0.0.1:8002"]
