"""`python -m bench` (what `make bench` runs): start a throwaway stack, or use a running one."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.load import Limits
from bench.runner import run
from bench.scenarios import Target
from devstack import FREE_PORTS
from devstack import Stack
from devstack import StackError

DEMO_URLS = {
    "portal": "http://127.0.0.1:8000",
    "idp": "http://127.0.0.1:8001",
    "sf": "http://127.0.0.1:8002",
}
# Sized for about 30-60 s on 2 cores with the Flask dev servers (stack start included).
DEFAULT = Limits(requests=300, seconds=4.0, warmup=10, one_shot=200)
QUICK = Limits(requests=20, seconds=1.0, warmup=2, one_shot=20)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark token exchange, Salesforce REST and IdP endpoints of the stack. "
        "Without URLs it starts its own stack on free ports in a temporary folder.",
    )
    parser.add_argument("--portal-url", help="measure a running stack: the portal's URL")
    parser.add_argument("--idp-url", help="measure a running stack: the mock IdP's URL")
    parser.add_argument("--sf-url", help="measure a running stack: mock Salesforce's URL")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    parser.add_argument("--requests", type=int, help="timed requests per scenario and level")
    parser.add_argument("--seconds", type=float, help="time cap per scenario and level")
    parser.add_argument("--warmup", type=int, help="untimed requests before each timed part")
    parser.add_argument(
        "--tokens", type=int, help="timed token exchanges per level (each needs a forged token)"
    )
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 4],
        help="comma-separated thread counts (default 1,4)",
    )
    parser.add_argument("--only", action="append", metavar="SCENARIO", help="run only these")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULT
    args.limits = Limits(
        requests=args.requests if args.requests is not None else base.requests,
        seconds=args.seconds if args.seconds is not None else base.seconds,
        warmup=args.warmup if args.warmup is not None else base.warmup,
        one_shot=args.tokens if args.tokens is not None else base.one_shot,
    )
    limits = args.limits
    if min(limits.requests, limits.one_shot) < 1 or limits.seconds <= 0 or limits.warmup < 0:
        parser.error("--requests and --tokens must be >= 1, --seconds > 0 and --warmup >= 0")
    if not args.concurrency or min(args.concurrency) < 1:
        parser.error("--concurrency needs positive integers, e.g. 1,4")
    return args


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def report_on(args: argparse.Namespace, target: Target, started_stack: bool) -> int:
    report = run(
        target,
        args.limits,
        args.concurrency,
        started_stack=started_stack,
        only=args.only,
        progress=progress,
    )
    print()
    print(report.table())
    if args.json:
        report.write_json(args.json)
        print(f"\nJSON report: {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Benchmark the given stack, or one of our own started the way `make demo` starts it."""
    args = parse_args(argv)
    if args.portal_url or args.idp_url or args.sf_url:
        urls = {
            "portal": args.portal_url or DEMO_URLS["portal"],
            "idp": args.idp_url or DEMO_URLS["idp"],
            "sf": args.sf_url or DEMO_URLS["sf"],
        }
        target = Target(urls["idp"].rstrip("/"), urls["sf"].rstrip("/"), urls["portal"].rstrip("/"))
        progress(f"Measuring the running stack: IdP {target.idp_url}, Salesforce {target.sf_url}")
        return report_on(args, target, started_stack=False)
    with tempfile.TemporaryDirectory(prefix="bench-") as root:
        progress("Starting a throwaway stack on free ports (as make demo does)...")
        try:
            with Stack(Path(root), ports=FREE_PORTS) as stack:
                target = Target(stack.urls["idp"], stack.urls["sf"], stack.urls["portal"])
                return report_on(args, target, started_stack=True)
        except StackError as error:
            print(f"make bench: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
