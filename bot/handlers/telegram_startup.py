"""Starting the Telegram channel without letting Telegram take the rest of the server down.

Two parts:

* :func:`check_token` -- ``clinicbot serve`` asks the Bot API who the bot is (``getMe``) before
  it starts: a token Telegram rejects (401, or 404 for a malformed one) raises
  :class:`TokenRejected`, whose message names ``TELEGRAM_BOT_TOKEN`` and never its value (the
  library's own error quotes the token, so it is never printed or logged); an unreachable API
  (network error, time-out, 5xx) is not an error here.
* :class:`Starter` -- runs the channel's ``connect`` (``getMe``, ``setWebhook`` or the start of
  long polling) beside the server: the first attempt is awaited for at most
  :data:`FIRST_ATTEMPT_SECONDS`; while Telegram is unreachable it tries again in the background
  with a bounded exponential backoff (:data:`FIRST_DELAY_SECONDS` doubling up to
  :data:`MAX_DELAY_SECONDS`) until it comes up. Its :attr:`Starter.status` is what
  ``GET /healthz`` reports for Telegram. SMS, the scheduler and the health check run meanwhile.

Only an exception's type, never its message, is logged (it may quote the token or a URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, TelegramError

from bot.handlers.telegram_channel import quiet_library_logs

log = logging.getLogger("bot.handlers.telegram")
FIRST_ATTEMPT_SECONDS = 10.0
CHECK_SECONDS = 15.0  # beyond the library's own 5 s connect and read time-outs
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0
REJECTED = (
    "Telegram rejected TELEGRAM_BOT_TOKEN (the Bot API answered 401 Unauthorized or 404 Not "
    "Found to getMe): copy the bot's token again from @BotFather, or unset TELEGRAM_BOT_TOKEN "
    "to run without Telegram"
)


class TelegramStatus(StrEnum):
    """The Telegram channel's state, as ``GET /healthz`` reports it."""

    OFF = "off"  # no TELEGRAM_BOT_TOKEN
    STARTING = "starting"  # the first attempt has not finished
    OK = "ok"  # the bot is known to Telegram; the webhook is set or long polling runs
    UNREACHABLE = "unreachable"  # network error, time-out or 5xx: retried in the background
    REFUSED = "refused"  # Telegram refused a setting (e.g. an http:// webhook URL): retried
    REJECTED = "rejected"  # Telegram rejected the token: not retried


WARNINGS = {
    TelegramStatus.STARTING: "Telegram is starting: patients cannot use Telegram yet",
    TelegramStatus.UNREACHABLE: (
        "Telegram is unreachable: patients cannot use Telegram; retrying in the background"),
    TelegramStatus.REFUSED: (
        "Telegram refused to start the bot (see the log): patients cannot use Telegram; "
        "retrying in the background"),
    TelegramStatus.REJECTED: (
        "Telegram rejected TELEGRAM_BOT_TOKEN: patients cannot use Telegram until the token "
        "is fixed and the server restarted"),
}


class TokenRejected(Exception):
    """Telegram rejected the bot token; the message names the variable, not the value."""

    def __init__(self) -> None:
        super().__init__(REJECTED)


async def check_token(token: str, base_url: str) -> bool:
    """True if Telegram knows the token, False if it could not be asked (unreachable).

    Raises :class:`TokenRejected` when Telegram answers that the token is not a bot's.
    """
    quiet_library_logs()
    bot = Bot(token, base_url=base_url)
    try:
        async with asyncio.timeout(CHECK_SECONDS), bot:
            return True
    except InvalidToken:
        raise TokenRejected() from None
    except (TelegramError, OSError, TimeoutError):
        return False


class Starter:
    """Runs ``connect`` until it succeeds (see the module docstring); ``status`` tells where."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[None]],
        *,
        first_attempt_seconds: float = FIRST_ATTEMPT_SECONDS,
        first_delay: float = FIRST_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.connect = connect
        self.sleep = sleep
        self.first_attempt_seconds = first_attempt_seconds
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.status = TelegramStatus.STARTING
        self._tried = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start trying; return after the first attempt, or after ``first_attempt_seconds``."""
        self._task = asyncio.create_task(self._run(), name="telegram start-up")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.first_attempt_seconds):
                await self._tried.wait()
        if self.status is TelegramStatus.STARTING:
            log.warning("telegram: the Bot API has not answered yet; SMS and the rest run "
                        "meanwhile")

    async def stop(self) -> None:
        """Stop trying (an attempt in progress is cancelled)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = self.first_delay
        while True:
            try:
                await self.connect()
            except InvalidToken:
                self.status = TelegramStatus.REJECTED
                log.error("telegram: %s", REJECTED)
                return
            except BadRequest as exc:  # before NetworkError, its base class
                self._failed(TelegramStatus.REFUSED, exc, delay)
            except (TelegramError, OSError) as exc:
                self._failed(TelegramStatus.UNREACHABLE, exc, delay)
            else:
                if self.status is not TelegramStatus.STARTING:
                    log.info("telegram: the Bot API answers again; Telegram is up")
                self.status = TelegramStatus.OK
                return
            finally:
                self._tried.set()
            await self.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    def _failed(self, status: TelegramStatus, exc: BaseException, delay: float) -> None:
        first = self.status is not status
        self.status = status
        if status is TelegramStatus.REFUSED:
            what = ("Telegram refused to register the bot (%s): check PUBLIC_BASE_URL (Telegram "
                    "calls only https:// on port 443, 80, 88 or 8443) and TELEGRAM_WEBHOOK_SECRET "
                    "(1-256 characters A-Z, a-z, 0-9, _ and -)")
        else:
            what = "the Bot API is unreachable (%s); SMS and the rest keep running"
        log.log(logging.WARNING if first else logging.INFO,
                "telegram: " + what + "; trying again in %.0f s", type(exc).__name__, delay)
