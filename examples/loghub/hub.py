"""The `Hub`: one thread fans each published entry out to the subscribed clients.

Publishers only put entries on a queue, so logging never waits for a socket;
the single `loghub-run` thread keeps every client's stream in publish order.
"""

from __future__ import annotations

import queue
import threading
from typing import Protocol

from .entries import LogEntry


class Subscriber(Protocol):
    """What the hub needs of a client: its filter and a way to send it text."""

    min_level: int

    def send_text(self, text: str) -> None: ...


class Hub:
    def __init__(self) -> None:
        self._entries: queue.Queue[LogEntry | None] = queue.Queue()  # None: stop running
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self.run, name="loghub-run")
                self._thread.start()

    def register(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.add(subscriber)

    def unregister(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, entry: LogEntry) -> None:
        """Queue an entry for every subscriber whose minimum level it reaches."""
        self._entries.put(entry)

    def broadcast(self, entry: LogEntry) -> None:
        text = entry.to_json()
        with self._lock:
            targets = [s for s in self._subscribers if entry.level_number >= s.min_level]
        for subscriber in targets:
            try:
                subscriber.send_text(text)
            except OSError:  # that client is gone; the others must still get the entry
                self.unregister(subscriber)

    def run(self) -> None:
        while (entry := self._entries.get()) is not None:
            self.broadcast(entry)

    def stop(self) -> None:
        """Idempotent and safe from any thread; `loghub-run` has exited when it returns."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._entries.put(None)
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
