"""The outbox's Telegram channel (:class:`bot.delivery.channels.Channel`).

Sends a rendered outbox message to a chat, its options as inline buttons (staff alerts: the
no-show choices; a reminder's "Pay now", kept only when the bot takes payments, ``payments``).
Rate limits: one message per second per chat here (:class:`Pacer`), 30/s overall and 20/min per
group in the bot's ``AIORateLimiter``, which also retries ``RetryAfter``; what is left maps onto
the delivery errors: ``RetryAfter``/network -> TransientError, a blocked bot -> OptedOut, a bad
request -> PermanentError. The provider message id is ``<chat id>:<message id>``, so a staff
member's Telegram reply to an alert can be traced back to it.

``clinicbot serve`` uses the running Application's bot (:attr:`TelegramBot.channel`);
``clinicbot jobs run`` and other one-shot deliverers open their own with :func:`outbox_channel`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.channels import Pacer
from bot.delivery.errors import OptedOut, PermanentError, TransientError
from bot.delivery.notifications import PAY_PREFIX
from bot.dialogs.types import Option
from bot.handlers.telegram_render import clip, keyboard

PER_CHAT_INTERVAL = 1.0
MAX_PACED_CHATS = 10_000
MAX_RETRIES = 3


def quiet_library_logs() -> None:
    """Keep token-bearing URLs out of the logs; opt in to PTB's timedelta time periods.

    (PTB 22 warns on every ``RetryAfter`` unless ``PTB_TIMEDELTA`` is set; v23 makes it the
    default, and :class:`TelegramChannel` reads both forms.)
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    for name in ("httpx", "httpcore", "telegram", "telegram.ext"):
        logging.getLogger(name).setLevel(logging.WARNING)


def rate_limiter() -> AIORateLimiter:
    """Telegram's limits on outbound calls (30/s overall, 20/min per group), retrying
    ``RetryAfter`` up to :data:`MAX_RETRIES` times."""
    return AIORateLimiter(max_retries=MAX_RETRIES)


@contextlib.asynccontextmanager
async def outbox_channel(
    token: str, base_url: str, *, payments: bool = False
) -> AsyncIterator[TelegramChannel]:
    """A Telegram channel with its own bot, open for the ``async with`` block (not polling)."""
    quiet_library_logs()
    bot: ExtBot[Any] = ExtBot(token, base_url=base_url, rate_limiter=rate_limiter())
    async with bot:
        yield TelegramChannel(bot, payments=payments)


def provider_id(chat_id: int, message_id: int) -> str:
    """How a sent message is identified in the outbox."""
    return f"{chat_id}:{message_id}"


class TelegramChannel:
    """Delivers outbox messages through the Bot API, at most one per second per chat."""

    name = "telegram"

    def __init__(
        self, bot: Bot, *, per_chat_interval: float = PER_CHAT_INTERVAL, payments: bool = False
    ) -> None:
        self.bot = bot
        self.payments = payments  # TELEGRAM_PAYMENT_PROVIDER_TOKEN is set: "Pay now" works
        self.per_chat_interval = per_chat_interval
        self._pacers: dict[int, Pacer] = {}

    def _pacer(self, chat_id: int) -> Pacer:
        if len(self._pacers) > MAX_PACED_CHATS:
            self._pacers.clear()
        return self._pacers.setdefault(chat_id, Pacer(self.per_chat_interval))

    async def send(self, address: str, text: str, options: Sequence[Option] = ()) -> str:
        try:
            chat_id = int(address)
        except ValueError:
            raise PermanentError("the Telegram chat id is not a number") from None
        if not self.payments:
            options = [option for option in options if not option.key.startswith(PAY_PREFIX)]
        await self._pacer(chat_id).wait()
        try:
            sent = await self.bot.send_message(chat_id, clip(text), reply_markup=keyboard(options))
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that int becomes timedelta in v23
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise TransientError("Telegram asked us to slow down", retry_after=seconds) from None
        except Forbidden:
            raise OptedOut("the user blocked the bot or left the chat") from None
        except BadRequest as exc:
            raise PermanentError(f"Telegram refused the message ({type(exc).__name__})") from None
        except (NetworkError, TelegramError) as exc:
            raise TransientError(f"Telegram is unavailable ({type(exc).__name__})") from None
        return provider_id(chat_id, sent.message_id)
