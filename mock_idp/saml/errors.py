"""Typed SAML errors, each carrying its top-level status code (SAML Core §3.2.2.2).

Before the SP and its ACS URL are verified, an error is a page for the user, never a POST to an
address the request named.
"""

from __future__ import annotations

from typing import ClassVar

from flask import render_template

STATUS_PREFIX = "urn:oasis:names:tc:SAML:2.0:status:"


class SamlError(Exception):
    """Base: `status` is the SAML status code, `description` the short text shown."""

    status: ClassVar[str] = STATUS_PREFIX + "Responder"
    http_status: ClassVar[int] = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class SamlRequestError(SamlError):
    """The request is malformed, unsafe, too large, or from an unknown SP or ACS URL."""

    status = STATUS_PREFIX + "Requester"


class UnknownServiceProviderError(SamlRequestError):
    """No SP is registered under this entity id."""

    http_status = 404


def render_html(err: SamlError) -> tuple[str, int]:
    """The browser page for a SAML request that cannot continue."""
    return render_template("saml/error.html", error=err), err.http_status
