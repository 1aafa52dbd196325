"""Run a plug-in handler safely: its two Apex methods in Salesforce's order, any exception caught.

Handlers are plug-in code: like Apex, an exception in one fails the exchange (or a scorecard row),
never the server. The token endpoint and the Setup scorecard both call ``run_handler`` and read
the outcome each in its own terms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import RunAsUserRequired
from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.models import User

VALIDATE = "validate_incoming_token"
MAP_USER = "get_user_for_token_subject"


@dataclass(frozen=True)
class HandlerOutcome:
    """What the handler did: ``result`` is None if validating raised; ``error`` is what raised
    (in ``method``); ``user`` is the mapped user, possibly new and uninserted, or None."""

    result: TokenValidationResult | None
    user: User | None = None
    error: Exception | None = None
    method: str | None = None

    @property
    def is_valid(self) -> bool:
        """The handler accepted the token (whatever it then mapped)."""
        return self.result is not None and self.result.is_valid


def run_handler(
    handler: TokenExchangeHandler,
    app_developer_name: str,
    token: str,
    token_type: TokenExchangeType,
    *,
    handler_name: str,
    network_id: str | None,
    can_create_user: bool,
    logger: logging.Logger,
) -> HandlerOutcome:
    """Validate the token, then (if valid) map its subject to a user; never raises.

    ``handler_name`` is the handler record's developer name, for the log.
    """
    try:
        result = handler.validate_incoming_token(
            app_developer_name, IntegratingAppType.CA, token, token_type
        )
    except Exception as exc:
        logger.exception("handler %s raised in %s", handler_name, VALIDATE)
        return HandlerOutcome(None, error=exc, method=VALIDATE)
    if not result.is_valid:
        return HandlerOutcome(result)
    try:
        user = handler.get_user_for_token_subject(
            network_id, result, can_create_user, app_developer_name, IntegratingAppType.CA
        )
    except RunAsUserRequired as exc:  # the platform refusing DML, not a handler bug
        return HandlerOutcome(result, error=exc, method=MAP_USER)
    except Exception as exc:
        logger.exception("handler %s raised in %s", handler_name, MAP_USER)
        return HandlerOutcome(result, error=exc, method=MAP_USER)
    return HandlerOutcome(result, user)
