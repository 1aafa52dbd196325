"""Request parameter rules shared by the endpoints (RFC 6749 §3.1, §3.2)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from mock_idp.oidc.errors import InvalidRequestError


def single_valued(params: MultiDict[str, str]) -> dict[str, str]:
    """The parameters as a plain dict; "MUST NOT be included more than once" is enforced."""
    repeated = sorted(name for name, values in params.lists() if len(values) > 1)
    if repeated:
        raise InvalidRequestError(f"Repeated parameter: {', '.join(repeated)}.")
    # §3.1: parameters sent without a value are treated as if omitted.
    return {name: value for name, value in params.items() if value != ""}
