"""runtime/flow.py: Waiter (one pending writer) and WriteFlow (a transport's write side)."""

from __future__ import annotations

import asyncio

import pytest

from asgihost.runtime.flow import Waiter, WriteFlow


class Flow(WriteFlow):
    """A transport's protocol with nothing but its write side."""


def make_flow(paused: bool = False) -> Flow:
    flow = Flow()
    flow.init_flow(asyncio.get_running_loop(), paused)
    return flow


async def _settle() -> None:
    """Let every ready callback and task step run (a few loop turns, no sleeping)."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_wait_returns_once_woken():
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        task = asyncio.ensure_future(waiter.wait())
        await _settle()
        assert not task.done()
        waiter.wake()
        await asyncio.wait_for(task, 5)
        assert waiter.future is None

    asyncio.run(main())


def test_wake_with_nobody_waiting_is_a_no_op():
    # "wake ... is a no-op when nobody waits": it is not remembered, a later wait still waits.
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        waiter.wake()
        assert waiter.future is None
        task = asyncio.ensure_future(waiter.wait())
        await _settle()
        assert not task.done()
        waiter.wake()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_a_wake_after_wait_started_releases_it_even_before_it_suspends():
    # "wait returns ... at once when wake came first since the last wait started".
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        task = asyncio.ensure_future(waiter.wait())
        await asyncio.sleep(0)  # wait() has made its future and suspended on it
        waiter.wake()
        waiter.wake()  # a second wake finds nobody: harmless
        await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_each_wait_needs_its_own_wake():
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        for _ in range(3):
            task = asyncio.ensure_future(waiter.wait())
            await _settle()
            assert not task.done()
            waiter.wake()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_a_cancelled_wait_does_not_poison_the_next():
    async def main() -> None:
        waiter = Waiter(asyncio.get_running_loop())
        first = asyncio.ensure_future(waiter.wait())
        await _settle()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        second = asyncio.ensure_future(waiter.wait())
        await _settle()
        assert not second.done()  # it waits for its wake, as a fresh one does
        waiter.wake()
        await asyncio.wait_for(second, 5)

    asyncio.run(main())


def test_drain_returns_at_once_when_not_paused():
    async def main() -> None:
        flow = make_flow()
        assert not flow.write_paused
        await asyncio.wait_for(flow.drain(), 5)
        assert flow.writable.future is None  # it did not even make a future

    asyncio.run(main())


def test_drain_waits_while_paused_and_returns_on_resume():
    async def main() -> None:
        flow = make_flow()
        flow.pause_writing()
        task = asyncio.ensure_future(flow.drain())
        await _settle()
        assert not task.done()
        flow.resume_writing()
        assert not flow.write_paused
        await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_starting_paused():
    async def main() -> None:
        flow = make_flow(paused=True)
        task = asyncio.ensure_future(flow.drain())
        await _settle()
        assert not task.done()
        flow.resume_writing()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_a_lost_connection_wakes_the_writer_while_still_paused():
    # wake() alone (what connection_lost calls) releases drain; the caller tests its condition again.
    async def main() -> None:
        flow = make_flow()
        flow.pause_writing()
        task = asyncio.ensure_future(flow.drain())
        await _settle()
        flow.writable.wake()
        await asyncio.wait_for(task, 5)
        assert flow.write_paused

    asyncio.run(main())


def test_many_pause_resume_cycles():
    async def main() -> None:
        flow = make_flow()
        for _ in range(100):
            flow.pause_writing()
            task = asyncio.ensure_future(flow.drain())
            await asyncio.sleep(0)
            assert not task.done()
            flow.resume_writing()
            await asyncio.wait_for(task, 5)
            await asyncio.wait_for(flow.drain(), 5)  # not paused: at once
        assert flow.writable.future is None and not flow.write_paused

    asyncio.run(main())


def test_resume_without_a_writer_leaves_no_pending_wake():
    async def main() -> None:
        flow = make_flow()
        flow.pause_writing()
        flow.resume_writing()
        flow.pause_writing()
        task = asyncio.ensure_future(flow.drain())
        await _settle()
        assert not task.done()  # the earlier resume is not carried over
        flow.resume_writing()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
