"""The Telegram start-up loop: bounded backoff while unreachable, no retry of a rejected token."""

from __future__ import annotations

import asyncio

from telegram.error import BadRequest, InvalidToken, NetworkError, TimedOut

from bot.handlers.telegram_startup import Starter, TelegramStatus


class Script:
    """A ``connect`` that fails as told, then succeeds; records the backoff waits."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.attempts = 0
        self.waits: list[float] = []

    async def connect(self) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def finished(starter: Starter) -> None:
    """Wait (bounded) for the start-up loop to end."""
    assert starter._task is not None
    async with asyncio.timeout(5):
        await starter._task


async def test_an_unreachable_api_is_retried_with_a_bounded_backoff_until_it_answers():
    script = Script(*[NetworkError("down")] * 7, TimedOut(), BadRequest("bad webhook"))
    starter = Starter(script.connect, first_delay=1, max_delay=60, sleep=script.sleep)
    await starter.start()
    assert starter.status is not TelegramStatus.STARTING, "start returns after one attempt"
    await finished(starter)
    await starter.stop()
    assert starter.status is TelegramStatus.OK and script.attempts == 10
    assert script.waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_a_rejected_token_is_not_retried():
    script = Script(NetworkError("down"), InvalidToken("Unauthorized"))
    starter = Starter(script.connect, sleep=script.sleep)
    await starter.start()
    await finished(starter)
    await starter.stop()
    assert starter.status is TelegramStatus.REJECTED and script.attempts == 2


async def test_start_does_not_wait_for_an_attempt_that_hangs():
    started = asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    starter = Starter(hangs, first_attempt_seconds=0.05)
    await starter.start()
    assert started.is_set() and starter.status is TelegramStatus.STARTING
    await starter.stop()
