"""The Telegram channel: the python-telegram-bot ``Application`` on the server's event loop.

:class:`TelegramBot` builds the Application (handlers of :mod:`telegram_patients`,
:mod:`telegram_staff`, :mod:`telegram_payments`), and runs it as a service of
``clinicbot serve``: long polling when ``TELEGRAM_WEBHOOK_SECRET`` is unset, otherwise no
updater at all -- ``POST /telegram/webhook`` (:func:`webhook`) checks the secret header in
constant time (403 otherwise, nothing read) and queues the update, and the webhook is
registered with ``setWebhook`` (with that secret) on start. Start-up never stops the server:
while Telegram is unreachable it is retried in the background (:mod:`telegram_startup`), and
the webhook answers 503 until the bot is up.

Every update is acted on once by ``update_id`` (:mod:`bot.services.inbound`), whichever way it
came, however often and on whichever instance: :func:`act_once` claims it before any handler
runs, the handlers record it as acted on (:func:`bot.handlers.telegram_context.acted`, as soon
as a dialog turn has committed; ``finish_update`` after the others), and :func:`on_error` gives up
the claim of an update whose handling failed before that, so that a redelivery acts. A webhook
update is handled before its request is answered: a failure answers 500 and Telegram delivers
it again. (A long-polled update is confirmed to Telegram when the next batch is fetched; one
whose handling failed is logged, not fetched again.)

Outbound calls go through ``AIORateLimiter`` (30/s overall, 20/min per group, ``RetryAfter``
retried); the outbox uses :attr:`TelegramBot.channel`. The httpx and telegram loggers are kept
at WARNING: at DEBUG they log URLs that contain the bot token.
"""

from __future__ import annotations

import hmac
import json
import logging
import traceback
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import ApplicationBuilder, ApplicationHandlerStop, TypeHandler

from bot.clock import Clock
from bot.dialogs.engine import Engine
from bot.handlers import (
    telegram_alerts,
    telegram_guard,
    telegram_patients,
    telegram_payments,
    telegram_staff,
)
from bot.handlers.telegram_channel import TelegramChannel, quiet_library_logs, rate_limiter
from bot.handlers.telegram_context import (
    CHANNEL,
    DEPS_KEY,
    HANDLED,
    App,
    Context,
    TelegramDeps,
    acted,
    deps,
    finish_update,
    settled,
)
from bot.handlers.telegram_startup import Starter, TelegramStatus
from bot.i18n import negotiate, translator
from bot.services import inbound
from bot.services.clinic import get_clinic
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.server import Runtime

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1024 * 1024
POLL_TIMEOUT_SECONDS = 10
DONE_GROUP = 1000  # after every handler group
MAX_UPDATE_ID = 2**63 - 1


class TelegramBot:
    """The Application plus how it is started and stopped (a ``bot.server`` Service)."""

    def __init__(
        self, settings: Settings, db: AsyncEngine, clock: Clock, engine: Engine,
        *, poll_timeout: int = POLL_TIMEOUT_SECONDS,
    ) -> None:
        token = settings.telegram_bot_token
        if token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        quiet_library_logs()
        self.settings = settings
        self.webhook_mode = settings.telegram_webhook_secret is not None
        self.poll_timeout = poll_timeout
        builder = (
            ApplicationBuilder()
            .token(token.get_secret_value())
            .base_url(settings.telegram_api_base_url)
            .rate_limiter(rate_limiter())
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        self.app: App = builder.build()  # type: ignore[assignment]
        self.app.bot_data[DEPS_KEY] = TelegramDeps(settings, db, clock, engine)
        self.app.add_handler(TypeHandler(Update, act_once), group=-1)
        self.app.add_handler(TypeHandler(Update, finish_update), group=DONE_GROUP)
        for handler in [
            *telegram_guard.handlers(),
            *telegram_payments.handlers(),
            *telegram_staff.handlers(),
            *telegram_alerts.handlers(),
            *telegram_patients.handlers(),
        ]:
            self.app.add_handler(handler)
        self.app.add_error_handler(on_error)
        self.channel = TelegramChannel(
            self.app.bot, payments=settings.telegram_payment_provider_token is not None)
        self.starter = Starter(self._connect)

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> TelegramBot:
        """The service factory for ``bot.server`` (also makes the bot reachable by routes)."""
        bot = cls(runtime.settings, runtime.db, runtime.clock, runtime.dialogs)
        found = bot.app.bot_data[DEPS_KEY]
        assert isinstance(found, TelegramDeps)
        found.payment_links = runtime.payment_links
        runtime.telegram = bot
        return bot

    @property
    def status(self) -> TelegramStatus:
        """Where start-up is (``GET /healthz``): ok, starting, unreachable, refused, rejected."""
        return self.starter.status

    async def start(self) -> None:
        """Connect now, or keep trying in the background while Telegram is unreachable."""
        await self.starter.start()

    async def _connect(self) -> None:
        """``getMe``, then ``setWebhook`` or the start of long polling (each step once)."""
        await self.app.initialize()
        if not self.app.running:
            await self.app.start()
        if self.webhook_mode:
            secret = self.settings.telegram_webhook_secret
            assert secret is not None
            await self.app.bot.set_webhook(
                self.settings.base_url + WEBHOOK_PATH,
                secret_token=secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("telegram: webhook registered")
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                poll_interval=0.0, timeout=self.poll_timeout, allowed_updates=Update.ALL_TYPES
            )
            log.info("telegram: long polling started")

    async def stop(self) -> None:
        await self.starter.stop()
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        await self.app.bot.shutdown()  # its connections, if it never got as far as running

    async def feed(self, data: dict[str, Any]) -> bool:
        """Handle one update received by webhook; False if it must be delivered again.

        An update this library cannot read is ignored (True): no redelivery would read it."""
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:  # anything the parser raises on a bad shape
            log.warning("telegram: an update could not be read (%s); ignored",
                        type(exc).__name__)
            return True
        await self.app.process_update(update)
        found: TelegramDeps = self.app.bot_data[DEPS_KEY]
        async with found.uow(readonly=True) as uow:
            return await inbound.answered(uow, CHANNEL, str(update.update_id))


async def act_once(update: Update, context: Context) -> None:
    """Stop an update already acted on, or being acted on (same ``update_id``), before any
    handler sees it; otherwise claim it.

    If claiming fails (the database went away), no handler may act: nothing is claimed, the
    webhook answers 500 and Telegram's next delivery acts on it (long polling has no next
    delivery: such an update is lost, as one whose handling failed).
    An exception let out of here would not stop the later groups: the library hands it to the
    error handler and goes on to the handlers, which would act without a claim."""
    try:
        owned = await _claim(update, context)
    except Exception as exc:  # any failure: nothing was claimed (the unit of work rolled back)
        log.error("telegram: could not claim an update (%s); not acted on, left for "
                  "Telegram to deliver again", type(exc).__name__)
        raise ApplicationHandlerStop from None
    if not owned:
        raise ApplicationHandlerStop


async def _claim(update: Update, context: Context) -> bool:
    """Claim the update in a transaction of its own; whether handlers may act on it (False:
    acted on or in hand already, or a replay, recorded as acted on with the claim)."""
    replayed = telegram_guard.too_old(update)
    async with deps(context).uow() as uow:
        claim = await inbound.claim(uow, CHANNEL, str(update.update_id))
        if claim.owned and replayed:  # recorded as acted on: answered 200, never acted on
            await inbound.remember_reply(uow, CHANNEL, str(update.update_id), HANDLED)
        await uow.commit()
    if not claim.owned:
        log.info("telegram: update delivered again; not acted on again")
    elif replayed:
        log.warning("telegram: a message older than Telegram redelivers (a replay); not acted on")
    return claim.owned and not replayed


async def on_error(update: object, context: Context) -> None:
    """Log the failure (its type and place, never its message) and give up the claim, unless
    it failed on bad input (:func:`telegram_guard.bad_input`): then it is recorded as acted on
    (a button gets the stale-button answer), since no redelivery could do better."""
    error = context.error
    where = "".join(traceback.format_tb(error.__traceback__)).rstrip() if error else ""
    ignored = telegram_guard.bad_input(error)
    log.error("telegram: handling an update failed with %s%s\n%s",
              type(error).__name__ if error else "an unknown error",
              " (bad input: not acted on, not retried)" if ignored else "", where)
    if not isinstance(update, Update):
        return
    if ignored:
        await _ignore(update, context)
        return
    settled(update, context)  # not "acted on": finish_update must not record it so
    try:
        async with deps(context).uow() as uow:
            await inbound.release(uow, CHANNEL, str(update.update_id))
            await uow.commit()
    except Exception as exc:  # the claim times out anyway
        log.error("telegram: could not give up an update's claim (%s)", type(exc).__name__)


async def _ignore(update: Update, context: Context) -> None:
    """Record a bad update as acted on; answer a button politely (best effort)."""
    try:
        if update.callback_query is not None:
            async with deps(context).uow(readonly=True) as uow:
                locale = (await get_clinic(uow)).locale
            await telegram_guard.answer_stale(update.callback_query, translator(negotiate(
                [update.callback_query.from_user.language_code], locale)))
    except Exception as exc:  # the answer is a courtesy
        log.warning("telegram: could not answer a bad button (%s)", type(exc).__name__)
    await acted(update, context)


def routes() -> list[Route]:
    """``POST /telegram/webhook``, for :func:`bot.server.channel_routes`."""
    return [Route(WEBHOOK_PATH, webhook, methods=["POST"])]


async def webhook(request: Request) -> Response:
    """Accept an update carrying the right secret header; 403 otherwise, nothing touched."""
    runtime: Runtime = request.state.runtime
    bot: TelegramBot | None = runtime.telegram
    secret = runtime.settings.telegram_webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if bot is None or secret is None or not hmac.compare_digest(
        given.encode(), secret.get_secret_value().encode()
    ):
        log.warning("rejected a request to %s without the right secret", WEBHOOK_PATH)
        raise HTTPException(403, "Forbidden")
    if bot.status is not TelegramStatus.OK:  # not started yet: Telegram delivers it again
        return Response(status_code=503)
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_UPDATE_BYTES:
        raise HTTPException(413, "The update is too large")
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        raise HTTPException(413, "The update is too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise HTTPException(400, "The update is not JSON") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not (
        0 <= update_id <= MAX_UPDATE_ID
    ):
        raise HTTPException(400, "The update has no update_id")
    try:
        handled = await bot.feed(data)
    except (KeyError, TypeError, ValueError):
        raise HTTPException(400, "The update is malformed") from None
    if not handled:  # failed, or another delivery of it is still being handled: come back
        return Response(status_code=500)
    return Response(status_code=200)
