"""Request parameters of the OAuth endpoints: each at most once (RFC 6749 §3.2)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from mock_sf.oauth.errors import InvalidRequest


def single_valued(form: MultiDict[str, str]) -> dict[str, str]:
    """The form as a plain dict, or ``invalid_request`` naming a parameter sent twice.

    "Request and response parameters MUST NOT be included more than once": reading the first
    value would let two parts of a request disagree about, say, which subject token it carries.
    """
    for name, values in form.lists():
        if len(values) > 1:
            raise InvalidRequest(
                f"{name} is included more than once",
                reason=f"{name} sent {len(values)} times (RFC 6749 §3.2)",
            )
    return form.to_dict()
