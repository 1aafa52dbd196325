"""The development server's access log without secrets: a request line keeps its path and the
names of its query parameters, never the values of those that carry codes or tokens.

`make demo` runs Flask's development server, whose werkzeug logger writes every request line at
INFO, query string included. gunicorn (`make serve`) writes no access log unless asked to.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

# Query parameters and path segments whose values are secrets (or stand for one).
SECRET_PARAMETERS = (
    "code",
    "state",
    "id_token_hint",
    "logout_hint",
    "token",
    "SAMLRequest",
    "SAMLResponse",
    "RelayState",
    "Signature",
    "code_challenge",
    "nonce",
)
SECRET_PATHS = ("/reset-password", "/verify-email")
_NAMES = "|".join(map(re.escape, SECRET_PARAMETERS))
_PARAMETER = re.compile(rf"([?&](?:{_NAMES})=)[^&\s\"]*")
_PREFIXES = "|".join(map(re.escape, SECRET_PATHS))
_PATH = re.compile(rf"((?:{_PREFIXES})/)[^/?\s\"]+")
REDACTED = "[redacted]"


def redact(line: str) -> str:
    """A request line with the secret values replaced."""
    line = _PARAMETER.sub(r"\1" + REDACTED, line)
    return _PATH.sub(r"\1" + REDACTED, line) if SECRET_PATHS else line  # "(?:)/" matches any


class RedactingFilter(logging.Filter):
    """Rewrites werkzeug's request-line records (the message's first argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (redact(record.args[0]), *record.args[1:])
        return True


def init_app(_app: Flask) -> None:
    """Install the filter on werkzeug's logger, once per process."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
