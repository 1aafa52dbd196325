"""The load generator: Debian's wrk (C, epoll) with bench/requests.lua, one input per request.

A Python client on the same 2 cores cannot keep 16 connections busy at thousands of requests a
second; one wrk thread can, for a small share of one core. Each request is a line of a file
written beforehand (single-use tokens are minted outside the timed part); the run ends when the
lines run out, or, with `repeat`, after `seconds`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("requests.lua")
MAX_SECONDS = 120  # -d: a cap no run reaches; single-use runs end when their inputs do


class WrkMissing(RuntimeError):
    """wrk is not installed (make bench installs Debian's package as root)."""


@dataclass(frozen=True)
class Request:
    """One request as wrk sends it: path, headers and body (tabs and "|" never appear in them)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: str = ""

    def line(self) -> str:
        pairs = [f"{name}: {value}" for name, value in self.headers.items()]
        fields = (self.method, self.path, *pairs, self.body)
        if any("\t" in field or "\n" in field for field in fields) or any("|" in p for p in pairs):
            raise ValueError("a request line cannot hold tabs, newlines or '|' in headers")
        return "\t".join((self.method, self.path, "|".join(pairs), self.body))


@dataclass(frozen=True)
class Run:
    """What wrk measured, and the CPU the client (wrk) and the servers used meanwhile."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_s: float
    server_cpu_s: float
    first_error: str | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed (apt-get install wrk; make bench does it as root)")
    return path


def run(
    base_url: str,
    requests: Iterable[Request],
    *,
    connections: int = 16,
    seconds: float | None = None,
    server_pids: Iterable[int] = (),
) -> Run:
    """Send each request once (or, with `seconds`, cycle through them for that long)."""
    lines = [request.line() for request in requests]
    if not lines:
        raise ValueError("nothing to send")
    groups = list(server_pids)
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        inputs = Path(folder) / "requests.txt"
        inputs.write_text("\n".join(lines) + "\n")
        duration = f"{max(1, round(seconds))}s" if seconds else f"{MAX_SECONDS}s"  # whole seconds
        command = [wrk_path(), "-t1", f"-c{connections}", f"-d{duration}", "--timeout", "10s"]
        command += ["-s", str(SCRIPT), base_url, "--", str(inputs)]
        command += ["repeat"] if seconds else []
        client_before = _children_cpu()
        server_before = server_cpu(groups)
        done = subprocess.run(
            command, capture_output=True, text=True, errors="replace", check=False
        )
        server_after = server_cpu(groups)
        client_cpu = _children_cpu() - client_before
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    body = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        requests=body["answered"],
        errors=body["failed"] + body["socket_errors"],
        seconds=body["seconds"],
        p50_ms=body["p50_ms"],
        p95_ms=body["p95_ms"],
        p99_ms=body["p99_ms"],
        max_ms=body["max_ms"],
        client_cpu_s=client_cpu,
        server_cpu_s=server_after - server_before,
        first_error=body["first_error"] or None,
    )


def version() -> str | None:
    """wrk's version line, e.g. "wrk debian/4.1.0-3+b2 [epoll]"; None without wrk."""
    path = shutil.which("wrk")
    if path is None:
        return None
    done = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu(process_groups: Iterable[int]) -> float:
    """CPU seconds used so far by every live process of these process groups (gunicorn masters
    started in sessions of their own, and their workers)."""
    groups = set(process_groups)
    if not groups:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) in groups:  # pgrp, then utime and stime at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks
