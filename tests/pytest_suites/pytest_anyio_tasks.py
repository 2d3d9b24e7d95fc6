"""Tasks left pending under anyio's pytest plugin (see tests/test_pytest_plugin.py)."""

import asyncio

import pytest

_tasks = []  # keep the leaked tasks referenced


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def background_task():
    """An async fixture that cancels, in its teardown, the task it started."""
    task = asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="fixture-task")
    yield task
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.anyio
async def test_clean():
    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_task_stopped_by_its_fixture(background_task):
    assert not background_task.done()


@pytest.mark.anyio
async def test_leaves_a_task_pending():
    _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="anyio-pending-task"))


def test_sync_with_the_backend_runs_its_own_loop(anyio_backend):
    """A sync test that only requests `anyio_backend`: anyio's runner is not its to hold."""
    import anyio

    anyio.run(asyncio.sleep, 0, backend=anyio_backend)
