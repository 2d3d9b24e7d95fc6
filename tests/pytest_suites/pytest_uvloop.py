"""Leaks on uvloop's loops, imported by the suite after leaktest (see tests/test_pytest_plugin.py)."""

import asyncio

import pytest
import uvloop

_kept = []  # keep the leaked tasks and loops referenced


@pytest.fixture
def anyio_backend():
    return "asyncio", {"use_uvloop": True}


@pytest.mark.anyio
async def test_clean_on_uvloop():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_leaves_a_task_pending_on_uvloop():
    _kept.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="uvloop-pending-task"))


def test_leaves_a_uvloop_loop_open():
    _kept.append(uvloop.new_event_loop())
