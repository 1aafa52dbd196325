"""Query locators: the server-side cursor behind ``nextRecordsUrl`` (``<locator>-<offset>``).

A locator keeps the ordered ids the query matched when it ran (a snapshot, like Salesforce's
cursor), the query text to re-render a batch, and the user it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import delete
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_sf import ids
from mock_sf.models import Base
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.rest.errors import InvalidQueryLocator

KEY_PREFIX = "01g"  # Salesforce's query locator prefix (e.g. 01gD0000002HU6KIAW-2000)
ID_LENGTH = 18
_PATH = re.compile(r"(01g[0-9A-Za-z]{15})-(\d{1,9})")


class QueryLocator(Base):
    """An open query cursor."""

    __tablename__ = "query_locator"
    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"), index=True)
    soql: Mapped[str] = mapped_column(Text)
    include_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_size: Mapped[int] = mapped_column(Integer)
    # The matched record ids, 18 chars each, concatenated in result order.
    record_ids: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    @property
    def total(self) -> int:
        return len(self.record_ids) // ID_LENGTH

    def ids_at(self, offset: int) -> list[str]:
        """The ids of the batch starting at ``offset``."""
        chunk = self.record_ids[offset * ID_LENGTH : (offset + self.batch_size) * ID_LENGTH]
        return [chunk[i : i + ID_LENGTH] for i in range(0, len(chunk), ID_LENGTH)]


@dataclass(frozen=True)
class Position:
    """A locator row and where the requested batch starts."""

    locator: QueryLocator
    offset: int


def open_locator(
    user: User,
    soql: str,
    include_deleted: bool,
    batch_size: int,
    record_ids: list[str],
    lifetime_seconds: int,
) -> QueryLocator:
    """Store a cursor for the rest of a result (and drop expired ones)."""
    now = utcnow()
    db.session.execute(delete(QueryLocator).where(QueryLocator.expires_at <= now))
    locator = QueryLocator(
        id=ids.new_id(KEY_PREFIX),
        user_id=user.id,
        soql=soql,
        include_deleted=include_deleted,
        batch_size=batch_size,
        record_ids="".join(record_ids),
        expires_at=now + timedelta(seconds=lifetime_seconds),
    )
    db.session.add(locator)
    db.session.flush()  # the request commits (rest/__init__.py)
    return locator


def find_position(path: str, user: User, lifetime_seconds: int) -> Position:
    """The caller's own live locator at an offset inside its result; else INVALID_QUERY_LOCATOR."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise InvalidQueryLocator()
    locator = db.session.get(QueryLocator, match.group(1))
    offset = int(match.group(2))
    now = utcnow()
    if (
        locator is None
        or locator.user_id != user.id
        or locator.expires_at <= now
        or not 0 <= offset < locator.total
    ):
        raise InvalidQueryLocator()
    locator.expires_at = now + timedelta(seconds=lifetime_seconds)  # idle timeout, as cursors
    db.session.flush()  # the request commits (rest/__init__.py)
    return Position(locator, offset)
