"""The class behind the demo's one handler record (SpeakerTokenHandler): it routes each subject
token to the built-in handler for its kind, so one record can support all five token types.

Routing: ``SAML_2`` -> SAML; ``REFRESH_TOKEN`` -> introspection; ``ACCESS_TOKEN`` -> the JWT
handler when the token has the compact JWS/JWE shape, else introspection (opaque); ``ID_TOKEN``
and ``JWT`` -> the JWT handler. The shape only chooses the verifier; each verifier still checks
everything, so a forged shape gains nothing.
"""

from __future__ import annotations

import re

from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.introspection import IntrospectionTokenExchangeHandler
from mock_sf.handlers.jwt import JwtTokenExchangeHandler
from mock_sf.handlers.saml import SamlTokenExchangeHandler
from mock_sf.models import User

_SEGMENT = r"[A-Za-z0-9_-]*"
# RFC 7515 §7.1 (3 segments) and RFC 7516 §7.1 (5 segments) compact serializations.
COMPACT_JOSE = re.compile(rf"{_SEGMENT}(\.{_SEGMENT}){{2}}|{_SEGMENT}(\.{_SEGMENT}){{4}}")


def looks_like_jwt(token: str) -> bool:
    """True for a compact JWS or JWE; opaque tokens carry no dots in that shape."""
    return COMPACT_JOSE.fullmatch(token) is not None


class BuiltInTokenExchangeHandler(TokenExchangeHandler):
    """Dispatches to the JWT, introspection or SAML handler by token type and shape."""

    def delegate(self, token: str, token_type: TokenExchangeType) -> TokenExchangeHandler:
        """The built-in handler for this token."""
        if token_type is TokenExchangeType.SAML_2:
            return SamlTokenExchangeHandler(self.context)
        if token_type is TokenExchangeType.REFRESH_TOKEN or (
            token_type is TokenExchangeType.ACCESS_TOKEN and not looks_like_jwt(token)
        ):
            return IntrospectionTokenExchangeHandler(self.context)
        return JwtTokenExchangeHandler(self.context)

    def validate_incoming_token(
        self,
        app_developer_name: str,
        app_type: IntegratingAppType,
        incoming_token: str,
        token_type: TokenExchangeType,
    ) -> TokenValidationResult:
        """Validate with the handler for this token's kind."""
        return self.delegate(incoming_token, token_type).validate_incoming_token(
            app_developer_name, app_type, incoming_token, token_type
        )

    def get_user_for_token_subject(
        self,
        network_id: str | None,
        result: TokenValidationResult,
        can_create_user: bool,
        app_developer_name: str,
        app_type: IntegratingAppType,
    ) -> User | None:
        """Map with the same handler that validated (the routing is deterministic)."""
        assert result.token is not None and result.token_type is not None
        return self.delegate(result.token, result.token_type).get_user_for_token_subject(
            network_id, result, can_create_user, app_developer_name, app_type
        )
