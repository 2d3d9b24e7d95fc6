"""Tasks left pending on pytest-asyncio's loops (see tests/test_pytest_plugin.py)."""

import asyncio

import pytest

_tasks = []  # keep the leaked tasks referenced


@pytest.mark.asyncio
async def test_clean():
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_leaves_a_task_pending():
    _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="pending-task"))


@pytest.mark.asyncio
@pytest.mark.leaktest(grace_period=3600)
async def test_task_finishing_within_the_grace():
    # With a one-hour grace, this only finishes if the check awaits it on the test's loop.
    async def wind_down():
        for _ in range(3):
            await asyncio.sleep(0)

    _tasks.append(asyncio.get_running_loop().create_task(wind_down(), name="winding-down-task"))


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop_task():
    _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="module-loop-task"))


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop_clean():
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="class")
class TestClassLoop:
    async def test_clean(self):
        await asyncio.sleep(0)

    async def test_last_on_the_loop_leaves_a_task(self):
        # pytest-asyncio closes the class's loop in this test's teardown.
        _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="class-loop-task"))
