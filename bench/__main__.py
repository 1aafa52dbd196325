"""`python -m bench` (what `make bench` runs): the stack as `make serve` runs it, measured by wrk.

Starts the three apps under gunicorn on free ports in a temporary folder (demo controls on: the
IdP's forge mints the single-use tokens), and a hello-world app on the same gunicorn stack, then
runs the scenarios and writes bench/results/bench.json and bench/results/bench.svg.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import chart
from bench import wrk
from bench.report import Report
from bench.report import Target
from bench.scenarios import TOKEN_TYPES
from bench.scenarios import Bench
from bench.scenarios import PrepareError
from bench.scenarios import machine
from bench.scenarios import median
from devstack import FREE_PORTS
from devstack import Stack
from devstack import StackError
from devstack.stack import HOST
from devstack.stack import free_port
from devstack.stack import gunicorn_command

RESULTS = Path(__file__).resolve().parent / "results"
GROWTH = {"users": (10, 100_000), "cases": (10, 10_000)}
QUICK_GROWTH = {"users": (10, 200), "cases": (10, 60)}
TYPES = tuple(TOKEN_TYPES)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for bench.json/.svg")
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (tests)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SERVE_WORKERS", 2)))
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--seconds", type=int, default=4, help="length of each timed part")
    parser.add_argument("--types", default=",".join(TYPES), help="subject token types")
    parser.add_argument("--browser-runs", type=int, default=3, help="0 skips the browser")
    args = parser.parse_args(argv)
    args.types = [t for t in args.types.split(",") if t]
    unknown = set(args.types) - set(TYPES)
    if unknown:
        parser.error(f"--types: unknown {', '.join(sorted(unknown))}")
    if args.workers < 1 or args.clients < 1 or args.seconds <= 0 or args.browser_runs < 0:
        parser.error("--workers and --clients must be >= 1, --seconds > 0, --browser-runs >= 0")
    if args.quick:
        args.clients, args.seconds, args.browser_runs = 4, 1.0, 0
    return args


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def hello_server(log: Path, workers: int) -> Iterator[tuple[str, int]]:
    """The hello-world app under the same gunicorn command as the apps; its URL and pid."""
    port = free_port()
    command = gunicorn_command("bench.hello:create_app()", HOST, port, workers)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise StackError(f"the hello-world server did not start: {log}") from None
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(bench: Bench, args: argparse.Namespace, report: Report) -> None:
    """Every scenario in order; one that cannot prepare is reported and the run goes on."""
    growth = QUICK_GROWTH if args.quick else GROWTH

    def step(name: str, action):  # type: ignore[no-untyped-def]
        progress(f"{name}...")
        try:
            measured = action()
        except (PrepareError, RuntimeError) as error:
            progress(f"  skipped: {error}")
            report.skipped.append((name, str(error)))
            return None
        if measured is not None and hasattr(measured, "run"):
            report.results.append(measured)
            r = measured.run
            progress(
                f"  {r.requests} requests, {r.errors} errors, {r.rps:.0f} req/s, "
                f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms"
            )
        return measured

    bench.grow_users(growth["users"][0])
    bench.grow_cases(growth["cases"][0])
    hello = step("hello_world", bench.hello)
    for kind in args.types:
        step(f"exchange_{kind}", lambda kind=kind: bench.exchange(kind))
    before = bench.successful_exchanges()
    support = step("support_page", bench.support_page)
    if support is not None:
        per_login = (bench.successful_exchanges() - before) / len(bench.logins)
        report.facts["exchanges_per_login"] = per_login
    if args.browser_runs:
        runs = step("browser_journey", lambda: bench.browser_journey(args.browser_runs))
        if runs:
            report.facts["browser_journey_s"] = [round(s, 3) for s in runs]
            report.facts["browser_journey_median_s"] = round(median(runs), 3)
    progress(f"growing mock_sf to {growth['users'][1]} users and Ada to {growth['cases'][1]} cases")
    report.facts["users_added"] = bench.grow_users(growth["users"][1])
    report.facts["cases_added"] = bench.grow_cases(growth["cases"][1])
    big_users = f"exchange_access_token_{growth['users'][1]}_users"
    grown = step(big_users, lambda: bench.exchange("access_token", big_users))
    big_cases = f"support_page_{growth['cases'][1]}_cases"
    grown_cases = step(big_cases, lambda: bench.support_page(big_cases))
    ratios(report, hello, support, grown, grown_cases)


def ratios(report: Report, hello, support, grown, grown_cases) -> None:  # type: ignore[no-untyped-def]
    """The numbers the issue sets targets for."""
    access = report.result("exchange_access_token")
    if hello is not None:
        for result in report.results:
            if result.group == "exchange" and hello.run.rps:
                report.ratios[f"{result.name}_vs_hello"] = round(result.run.rps / hello.run.rps, 3)
    if access is not None and grown is not None:
        report.ratios["users_growth_p50"] = round(grown.run.p50_ms / access.run.p50_ms, 2)
        report.ratios["users_growth_rps"] = round(access.run.rps / grown.run.rps, 2)
    if support is not None and grown_cases is not None:
        report.ratios["cases_growth_p50"] = round(grown_cases.run.p50_ms / support.run.p50_ms, 2)
        report.ratios["cases_growth_p95"] = round(grown_cases.run.p95_ms / support.run.p95_ms, 2)
    vs_hello = report.ratios.get("exchange_access_token_vs_hello")
    p99 = access.run.p99_ms if access else None
    p95 = support.run.p95_ms if support else None
    per_login = report.facts.get("exchanges_per_login")
    users = report.ratios.get("users_growth_p50")
    cases = report.ratios.get("cases_growth_p50")
    report.targets = [
        Target(
            "access_token exchange vs hello world", ">= 0.5x", vs_hello, _at_least(vs_hello, 0.5)
        ),
        Target("access_token exchange p99", "< 25 ms", p99, None if p99 is None else p99 < 25),
        Target("Support page p95", "< 50 ms", p95, None if p95 is None else p95 < 50),
        Target(
            "exchanges per login", "= 1", per_login, None if per_login is None else per_login == 1
        ),
        Target("exchange p50, 100,000 vs 10 users", "<= 1.5x", users, _at_most(users, 1.5)),
        Target("Support page p50, 10,000 vs 10 cases", "<= 1.5x", cases, _at_most(cases, 1.5)),
    ]


def _at_least(value: float | None, goal: float) -> bool | None:
    return None if value is None else value >= goal


def _at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def main(argv: list[str] | None = None) -> int:
    """Start the stack and the baseline, measure, write the JSON and the chart."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `kill` stops the stack too
    try:
        wrk.wrk_path()
    except wrk.WrkMissing as error:
        print(f"make bench: {error}", file=sys.stderr)
        return 1
    settings = {
        "server": "gunicorn",
        "worker_class": "sync",
        "workers": args.workers,
        "clients": args.clients,
        "seconds": args.seconds,
        "load_generator": "wrk -t1 (one thread, epoll), bench/requests.lua",
        "quick": args.quick,
    }
    report = Report(machine(), settings)
    with tempfile.TemporaryDirectory(prefix="bench-") as root:
        progress(f"Starting the stack under gunicorn ({args.workers} workers per app)...")
        stack = Stack(
            Path(root),
            ports=FREE_PORTS,
            server="gunicorn",
            workers=args.workers,
            demo_controls=True,  # the forge mints the single-use tokens
            # The benchmark makes far more REST calls than a Developer Edition's daily 15,000.
            extra_env={"SF_DAILY_API_REQUESTS": "1000000000"},
        )
        try:
            with stack, hello_server(Path(root) / "hello.log", args.workers) as (url, pid):
                groups = [process.pid for process in stack.processes.values()] + [pid]
                bench = Bench(stack, url, groups, clients=args.clients, seconds=args.seconds)
                if args.quick:
                    bench.min_tokens, bench.max_tokens, bench.warmup_tokens = 20, 40, 8
                measure(bench, args, report)
        except StackError as error:
            print(f"make bench: {error}", file=sys.stderr)
            return 1
    # Other work on the machine shows here: the numbers of a busy machine are low and noisy.
    report.machine["load_average_at_end"] = [round(n, 2) for n in os.getloadavg()]
    body = report.as_dict()
    report.write(args.out / "bench.json")
    chart.write(body, args.out / "bench.svg")
    print()
    print(report.table())
    print(f"\nJSON: {args.out / 'bench.json'}\nchart: {args.out / 'bench.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
