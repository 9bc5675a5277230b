"""Fetch the next page while this one is being mapped (no Odoo here).

A :class:`Prefetcher` runs one network call per key in a background thread
and keeps its outcome for whoever asks for the same key next, within
``ttl`` seconds. The thread only talks HTTP: it never touches the ORM. A
key asked for that was never started, expired, or failed gives ``None``:
the caller then fetches it itself (and gets the error, if any, first hand).
"""

import logging
import threading
import time

_logger = logging.getLogger(__name__)


class _Fetch:
    __slots__ = ("done", "error", "started", "value")

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error = None
        self.started = time.monotonic()


class Prefetcher:
    def __init__(self, ttl=120.0, max_entries=8):
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._fetches = {}  # key -> _Fetch

    def start(self, key, fn, group=None):
        """Run ``fn()`` in a background thread for ``key``. ``group`` (e.g. a
        form): a newer fetch of the same group replaces an older one."""
        fetch = _Fetch()
        with self._lock:
            self._expire()
            for old in [k for k in self._fetches if group is not None and k[0] == group]:
                del self._fetches[old]
            if len(self._fetches) >= self.max_entries:
                return False
            self._fetches[(group, key)] = fetch

        def run():
            try:
                fetch.value = fn()
            except Exception as exc:  # the caller fetches again and sees it first hand
                fetch.error = exc
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

    def pending(self):
        with self._lock:
            return len(self._fetches)

    def clear(self):
        with self._lock:
            self._fetches.clear()

    def _expire(self):
        now = time.monotonic()
        for key in [k for k, f in self._fetches.items() if now - f.started > self.ttl]:
            del self._fetches[key]
