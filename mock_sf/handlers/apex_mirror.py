"""The Apex handler people deploy (salesforce/.../SpeakerTokenHandler.cls), mirrored step by step.

Each ``# step: <name>`` below has a ``// step: <name>`` twin in the Apex class, in the same order
(tests/mock_sf/test_apex_mirror.py keeps them in step). Where the Apex calls the platform, this
mirror calls the mock's piece for it: the JWKS callout and ``Auth.JWTUtil`` signature check ->
the JWKS cache and PyJWS; the ``Seen_Jti__c`` insert -> ``remember_jti``; the UserInfo callout ->
``HandlerContext.fetch_userinfo``; ``insert`` -> ``HandlerContext.insert`` (as the Run As user);
``@future`` -> ``HandlerContext.future``.

Unlike the built-in handler, it inserts the speaker's Account and Contact itself, as Apex must,
and returns the User uninserted with only ContactId set; the platform inserts the User.
Register it as ``mock_sf.handlers.apex_mirror:SpeakerTokenHandler`` (Setup -> New handler).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import select

from mock_sf import profiles
from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.jwt import TrustedIssuer
from mock_sf.handlers.jwt import check_client
from mock_sf.handlers.jwt import check_lifetime
from mock_sf.handlers.jwt import check_typ
from mock_sf.handlers.jwt import remember_jti
from mock_sf.handlers.jwt import user_data_from_claims
from mock_sf.handlers.subjects import TokenRejected
from mock_sf.handlers.subjects import federation_identifier
from mock_sf.handlers.subjects import speaker_account_name
from mock_sf.handlers.subjects import speaker_alias
from mock_sf.handlers.subjects import speaker_names
from mock_sf.models import Account
from mock_sf.models import Contact
from mock_sf.models import PermissionSet
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db

# The Apex class's constants, by the same names.
SPEAKER_PROFILE = "Speaker Community User"  # the cloned external profile with API Enabled
PERMISSION_SET = "Speaker_API_Access"
HANDLED_TYPES = (TokenExchangeType.ACCESS_TOKEN, TokenExchangeType.ID_TOKEN, TokenExchangeType.JWT)
REQUIRED_CLAIMS = ("exp", "iss", "sub", "aud")

# The steps, in the order both files take them.
STEPS = (
    "token type",
    "parse header",
    "refuse unsigned",
    "trusted issuer",
    "pin alg",
    "check typ",
    "require kid",
    "find key by kid",
    "verify signature",
    "require claims",
    "check issued at",
    "check not before",
    "check expiry",
    "check lifetime",
    "check audience",
    "check client",
    "check subject",
    "profile from userinfo",
    "replay guard",
    "find by federation id",
    "require email",
    "require verified email",
    "create account",
    "create contact",
    "new user",
    "assign permission set",
)


@dataclass
class Verified:
    """What ``validateIncomingToken`` hands on in ``TokenValidationResult.data``."""

    claims: dict[str, Any]
    profile: dict[str, Any]  # claims, plus UserInfo for an access token of a new speaker


class SpeakerTokenHandler(TokenExchangeHandler):
    """Python twin of the Apex ``SpeakerTokenHandler extends Auth.Oauth2TokenExchangeHandler``."""

    def validate_incoming_token(
        self,
        app_developer_name: str,
        app_type: IntegratingAppType,
        incoming_token: str,
        token_type: TokenExchangeType,
    ) -> TokenValidationResult:
        """Apex ``validateIncomingToken``: every check; a refusal names the failed one."""
        try:
            issuer, claims = self._verify_signature(incoming_token, token_type)
            self._check_claims(claims, issuer, token_type)
            verified = self._profile_and_replay_guard(claims, issuer, incoming_token, token_type)
        except TokenRejected as exc:
            # Apex: new Auth.TokenValidationResult(false) (the reason goes to System.debug).
            return TokenValidationResult(
                False, token=incoming_token, token_type=token_type, reason=str(exc), check=exc.check
            )
        return TokenValidationResult(
            True,
            data=verified,
            user_data=user_data_from_claims(verified.profile),
            token=incoming_token,
            token_type=token_type,
        )

    def _verify_signature(
        self, token: str, token_type: TokenExchangeType
    ) -> tuple[TrustedIssuer, dict[str, Any]]:
        """The header checks, then the signature with the issuer's key for the token's kid."""
        # step: token type
        if token_type not in HANDLED_TYPES:
            raise TokenRejected(f"token type {token_type.name} is not a JWT", "token_type")
        # step: parse header
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"malformed JWT: {exc}") from exc
        # step: refuse unsigned
        alg = header.get("alg")
        if str(alg).lower() == "none":
            raise TokenRejected("unsigned JWT: alg 'none'", "jws_required")
        # step: trusted issuer
        issuer = self._issuer(unverified.get("iss"))
        # step: pin alg
        if alg not in issuer.algorithms:
            raise TokenRejected(f"alg not allowed: {alg!r}", "alg_allowlist")
        # step: check typ
        check_typ(header, token_type)
        # step: require kid
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("kid header missing", "kid")
        # step: find key by kid
        key = self.context.jwks.get_key(issuer.jwks_uri, kid)
        if key is None:
            raise TokenRejected(self.context.jwks.unknown_kid_reason(issuer.jwks_uri, kid), "kid")
        # step: verify signature
        try:
            payload = jwt.PyJWS().decode(token, key=key, algorithms=list(issuer.algorithms))
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"{type(exc).__name__}: {exc}", "signature") from exc
        return issuer, json.loads(payload)

    def _issuer(self, iss: Any) -> TrustedIssuer:
        """The Speaker_Token_Exchange__mdt record for this exact issuer (TRUSTED_ISSUERS)."""
        for entry in self.context.config["TRUSTED_ISSUERS"]:
            if entry["issuer"] == iss:
                return TrustedIssuer.from_config(entry)
        raise TokenRejected(f"untrusted issuer: {iss!r}", "issuer")

    def _check_claims(
        self, claims: dict[str, Any], issuer: TrustedIssuer, token_type: TokenExchangeType
    ) -> None:
        skew = self.context.config["JWT_LEEWAY"]
        now = time.time()
        # step: require claims
        for name in REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise TokenRejected(f"claim {name!r} missing", f"{name}_required")
        # step: check issued at
        iat = claims.get("iat")
        if iat is not None:
            if not is_number(iat):
                raise TokenRejected("iat is not a number", "issued_at")
            if iat > now + skew:
                raise TokenRejected("iat is in the future", "issued_at")
        # step: check not before
        nbf = claims.get("nbf")
        if nbf is not None:
            if not is_number(nbf):
                raise TokenRejected("nbf is not a number")
            if nbf > now + skew:
                raise TokenRejected("token not yet valid (nbf)", "not_before")
        # step: check expiry
        exp = claims["exp"]
        if not is_number(exp):
            raise TokenRejected("exp is not a number")
        if exp <= now - skew:
            raise TokenRejected("token expired (exp)", "expiry")
        # step: check lifetime
        check_lifetime(exp - now, self.context.config["MAX_SUBJECT_TOKEN_LIFETIME"], "exp")
        if claims["iss"] != issuer.issuer:  # the record was found by this exact string
            raise TokenRejected(f"untrusted issuer: {claims['iss']!r}", "issuer")
        # step: check audience
        audiences = issuer.audiences(token_type)
        aud = claims["aud"]
        presented = [aud] if isinstance(aud, str) else aud
        if not isinstance(presented, list) or not all(isinstance(a, str) for a in presented):
            raise TokenRejected(f"aud is not a string or list of strings: {aud!r}", "audience")
        if not set(presented) & set(audiences):
            raise TokenRejected(
                f"aud mismatch: expected {' or '.join(audiences)}, got {aud!r}", "audience"
            )
        # step: check client
        check_client(issuer, claims, token_type)
        # step: check subject
        if not isinstance(claims["sub"], str):
            raise TokenRejected("sub is not a string")
        if "jti" in claims and not isinstance(claims["jti"], str):
            raise TokenRejected("jti is not a string")

    def _profile_and_replay_guard(
        self,
        claims: dict[str, Any],
        issuer: TrustedIssuer,
        token: str,
        token_type: TokenExchangeType,
    ) -> Verified:
        """UserInfo for a new speaker's access token (a callout: before any DML), then the jti."""
        # step: profile from userinfo
        profile = claims
        if token_type is TokenExchangeType.ACCESS_TOKEN and not claims.get("email"):
            fed_id = federation_identifier(claims["iss"], claims["sub"])
            if find_by_federation_id(fed_id) is None:  # only a new speaker needs a profile
                profile = self._with_userinfo(claims, issuer, token)
        # step: replay guard
        self._replay_guard(issuer, claims, token_type)
        return Verified(claims=claims, profile=profile)

    def _with_userinfo(
        self, claims: dict[str, Any], issuer: TrustedIssuer, token: str
    ) -> dict[str, Any]:
        """Claims plus UserInfo (a callout made before any DML, as Apex requires)."""
        endpoint = issuer.userinfo_endpoint or f"{issuer.issuer}/v1/userinfo"
        try:
            userinfo = self.context.fetch_userinfo(endpoint, token)
        except Exception as exc:  # Apex: CalloutException; the claims alone then
            self.context.logger.warning("userinfo callout failed: %s", exc)
            return claims
        if userinfo.get("sub") != claims["sub"]:
            self.context.logger.warning("userinfo sub %r != token sub", userinfo.get("sub"))
            return claims
        return {**userinfo, **claims}

    def _replay_guard(
        self, issuer: TrustedIssuer, claims: dict[str, Any], token_type: TokenExchangeType
    ) -> None:
        """Apex: insert Seen_Jti__c(Key__c = iss|jti), unique; a DUPLICATE_VALUE is a replay."""
        jti = claims.get("jti")
        if jti is None:
            if token_type is TokenExchangeType.ACCESS_TOKEN:  # RFC 9068 §2.2: jti REQUIRED
                raise TokenRejected("jti claim missing", "jti_required")
            return
        expires_at = claims["exp"] + self.context.config["JWT_LEEWAY"]
        expires = datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)
        if not remember_jti(issuer.issuer, jti, expires):
            raise TokenRejected(f"jti replayed: {jti!r}", "replay")

    def get_user_for_token_subject(
        self,
        network_id: str | None,
        result: TokenValidationResult,
        can_create_user: bool,
        app_developer_name: str,
        app_type: IntegratingAppType,
    ) -> User | None:
        """Apex ``getUserForTokenSubject``: the linked user, else a new speaker, inserted as Apex
        must: Account, then Contact, then an uninserted User with ContactId."""
        verified: Verified = result.data
        # step: find by federation id
        fed_id = federation_identifier(verified.claims["iss"], verified.claims["sub"])
        user = find_by_federation_id(fed_id)
        if user is not None or not can_create_user:
            return user
        # step: require email
        profile = verified.profile
        email = profile.get("email")
        if not email:
            self.context.logger.warning("cannot create a user for %s: no email claim", fed_id)
            return None
        # step: require verified email
        if str(profile.get("email_verified", "")).lower() == "false":
            self.context.logger.warning(
                "cannot create a user for %s: email_verified is false", fed_id
            )
            return None
        first, last, full = speaker_names(profile)
        # step: create account
        account = self.context.insert(Account(name=speaker_account_name(profile, full)))
        # step: create contact
        contact = self.context.insert(
            Contact(first_name=first, last_name=last, email=email, account_id=account.id)
        )
        # step: new user
        speaker_profile = db.session.scalar(select(Profile).where(Profile.name == SPEAKER_PROFILE))
        user = User(
            username=email,
            email=email,
            first_name=first,
            last_name=last,
            alias=speaker_alias(first, last),
            locale="en_US",
            user_type="CspLitePortal",  # set by Salesforce from the profile's license
            is_active=True,
            federation_identifier=fed_id,
            contact_id=contact.id,
            # Mock only: without the cloned profile the handler record's or JIT_PROFILE applies;
            # the Apex class fails instead (ProfileId is required).
            profile_id=speaker_profile.id if speaker_profile else None,
        )
        # step: assign permission set
        logger = self.context.logger
        self.context.future(lambda: assign_permission_set(fed_id, PERMISSION_SET, logger))
        return user


def is_number(value: Any) -> bool:
    """A JSON number (Apex: Decimal or Integer from JSON.deserializeUntyped), not a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def find_by_federation_id(fed_id: str) -> User | None:
    """SELECT Id FROM User WHERE FederationIdentifier = :fedId."""
    return db.session.scalar(select(User).where(User.federation_identifier == fed_id))


def assign_permission_set(fed_id: str, name: str, logger: Any) -> None:
    """The Apex ``@future`` method: after the user is committed, assign the permission set
    (a setup object: mixed DML with the User insert is not allowed in one transaction)."""
    user = find_by_federation_id(fed_id)
    if user is None:
        raise LookupError(f"no user with FederationIdentifier {fed_id!r} to assign {name} to")
    permission_set = db.session.scalar(select(PermissionSet).where(PermissionSet.name == name))
    if permission_set is None:
        raise LookupError(f"no permission set named {name!r}")
    profiles.assign_permission_set(user, permission_set)
    logger.info("@future: permission set %s for %s (%s)", name, user.username, user.id)
