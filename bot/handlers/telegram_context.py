"""What the Telegram handlers share: the engine, the database, the settings (set at build), and
:func:`acted`, which records that an update's action is done (see :mod:`bot.handlers.telegram`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.dialogs.engine import Engine
from bot.services import inbound
from bot.services.payment_links import PaymentLinks
from bot.settings import Settings
from bot.storage.uow import UnitOfWork

CHANNEL = "telegram"
DEPS_KEY = "clinicbot"
HANDLED = "handled"
MAX_SETTLED_IN_FLIGHT = 10_000
ANSWER_TRIES = 4
ANSWER_BACKOFF_SECONDS = 0.5
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class TelegramDeps:
    """The parts handlers use."""

    settings: Settings
    db: AsyncEngine
    clock: Clock
    engine: Engine
    # Opens payment links (Stripe), when configured: see bot.delivery.pay_link.
    payment_links: PaymentLinks | None = None
    # Updates whose claim this process settled (acted on, or given up after a failure) and that
    # have not reached ``finish_update`` yet.
    settled_updates: set[int] = field(default_factory=set)

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, self.clock, readonly=readonly)

    @property
    def payments(self) -> bool:
        return self.settings.telegram_payment_provider_token is not None


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
App = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


def deps(context: Context) -> TelegramDeps:
    """The shared parts, from a handler's context."""
    found = context.application.bot_data[DEPS_KEY]
    assert isinstance(found, TelegramDeps)
    return found


async def acted(update: object, context: Context) -> None:
    """Record that ``update`` was acted on: a redelivery of it is ignored from now on, even if
    answering it fails (acting twice is worse than an answer that did not arrive)."""
    if not isinstance(update, Update):
        return
    found = deps(context)
    async with found.uow() as uow:
        await inbound.remember_reply(uow, CHANNEL, str(update.update_id), HANDLED)
        await uow.commit()
    settled(update, context)


def settled(update: Update, context: Context) -> None:
    """Note that this update's claim is settled: :func:`finish_update` leaves it alone."""
    found = deps(context).settled_updates
    if len(found) > MAX_SETTLED_IN_FLIGHT:
        found.clear()  # a guard only: each update leaves the set in finish_update
    found.add(update.update_id)


async def finish_update(update: object, context: Context) -> None:
    """After every handler: record the update as acted on, unless its claim was settled
    already (by :func:`acted`, or given up after a failure so that a redelivery may act)."""
    if not isinstance(update, Update):
        return
    found = deps(context).settled_updates
    if update.update_id in found:
        found.discard(update.update_id)
        return
    await acted(update, context)
    found.discard(update.update_id)


async def answer_surely(call: Callable[[], Awaitable[T]]) -> T:
    """Make a Bot API call that answers an acted-on update, retrying network failures and
    timeouts (``ANSWER_TRIES`` times, backing off): the update will not be delivered again, so
    an answer lost here would leave the patient without one. (A timeout may hide a message that
    did arrive; a second copy is better than none.) ``RetryAfter`` is retried by the rate
    limiter; a bad request is not retried."""
    for attempt in range(1, ANSWER_TRIES + 1):
        try:
            return await call()
        except NetworkError as exc:
            if isinstance(exc, BadRequest) or attempt == ANSWER_TRIES:
                raise
            log.warning("telegram: an answer failed (%s); trying again", type(exc).__name__)
            await asyncio.sleep(ANSWER_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
