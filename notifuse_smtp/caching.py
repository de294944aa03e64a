"""Short-lived answers this process remembers (cachetools), dropped when integrations change.

Routing decisions and sender lists are read on every send_email and every drain; remembering
them for ROUTE_CACHE_SECONDS saves queries, and `clear_all()` (connected to the signals sent
when an integration or a sender changes) keeps an edit in this process from waiting for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache
from django.conf import settings

_caches: list[RecentAnswers] = []
_MISSING = object()


class RecentAnswers:
    """A TTL cache whose lifetime is read from a setting (tests change it at run time)."""

    def __init__(self, ttl_setting: str, maxsize: int = 1000) -> None:
        self.ttl_setting = ttl_setting
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.cache: TTLCache = self._new()
        _caches.append(self)

    def get(self, key: Hashable, compute: Callable[[], Any], *, fresh: bool = False) -> Any:
        """The remembered answer for `key`, or `compute()`'s (remembered); `fresh` skips it."""
        with self.lock:
            if self.cache.ttl != self._ttl():
                self.cache = self._new()
            if not fresh:
                value = self.cache.get(key, _MISSING)
                if value is not _MISSING:
                    return value
        value = compute()
        with self.lock:
            self.cache[key] = value
        return value

    def clear(self) -> None:
        with self.lock:
            self.cache.clear()

    def _ttl(self) -> float:
        return float(getattr(settings, self.ttl_setting))

    def _new(self) -> TTLCache:
        return TTLCache(maxsize=self.maxsize, ttl=self._ttl())


def clear_all(**_signal_arguments) -> None:
    """Forget every remembered answer (a signal receiver: it takes any arguments)."""
    for cache in _caches:
        cache.clear()
