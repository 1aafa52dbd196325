"""The failed-credentials counter's rules, without a request (failed_credentials.py)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest

from mock_sf.failed_credentials import CLIENT_SECRET
from mock_sf.failed_credentials import SETUP_LOGIN
from mock_sf.failed_credentials import Level
from mock_sf.failed_credentials import principal_key
from mock_sf.failed_credentials import retry_after

NOW = datetime(2026, 12, 7, 12, 0, 0)


def level(limit: int, count: int, age: int | None, name: str = "x") -> Level:
    oldest = None if age is None else NOW - timedelta(seconds=age)
    return Level(name, limit, count, oldest)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([level(5, 4, 10)], None),
        ([level(5, 5, 10)], 891),
        ([level(0, 99, 10)], None),  # a limit of 0 turns the level off
        ([level(5, 5, 800, "a"), level(20, 20, 100, "b")], 801),  # the longest wait decides
        ([level(5, 5, None)], None),
    ],
)
def test_a_level_is_locked_until_its_oldest_failure_leaves_the_window(
    levels: list[Level], expected: int | None
) -> None:
    found = retry_after(levels, 900, NOW)
    assert (None if found is None else found[0]) == expected
    if len(levels) == 2:
        assert found is not None and found[1].name == "b"


def test_usernames_are_counted_case_insensitively_consumer_keys_as_given() -> None:
    assert principal_key(SETUP_LOGIN, " Admin@SF.example ") == "admin@sf.example"
    assert principal_key(CLIENT_SECRET, "Speaker-Portal") == "Speaker-Portal"
    assert len(principal_key(SETUP_LOGIN, "x" * 1000)) == 255
