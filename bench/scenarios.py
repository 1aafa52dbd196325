"""The scenarios: what each prepares outside the timed part, and what it times.

Every timed part is driven by wrk (bench/wrk.py) at `clients` connections, against the stack
`make serve` runs (gunicorn, same workers) with demo controls on for the IdP's forge.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urljoin

import requests

from bench import wrk
from devstack import Stack

ADA = {"email": "ada@speakers.example", "password": "ada-demo"}
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPES = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "id_token": "urn:ietf:params:oauth:token-type:id_token",
    "jwt": "urn:ietf:params:oauth:token-type:jwt",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
    "saml2": "urn:ietf:params:oauth:token-type:saml2",
}
# The portal's connected app and its exchange request, field for field (portal/salesforce.py).
PORTAL_EXCHANGE = {
    "client_id": "speaker-portal",
    "client_secret": "portal-sf-demo-secret",
    "scope": "api refresh_token",
    "token_handler": "SpeakerTokenHandler",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORGE_THREADS = 4
TIMEOUT = 30.0


class PrepareError(RuntimeError):
    """A scenario could not get its inputs; the message says why."""


@dataclass(frozen=True)
class Measured:
    """One timed scenario: wrk's numbers, and which group of the report it belongs to."""

    name: str
    group: str
    what: str
    run: wrk.Run

    def as_dict(self) -> dict[str, Any]:
        r = self.run
        return {
            "name": self.name,
            "group": self.group,
            "what": self.what,
            "requests": r.requests,
            "errors": r.errors,
            "seconds": round(r.seconds, 3),
            "rps": round(r.rps, 1),
            "p50_ms": round(r.p50_ms, 2),
            "p95_ms": round(r.p95_ms, 2),
            "p99_ms": round(r.p99_ms, 2),
            "max_ms": round(r.max_ms, 2),
            # Cores each side used meanwhile: how wrk and the servers shared the machine.
            "client_cores": round(r.client_cpu_s / r.seconds, 2) if r.seconds else 0.0,
            "server_cores": round(r.server_cpu_s / r.seconds, 2) if r.seconds else 0.0,
            "first_error": r.first_error,
        }


@dataclass
class Bench:
    """The running stack and hello-world server, and how hard to push them."""

    stack: Stack
    hello_url: str
    server_groups: list[int]
    clients: int = 16
    seconds: float = 4.0  # for reusable inputs, and the aim for single-use ones
    max_tokens: int = 6000  # per single-use run: minting costs time too
    min_tokens: int = 200
    warmup_tokens: int = 160
    logins: list[requests.Session] = field(default_factory=list)

    # --- inputs ------------------------------------------------------------------------------

    def forge(self, kind: str, count: int) -> list[str]:
        """`count` valid IdP tokens of `kind` for Ada, from the IdP's forge (demo controls)."""
        url = f"{self.stack.urls['idp']}/_demo/forge"
        body = {"kind": kind, "variant": "valid", "user": ADA["email"]}
        if kind == "jwt":
            # The forge's jwt names mock_sf as audience; the portal's trusted issuer in mock_sf
            # takes access-token or ID-token audiences, so present the IdP's API audience.
            body["audience"] = "api://default"

        def mint(n: int) -> list[str]:
            with http() as session:
                out = []
                for _ in range(n):
                    response = session.post(url, json=body, timeout=TIMEOUT)
                    if response.status_code != 200:
                        raise PrepareError(f"the forge answered {response.status_code} for {kind}")
                    out.append(str(response.json()["token"]))
                return out

        shares = [count // FORGE_THREADS + (i < count % FORGE_THREADS) for i in range(4)]
        with ThreadPoolExecutor(max_workers=FORGE_THREADS) as pool:
            return [token for batch in pool.map(mint, shares) for token in batch]

    def exchange_requests(self, kind: str, tokens: list[str]) -> list[wrk.Request]:
        path = "/services/oauth2/token"
        return [
            wrk.Request(
                "POST",
                path,
                FORM,
                urlencode(
                    {
                        "grant_type": TOKEN_EXCHANGE,
                        "subject_token": token,
                        "subject_token_type": TOKEN_TYPES[kind],
                        **PORTAL_EXCHANGE,
                    }
                ),
            )
            for token in tokens
        ]

    def sf_database(self) -> sqlite3.Connection:
        return sqlite3.connect(self.stack.instance_paths["sf"] / "mock_sf.sqlite3", timeout=30)

    def successful_exchanges(self) -> int:
        with self.sf_database() as db:
            return int(
                db.execute(
                    "SELECT COUNT(*) FROM exchange_attempt WHERE outcome = 'success'"
                ).fetchone()[0]
            )

    # --- timed parts -------------------------------------------------------------------------

    def drive(self, base_url: str, requests_: list[wrk.Request], repeat: bool = False) -> wrk.Run:
        run = wrk.run(
            base_url,
            requests_,
            connections=self.clients,
            seconds=self.seconds if repeat else None,
            server_pids=self.server_groups,
        )
        self.settle()
        return run

    def settle(self) -> None:
        """Wait until the requests still in flight when wrk stopped are done (mock_sf logs each
        exchange), so they neither slow the next run nor count in its exchange log."""
        last, steady = -1, 0
        while steady < 3:
            time.sleep(0.1)
            with self.sf_database() as db:
                now = int(db.execute("SELECT COUNT(*) FROM exchange_attempt").fetchone()[0])
            steady = steady + 1 if now == last else 0
            last = now

    def exchange(self, kind: str, name: str | None = None) -> Measured:
        """Exchanges of fresh `kind` tokens at `clients` connections; as many tokens as about
        `seconds` take at the rate a warm-up run showed (within min/max_tokens)."""
        sf = self.stack.urls["sf"]
        warm = self.drive(sf, self.exchange_requests(kind, self.forge(kind, self.warmup_tokens)))
        if warm.requests == 0 or warm.errors == warm.requests:
            raise PrepareError(f"no {kind} exchange succeeded: {warm.first_error}")
        count = int(min(self.max_tokens, max(self.min_tokens, warm.rps * self.seconds)))
        timed = self.drive(sf, self.exchange_requests(kind, self.forge(kind, count)))
        what = f"mock_sf POST /services/oauth2/token, subject_token_type {kind}"
        return Measured(name or f"exchange_{kind}", "exchange", what, timed)

    def hello(self) -> Measured:
        run = self.drive(self.hello_url, [wrk.Request("GET", "/", {})], repeat=True)
        return Measured("hello_world", "baseline", "hello-world Flask GET /, same gunicorn", run)

    def support_page(self, name: str = "support_page") -> Measured:
        """Ada's Support page from `clients` logins at once, each with its Salesforce session."""
        if not self.logins:
            self.logins = [self.log_in(ADA) for _ in range(self.clients)]
        requests_ = [
            wrk.Request("GET", "/support", {"Cookie": cookie_header(login)})
            for login in self.logins
        ]
        run = self.drive(self.stack.urls["portal"], requests_, repeat=True)
        what = f"portal GET /support, {self.clients} logins with warm Salesforce sessions"
        return Measured(name, "portal", what, run)

    def log_in(self, speaker: dict[str, str]) -> requests.Session:
        """A portal login through the IdP's form, and its first Support page (the exchange)."""
        session = http()
        portal = self.stack.urls["portal"]
        page = session.get(f"{portal}/auth/login?next=/support", timeout=TIMEOUT)
        action = re.search(r'<form[^>]*action="([^"]*)"', page.text)
        if action is None:
            raise PrepareError(f"no login form at {page.url}")
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
        support = session.post(
            urljoin(page.url, action.group(1)), data={**fields, **speaker}, timeout=TIMEOUT
        )
        if support.status_code != 200 or support.url != f"{portal}/support":
            raise PrepareError(f"login ended at {support.url} ({support.status_code})")
        return session

    # --- growth ------------------------------------------------------------------------------

    def grow_users(self, total: int) -> int:
        """Add users (copies of Ada without a contact) to mock_sf until it has `total`."""
        from mock_sf import ids

        with self.sf_database() as db:
            have = int(db.execute('SELECT COUNT(*) FROM "user"').fetchone()[0])
            (ada,) = db.execute('SELECT id FROM "user" WHERE username = ?', (ADA["email"],))
            rows = [
                (
                    ids.new_id("005"),
                    f"bench{n}@speakers.example",
                    f"bench{n}@speakers.example",
                    f"https://bench.example/oauth2/default|bench{n}",
                    ada[0],
                )
                for n in range(have, total)
            ]
            db.executemany(
                'INSERT INTO "user" (id, username, email, first_name, last_name, alias, locale,'
                " user_type, is_active, federation_identifier, created_date, profile_id, user_role)"
                " SELECT ?, ?, ?, first_name, last_name, alias, locale, user_type, is_active, ?,"
                ' created_date, profile_id, user_role FROM "user" WHERE id = ?',
                rows,
            )
        return len(rows)

    def grow_cases(self, total: int) -> int:
        """Add cases (copies of one of Ada's) to Ada's contact until she has `total`."""
        from mock_sf import ids

        with self.sf_database() as db:
            contact, model = db.execute(
                'SELECT contact_id, id FROM "case" WHERE contact_id = '
                '(SELECT contact_id FROM "user" WHERE username = ?) ORDER BY case_number LIMIT 1',
                (ADA["email"],),
            ).fetchone()
            have = int(
                db.execute(
                    'SELECT COUNT(*) FROM "case" WHERE contact_id = ?', (contact,)
                ).fetchone()[0]
            )
            first = int(db.execute('SELECT MAX(case_number) FROM "case"').fetchone()[0]) + 1
            columns = (
                "status, priority, origin, type, reason, contact_id, account_id, owner_id,"
                " is_closed, is_escalated, is_deleted, created_date, created_by_id,"
                " last_modified_date, last_modified_by_id, system_modstamp"
            )
            rows = [
                (ids.new_id("500"), first + n, f"Benchmark case {n}", "Made by make bench.", model)
                for n in range(total - have)
            ]
            db.executemany(
                f'INSERT INTO "case" (id, case_number, subject, description, {columns})'
                f' SELECT ?, ?, ?, ?, {columns} FROM "case" WHERE id = ?',
                rows,
            )
        return len(rows)

    # --- the browser -------------------------------------------------------------------------

    def browser_journey(self, repetitions: int) -> list[float]:
        """Seconds from the portal's home page to "case created", in Chromium, per repetition."""
        from playwright.sync_api import expect
        from playwright.sync_api import sync_playwright

        from devstack.browser import CHROMIUM_ARGS
        from devstack.browser import chromium_path

        timings = []
        with sync_playwright() as playwright:
            path = chromium_path()
            browser = playwright.chromium.launch(
                args=CHROMIUM_ARGS, **({"executable_path": path} if path else {})
            )
            try:
                for n in range(repetitions):
                    context = browser.new_context(base_url=self.stack.urls["portal"])
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto("/")
                    page.get_by_role("link", name="Log in").click()
                    page.get_by_label("Email").fill(ADA["email"])
                    page.get_by_label("Password").fill(ADA["password"])
                    page.get_by_role("button", name="Sign in").click()
                    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
                    page.goto("/support/cases/new")
                    page.get_by_label("Subject").fill(f"Browser journey {n}")
                    page.get_by_label("Description").fill("Timed by make bench.")
                    page.get_by_role("button", name="Create case").click()
                    expect(page.get_by_role("status")).to_contain_text("created")
                    timings.append(time.perf_counter() - started)
                    context.close()
            finally:
                browser.close()
        return timings


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy, no CA bundle from the environment
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os
    import platform

    model = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else None
    import gunicorn

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "gunicorn": gunicorn.__version__,
        "wrk": wrk.version(),
        "load_average_at_start": [round(n, 2) for n in os.getloadavg()],
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
