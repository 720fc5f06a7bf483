"""A small thread-safe LRU of computed results, held by the core object.

The web app's pages and the API calls their scripts make often ask the same question twice; the
analysis services compute once through this cache. Keys include a fingerprint of the agency's
data, so a new import makes stale results unreachable (see
:func:`openilp.services.analysis.common.cached`).

>>> cache = ResultCache(maxsize=2)
>>> cache.get_or_compute("a", lambda: 1), cache.get_or_compute("a", lambda: 2)
(1, 1)
>>> cache.hits, cache.misses
(1, 1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["ResultCache"]

T = TypeVar("T")


class ResultCache:
    """A small thread-safe LRU of analysis results.

    Keys are ``(kind, engine identity, data fingerprint, request)``: a new import changes the
    fingerprint, so stale results are never served. ``maxsize`` results are kept (they hold grids
    and tables of a few megabytes at most).
    """

    def __init__(self, maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                found: T = self._items[key]
                return found
        value = compute()
        with self._lock:
            self.misses += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)
