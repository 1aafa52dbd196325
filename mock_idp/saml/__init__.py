"""SAML 2.0 IdP front-end over the same user directory and IdP session as OIDC."""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import url_for

from mock_idp.saml import credential
from mock_idp.saml import errors
from mock_idp.saml import metadata
from mock_idp.saml import slo
from mock_idp.saml import sso

METADATA_PATH = "/saml/metadata"


def idp_metadata() -> Response:
    """GET /saml/metadata: the EntityDescriptor, URLs from config (never the request Host)."""
    base = current_app.config["IDP_URL"]
    endpoints = metadata.Endpoints(
        sso_redirect=base + url_for("saml.sso_redirect"),
        sso_post=base + url_for("saml.sso_post"),
        slo_redirect=base + url_for("saml.slo_redirect"),
        slo_post=base + url_for("saml.slo_post"),
    )
    cert = credential.signing_credential().cert_base64
    body = metadata.entity_descriptor(
        current_app.config["SAML_ENTITY_ID"],
        cert,
        endpoints,
        want_requests_signed=bool(current_app.config["SAML_WANT_REQUESTS_SIGNED"]),
    )
    return Response(body, mimetype="application/samlmetadata+xml")


bp = Blueprint("saml", __name__, url_prefix="/saml")
bp.add_url_rule("/metadata", view_func=idp_metadata)
bp.add_url_rule("/sso/redirect", endpoint="sso_redirect", view_func=sso.redirect_binding)
bp.add_url_rule("/sso/post", endpoint="sso_post", view_func=sso.post_binding, methods=["POST"])
bp.add_url_rule("/sso/resume", endpoint="sso_resume", view_func=sso.resume)
bp.add_url_rule("/idp-init", endpoint="idp_init", view_func=sso.idp_initiated)
bp.add_url_rule("/slo/redirect", endpoint="slo_redirect", view_func=slo.redirect_binding)
bp.add_url_rule("/slo/post", endpoint="slo_post", view_func=slo.post_binding, methods=["POST"])
bp.add_url_rule("/slo/resume", endpoint="slo_resume", view_func=slo.resume)
bp.add_url_rule("/logout", endpoint="logout", view_func=slo.idp_initiated, methods=["POST"])
bp.register_error_handler(errors.SamlError, errors.render_html)


def init_app(app: Flask) -> None:
    """Derive the entity id and load the signing certificate once."""
    app.config.setdefault("SAML_ENTITY_ID", app.config["IDP_URL"] + METADATA_PATH)
    credential.init_app(app)
    app.before_request(slo.end_logged_out_session)
