"""Timers, servers and subprocesses on uvloop's loops (see tests/test_pytest_uvloop.py)."""

import asyncio
import atexit
import contextlib
import os
import signal
import sys
import tempfile

import pytest
import uvloop

_kept = []  # keep the leaked handles, servers and processes referenced


@atexit.register
def _end_the_leaked_processes():
    """Once the run is over (each leak reported), the children left on purpose end too:
    else they would sleep on for an hour after every run of this suite."""
    for kept in _kept:
        if isinstance(kept, asyncio.subprocess.Process) and kept.returncode is None:
            with contextlib.suppress(OSError):  # the shell's `sleep` first (Linux lists it)
                with open(f"/proc/{kept.pid}/task/{kept.pid}/children") as children:
                    for child in children.read().split():
                        os.kill(int(child), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(kept.pid, signal.SIGKILL)


@pytest.fixture
def anyio_backend():
    return "asyncio", {"use_uvloop": True}


def uvloop_tick():
    """The callback of the timer left pending."""


@pytest.mark.anyio
async def test_leaves_a_timer_on_uvloop():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    _kept.append(asyncio.get_running_loop().call_later(3600, uvloop_tick))


@pytest.mark.anyio
async def test_leaves_a_timer_at_on_uvloop():
    loop = asyncio.get_running_loop()
    _kept.append(loop.call_at(loop.time() + 3600, uvloop_tick, "at"))


@pytest.mark.anyio
async def test_leaves_a_server_on_uvloop():
    _kept.append(await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0))


@pytest.mark.anyio
async def test_leaves_a_subprocess_on_uvloop():
    _kept.append(await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(3600)"))


@pytest.mark.anyio
async def test_leaves_a_unix_server_on_uvloop():
    path = os.path.join(tempfile.mkdtemp(), "uvloop.sock")
    _kept.append(await asyncio.get_running_loop().create_unix_server(asyncio.Protocol, path))


@pytest.mark.anyio
async def test_leaves_a_shell_on_uvloop():
    _kept.append(await asyncio.create_subprocess_shell("sleep 3600"))


@pytest.mark.anyio
async def test_clean_on_uvloop():
    loop = asyncio.get_running_loop()
    loop.call_later(3600, uvloop_tick).cancel()
    loop.call_soon(uvloop_tick)
    fired = loop.create_future()
    loop.call_later(0.001, fired.set_result, None)
    await fired
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    server.close()
    await server.wait_closed()
    unix = await loop.create_unix_server(asyncio.Protocol, os.path.join(tempfile.mkdtemp(), "uvloop.sock"))
    unix.close()
    await unix.wait_closed()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await process.wait()
    shell = await asyncio.create_subprocess_shell("exit 0")
    await shell.wait()


def test_leaves_a_server_on_an_open_uvloop_loop():
    loop = uvloop.new_event_loop()
    _kept.append((loop, loop.run_until_complete(loop.create_server(asyncio.Protocol, "127.0.0.1", 0))))


def test_leaves_a_callback_on_an_open_uvloop_loop():
    loop = uvloop.new_event_loop()
    loop.call_soon(uvloop_tick, "soon")
    _kept.append(loop)
