"""The five scenarios: what each prepares outside the timed part, and the one request it times."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field

import requests

from bench.load import REQUEST_TIMEOUT
from bench.load import Call
from bench.load import new_session

ADA = "ada@speakers.example"
API_VERSION = "v66.0"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PORTAL_CONNECTED_APP = ("speaker-portal", "portal-sf-demo-secret")
SCHEDULE_SERVICE = ("schedule-service", "schedule-demo-secret")
CASES_QUERY = (
    "SELECT Id, CaseNumber, Subject, Status, Priority, CreatedDate FROM Case "
    "WHERE ContactId = '{contact_id}' ORDER BY CreatedDate DESC"
)
FORGE_THREADS = 4


class PrepareError(RuntimeError):
    """A scenario could not get its inputs; the message says why."""


@dataclass(frozen=True)
class Target:
    """The running stack under test."""

    idp_url: str
    sf_url: str
    portal_url: str | None = None

    @property
    def issuer(self) -> str:
        return f"{self.idp_url}/oauth2/default"


@dataclass(frozen=True)
class SalesforceLogin:
    """Ada's Salesforce session for the REST scenarios."""

    instance_url: str
    access_token: str
    contact_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def data_url(self, path: str) -> str:
        return f"{self.instance_url}/services/data/{API_VERSION}/{path}"


@dataclass(frozen=True)
class Scenario:
    """A named request to time; `prepare(count)` returns a Call good for `count` requests."""

    name: str
    what: str
    prepare: Callable[[int], Call]
    one_shot: bool = False  # each request uses up an input (a single-use token)


@dataclass
class Inputs:
    """Inputs shared by the scenarios of one run, made on first use (never inside a timed part)."""

    target: Target
    _login: SalesforceLogin | None = field(default=None, init=False)

    def forge_access_tokens(self, count: int) -> list[str]:
        """`count` fresh IdP access tokens for Ada from the IdP forge (each exchangeable once)."""
        url = f"{self.target.idp_url}/_demo/forge"
        body = {"kind": "access_token", "variant": "valid", "user": ADA}

        def mint(session: requests.Session, n: int) -> list[str]:
            out = []
            for _ in range(n):
                try:
                    response = session.post(url, json=body, timeout=REQUEST_TIMEOUT)
                except requests.RequestException as error:
                    raise PrepareError(f"the IdP forge at {url} is unreachable: {error}") from None
                if response.status_code != 200:
                    raise PrepareError(
                        f"the IdP forge at {url} answered {response.status_code} "
                        "(is the IdP running with IDP_DEMO_CONTROLS=1?)"
                    )
                try:
                    out.append(str(response.json()["token"]))
                except (KeyError, ValueError):
                    raise PrepareError(
                        f"the IdP forge answered no token: {response.text[:200]}"
                    ) from None
            return out

        threads = max(1, min(FORGE_THREADS, count))
        shares = [count // threads + (i < count % threads) for i in range(threads)]
        sessions = [new_session() for _ in shares]
        try:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                batches = list(pool.map(mint, sessions, shares))
        finally:
            for session in sessions:
                session.close()
        return [token for batch in batches for token in batch]

    def exchange(self, session: requests.Session, subject_token: str) -> requests.Response:
        """The portal's token exchange request (RFC 8693, Salesforce style)."""
        client_id, client_secret = PORTAL_CONNECTED_APP
        return session.post(
            f"{self.target.sf_url}/services/oauth2/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": "api",
                "token_handler": "SpeakerTokenHandler",
            },
            timeout=REQUEST_TIMEOUT,
        )

    def salesforce_login(self) -> SalesforceLogin:
        """Ada's Salesforce token and ContactId, as the portal gets them (one exchange, one GET)."""
        if self._login is None:
            (subject_token,) = self.forge_access_tokens(1)
            with new_session() as session:
                try:
                    self._login = self._log_in(session, subject_token)
                except requests.RequestException as error:
                    raise PrepareError(f"mock_sf is unreachable: {error}") from None
                except (KeyError, IndexError, ValueError) as error:
                    raise PrepareError(f"mock_sf answered an unexpected body: {error!r}") from None
        return self._login

    def _log_in(self, session: requests.Session, subject_token: str) -> SalesforceLogin:
        response = self.exchange(session, subject_token)
        if response.status_code != 200:
            raise PrepareError(
                f"the token exchange answered {response.status_code}: {response.text[:200]}"
            )
        body = response.json()
        login = SalesforceLogin(body["instance_url"], body["access_token"], "")
        user_id = body["id"].rsplit("/", 1)[1]
        user = session.get(
            login.data_url(f"sobjects/User/{user_id}"),
            params={"fields": "Id,ContactId"},
            headers=login.headers,
            timeout=REQUEST_TIMEOUT,
        )
        contact_id = user.json().get("ContactId") if user.status_code == 200 else None
        if not contact_id:
            raise PrepareError(f"Ada's User record has no ContactId: {user.text[:200]}")
        return SalesforceLogin(login.instance_url, login.access_token, contact_id)


def scenarios(inputs: Inputs) -> list[Scenario]:
    """The scenarios in run order (the query runs before the create adds cases to Ada's list)."""
    target = inputs.target

    def token_exchange(count: int) -> Call:
        tokens = inputs.forge_access_tokens(count)
        return lambda session, i: inputs.exchange(session, tokens[i])

    def query_cases(count: int) -> Call:
        login = inputs.salesforce_login()
        url = login.data_url("query")
        params = {"q": CASES_QUERY.format(contact_id=login.contact_id)}
        return lambda session, i: session.get(
            url, params=params, headers=login.headers, timeout=REQUEST_TIMEOUT
        )

    def create_case(count: int) -> Call:
        login = inputs.salesforce_login()
        url = login.data_url("sobjects/Case/")

        def call(session: requests.Session, i: int) -> requests.Response:
            case = {
                "Subject": f"Benchmark case {i}",
                "Description": "Created by make bench.",
                "Priority": "Low",
                "Origin": "Web",
                "ContactId": login.contact_id,
            }
            return session.post(url, json=case, headers=login.headers, timeout=REQUEST_TIMEOUT)

        return call

    def client_credentials(count: int) -> Call:
        url = f"{target.issuer}/v1/token"
        data = {"grant_type": "client_credentials"}
        return lambda session, i: session.post(
            url, data=data, auth=SCHEDULE_SERVICE, timeout=REQUEST_TIMEOUT
        )

    def healthz(count: int) -> Call:
        url = f"{target.sf_url}/healthz"
        return lambda session, i: session.get(url, timeout=REQUEST_TIMEOUT)

    return [
        Scenario(
            "sf_token_exchange",
            "mock_sf POST /services/oauth2/token",
            token_exchange,
            one_shot=True,
        ),
        Scenario("sf_query_cases", "mock_sf GET query (Ada's cases)", query_cases),
        Scenario("sf_create_case", "mock_sf POST sobjects/Case/", create_case),
        Scenario("idp_client_credentials", "mock IdP client_credentials", client_credentials),
        Scenario("sf_healthz", "mock_sf GET /healthz (baseline)", healthz),
    ]
