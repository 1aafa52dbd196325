"""make bench: a smoke-sized run against a real gunicorn stack (its shape, never its timings)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.__main__ import parse_args
from bench.report import COLUMNS
from bench.report import Report
from bench.wrk import Request

QUICK_SCENARIOS = [
    "hello_world",
    "exchange_access_token",
    "support_page",
    "exchange_access_token_200_users",
    "support_page_60_cases",
]
RESULT_KEYS = {
    "name",
    "group",
    "what",
    "requests",
    "errors",
    "seconds",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "client_cores",
    "server_cores",
    "first_error",
}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (make system-deps)")
def test_a_quick_run_measures_every_scenario_without_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quick", "--types", "access_token", "--out", str(tmp_path)]) == 0

    body = json.loads((tmp_path / "bench.json").read_text())
    assert [r["name"] for r in body["results"]] == QUICK_SCENARIOS
    assert body["skipped"] == []
    for result in body["results"]:
        assert set(result) == RESULT_KEYS
        assert result["errors"] == 0 and result["first_error"] is None, result
        assert result["requests"] > 0
        assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
    # Counts, not timings: every login exchanged exactly once, and the growth really happened.
    assert body["facts"]["exchanges_per_login"] == 1
    assert (body["facts"]["users_added"], body["facts"]["cases_added"]) == (190, 50)
    assert set(body["ratios"]) == {
        "exchange_access_token_vs_hello",
        "exchange_access_token_200_users_vs_hello",
        "users_growth_p50",
        "users_growth_rps",
        "cases_growth_p50",
        "cases_growth_p95",
    }
    assert [t["what"] for t in body["targets"]] == [
        "access_token exchange vs hello world",
        "access_token exchange p99",
        "Support page p95",
        "exchanges per login",
        "exchange p50, 100,000 vs 10 users",
        "Support page p50, 10,000 vs 10 cases",
    ]
    assert body["machine"]["cpus"] >= 1 and body["machine"]["wrk"].startswith("wrk ")
    assert body["settings"]["workers"] == 2 and body["settings"]["server"] == "gunicorn"
    svg = ElementTree.parse(tmp_path / "bench.svg").getroot()
    labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert all(name in labels for name in QUICK_SCENARIOS)
    printed = capsys.readouterr().out
    assert "exchange_access_token" in printed and "p99 ms" in printed


# --- the parts alone, without servers -------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        Request("POST", "/x", {}, "a\tb"),
        Request("GET", "/x\n", {}),
        Request("GET", "/x", {"Cookie": "a|b"}),
    ],
)
def test_a_request_that_cannot_be_one_line_is_refused(request_: Request) -> None:
    with pytest.raises(ValueError, match="cannot hold tabs, newlines or"):
        request_.line()


def test_a_request_line_is_method_path_headers_body() -> None:
    line = Request("POST", "/t", {"A": "1", "B": "2"}, "x=1").line()
    assert line == "POST\t/t\tA: 1|B: 2\tx=1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--types", "access_token,magic"], "--types: unknown magic"),
        (["--workers", "0"], "--workers and --clients must be >= 1"),
        (["--seconds", "0"], "--seconds > 0"),
    ],
)
def test_bad_settings_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_quick_mode_is_smoke_sized() -> None:
    args = parse_args(["--quick"])
    assert (args.clients, args.seconds, args.browser_runs) == (4, 1, 0)


def test_an_empty_report_still_has_a_table_head() -> None:
    report = Report({"cpus": 2}, {"workers": 2})
    assert (
        report.table().splitlines()[0].split()
        == "scenario requests errors req/s p50 ms p95 ms p99 ms cores c/s".split()
    )
    assert report.markdown().splitlines()[0] == "| " + " | ".join(COLUMNS) + " |"
