"""PostgreSQL restarted under the running apps, which are not restarted.

All three apps run on a PostgreSQL server of this module's own (a throwaway cluster: the
server behind TEST_POSTGRES_URL cannot be restarted from here). A restart while the apps are
idle costs no request (pool_pre_ping tests each pooled connection before use). Under a stream
of requests, what arrives while the server is down gets a 503 in its app's dialect, never a
500, and every app answers 200 again once the server is back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

import pytest
import requests

from devstack import FREE_PORTS
from devstack import Stack
from devstack import postgres
from tests.stack_http import TIMEOUT
from tests.stack_http import browser
from tests.stack_http import exchange
from tests.stack_http import forged
from tests.stack_http import log_in

NO_POSTGRES = "PostgreSQL is not installed: `make pg-deps` installs Debian's postgresql"
ADA = "ada@speakers.example"
WAIT = 20.0  # seconds the stream may take to show the outage, or the recovery, of every app
SERVER_UNAVAILABLE = [
    {
        "message": "The server is unavailable to handle the request. Try again later.",
        "errorCode": "SERVER_UNAVAILABLE",
    }
]
TEMPORARILY_UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "try again later",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    """A PostgreSQL server that this module may stop and start."""
    if postgres.server_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NO_POSTGRES}; CI must run the PostgreSQL tests")
        pytest.skip(NO_POSTGRES)
    with postgres.Cluster() as running:
        yield running


@pytest.fixture(scope="module")
def stack(cluster: postgres.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three apps, each on its own database of that server."""
    databases = {
        f"{prefix}_DATABASE_URL": postgres.create_database(cluster.admin_url, prefix.lower())
        for prefix in ("IDP", "SF", "PORTAL")
    }
    root = tmp_path_factory.mktemp("database-restart")
    with Stack(root, ports=FREE_PORTS, extra_env=databases) as running:
        yield running


Probe = Callable[[], requests.Response]


@pytest.fixture(scope="module")
def probes(stack: Stack) -> dict[str, Probe]:
    """One request per app that reads its database: Ada's Support page at the portal, a SOQL
    query at mock_sf's REST API, UserInfo at the IdP (each with a session made beforehand)."""
    ada = browser()
    assert "Signed in as Ada Lovelace" in log_in(stack, ada, "ada").text
    salesforce = exchange(stack, forged(stack, ADA)).json()["access_token"]
    idp = forged(stack, ADA)
    sf_client, idp_client = browser(), browser()
    return {
        "portal": lambda: ada.get(f"{stack.urls['portal']}/support", timeout=TIMEOUT),
        "sf": lambda: sf_client.get(
            f"{stack.urls['sf']}/services/data/v66.0/query",
            params={"q": "SELECT Id FROM Case"},
            headers={"Authorization": f"Bearer {salesforce}"},
            timeout=TIMEOUT,
        ),
        "idp": lambda: idp_client.get(
            f"{stack.urls['idp']}/oauth2/default/v1/userinfo",
            headers={"Authorization": f"Bearer {idp}"},
            timeout=TIMEOUT,
        ),
    }


def test_an_idle_restart_costs_no_request(
    cluster: postgres.Cluster, stack: Stack, probes: dict[str, Probe]
) -> None:
    assert {name: probe().status_code for name, probe in probes.items()} == dict.fromkeys(
        probes, 200
    )  # each app now holds pooled connections, which the restart kills

    cluster.restart()

    first = {name: probe() for name, probe in probes.items()}
    assert {name: r.status_code for name, r in first.items()} == dict.fromkeys(probes, 200), {
        name: r.text[:300] for name, r in first.items()
    }
    assert exchange(stack, forged(stack, ADA)).status_code == 200  # writes work too


@dataclass
class Stream:
    """Requests sent one after another by a thread per app, each answer kept with the phase it
    was sent in: "up", "down" (server stopped) or "back" (started again)."""

    probes: dict[str, Probe]
    phase: str = "up"
    answers: list[tuple[str, str, requests.Response]] = field(default_factory=list)
    failures: list[requests.RequestException] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> list[threading.Thread]:
        senders = [
            threading.Thread(target=self.send, args=(name,), daemon=True) for name in self.probes
        ]
        for sender in senders:
            sender.start()
        return senders

    def send(self, name: str) -> None:
        try:
            while not self.stopping.is_set():
                phase = self.phase
                response = self.probes[name]()
                with self.changed:
                    self.answers.append((phase, name, response))
                    self.changed.notify_all()
        except requests.RequestException as exc:  # an app that no longer answers at all
            self.failures.append(exc)

    def enter(self, phase: str) -> None:
        with self.changed:
            self.phase = phase

    def wait_for(self, phase: str, status: int | None = None) -> bool:
        """Until every app has answered in `phase` (with `status`, if given)."""

        def seen() -> bool:
            names = {
                n for p, n, r in self.answers if p == phase and status in (None, r.status_code)
            }
            return names == set(self.probes)

        with self.changed:
            return self.changed.wait_for(seen, timeout=WAIT)


def test_under_load_the_outage_answers_503_and_every_app_recovers(
    cluster: postgres.Cluster, probes: dict[str, Probe]
) -> None:
    stream = Stream(probes)
    senders = stream.start()
    try:
        assert stream.wait_for("up", 200)
        cluster.stop_server()
        stream.enter("down")
        assert stream.wait_for("down")
        cluster.start_server()
        stream.enter("back")
        assert stream.wait_for("back", 200)
    finally:
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start_server()  # whatever failed, the server is left running
        stream.stopping.set()
        for sender in senders:
            sender.join(timeout=WAIT)

    assert stream.failures == []
    statuses = {(p, n, r.status_code) for p, n, r in stream.answers}
    assert {status for _, _, status in statuses} <= {200, 503}, sorted(statuses)
    for _, name, response in stream.answers:
        if response.status_code == 503:
            assert_unavailable_in_its_dialect(name, response)
    down = {n for p, n, r in stream.answers if p == "down" and r.status_code == 503}
    assert down == set(probes)  # the outage was seen by every app
    last = {name: response.status_code for _, name, response in stream.answers}
    assert last == dict.fromkeys(probes, 200)  # and each app's latest answer is a success


def assert_unavailable_in_its_dialect(name: str, response: requests.Response) -> None:
    """The 503 of each dialect: the portal's pages, mock_sf's REST array, the IdP's OAuth JSON."""
    if name == "portal":  # its own database down, or the one of the Salesforce it calls
        assert any(
            page in response.text
            for page in (
                "<code>database_unavailable</code>",  # "The portal is unavailable"
                "<code>SERVER_UNAVAILABLE</code>",  # "Salesforce is unavailable"
            )
        ), response.text
    elif name == "sf":
        assert response.json() == SERVER_UNAVAILABLE
    else:
        assert response.json() == TEMPORARILY_UNAVAILABLE
