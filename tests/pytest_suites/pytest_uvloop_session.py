"""A session-scoped uvloop loop (pytest-asyncio): older than the tests, open through
them, its runner's own (see tests/test_pytest_uvloop.py)."""

import asyncio
import sys

import pytest
import uvloop

# pytest-asyncio 1.x deprecates overriding event_loop_policy; it is still how 0.2x-1.x all take uvloop.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_kept = []


@pytest.fixture(scope="session")
def event_loop_policy():
    return uvloop.EventLoopPolicy()


def session_tick():
    """The callback of the timer left pending."""


@pytest.mark.asyncio(loop_scope="session")
async def test_clean_first():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    await asyncio.sleep(0.001)


@pytest.mark.asyncio(loop_scope="session")
async def test_leaves_a_timer_on_the_session_loop():
    _kept.append(asyncio.get_running_loop().call_later(3600, session_tick))


@pytest.mark.asyncio(loop_scope="session")
async def test_leaves_a_server_on_the_session_loop():
    _kept.append(await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0))


@pytest.mark.asyncio(loop_scope="session")
async def test_clean_after():
    loop = asyncio.get_running_loop()
    loop.call_later(3600, session_tick).cancel()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    server.close()
    await server.wait_closed()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await process.wait()
    await asyncio.sleep(0.001)
