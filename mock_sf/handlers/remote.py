"""What a handler fetches from its IdP (a JWKS, SAML metadata), cached the same careful way.

A document is fetched lazily, kept ``ttl`` seconds and then dropped (fail closed: nothing expired
is used), and fetched again early only on request (an unknown ``kid``, a failed signature), at
most once per ``cooldown`` seconds, so a flood of bad tokens cannot make us hammer the IdP.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from typing import Generic
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T
    fetched_at: float | None = None  # last successful fetch
    attempted_at: float | None = None  # last attempt, successful or not
    error: str | None = None  # why the last attempt failed, if it did


class RefreshingCache(Generic[T]):
    """Parsed documents by key; subclasses say how to parse, what is empty, which errors to
    expect. Tests replace ``fetch`` and ``clock``."""

    what = "document"
    errors: tuple[type[Exception], ...] = ()

    def __init__(
        self,
        fetch: Callable[[str, float], Any],
        *,
        ttl: float,
        cooldown: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.cooldown = cooldown
        self.timeout = timeout
        self.clock = clock
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._lock = threading.Lock()

    def cached(self, key: Hashable, url: str, *, refresh: bool = False) -> T:
        """The parsed document at ``url``: fetched if missing, expired or (cooldown allowing)
        asked to ``refresh``; empty when none can be had."""
        with self._lock:
            entry = self._entries.setdefault(key, _Entry(self._empty()))
            now = self.clock()
            stale = entry.fetched_at is None or now - entry.fetched_at >= self.ttl
            if stale:
                entry.value = self._empty()
            may_fetch = entry.attempted_at is None or now - entry.attempted_at >= self.cooldown
            if (stale or refresh) and may_fetch:
                entry.attempted_at = now
                try:
                    entry.value = self._parse(self.fetch(url, self.timeout), key)
                    entry.fetched_at, entry.error = now, None
                except self.errors as exc:
                    logger.warning("%s fetch from %s failed: %s", self.what, url, exc)
                    entry.error = f"{type(exc).__name__}: {exc}"
            return entry.value

    def fetch_error(self, key: Hashable) -> str | None:
        """Why the last fetch for ``key`` failed (None if it succeeded or none was tried), so a
        refusal can say the IdP was unreachable rather than that the token was wrong."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.error if entry else None

    def clear(self) -> None:
        """Forget every cached document."""
        with self._lock:
            self._entries.clear()

    def _empty(self) -> T:
        raise NotImplementedError

    def _parse(self, document: Any, key: Hashable) -> T:
        raise NotImplementedError
