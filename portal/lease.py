"""One request of a login at a time renews its tokens (IdP refresh, Salesforce exchange).

The IdP rotates refresh tokens and takes a second use of a rotated one for theft (RFC 9700
§4.14.2): it revokes the whole grant. So two requests of one login must never both spend the
stored refresh token. They take turns through a lease on the login's row, taken and given back
with compare-and-swap UPDATEs, which work alike on SQLite (no SELECT ... FOR UPDATE) and
PostgreSQL, and hold no database transaction open across a call to the IdP.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from .errors import LoginExpired
from .models import LoginSession
from .models import db

# Longer than the IdP and Salesforce calls a turn makes; a crashed holder's lease simply lapses.
LEASE_SECONDS = 60
POLL_SECONDS = 0.05


@contextmanager
def one_at_a_time(login: LoginSession) -> Iterator[None]:
    """Run the block for one request of this login at a time; `login` is re-read on entry."""
    login_id, lease = login.id, secrets.token_urlsafe(16)
    while not take_lease(login_id, lease, now=int(time.time())):
        pause(POLL_SECONDS)  # another request of this login is renewing: wait for its result
    try:
        yield
    finally:
        db.session.rollback()  # whatever the block did not commit is not kept
        give_back_lease(login_id, lease)


def take_lease(login_id: str, lease: str, now: int) -> bool:
    """Take the login's lease if it is free or has lapsed; the commit makes the ORM re-read."""
    taken = db.session.execute(
        update(LoginSession)
        .where(
            LoginSession.id == login_id,
            or_(LoginSession.renewal_lease.is_(None), LoginSession.renewal_lease_until <= now),
        )
        .values(renewal_lease=lease, renewal_lease_until=now + LEASE_SECONDS)
    ).rowcount
    db.session.commit()
    if not taken and db.session.scalar(select(LoginSession.id).filter_by(id=login_id)) is None:
        raise LoginExpired()  # the login ended meanwhile (logout in another tab)
    return bool(taken)


def give_back_lease(login_id: str, lease: str) -> None:
    """Free the lease, unless it lapsed and someone else holds it now."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == login_id, LoginSession.renewal_lease == lease)
        .values(renewal_lease=None, renewal_lease_until=None)
    )
    db.session.commit()


def pause(seconds: float) -> None:
    """Wait before trying the lease again (tests replace this)."""
    time.sleep(seconds)
