"""The process that starts the suite's background subprocesses, and its client.

Run as a script by `support.Launcher`, its client. The tests' pytest and ``python -m leaktest`` runs start when their modules are
imported, and run while other modules' in-process tests do. Started by the test
process itself, each would be a child the in-process tests' own leak checks see
start and still run. So one launcher process, started before any test, starts
them all: its children are not this process's.

It also makes them cheaper. A ``python -m pytest`` with the launcher's own
python and the same interpreter settings is forked from the launcher, which has
imported pytest already (all ``python -m pytest`` does before reading its
arguments), instead of started afresh: half of a small run's time was that import.
Anything else is forked and exec'd as given.

Runs wait in the launcher's queue, each with its place in the order they were
asked for (a chain of runs shares one). It starts first the places the main thread
has waited for (a test needs them now), then the earliest; two at a time, at the
tests' own priority: a lower one can starve them on a machine kept busy (the stress
run), where what they check has a grace period measured on the clock.

Protocol: one JSON object per line. To the launcher: ``{"run": ID, "order",
"argv", "cwd", "env", "out", "err", "timeout"}``, ``{"first": ORDER}``. From it:
``{"ended": ID, "status": CODE or null when timed out, "out", "err"}``, the
run's output read here, so that the tests' process opens no file for it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Any

#: Runs at once: one per core of a small machine (more cost more CPU time than they
#: save in waiting).
_SLOTS = 2


def _serve() -> None:  # the launcher process
    try:
        import pytest  # noqa: F401  # what every forked pytest run would import first
    except ImportError:
        pass
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    queue: list[dict[str, Any]] = []
    running: dict[int, tuple[dict[str, Any], float]] = {}  # pid -> (its request, deadline)
    first: set[int] = set()  # the places in the order the main thread has waited for
    requests, pending = sys.stdin.fileno(), b""
    open_input = True
    while True:
        for pid, (request, deadline) in list(running.items()):
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                del running[pid]
                _reply(request, os.waitstatus_to_exitcode(status))
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                del running[pid]
                _reply(request, None)
        while queue and len(running) < _SLOTS:
            request = min(queue, key=lambda request: (request["order"] not in first, request["order"]))
            queue.remove(request)
            pid = os.fork()
            if pid == 0:
                os.close(wake_read)
                os.close(wake_write)
                _child(request)
            running[pid] = (request, time.monotonic() + request["timeout"])
        if not open_input and not running:
            return
        nearest = min((deadline for _, deadline in running.values()), default=None)
        timeout = None if nearest is None else max(0.0, nearest - time.monotonic())
        readable, _, _ = select.select([requests, wake_read] if open_input else [wake_read], [], [], timeout)
        if wake_read in readable:
            os.read(wake_read, 512)
        if requests in readable:
            chunk = os.read(requests, 1 << 16)
            if not chunk:  # the tests have ended: what nobody will read is not started
                open_input = False
                queue.clear()
            *lines, pending = (pending + chunk).split(b"\n")
            for message in map(json.loads, lines):
                if "first" in message:
                    first.add(message["first"])
                else:
                    queue.append(message)


def _reply(request: dict[str, Any], status: int | None) -> None:
    """The run's end, with its output: the tests' process opens no file for it (a test
    checking file descriptors would see one open in another thread)."""
    out, err = _read_and_remove(request["out"]), _read_and_remove(request["err"])
    sys.stdout.write(json.dumps({"ended": request["run"], "status": status, "out": out, "err": err}) + "\n")
    sys.stdout.flush()


def _read_and_remove(path: str) -> str:
    """What a run wrote to `path` ("" where it failed before opening it: the
    launcher's own stderr has why)."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="locale") as file:  # what subprocess.run(text=True) decodes with
        text = file.read()
    os.remove(path)
    return text


def _child(request: dict[str, Any]) -> None:  # a forked copy of the launcher
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    code = 1
    try:
        os.chdir(request["cwd"])
        stdin = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        for fd, target in ((stdin, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        argv, env = request["argv"], request["env"]
        if _same_interpreter(argv, env) and "pytest" in sys.modules:
            code = _pytest(argv[3:], env)
        else:
            os.execve(argv[0], argv, env)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _same_interpreter(argv: list[str], env: dict[str, str]) -> bool:
    """Whether `argv` is ``python -m pytest ...`` with the launcher's python and
    every PYTHON* variable but PYTHONPATH as the launcher's: nothing it would
    start with differs."""

    def settings(environment: dict[str, str] | os._Environ[str]) -> dict[str, str]:
        return {k: v for k, v in environment.items() if k.startswith("PYTHON") and k != "PYTHONPATH"}

    return argv[:3] == [sys.executable, "-m", "pytest"] and settings(env) == settings(os.environ)


def _pytest(args: list[str], env: dict[str, str]) -> int:
    """Run ``python -m pytest args`` here as a fresh interpreter would, through its end."""
    import atexit
    import runpy
    import threading

    os.environ.clear()
    os.environ.update(env)
    paths = [os.path.abspath(path) for path in env.get("PYTHONPATH", "").split(os.pathsep) if path]
    sys.path[:] = [os.getcwd(), *dict.fromkeys(paths), *sys.path[1:]]
    sys.argv[:] = ["-m", *args]
    try:
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
            code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit, in its order
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    _serve()
