"""A bounded map, safe across threads, that forgets its least recently used entry first: the
per-worker caches of rendered and rebuilt listings keep their entries in one."""

from __future__ import annotations

import threading
from collections import OrderedDict


class Recent:
    """At most `size` entries; reading or writing one makes it the most recent."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The value kept at `key`, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Keep `value` at `key`; the least recently used goes when over the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
