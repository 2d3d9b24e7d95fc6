"""Hubs whose `run` is wrapped by a decorator written with `functools.wraps`."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def logged(func: F) -> F:
    """One wrapper code object shared by every function it decorates."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Reporter:
    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self.thread = threading.Thread(target=self.run, name=name)

    @logged
    def run(self) -> None:
        while self._queue.get() is not None:
            pass

    def stop(self) -> None:
        self._queue.put(None)
        self.thread.join()


class Collector(Reporter):
    @logged
    def run(self) -> None:
        while self._queue.get() is not None:
            pass
