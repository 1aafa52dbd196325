"""The platform's schedule API, which takes the IdP's access token as it is, and the page using it.

Salesforce wants the IdP's token exchanged for one of its own (RFC 8693); the platform's other
services do not. This API is one of them: an OAuth 2.0 resource server (RFC 6750) that verifies
the IdP's JWT access tokens itself (RFC 9068 §4): RS256 only, a key of the trusted issuer's JWKS
chosen by `kid`, `typ` at+jwt, `iss`, `aud`, `exp`, and the `schedule.read` scope. The page calls
it over HTTP with the login's access token, as it would call a service that lived elsewhere.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
import tomllib
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jwt
import requests
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request
from flask_login import current_user
from flask_login import login_required
from jwt.exceptions import InvalidKeyError
from jwt.exceptions import PyJWKError

from .idp import access_token

log = logging.getLogger(__name__)

api = Blueprint("schedule_api", __name__, url_prefix="/api")
bp = Blueprint("schedule", __name__)

REALM = "schedule"
SCOPE = "schedule.read"
# RFC 9068 §4; media types compare case-insensitively.
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
SEED_FILE = Path(__file__).with_name("schedule.toml")
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
# RFC 6750 §3: what an error_description may hold (printable ASCII but " and \).
HEADER_SAFE = {chr(c) for c in range(0x20, 0x7F)} - {'"', "\\"}


# -- Errors: each carries its wire code; one renderer (_refused) writes them (RFC 6750 §3) --


class ResourceError(Exception):
    """A refusal of the schedule API; subclasses set the HTTP status and the wire code."""

    status = 401
    error: str | None = None

    def __init__(self, description: str = "", reason: str | None = None) -> None:
        super().__init__(reason or description)
        self.description = description  # for the client
        self.reason = reason or description  # for the log only

    def challenge(self) -> str | None:
        """The WWW-Authenticate header's value, or None."""
        params = {"realm": REALM, "error": self.error, "error_description": self.description}
        return "Bearer " + ", ".join(
            f'{name}="{header_safe(value)}"' for name, value in params.items() if value
        )

    def body(self) -> dict[str, str] | None:
        """The JSON body, or None."""
        return {"error": self.error, "error_description": self.description} if self.error else None


class MissingToken(ResourceError):
    """No bearer token: RFC 6750 §3.1 says to give no error code then, only the challenge."""


class InvalidRequest(ResourceError):
    """A malformed Authorization header (RFC 6750 §3.1)."""

    status = 400
    error = "invalid_request"


class InvalidToken(ResourceError):
    """The token is not a valid access token of the trusted issuer for this API (RFC 6750 §3.1)."""

    error = "invalid_token"


class InsufficientScope(ResourceError):
    """A valid token without the scope this API needs (RFC 6750 §3.1)."""

    status = 403
    error = "insufficient_scope"

    def challenge(self) -> str | None:
        return f'{super().challenge()}, scope="{SCOPE}"'


class KeysUnavailable(ResourceError):
    """The IdP's keys could not be fetched: no token can be checked, so none is accepted."""

    status = 503
    error = "temporarily_unavailable"

    def challenge(self) -> str | None:
        return None  # the token may be fine: nothing to ask of the client


def header_safe(text: str) -> str:
    """`text` with what may not appear in a quoted header parameter dropped."""
    return "".join(char for char in text if char in HEADER_SAFE)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1), the only place we read."""
    if not authorization:
        raise MissingToken()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken(reason=f"{scheme} authorization")  # another scheme: no bearer token
    token = token.strip()
    if not B64TOKEN.fullmatch(token):
        raise InvalidRequest("The Authorization header must be: Bearer <access token>.")
    return token


# -- The resource server: the issuer's keys, and the checks on an access token --


class JwksCache:
    """The trusted issuer's signing keys (discovery, then jwks_uri), cached; thread-safe."""

    def __init__(
        self,
        issuer: str,
        http: requests.Session,
        *,
        timeout: float,
        algorithm: str = "RS256",
        ttl: float = 300,
        cooldown: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.http = http
        self.timeout = timeout
        self.algorithm = algorithm
        self.ttl = ttl
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf

    def key(self, kid: str) -> jwt.PyJWK:
        """The issuer's key named `kid`: InvalidToken if it has none, KeysUnavailable if unknown."""
        # One fetch at a time; the others wait for its keys rather than fetch them again.
        with self._lock:
            now = self.clock()
            if self._keys is None or now - self._fetched_at >= self.ttl:
                self._refresh(now)
            elif kid not in self._keys and now - self._attempted_at >= self.cooldown:
                # Keys rotate, so an unknown kid may be a new key; the cooldown keeps tokens
                # with made-up kids from making us hammer the IdP.
                self._refresh(now)
            key = self._keys.get(kid) if self._keys is not None else None
        if key is None:
            raise InvalidToken("The access token is signed by an unknown key.", f"kid {kid!r}")
        return key

    def _refresh(self, now: float) -> None:
        """Fetch the keys again; on failure keep none in use (fail closed)."""
        self._attempted_at = now
        try:
            keys = self._usable(self._get(self._discover()))
        except (requests.RequestException, ValueError) as exc:
            raise KeysUnavailable(
                "The identity provider's keys are unavailable; try again later.",
                f"JWKS of {self.issuer}: {exc}",
            ) from exc
        self._keys, self._fetched_at = keys, now

    def _discover(self) -> str:
        """The jwks_uri of the issuer's discovery document (OIDC Discovery §4), kept once found."""
        if self._jwks_uri is None:
            metadata = self._get(f"{self.issuer}/.well-known/openid-configuration")
            if metadata.get("issuer") != self.issuer:  # OIDC Discovery §4.3
                raise ValueError(f"discovery names issuer {metadata.get('issuer')!r}")
            if not isinstance(metadata.get("jwks_uri"), str):
                raise ValueError("discovery has no jwks_uri")
            self._jwks_uri = metadata["jwks_uri"]
        return self._jwks_uri

    def _get(self, url: str) -> dict[str, Any]:
        response = self.http.get(url, timeout=self.timeout, allow_redirects=False)
        if response.status_code != 200:
            raise ValueError(f"GET {url}: HTTP {response.status_code}")
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"GET {url}: not a JSON object")
        return document

    def _usable(self, jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
        """The signing keys for our one algorithm, by kid; others are skipped, never trusted."""
        if not isinstance(jwks.get("keys"), list):
            raise ValueError("the JWKS has no keys list")
        keys = {}
        for jwk in jwks["keys"]:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", self.algorithm) != self.algorithm:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=self.algorithm)
            except (PyJWKError, InvalidKeyError) as exc:
                log.warning("Skipping the IdP's key %r: %s", jwk["kid"], exc)
        return keys


class BearerTokenVerifier:
    """The checks of RFC 9068 §4 on a JWT access token, and the scope this API needs."""

    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("RS256",),
        scope: str = SCOPE,
        leeway: float = 60,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.scope = scope
        self.leeway = leeway

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it may read the schedule; a ResourceError saying why if not."""
        header = self._header(token)
        claims = self._claims(token, self.keys.key(header["kid"]))
        self._check_scope(claims)
        return claims

    def _header(self, token: str) -> dict[str, Any]:
        # jku, x5u and jwk header parameters are never read: keys come from the issuer's JWKS.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken("The access token is not a JWT.", str(exc)) from exc
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            # The ID token is signed by the same keys: only typ tells it apart (RFC 8725 §3.11).
            raise InvalidToken("The token is not an access token (typ at+jwt).", f"typ {typ!r}")
        # The allowed algorithms come from our settings; the header's alg is only checked.
        if header.get("alg") not in self.algorithms:
            raise InvalidToken(
                "The access token's signing algorithm is not accepted.",
                f"alg {header.get('alg')!r}",
            )
        if not isinstance(header.get("kid"), str):
            raise InvalidToken("The access token names no signing key (kid).")
        return header

    def _claims(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(claims_problem(exc), str(exc)) from exc
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidToken("The access token has no subject (sub).")
        return claims

    def _check_scope(self, claims: Mapping[str, Any]) -> None:
        granted = scopes_of(claims)
        if self.scope not in granted:
            raise InsufficientScope(
                f"The access token lacks the {self.scope} scope.", f"scopes {sorted(granted)}"
            )


CLAIMS_PROBLEMS: list[tuple[type[jwt.InvalidTokenError], str]] = [
    (jwt.ExpiredSignatureError, "The access token has expired."),
    (jwt.ImmatureSignatureError, "The access token is not valid yet."),
    (jwt.InvalidIssuerError, "The access token is not from the trusted issuer (iss)."),
    (jwt.InvalidAudienceError, "The access token is not meant for this API (aud)."),
    (jwt.InvalidSignatureError, "The access token's signature does not verify."),
]


def claims_problem(exc: jwt.InvalidTokenError) -> str:
    """A short error_description for what PyJWT refused."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"The access token lacks the {exc.claim} claim."
    for kind, description in CLAIMS_PROBLEMS:
        if isinstance(exc, kind):
            return description
    return "The access token is invalid."


def scopes_of(claims: Mapping[str, Any]) -> set[str]:
    """The granted scopes: Okta's `scp` (a JSON list) and RFC 9068's `scope` (space-separated)."""
    granted: set[str] = set()
    for value in (claims.get("scp"), claims.get("scope")):
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(name for name in value if isinstance(name, str))
    return granted


# -- The schedule service's data: talks per speaker, from a seed file --


@dataclass(frozen=True)
class Talk:
    """A talk on the schedule; its times carry the venue's UTC offset."""

    id: str
    title: str
    abstract: str
    room: str
    track: str
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Talk:
        """A talk from the seed file or the API's JSON; ValueError if it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError("a talk is an object")
        texts = {name: data.get(name) for name in ("id", "title", "abstract", "room", "track")}
        missing = [name for name, value in texts.items() if not isinstance(value, str)]
        if missing:
            raise ValueError(f"a talk needs {', '.join(missing)}")
        return cls(
            **texts, starts_at=moment(data.get("starts_at")), ends_at=moment(data.get("ends_at"))
        )

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "room": self.room,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "track": self.track,
        }

    def starts(self) -> str:
        """`Wed 12 May 2027, 10:00`, in the venue's time."""
        start = self.starts_at
        return f"{start:%a} {start.day} {start:%b %Y}, {start:%H:%M}"

    def ends(self) -> str:
        """`10:45`, or the date too when the talk ends on another day."""
        end = self.ends_at
        return (
            f"{end:%H:%M}"
            if end.date() == self.starts_at.date()
            else f"{end:%a} {end.day} {end:%b}, {end:%H:%M}"
        )

    def utc_offset(self) -> str:
        """`UTC+01:00`."""
        return "UTC" + self.starts_at.isoformat()[-6:]


def moment(value: Any) -> datetime:
    """An ISO 8601 date-time with its UTC offset (a TOML offset date-time is one already)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"not a date-time with a UTC offset: {value!r}")
    return value


@functools.cache
def load_talks(path: Path = SEED_FILE) -> Mapping[str, tuple[Talk, ...]]:
    """Each speaker's talks by start, keyed by IdP user id (`sub`); read once per process."""
    with path.open("rb") as file:
        seed = tomllib.load(file)
    return MappingProxyType(
        {
            sub: tuple(
                sorted(map(Talk.from_mapping, talks), key=lambda t: (t.starts_at, t.ends_at, t.id))
            )
            for sub, talks in seed.get("talks", {}).items()
        }
    )


# -- The page's side: a client of the API, as any service of the platform would be --


@dataclass(frozen=True)
class ScheduleProblem:
    """Why the page shows no talks: words for speakers, then the wire details for developers."""

    title: str
    message: str
    advice: str
    status: int | None = None  # the API's HTTP status; None when it did not answer
    code: str | None = None  # its OAuth error code
    detail: str | None = None  # its error_description and challenge, or the connection error


class ScheduleCallFailed(Exception):
    """The schedule API gave no talks to show: a refusal, no answer, or a malformed one."""

    def __init__(self, problem: ScheduleProblem) -> None:
        super().__init__(f"{problem.status} {problem.code}: {problem.detail}")
        self.problem = problem


AGAIN = (
    "Log out and log in again. If it keeps happening, tell the conference team what you see below."
)


def refused(status: int, code: str | None, detail: str | None) -> ScheduleProblem:
    """The speaker's words for the API's refusal (RFC 6750 §3.1 codes)."""
    if status == 403 or code == "insufficient_scope":
        return ScheduleProblem(
            "Your sign-in does not include the schedule",
            "The identity provider did not let the portal read the schedule for you "
            "(the schedule.read scope is missing).",
            AGAIN,
            status,
            code,
            detail,
        )
    if status in (400, 401):
        return ScheduleProblem(
            "The schedule service did not accept your sign-in",
            "It refused the access token the portal sent for you, so your talks cannot be shown.",
            AGAIN,
            status,
            code,
            detail,
        )
    return unavailable(status, code, detail)


def unavailable(status: int | None, code: str | None, detail: str | None) -> ScheduleProblem:
    return ScheduleProblem(
        "The schedule is unavailable",
        "The schedule service did not answer as it should, so your talks cannot be shown now.",
        "Please try again in a few minutes.",
        status,
        code,
        detail,
    )


class ScheduleClient:
    """Fetches a speaker's talks from the schedule API with their IdP access token, unexchanged."""

    def __init__(self, url: str, http: requests.Session, *, timeout: float) -> None:
        self.url = url
        self.http = http
        self.timeout = timeout

    def talks(self, token: str) -> list[Talk]:
        """The token's speaker's talks, by start; ScheduleCallFailed if there are none to show."""
        try:
            response = self.http.get(
                self.url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,  # the token goes to the configured URL only
            )
        except requests.RequestException as exc:
            raise ScheduleCallFailed(unavailable(None, None, f"GET {self.url}: {exc}")) from exc
        if response.status_code != 200:
            raise ScheduleCallFailed(refused(response.status_code, *wire_error(response)))
        try:
            return [Talk.from_mapping(talk) for talk in response.json()["talks"]]
        except (ValueError, KeyError, TypeError) as exc:
            problem = unavailable(200, None, f"Not a schedule: {exc}")
            raise ScheduleCallFailed(problem) from exc


def wire_error(response: requests.Response) -> tuple[str | None, str]:
    """The OAuth error code of a refusal, and what a developer wants to read about it."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    parts = [f"HTTP {response.status_code}", str(body.get("error_description") or "")]
    if "WWW-Authenticate" in response.headers:
        parts.append(f"WWW-Authenticate: {response.headers['WWW-Authenticate']}")
    return code, " · ".join(part for part in parts if part)


# -- Wiring and views --


class ScheduleService:
    """This app's schedule: its talks, its token verifier, and the page's client of the API."""

    talks: Mapping[str, tuple[Talk, ...]]
    verifier: BearerTokenVerifier
    client: ScheduleClient


service = ScheduleService()


def init_app(app: Flask) -> None:
    """Bind the schedule to this app from config; no network I/O (the keys come on first use)."""
    config = app.config
    issuer, timeout = config["IDP_ISSUER"], config["HTTP_TIMEOUT"]
    # The API's own session: its key fetches are the schedule service's, not the page's calls.
    keys = JwksCache(issuer, requests.Session(), timeout=timeout)
    audience = config.get("IDP_ACCESS_TOKEN_AUDIENCE") or "api://default"
    service.talks = load_talks()
    service.verifier = BearerTokenVerifier(keys, issuer=issuer, audience=audience)
    url = config.get("SCHEDULE_API_URL") or f"{config['PORTAL_URL']}/api/schedule"
    service.client = ScheduleClient(url, requests.Session(), timeout=timeout)


def schedule_http() -> requests.Session:
    """The session the page calls the API with (the flow inspector hooks its responses)."""
    return service.client.http


@api.get("/schedule")
def talks_api() -> dict[str, Any]:
    """The talks of the token's subject; the session cookie plays no part."""
    claims = service.verifier.verify(bearer_token(request.headers.get("Authorization")))
    talks = service.talks.get(claims["sub"], ())
    return {"speaker": {"sub": claims["sub"]}, "talks": [talk.to_json() for talk in talks]}


@api.errorhandler(ResourceError)
def _refused(exc: ResourceError) -> Response:
    log.info("The schedule API refused a request: %s %s", exc.status, exc.reason)
    body = exc.body()
    response = jsonify(body) if body else Response()
    response.status_code = exc.status
    if challenge := exc.challenge():
        response.headers["WWW-Authenticate"] = challenge
    return response


@api.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # per-token answers, and refusals
    return response


@bp.get("/schedule")
@login_required
def page() -> str:
    login = current_user._get_current_object()
    if getattr(login, "protocol", "oidc") == "saml":
        return render_template("schedule/page.html", saml=True)  # SAML gives no access token
    try:
        talks = service.client.talks(access_token(login))
    except ScheduleCallFailed as failed:
        return render_template("schedule/page.html", problem=failed.problem)
    return render_template("schedule/page.html", talks=talks)
