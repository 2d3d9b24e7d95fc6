"""What the plugin reads of pytest's, pytest-asyncio's and anyio's private API.

One small function each, named here with the versions it knows:
- pytest 8-9: the assertion-rewriting import hook in `sys.meta_path` keeps the
  names it rewrites in a set, `_must_rewrite` (`leave_unrewritten`).
- pytest 8-9: `_pytest.unittest`'s class fixture names,
  `_unittest_setUpClass_fixture_<class>` (`unittest_class_fixture`).
- pytest 8.4+: `_pytest.threadexception.collect_thread_exception(config)`, which
  reports what its `threading.excepthook` queued, as pytest does at the end of each
  phase (`report_thread_exceptions`).
- pytest-asyncio 1.x: its loop fixtures `_<scope>_scoped_runner`, whose value is
  an `asyncio.Runner` (`is_asyncio_loop_fixture`).
- anyio 4.x: its `pytest_pyfunc_call` runs a test in its runner when the test
  requests `anyio_backend` and is an `async def` (`runs_in_anyio`);
  `anyio.pytest_plugin.get_runner` (a lease on the test runner) and
  `extract_backend_and_options` (`anyio_runner_lease`); the runner's calls run in
  a task of `TestRunner._call_in_runner_task` (`hide_anyio_call_tasks`).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from typing import Any

import pytest

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


def leave_unrewritten(package: str) -> None:
    """Take `package` out of what pytest's assertion rewriting imports. pytest marks
    every module of a distribution with a `pytest11` entry point; leaktest has no
    assertion of its own to rewrite, and each of its modules rewritten cost every run a
    second search and a source hash, and where pytest cannot write its cache
    (read-only site-packages, ``PYTHONDONTWRITEBYTECODE``) a parse and a compile."""
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)
        if isinstance(marked, set):  # the package, or the plugin's module (``-p``)
            marked.difference_update([name for name in marked if name.partition(".")[0] == package])


def unittest_class_fixture(name: str) -> bool:
    """pytest 8-9 runs a TestCase's setUpClass/tearDownClass as fixture `_unittest_setUpClass_fixture_<class>`."""
    return name.startswith("_unittest_setUpClass_fixture_")


def report_thread_exceptions(config: pytest.Config) -> None:
    """Report now, in the phase under way, the exceptions threads raised since pytest
    last looked (pytest 8.4+; earlier ones report them where they happen)."""
    module = sys.modules.get("_pytest.threadexception")
    collect = getattr(module, "collect_thread_exception", None)
    if collect is not None:
        collect(config)


def is_asyncio_loop_fixture(name: str) -> bool:
    """pytest-asyncio's per-scope loop fixtures (1.x): `_function_scoped_runner`, ..."""
    return name.startswith("_") and name.endswith("_scoped_runner")


def runs_in_anyio(item: pytest.Item) -> object | None:
    """The `anyio_backend` of a test anyio 4.x runs in its runner (an `async def`
    test requesting the fixture); None for any other test, a sync one requesting
    the fixture included: anyio leaves that one alone."""
    backend: object = getattr(item, "funcargs", {}).get("anyio_backend")
    if backend is None or not inspect.iscoroutinefunction(getattr(item, "obj", None)):
        return None
    return backend


def anyio_runner_lease(backend: object) -> tuple[contextlib.AbstractContextManager[Any], Any] | None:
    """A lease on anyio's test runner (anyio 4.x), which keeps its asyncio loop open.

    anyio's own `pytest_pyfunc_call` closes the runner, cancelling what is pending,
    when the last lease ends: holding one until the check lets the check see them.
    """
    plugin = importlib.import_module("anyio.pytest_plugin")
    name, options = plugin.extract_backend_and_options(backend)
    if name != "asyncio":
        return None  # the task probe knows asyncio's tasks only
    lease: contextlib.AbstractContextManager[Any] = plugin.get_runner(name, options)
    return lease, lease.__enter__()


def hide_anyio_call_tasks() -> None:
    """anyio 4.x runs a call on its test runner in a task of `_call_in_runner_task`: not a leak."""
    import asyncio

    from ..probes.tasks import hide

    for task in asyncio.all_tasks():
        if getattr(task.get_coro(), "__qualname__", "") == "TestRunner._call_in_runner_task":
            hide(task)
