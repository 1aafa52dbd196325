"""``GET limits`` and the ``Sforce-Limit-Info`` header: a per-org daily API request budget.

The count lives in the database (several processes may serve the API): one row per org and
UTC day, bumped by one ``UPDATE … SET calls = calls + 1 WHERE calls < max``, so a call past
the budget is refused without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

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


def count_call(org_id: str, maximum: int) -> Usage:
    """Count one call and commit it; REQUEST_LIMIT_EXCEEDED once today's budget is spent."""
    for _ in range(2):  # a concurrent first call of the day may insert the row first
        used = db.session.scalar(
            update(ApiUsage)
            .where(_today_row(org_id), ApiUsage.calls < maximum)
            .values(calls=ApiUsage.calls + 1)
            .returning(ApiUsage.calls)
        )
        if used is not None:
            db.session.commit()
            return Usage(used, maximum)
        calls = db.session.scalar(select(ApiUsage.calls).where(_today_row(org_id)))
        if calls is not None and calls >= maximum:
            db.session.rollback()
            raise RequestLimitExceeded()
        if calls is not None:  # PostgreSQL: a concurrent first call committed the row just now
            continue
        if maximum <= 0:
            raise RequestLimitExceeded()
        db.session.add(ApiUsage(org_id=org_id, day=utcnow().date(), calls=1))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        return Usage(1, maximum)
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
