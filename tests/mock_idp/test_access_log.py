"""The development server's request lines keep no code, token or reset link (issue 10)."""

from __future__ import annotations

import logging

import pytest

from mock_idp.access_log import RedactingFilter
from mock_idp.access_log import redact


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (
            "GET /oauth2/default/v1/logout?id_token_hint=eyJh.eyJz.sig&state=s1 HTTP/1.1",
            "GET /oauth2/default/v1/logout?id_token_hint=[redacted]&state=[redacted] HTTP/1.1",
        ),
        ("GET /reset-password/tok3n HTTP/1.1", "GET /reset-password/[redacted] HTTP/1.1"),
        ("GET /verify-email/tok3n?x=1 HTTP/1.1", "GET /verify-email/[redacted]?x=1 HTTP/1.1"),
        (
            "GET /oauth2/default/v1/authorize?client_id=p&code_challenge=c&nonce=n HTTP/1.1",
            "GET /oauth2/default/v1/authorize?client_id=p&code_challenge=[redacted]"
            "&nonce=[redacted] HTTP/1.1",
        ),
        ("GET /login?next=/x HTTP/1.1", "GET /login?next=/x HTTP/1.1"),
    ],
)
def test_request_lines_keep_their_shape_without_the_secrets(line: str, logged: str) -> None:
    assert redact(line) == logged


def test_the_filter_rewrites_werkzeugs_record() -> None:
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '127.0.0.1 - - [x] "%s" %s %s', None, None
    )
    record.args = ("GET /reset-password/tok3n HTTP/1.1", "200", "-")  # as werkzeug logs it
    assert RedactingFilter().filter(record)
    assert "tok3n" not in record.getMessage()
