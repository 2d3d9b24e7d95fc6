"""The ecosystem's long-lived helpers leaktest knows by default, each with the reason.

One place, plain data: a helper is a name, why it outlives a test by design, and the
options a class would take to ignore it (the same keys as a `leaktest.ignores` entry
point's mapping). Each entry was checked against the library's own code, at the
version named. `library_ignores = False` (`--no-library-ignores`) turns them off,
with the entry points (ignore_sources.py). To add one: a `Helper` below, and a test
in tests/test_ignore_sources.py that starts the real thing. A task's or socket's hook
keeps only the frames out to the code that asked for it and that code's caller
(`stacks.creation_stack`), and, when that code is in the package of a library rule's
`ignore_started_by` function, that package's frames out to its caller
(`stacks.follow_packages`): an `ignore_started_by` function must be one of those.

Where ownership cannot be known from how a thing was made, it is not guessed: an
object made at import that keeps a resource for later callers (a module-level pool)
is known here by the function through which its users reach it.

`WRAPPER_FUNCTIONS` are not ignores: functions that only wrap another call, skipped
when a report names the function on top of a stack (the call they wrap is what runs).

A test runner's own loop needs no entry: it is known by how it was made. pytest-asyncio's
class-, module-, package- and session-scoped loops are their fixtures' (pytest_plugin/
hooks.py, `pytest_fixture_setup`; on uvloop too: tests/test_pytest_uvloop.py), anyio's
runner loop is taken over by a lease only for the tests it runs (`_compat.anyio_runner_lease`),
and `IsolatedAsyncioTestCase` closes its own loop before the check (runner.py).

Checked and left out: coverage.py 7.18 starts no thread (its collector sets trace
functions, `threading.settrace` included, and takes locks); debugpy's own threads
(`debugpy.common.messaging`, `debugpy.adapter`) run in the adapter process, not in
the debuggee; teamcity-messages 1.33 (PyCharm's and TeamCity's test reporting)
starts none (a `threading.local` only).
"""

from __future__ import annotations

from collections.abc import Mapping


class Helper:
    """A helper that outlives a test on purpose, and how to recognise it."""

    __slots__ = ("name", "reason", "options")

    def __init__(self, name: str, reason: str, options: Mapping[str, tuple[str, ...]]) -> None:
        self.name = name
        self.reason = reason
        self.options = options


KNOWN_HELPERS: tuple[Helper, ...] = (
    Helper(
        "trio's thread cache",
        "trio 0.35 (trio/_core/_thread_cache.py): `to_thread.run_sync` hands jobs to a process-wide"
        " cache of daemon workers ('Trio thread N') that wait up to 10 s in `WorkerThread._work` for"
        " the next job, whoever asks; a worker still running a job is not idle and still reported",
        {"ignore_top_functions": ("trio._core._thread_cache.WorkerThread._work",)},
    ),
    Helper(
        "anyio's worker threads (asyncio backend)",
        "anyio 4.16 (anyio/_backends/_asyncio.py): `to_thread.run_sync` keeps idle 'AnyIO worker"
        " thread's per event loop, waiting in `WorkerThread.run` up to 10 s or until the loop's root"
        " task ends: a test runner's loop outlives the test that needed the worker",
        {"ignore_top_functions": ("anyio._backends._asyncio.WorkerThread.run",)},
    ),
    Helper(
        "anyio's process pool",
        "anyio 4.16 (anyio/to_process.py): `to_process.run_sync` keeps idle worker processes up to"
        " 5 minutes per event loop and starts 'AnyIO process pool shutdown task', which sleeps until"
        " the loop's root task ends and then kills the workers: both are made in `run_sync`",
        {"ignore_started_by": ("anyio.to_process.run_sync",)},
    ),
    Helper(
        "pydevd's daemon threads (debugpy, PyCharm)",
        "pydevd, also vendored by debugpy 1.8.22 (_pydevd_bundle/pydevd_daemon_thread.py): every"
        " helper thread of the debugger (reader, writer, command, timeout, async value threads, some"
        " started on the IDE's request while a test runs) is a `PyDBDaemonThread` run by its `run`",
        {"ignore_any_functions": ("_pydevd_bundle.pydevd_daemon_thread.PyDBDaemonThread.run",)},
    ),
    Helper(
        "urllib3's module-level pool",
        "urllib3 2.x (urllib3/__init__.py, tested: 2.8.0): the top-level `urllib3.request()` sends"
        " through `_DEFAULT_POOL`, a `PoolManager` made at import, whose connection pools keep each"
        " keep-alive connection for the next caller (`HTTPConnectionPool._put_conn`): a socket made"
        " through `urllib3.request` is that pool's, whichever test asked first; a socket of a"
        " `PoolManager` or `HTTPConnectionPool` the code made itself is still reported",
        {"ignore_started_by": ("urllib3.request",)},
    ),
)

#: blockbuster 1.5.29 (blockbuster/blockbuster.py) replaces blocking functions
#: (time.sleep, socket and file methods...) by a closure of `_wrap_blocking` that
#: calls the original: a thread blocked in one has the caller on top, not blockbuster.
WRAPPER_FUNCTIONS: frozenset[str] = frozenset({"blockbuster.blockbuster._wrap_blocking.<locals>.wrapper"})
