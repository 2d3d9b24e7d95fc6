"""`AsyncHub`: the `loghub-run` task fans entries out, in publish order."""

from __future__ import annotations

import asyncio
import itertools
from typing import Protocol

from examples.loghub.entries import LogEntry

#: drain() only yields once a client's buffer is full, so a burst of entries
#: would hold the event loop; the hub lets other tasks run after this many.
ENTRIES_PER_TURN = 100


class AsyncSubscriber(Protocol):
    min_level: int

    async def send_text(self, text: str) -> None: ...


class AsyncHub:
    def __init__(self) -> None:
        self._entries: asyncio.Queue[LogEntry] = asyncio.Queue()
        self._subscribers: set[AsyncSubscriber] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="loghub-run")

    def register(self, subscriber: AsyncSubscriber) -> None:
        self._subscribers.add(subscriber)

    def unregister(self, subscriber: AsyncSubscriber) -> None:
        self._subscribers.discard(subscriber)

    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, entry: LogEntry) -> None:
        """Never waits: a slow client must not slow down the code that logs."""
        self._entries.put_nowait(entry)

    async def broadcast(self, entry: LogEntry) -> None:
        text = entry.to_json()
        for subscriber in [s for s in self._subscribers if entry.level_number >= s.min_level]:
            try:
                await subscriber.send_text(text)
            except OSError:  # that client is gone; the others must still get the entry
                self.unregister(subscriber)

    async def run(self) -> None:
        for sent in itertools.count(1):
            await self.broadcast(await self._entries.get())
            if sent % ENTRIES_PER_TURN == 0:
                await asyncio.sleep(0)

    async def stop(self) -> None:
        """Cancel `loghub-run` and wait until it is done; idempotent."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
