"""``GET limits`` and the ``Sforce-Limit-Info`` header: a per-org daily API request budget.

The count lives in the database (several processes may serve the API): one row per org and
UTC day, bumped by one ``UPDATE … SET calls = calls + 1 WHERE calls < max``, so a call past
the budget is refused without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningUpdate

from mock_sf.models import ApiUsage
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.rest.errors import RequestLimitExceeded

# Other limits a Developer Edition org reports, at their documented maximums, never consumed here.
FIXED_LIMITS = {
    "DailyAsyncApexExecutions": 250_000,
    "DailyBulkApiBatches": 15_000,
    "DailyStreamingApiEvents": 10_000,
    "DataStorageMB": 5,
    "FileStorageMB": 20,
    "MassEmail": 10,
    "SingleEmail": 15,
}


@dataclass(frozen=True)
class Usage:
    """Calls made today and the daily maximum."""

    used: int
    maximum: int

    @property
    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value, e.g. ``api-usage=18/15000``."""
        return f"api-usage={self.used}/{self.maximum}"


def _today_row(org_id: str) -> Any:
    return (ApiUsage.org_id == org_id) & (ApiUsage.day == utcnow().date())


@cache
def _bump() -> ReturningUpdate[Any]:
    """Built once: ``calls + 1`` on today's row while under the maximum, returning the count."""
    table = ApiUsage.__table__
    return (
        update(table)
        .where(
            table.c.org_id == bindparam("org"),
            table.c.day == bindparam("today"),
            table.c.calls < bindparam("maximum"),
        )
        .values(calls=table.c.calls + 1)
        .returning(table.c.calls)
    )


def count_call(org_id: str, maximum: int) -> Usage:
    """Count one call and commit it; REQUEST_LIMIT_EXCEEDED once today's budget is spent.

    The count commits on a connection of its own: committing the request's session would expire
    the user it authenticated (one more SELECT per call) and a write lock held until the
    request's end would queue every other call behind it.
    """
    for _ in range(2):  # a concurrent first call of the day may insert the row first
        today = utcnow().date()
        try:
            with db.engine.begin() as connection:
                params = {"org": org_id, "today": today, "maximum": maximum}
                used = connection.execute(_bump(), params).scalar()
                if used is not None:
                    return Usage(used, maximum)
                calls = connection.scalar(select(ApiUsage.calls).where(_today_row(org_id)))
                if calls is not None and calls >= maximum:
                    raise RequestLimitExceeded()
                if calls is not None:  # PostgreSQL: a concurrent first call committed it just now
                    continue
                if maximum <= 0:
                    raise RequestLimitExceeded()
                connection.execute(
                    insert(ApiUsage.__table__).values(org_id=org_id, day=today, calls=1)
                )
                return Usage(1, maximum)
        except IntegrityError:
            continue
    raise RequestLimitExceeded()


def current_usage(org_id: str, maximum: int) -> Usage:
    """Today's count without counting (for responses to unauthenticated calls)."""
    used = db.session.scalar(select(ApiUsage.calls).where(_today_row(org_id)))
    return Usage(used or 0, maximum)


def limits(usage: Usage) -> dict[str, dict[str, int]]:
    """The ``limits`` document: ``{"DailyApiRequests": {"Max": …, "Remaining": …}, …}``."""
    document = {"DailyApiRequests": {"Max": usage.maximum, "Remaining": usage.maximum - usage.used}}
    document.update({name: {"Max": top, "Remaining": top} for name, top in FIXED_LIMITS.items()})
    return dict(sorted(document.items()))
