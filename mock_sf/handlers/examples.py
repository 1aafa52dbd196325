"""An example custom handler: what a user writes and registers by configuration.

``EmailDomainJwtHandler`` accepts only JWTs that the built-in JWT checks accept (trusted issuer,
signature, ``aud``, ``exp``, ``typ``, ``jti``...) AND whose subject's email ends with
``@<ALLOWED_EMAIL_DOMAIN>``. It inherits every check and the user mapping from
``JwtTokenExchangeHandler`` and adds one rule (and the address must be verified:
``email_verified`` true, or a domain proves nothing). Register it with, for example::

    SF_TOKEN_EXCHANGE_HANDLERS='[{"developer_name": "SpeakerDomainHandler",
      "class": "mock_sf.handlers.examples:EmailDomainJwtHandler",
      "token_types": ["access_token", "id_token", "jwt"], "user_creation_allowed": true,
      "apps": [{"app": "SpeakerPortal", "run_as": "integration@sf.example"}]}]'
"""

from __future__ import annotations

from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.jwt import JwtTokenExchangeHandler

DOMAIN_NOT_ALLOWED = "email domain not allowed"


class EmailDomainJwtHandler(JwtTokenExchangeHandler):
    """The built-in JWT checks, then: the subject's email is in the allowed domain."""

    def validate_incoming_token(
        self,
        app_developer_name: str,
        app_type: IntegratingAppType,
        incoming_token: str,
        token_type: TokenExchangeType,
    ) -> TokenValidationResult:
        """Signature and claims by the built-in checks; then the email's domain."""
        result = super().validate_incoming_token(
            app_developer_name, app_type, incoming_token, token_type
        )
        if not result.is_valid:
            return result
        # An access token carries no email: the built-in handler's UserInfo look-up supplies it.
        profile = self._profile(result.data, result)
        email = str(profile.get("email") or "")
        domain = self.context.config["ALLOWED_EMAIL_DOMAIN"].lower()
        # A domain proves nothing about an address nobody confirmed (anyone can type it).
        if profile.get("email_verified") is not True:
            return TokenValidationResult(
                False,
                token=incoming_token,
                token_type=token_type,
                custom_error_msg=DOMAIN_NOT_ALLOWED,
                reason=f"email {email or '(none)'!r} is not verified (email_verified is not true)",
                check="email_verified",
            )
        if not email.lower().endswith(f"@{domain}"):
            return TokenValidationResult(
                False,
                token=incoming_token,
                token_type=token_type,
                custom_error_msg=DOMAIN_NOT_ALLOWED,  # Apex: sent to the client as is
                reason=f"email {email or '(none)'!r} is not in @{domain}",
                check="email_domain",
            )
        return result
