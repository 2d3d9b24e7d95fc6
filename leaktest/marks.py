"""Per-test settings: `leak_settings(...)` and `expected_leak(reason=...)` on a test method.

Both only mark the function (sync or async) with an attribute, validated when
the decorator is applied; the base classes and the runner read it when the test
runs. They stack, in any order.
"""

from __future__ import annotations

from collections.abc import Callable

from .settings import validated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


OVERRIDES = "_leaktest_overrides"
EXPECTED_LEAK = "_leaktest_expected_leak"
#: Set by either mark: the one attribute the clean path of an unmarked test reads.
MARKED = "_leaktest_marked"


def leak_settings(**options: object) -> Callable[[F], F]:
    """This test's own settings: values replace the class's, ignore lists add to them.

    Any class attribute may be given: ``grace_period``, ``ignore_*``, ``check_*``,
    ``cleanup_leaks``, ``leak_mode``.
    """
    overrides = validated("leak_settings", options)

    def mark(func: F) -> F:
        _require_function("leak_settings", func)
        setattr(func, OVERRIDES, {**getattr(func, OVERRIDES, {}), **overrides})
        setattr(func, MARKED, True)
        return func

    return mark


def expected_leak(*, reason: str) -> Callable[[F], F]:
    """A known, tracked leak: reported as an expected failure, not a failure.

    A test so marked that stops leaking is reported as an unexpected success,
    so the mark does not outlive the leak.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise TypeError(f"expected_leak: reason must be a non-empty string, not {reason!r}")

    def mark(func: F) -> F:
        _require_function("expected_leak", func)
        setattr(func, EXPECTED_LEAK, reason)
        setattr(func, MARKED, True)
        return func

    return mark


def _require_function(decorator: str, func: object) -> None:
    if not callable(func) or isinstance(func, type):
        raise TypeError(f"{decorator}(...) decorates a test method, not {func!r}")


def overrides_of(method: object) -> dict[str, object] | None:
    return getattr(method, OVERRIDES, None)


def expected_leak_of(method: object) -> str | None:
    return getattr(method, EXPECTED_LEAK, None)
