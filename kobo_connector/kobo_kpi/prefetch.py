"""Fetch pages ahead while others are being mapped (no Odoo here).

A :class:`Prefetcher` runs network calls in background threads and keeps
each outcome for whoever asks for the same key next, within ``ttl``
seconds. The threads only talk HTTP: they never touch the ORM. A key asked
for that was never started, expired, or failed gives ``None``: the caller
then fetches it itself (and gets the error, if any, first hand).

Calls to one server run at most ``per_server`` at a time (the others wait
their turn in their thread), and none starts while that server's last
``Retry-After`` (a 429 met by a fetch) runs.
"""

import logging
import threading
import time

from .errors import KoboThrottled

_logger = logging.getLogger(__name__)


class _Fetch:
    __slots__ = ("done", "error", "started", "value")

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error = None
        self.started = time.monotonic()


class Prefetcher:
    def __init__(self, ttl=120.0, max_entries=64, per_server=4):
        self.ttl = ttl
        self.max_entries = max_entries
        self.per_server = per_server
        self._lock = threading.Lock()
        self._fetches = {}  # (group, key) -> _Fetch
        self._slots = {}  # server -> BoundedSemaphore
        self._throttled = {}  # server -> monotonic time until which nothing starts

    def start(self, key, fn, group=None, server=None, replace=True):
        """Run ``fn()`` in a background thread for ``key``. ``group`` (e.g. a
        form): with ``replace``, a newer fetch of the same group replaces the
        older ones. ``server``: the bound and the throttle it falls under.
        Return False when nothing was started."""
        fetch = _Fetch()
        with self._lock:
            self._expire()
            if server is not None and self._throttled.get(server, 0) > time.monotonic():
                return False
            if replace:
                for old in [k for k in self._fetches if group is not None and k[0] == group]:
                    del self._fetches[old]
            if len(self._fetches) >= self.max_entries or (group, key) in self._fetches:
                return False
            self._fetches[(group, key)] = fetch
            slots = None
            if server is not None:
                slots = self._slots.setdefault(server, threading.BoundedSemaphore(self.per_server))

        def run():
            try:
                if slots is not None:
                    slots.acquire()
                try:
                    fetch.value = fn()
                finally:
                    if slots is not None:
                        slots.release()
            except Exception as exc:  # the caller fetches again and sees it first hand
                fetch.error = exc
                if server is not None and isinstance(exc, KoboThrottled):
                    with self._lock:
                        self._throttled[server] = time.monotonic() + (exc.retry_after or 60)
                _logger.info("prefetch failed: %s", type(exc).__name__)
            finally:
                fetch.done.set()

        threading.Thread(target=run, daemon=True, name="kobo-prefetch").start()
        return True

    def take(self, key, group=None, timeout=300.0):
        """The value fetched for ``key`` (waiting for it), or ``None``."""
        with self._lock:
            self._expire()
            fetch = self._fetches.pop((group, key), None)
        if fetch is None or not fetch.done.wait(timeout) or fetch.error is not None:
            return None
        return fetch.value

    def keys(self, group):
        """The keys of ``group`` fetched or on their way."""
        with self._lock:
            self._expire()
            return [k for g, k in self._fetches if g == group]

    def drop(self, group):
        with self._lock:
            for old in [k for k in self._fetches if k[0] == group]:
                del self._fetches[old]

    def pending(self):
        with self._lock:
            return len(self._fetches)

    def clear(self):
        with self._lock:
            self._fetches.clear()
            self._throttled.clear()

    def _expire(self):
        now = time.monotonic()
        for key in [k for k, f in self._fetches.items() if now - f.started > self.ttl]:
            del self._fetches[key]
