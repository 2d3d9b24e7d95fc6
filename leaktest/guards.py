"""`no_leaks` and `verify_none`: the check outside the base classes."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from . import check
from .report import LeakError
from .settings import DEFAULT_GRACE_PERIOD, FunctionRef, Settings, from_options

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

P = ParamSpec("P")
R = TypeVar("R")


class _NoLeaks:
    """Baseline at entry, check at exit; usable as a context manager and a decorator."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._baselines: list[check.Baseline] = []

    def __enter__(self) -> _NoLeaks:
        self._baselines.append(check.take_baseline(self._settings))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        baseline = self._baselines.pop()
        if exc is None:
            check.verify(baseline)
            return
        try:
            check.verify(baseline)
        except LeakError as leak:
            _add_note(exc, f"leaktest: the block also leaked:\n{leak}")

    async def __aenter__(self) -> _NoLeaks:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Like `__exit__`, but the grace is awaited: the loop keeps running its tasks."""
        baseline = self._baselines.pop()
        if exc is None:
            await check.verify_async(baseline)
            return
        try:
            await check.verify_async(baseline)
        except LeakError as leak:
            _add_note(exc, f"leaktest: the block also leaked:\n{leak}")

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


def _add_note(exc: BaseException, note: str) -> None:
    """`add_note` where it exists (3.11+); on 3.10 the same `__notes__` list, not displayed."""
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:
        notes = getattr(exc, "__notes__", None)
        exc.__notes__ = [*(notes or []), note]  # type: ignore[attr-defined]


@overload
def no_leaks(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def no_leaks(
    *,
    grace_period: float = DEFAULT_GRACE_PERIOD,
    ignore_threads: tuple[str, ...] | list[str] = (),
    ignore_tasks: tuple[str, ...] | list[str] = (),
    ignore_top_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_any_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_sockets: tuple[str, ...] | list[str] = (),
    check_sockets: bool = True,
    check_handles: bool = True,
    check_loops: bool = True,
    check_fds: bool = False,
) -> _NoLeaks: ...


def no_leaks(
    func: Callable[P, R] | None = None,
    /,
    *,
    grace_period: float = DEFAULT_GRACE_PERIOD,
    ignore_threads: tuple[str, ...] | list[str] = (),
    ignore_tasks: tuple[str, ...] | list[str] = (),
    ignore_top_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_any_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_sockets: tuple[str, ...] | list[str] = (),
    check_sockets: bool = True,
    check_handles: bool = True,
    check_loops: bool = True,
    check_fds: bool = False,
) -> _NoLeaks | Callable[P, R]:
    """Fail with `LeakError` when the block or function leaves something running."""
    guard = _NoLeaks(
        from_options(
            "no_leaks",
            grace_period,
            ignore_threads=ignore_threads,
            ignore_tasks=ignore_tasks,
            ignore_top_functions=ignore_top_functions,
            ignore_any_functions=ignore_any_functions,
            ignore_sockets=ignore_sockets,
            check_sockets=check_sockets,
            check_handles=check_handles,
            check_loops=check_loops,
            check_fds=check_fds,
        )
    )
    return guard if func is None else guard(func)


def verify_none(
    *,
    grace_period: float = DEFAULT_GRACE_PERIOD,
    ignore_threads: tuple[str, ...] | list[str] = (),
    ignore_tasks: tuple[str, ...] | list[str] = (),
    ignore_top_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_any_functions: tuple[FunctionRef, ...] | list[FunctionRef] = (),
    ignore_sockets: tuple[str, ...] | list[str] = (),
    check_sockets: bool = True,
    check_handles: bool = True,
    check_loops: bool = True,
    check_fds: bool = False,
) -> None:
    """Like goleak's VerifyNone: anything alive but the main and calling threads is a leak."""
    settings = from_options(
        "verify_none",
        grace_period,
        ignore_threads=ignore_threads,
        ignore_tasks=ignore_tasks,
        ignore_top_functions=ignore_top_functions,
        ignore_any_functions=ignore_any_functions,
        ignore_sockets=ignore_sockets,
        check_sockets=check_sockets,
        check_handles=check_handles,
        check_loops=check_loops,
        check_fds=check_fds,
    )
    check.verify(check.take_baseline(settings, everything=True))
