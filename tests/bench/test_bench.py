"""make bench: the report's shape and zero errors against a real stack (never its timings)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from bench.__main__ import QUICK
from bench.__main__ import main
from bench.__main__ import parse_args
from bench.load import Limits
from bench.load import Result
from bench.load import measure
from bench.report import COLUMNS
from bench.runner import run
from bench.scenarios import Target
from devstack import FREE_PORTS
from devstack import Stack

SCENARIOS = [
    "sf_token_exchange",
    "sf_query_cases",
    "sf_create_case",
    "idp_client_credentials",
    "sf_healthz",
]
RESULT_KEYS = {
    "scenario",
    "concurrency",
    "requests",
    "errors",
    "seconds",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "first_error",
}
# Quick-mode request counts with a time cap no test machine reaches, so the counts are exact.
LIMITS = replace(QUICK, seconds=120.0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: the benchmark adds cases and uses up tokens."""
    with Stack(tmp_path_factory.mktemp("bench"), ports=FREE_PORTS) as running:
        yield running


@pytest.fixture(scope="module")
def target(stack: Stack) -> Target:
    return Target(stack.urls["idp"], stack.urls["sf"], stack.urls["portal"])


def test_quick_run_measures_every_scenario_at_both_levels_without_errors(target: Target) -> None:
    report = run(target, LIMITS, (1, 4), started_stack=True)

    body = report.as_dict()
    assert [(r["scenario"], r["concurrency"]) for r in body["results"]] == [
        (name, level) for name in SCENARIOS for level in (1, 4)
    ]
    assert body["skipped"] == []
    for result in body["results"]:
        assert set(result) == RESULT_KEYS
        assert (result["requests"], result["errors"], result["first_error"]) == (20, 0, None)
        assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert result["rps"] > 0
    assert body["target"] == {
        "idp_url": target.idp_url,
        "sf_url": target.sf_url,
        "portal_url": target.portal_url,
        "started_stack": True,
    }
    assert body["settings"] == {
        "requests": 20,
        "seconds": 120.0,
        "warmup": 2,
        "one_shot_requests": 20,
        "concurrency": [1, 4],
    }
    lines = report.table().splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == list(COLUMNS)
    assert [line.split()[:4] for line in lines[2:]] == [
        [name, str(level), "20", "0"] for name in SCENARIOS for level in (1, 4)
    ]


def test_cli_measures_a_running_stack_and_writes_json(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports" / "bench.json"
    code = main(
        [
            "--quick",
            "--idp-url",
            target.idp_url,
            "--sf-url",
            f"{target.sf_url}/",
            "--only",
            "sf_healthz",
            "--only",
            "idp_client_credentials",
            "--concurrency",
            "2",
            "--json",
            str(out),
        ]
    )

    assert code == 0
    body = json.loads(out.read_text())
    assert body["target"]["started_stack"] is False
    assert body["target"]["sf_url"] == target.sf_url
    assert [(r["scenario"], r["concurrency"], r["errors"]) for r in body["results"]] == [
        ("idp_client_credentials", 2, 0),
        ("sf_healthz", 2, 0),
    ]
    printed = capsys.readouterr().out
    assert "sf_healthz" in printed and "p99 ms" in printed and str(out) in printed


def test_a_scenario_that_cannot_prepare_says_why_and_the_rest_count_errors(
    target: Target,
) -> None:
    # mock_sf in the IdP's place: no forge there, and no IdP token endpoint either.
    wrong = Target(idp_url=target.sf_url, sf_url=target.sf_url)
    report = run(wrong, replace(LIMITS, requests=3, warmup=0), (1,))

    assert [name for name, _ in report.skipped] == SCENARIOS[:3]
    for _, reason in report.skipped:
        assert reason == (
            f"the IdP forge at {target.sf_url}/_demo/forge answered 404 "
            "(is the IdP running with IDP_DEMO_CONTROLS=1?)"
        )
    by_name = {r.scenario: r for r in report.results}
    assert list(by_name) == ["idp_client_credentials", "sf_healthz"]
    refused = by_name["idp_client_credentials"]
    assert (refused.requests, refused.errors) == (3, 3)
    assert str(refused.first_error).startswith("HTTP 404: ")
    assert by_name["sf_healthz"].errors == 0
    assert "skipped sf_token_exchange: the IdP forge" in report.table()


# --- the driver alone, without servers ------------------------------------------------------


def fake_response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b'{"error": "nope"}'
    return response


def test_every_index_is_used_once_and_failures_are_counted_not_raised() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def call(session: requests.Session, index: int) -> requests.Response:
        with lock:
            seen.append(index)
        if index % 5 == 0:
            raise requests.ConnectionError("refused")
        return fake_response(500 if index % 5 == 1 else 200)

    result = measure("fake", call, 4, Limits(requests=40, seconds=60, warmup=3, one_shot=40))

    assert sorted(seen) == list(range(43))
    assert (result.requests, result.errors, len(result.latencies_ms)) == (40, 16, 40)
    assert result.first_error in {"ConnectionError: refused", 'HTTP 500: {"error": "nope"}'}


def test_the_time_cap_stops_a_scenario_by_itself() -> None:
    result = measure(
        "fake",
        lambda session, index: fake_response(200),
        1,
        Limits(requests=10**9, seconds=1e-9, warmup=0, one_shot=1),
    )
    assert result.requests <= 1  # a request may start before the deadline, none after it


def test_percentiles_are_nearest_rank() -> None:
    result = Result("fake", 1, 100, 0, 1.0, [float(ms) for ms in range(100, 0, -1)])
    assert [result.percentile(p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert Result("fake", 1, 0, 0, 0.0, []).as_dict()["p99_ms"] == 0.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--concurrency", "0"], "--concurrency needs positive integers"),
        (["--requests", "0"], "--requests and --tokens must be >= 1"),
        (["--seconds", "0"], "--seconds > 0"),
    ],
)
def test_bad_limits_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_quick_mode_is_tiny_and_flags_override_it() -> None:
    assert parse_args(["--quick"]).limits == QUICK
    assert parse_args(["--quick", "--requests", "7"]).limits == replace(QUICK, requests=7)
