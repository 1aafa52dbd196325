"""The load driver: a bounded number of requests, a time cap, N threads with a session each."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

import requests

# One request of a scenario: the worker's session and the request's index (0, 1, 2, ...).
Call = Callable[[requests.Session, int], requests.Response]

REQUEST_TIMEOUT = 10.0  # seconds; with the time cap this bounds how long a scenario can run


@dataclass(frozen=True)
class Limits:
    """How much load one scenario gets at one concurrency level."""

    requests: int
    seconds: float
    warmup: int
    one_shot: int  # timed requests for scenarios whose inputs are single use (minted beforehand)

    def for_scenario(self, one_shot: bool) -> Limits:
        """The limits of a scenario: single-use inputs cost time to mint, so fewer of them."""
        return replace(self, requests=min(self.requests, self.one_shot)) if one_shot else self


@dataclass
class Result:
    """What one scenario measured at one concurrency level."""

    scenario: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    first_error: str | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in ms (0 when nothing was measured)."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "first_error": self.first_error,
        }


@dataclass
class _Samples:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None


class _Tickets:
    """Hands out request indexes [start, stop) to the workers, each exactly once."""

    def __init__(self, start: int, stop: int) -> None:
        self._next = start
        self._stop = stop
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._stop:
                return None
            self._next += 1
            return self._next - 1


def new_session() -> requests.Session:
    """A session that ignores proxy and CA variables from the environment (loopback only)."""
    session = requests.Session()
    session.trust_env = False
    return session


def _work(session: requests.Session, call: Call, tickets: _Tickets, deadline: float) -> _Samples:
    samples = _Samples()
    while time.monotonic() < deadline and (index := tickets.take()) is not None:
        started = time.perf_counter()
        try:
            response = call(session, index)
            failure = None if 200 <= response.status_code < 300 else response
        except Exception as error:  # a benchmark reports failures, it never dies of one
            failure = error
        samples.latencies_ms.append((time.perf_counter() - started) * 1000)
        if failure is not None:
            samples.errors += 1
            if samples.first_error is None:
                samples.first_error = _describe(failure)
    return samples


def _describe(failure: requests.Response | Exception) -> str:
    if isinstance(failure, requests.Response):
        return f"HTTP {failure.status_code}: {failure.text[:200]}"
    return f"{type(failure).__name__}: {failure}"


def _drive(
    pool: ThreadPoolExecutor,
    sessions: list[requests.Session],
    call: Call,
    tickets: _Tickets,
    deadline: float,
) -> list[_Samples]:
    futures = [pool.submit(_work, session, call, tickets, deadline) for session in sessions]
    return [future.result() for future in futures]


def measure(scenario: str, call: Call, concurrency: int, limits: Limits) -> Result:
    """Warm up, then run `call` from `concurrency` threads until the request count or time is up.

    Indexes 0..warmup-1 go to the warm-up, the next `limits.requests` to the timed part, so a
    scenario that uses one-shot inputs (single-use tokens) needs warmup + requests of them.
    """
    sessions = [new_session() for _ in range(concurrency)]
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench") as pool:
            # Warm-up opens each session's keep-alive connection and fills the servers' caches.
            warm_deadline = time.monotonic() + limits.seconds
            _drive(pool, sessions, call, _Tickets(0, limits.warmup), warm_deadline)
            tickets = _Tickets(limits.warmup, limits.warmup + limits.requests)
            started = time.perf_counter()
            samples = _drive(pool, sessions, call, tickets, time.monotonic() + limits.seconds)
            elapsed = time.perf_counter() - started
    finally:
        for session in sessions:
            session.close()
    errors = [s.first_error for s in samples if s.first_error is not None]
    return Result(
        scenario=scenario,
        concurrency=concurrency,
        requests=sum(len(s.latencies_ms) for s in samples),
        errors=sum(s.errors for s in samples),
        seconds=elapsed,
        latencies_ms=[ms for s in samples for ms in s.latencies_ms],
        first_error=errors[0] if errors else None,
    )
