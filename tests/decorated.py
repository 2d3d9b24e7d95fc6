"""Hubs whose `run` is wrapped by a decorator written with `functools.wraps`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from hubs import Hub

F = TypeVar("F", bound=Callable[..., Any])


def logged(func: F) -> F:
    """One wrapper code object shared by every function it decorates."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Reporter(Hub):
    @logged
    def run(self) -> None:
        while self._queue.get() is not None:
            pass


class Collector(Reporter):
    @logged
    def run(self) -> None:
        while self._queue.get() is not None:
            pass
