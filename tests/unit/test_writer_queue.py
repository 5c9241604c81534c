"""SQLite's writers of one process take turns first come, first served (bot.storage.uow
.WriterQueue), whether the turn is free, held, or just handed on."""

from __future__ import annotations

import asyncio

from bot.storage.uow import WriterQueue


async def test_a_free_turn_is_taken_at_once_and_a_held_one_is_waited_for():
    queue = WriterQueue()
    order: list[str] = []

    async def writer(name: str) -> None:
        assert await queue.enter()
        order.append(name)
        await asyncio.sleep(0.01)
        queue.leave()

    first = asyncio.create_task(writer("first"))
    await asyncio.sleep(0)
    assert order == ["first"], "taken without waiting"
    await asyncio.gather(first, writer("second"))
    assert order == ["first", "second"]


async def test_a_turn_handed_to_a_waiter_is_not_taken_by_a_newcomer():
    """When the holder leaves, the writer that waited goes next, even though a newcomer finds
    the lock free before the waiter has run."""
    queue = WriterQueue()
    order: list[str] = []
    assert await queue.enter()

    async def writer(name: str) -> None:
        assert await queue.enter()
        order.append(name)
        queue.leave()

    waiter = asyncio.create_task(writer("waited"))
    await asyncio.sleep(0)  # the waiter is queued
    queue.leave()  # handed on: the waiter is woken but has not run yet
    newcomer = asyncio.create_task(writer("newcomer"))
    await asyncio.gather(waiter, newcomer)
    assert order == ["waited", "newcomer"]


async def test_the_task_holding_the_turn_passes_again_freely():
    queue = WriterQueue()
    assert await queue.enter()
    assert not await queue.enter(), "already its turn: nothing more to leave"
    queue.leave()
