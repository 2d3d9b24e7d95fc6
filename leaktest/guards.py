"""`no_leaks` and `verify_none`: the check outside the base classes."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType

from . import check
from .report import LeakError
from .settings import Settings, from_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ParamSpec, TypeVar, overload

    P = ParamSpec("P")
    R = TypeVar("R")

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


class _NoLeaks:
    """Baseline at entry, check at exit; usable as a context manager and a decorator."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._baselines: list[check.Baseline | None] = []  # None: the mode in force is off

    def __enter__(self) -> _NoLeaks:
        self._baselines.append(check.take_baseline(self._settings))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        check.run_blocking(self._check_at_exit(exc, check.blocking))

    async def __aenter__(self) -> _NoLeaks:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Like `__exit__`, but the grace is awaited: the loop keeps running its tasks."""
        await self._check_at_exit(exc, check.awaiting)

    async def _check_at_exit(self, exc: BaseException | None, wait: check.WaitStrategy) -> None:
        """The check of the innermost block: a leak raises, or is noted on the block's own `exc`."""
        baseline = self._baselines.pop()
        if baseline is None:
            return
        try:
            await check.verify_with(baseline, wait)
        except LeakError as leak:
            if exc is None:
                raise
            _note_leak(exc, leak)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):
            async_func: Callable[P, Awaitable[Any]] = func

            @functools.wraps(func)
            async def async_checked(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with _NoLeaks(self._settings):
                    return await async_func(*args, **kwargs)

            return async_checked  # type: ignore[return-value]

        @functools.wraps(func)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            with _NoLeaks(self._settings):
                return func(*args, **kwargs)

        return checked


def _note_leak(exc: BaseException, leak: LeakError) -> None:
    """The block raised `exc` and also leaked: the leak becomes a note, `exc` propagates."""
    _add_note(exc, f"leaktest: the block also leaked:\n{leak}")


def _add_note(exc: BaseException, note: str) -> None:
    """`add_note` where it exists (3.11+); on 3.10 the same `__notes__` list, not displayed."""
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:
        notes = getattr(exc, "__notes__", None)
        exc.__notes__ = [*(notes or []), note]  # type: ignore[attr-defined]


if TYPE_CHECKING:

    @overload
    def no_leaks(func: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def no_leaks(**options: object) -> _NoLeaks: ...


def no_leaks(func: Callable[P, R] | None = None, /, **options: object) -> _NoLeaks | Callable[P, R]:
    """Fail with `LeakError` when the block or function leaves something running.

    The options are the class attributes' (settings.all_options()), validated now.
    """
    guard = _NoLeaks(from_options("no_leaks", **options))
    return guard if func is None else guard(func)


def verify_none(**options: object) -> None:
    """Like goleak's VerifyNone: anything alive but the main and calling threads is a leak."""
    baseline = check.take_baseline(from_options("verify_none", **options), everything=True, owner="verify_none()")
    if baseline is not None:
        check.verify(baseline)
