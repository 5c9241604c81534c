"""How the outbox reaches people: the :class:`Channel` protocol and the SMS adapter.

Extension point -- a channel adapter is any object with

* ``name``: ``"sms"`` or ``"telegram"`` (also the conversation channel a reply comes back on);
* ``async send(address, text, options) -> provider_message_id``: deliver one message to
  ``address`` (an E.164 phone for SMS; a chat id as text for Telegram). ``options`` are the
  answers the message offers (e.g. an appointment reminder's C/R/X, a no-show alert's choices);
  a channel with buttons shows them (the button's data is ``Option.key``), a text-only channel
  ignores them (the text already says how to answer). It raises the errors of
  :mod:`bot.delivery.errors`: ``TransientError`` (retry later), ``PermanentError`` or
  ``OptedOut``; anything else is treated as transient.

An adapter owns its provider's rate limits (Telegram: ~30 messages/s overall, 1/s per chat, 20
per minute per group; SMS: per sender number): it waits (e.g. with :class:`Pacer`) or raises
``TransientError(retry_after=...)``. The delivery loop sends a claimed batch at once (one
recipient's messages one after the other), so ``send`` may be called concurrently.

:class:`Channels` is what a deployment has: :class:`SmsChannel` when Twilio is configured, and
:class:`bot.handlers.telegram_channel.TelegramChannel` when the bot's token is (they are built
in ``bot.scheduler.service.build_channels`` and ``bot.cli.jobs``). Patients are reached on
Telegram when linked, else by SMS; staff in their Telegram chat, else by SMS at the ``phone``
the set-up file gives them; a staff member reached by neither has their alerts stay queued
(they are in the desk's inbox meanwhile).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.delivery.errors import OptedOut, PermanentError, TransientError
from bot.dialogs.gsm import to_gsm
from bot.dialogs.types import Option
from bot.handlers.sms_sender import RecipientOptedOut, SmsRefused, SmsUnavailable

SMS, TELEGRAM = "sms", "telegram"


class Channel(Protocol):
    """Extension point: one way to deliver a message (see the module docstring)."""

    @property
    def name(self) -> str: ...

    async def send(self, address: str, text: str, options: Sequence[Option] = ()) -> str: ...


class SmsSender(Protocol):
    """What :class:`SmsChannel` needs of :class:`bot.handlers.sms_sender.TwilioSender`."""

    async def send(self, to: str, body: str) -> str: ...


class Pacer:
    """At most one call per ``interval`` seconds in this process (a simple rate limit)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = loop.time() + self.interval


class SmsChannel:
    """Texts through Twilio (``TwilioSender``, which retries 429/5xx itself); options ignored.

    Twilio queues messages per sender number and paces them, so no pacing is needed here
    unless ``per_second`` is given.
    """

    name = SMS

    def __init__(self, sender: SmsSender, *, per_second: float | None = None) -> None:
        self.sender = sender
        self._pacer = Pacer(1 / per_second) if per_second else None

    async def send(self, address: str, text: str, options: Sequence[Option] = ()) -> str:
        del options
        if self._pacer is not None:
            await self._pacer.wait()
        try:
            return await self.sender.send(address, to_gsm(text))  # stays GSM-7 if it can
        except RecipientOptedOut as exc:
            raise OptedOut(str(exc)) from None
        except SmsRefused as exc:
            raise PermanentError(str(exc)) from None
        except SmsUnavailable as exc:
            raise TransientError(str(exc)) from None


class Channels:
    """The channels this deployment can deliver on, by name."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._by_name = {channel.name: channel for channel in channels}

    def get(self, name: str) -> Channel | None:
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    @property
    def reach_patients(self) -> bool:
        """Some channel can reach patients (SMS or Telegram)."""
        return SMS in self._by_name or TELEGRAM in self._by_name

    @property
    def reach_staff(self) -> bool:
        """Staff chats can be reached (Telegram)."""
        return TELEGRAM in self._by_name

    @property
    def reach_staff_phones(self) -> bool:
        """Staff with a phone can be texted (SMS)."""
        return SMS in self._by_name
