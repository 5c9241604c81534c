"""The HTTP server's app (``clinicbot serve``): routes, and what lives as long as the server.

:func:`create_app` builds a Starlette app from the settings. Its lifespan opens the database
(migrations applied), builds the dialog engine and the SMS sender, starts the services, and on
shutdown stops them in reverse order and closes the database. Requests reach the parts through
``request.state.runtime`` (a :class:`Runtime`).

Extension points:

* **Channel routes** -- :func:`channel_routes` registers each channel's webhooks: SMS
  (``/sms/inbound``, ``/sms/status``) when Twilio is configured; Telegram's
  ``/telegram/webhook`` and Stripe's ``/payments/stripe`` are registered there too. With
  Stripe configured, ``Runtime.payment_links`` opens payment links for the SMS and Telegram
  adapters and the outbox sender.
* **Services** -- anything that runs beside the HTTP server on the same event loop (the
  scheduler, Telegram long polling) is a :class:`Service`, listed by :func:`default_services`.
  Services start after the database is ready and stop before it closes.

Each app has its own :class:`~bot.observability.metrics.Metrics` (``Runtime.metrics``): the
dialog engine and the scheduler's sender report to it, :class:`RequestMetrics` counts and logs
every request, the event-loop lag probe (:mod:`bot.observability.lag`, started first and
stopped last by the lifespan) reports how late the loop runs, and ``GET /metrics`` serves it
(:mod:`bot.observability.http`).

The staff console's routes (``/desk/...``, :mod:`bot.desk`) are mounted with the others.

``GET /healthz`` answers 200 while the database answers (else 503), with each patient channel's
state (``sms``, ``telegram``: see :class:`~bot.handlers.telegram_startup.TelegramStatus`) and
``warnings`` in words, e.g. when no channel is configured at all (also logged at start).

An error inside a request answers 500 with a generic body; the log gets the error's type and
where it happened, never its message (it may quote a patient's data or a setting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import collector, desk
from bot.app import build_engine
from bot.clock import Clock, SystemClock
from bot.dialogs.engine import Engine
from bot.handlers import sms, stripe_checkout, stripe_webhook, telegram
from bot.handlers.sms_sender import TwilioSender
from bot.handlers.telegram_startup import WARNINGS as TELEGRAM_WARNINGS
from bot.handlers.telegram_startup import TelegramStatus
from bot.observability.http import METRICS_PATH, RequestMetrics, metrics_endpoint
from bot.observability.lag import LagProbe
from bot.observability.metrics import Metrics
from bot.scheduler.service import SchedulerService
from bot.services.payment_links import PaymentLinks
from bot.settings import Settings
from bot.storage.db import check_database, create_engine
from bot.storage.migrate import upgrade
from bot.storage.wal_keeper import WalKeeper

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_SECONDS = 5.0
NO_CHANNEL = (
    "no patient channel is configured, so patients cannot reach the bot: set "
    "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (SMS) and/or "
    "TELEGRAM_BOT_TOKEN (Telegram); see the README's set-up steps"
)


@dataclass
class Runtime:
    """What request handlers and services share while the server runs."""

    settings: Settings
    db: AsyncEngine
    clock: Clock
    dialogs: Engine
    sms_sender: TwilioSender | None = None
    telegram: telegram.TelegramBot | None = None
    metrics: Metrics = field(default_factory=Metrics)
    payment_links: PaymentLinks | None = None


class Service(Protocol):
    """Extension point: something that runs as long as the server does (see module docstring).

    ``start`` returns once the service is running (start background tasks, do not await
    them); ``stop`` returns once it has stopped and finished what it was doing.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[Runtime], Service]


class StartupError(RuntimeError):
    """The server cannot start (its message says why, without secrets)."""


def default_services(settings: Settings) -> list[ServiceFactory]:
    """The services ``clinicbot serve`` runs beside the HTTP server, from the settings.

    Register Telegram long polling (when no webhook secret is set) here.
    """
    telegram_bot: list[ServiceFactory] = (
        [telegram.TelegramBot.for_runtime] if settings.telegram_bot_token else []
    )
    return [*telegram_bot, SchedulerService.for_runtime]


def channel_routes(settings: Settings) -> list[BaseRoute]:
    """Each configured channel's webhook routes (see module docstring)."""
    routes: list[BaseRoute] = []
    if settings.sms_enabled:
        routes.extend(sms.routes())
    if settings.telegram_bot_token and settings.telegram_webhook_secret:
        routes.extend(telegram.routes())
    if settings.stripe_enabled:
        routes.extend(stripe_webhook.routes())
    return routes


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    services: Sequence[ServiceFactory] | None = None,
) -> Starlette:
    """The ASGI app of ``clinicbot serve``; nothing is opened until its lifespan starts."""
    factories = list(default_services(settings) if services is None else services)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        del app
        db = create_engine(settings.database_url, hide_parameters=True)
        try:
            await open_database(db, settings.database_url)
            time = clock or SystemClock()
            runtime = Runtime(settings, db, time, build_engine(settings, db, time, metrics),
                              metrics=metrics)
            async with contextlib.AsyncExitStack() as running:
                probe = LagProbe(metrics)  # first started, last stopped
                probe.start()
                running.push_async_callback(probe.stop)
                keeper = WalKeeper(db)  # SQLite's checkpoints off the event loop
                await keeper.start()
                running.push_async_callback(keeper.stop)
                if settings.sms_enabled:
                    runtime.sms_sender = TwilioSender.from_settings(settings)
                    running.push_async_callback(runtime.sms_sender.close)
                runtime.payment_links, checkout = stripe_checkout.payment_links(settings, db, time)
                if checkout is not None:
                    running.push_async_callback(checkout.close)
                for factory in factories:
                    service = factory(runtime)
                    await service.start()
                    running.push_async_callback(service.stop)
                if settings.sms_enabled and settings.public_base_url is None:
                    log.warning(
                        "PUBLIC_BASE_URL is not set: Twilio signatures are checked against %s; "
                        "set it to the URL Twilio calls", settings.base_url,
                    )
                if not patients_can_reach(settings):
                    log.warning("%s", NO_CHANNEL)
                running.enter_context(collector.tuned())  # start-up's objects frozen
                log.info(
                    "serving: SMS %s, Telegram %s, %d service(s)",
                    "on" if settings.sms_enabled else "off",
                    telegram_status(runtime),
                    len(factories),
                )
                yield {"runtime": runtime}
                log.info("shutting down")
        finally:
            await db.dispose()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(METRICS_PATH, metrics_endpoint, methods=["GET"]),
    ]
    routes.extend(channel_routes(settings))
    routes.extend(desk.routes())
    middleware = [Middleware(RequestMetrics, metrics=metrics, routes=routes),
                  Middleware(HideErrors)]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


async def healthz(request: Request) -> Response:
    """200 when the database answers, else 503; each channel's state and warnings besides."""
    runtime: Runtime = request.state.runtime
    details = channel_health(runtime)
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            await check_database(runtime.db)
    except Exception as exc:
        log.warning("health check: the database did not answer (%s)", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unavailable", **details},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", **details})


def patients_can_reach(settings: Settings) -> bool:
    """Whether a patient channel (SMS or Telegram) is configured at all."""
    return settings.sms_enabled or settings.telegram_bot_token is not None


def telegram_status(runtime: Runtime) -> TelegramStatus:
    """``off`` without a Telegram service, else where its start-up is."""
    return TelegramStatus.OFF if runtime.telegram is None else runtime.telegram.status


def channel_health(runtime: Runtime) -> dict[str, object]:
    """``sms``, ``telegram`` and the ``warnings`` a person should act on, for ``/healthz``."""
    status = telegram_status(runtime)
    warnings = [] if patients_can_reach(runtime.settings) else [NO_CHANNEL]
    if status in TELEGRAM_WARNINGS:
        warnings.append(TELEGRAM_WARNINGS[status])
    return {"sms": "ok" if runtime.settings.sms_enabled else "off", "telegram": status.value,
            "warnings": warnings}


async def open_database(db: AsyncEngine, database_url: str) -> None:
    """Connect and apply migrations; :class:`StartupError` (no password, no SQL) if it fails."""
    try:
        await upgrade(db)
    except Exception as exc:
        where = make_url(database_url).render_as_string(hide_password=True)
        raise StartupError(
            f"could not open or migrate the database {where} ({type(exc).__name__})"
        ) from None


class HideErrors:
    """ASGI middleware: an unexpected error answers a generic 500 and logs no message text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error(
                "%s %s failed with %s\n%s",
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            if not started:
                response = PlainTextResponse("Internal Server Error", status_code=500)
                await response(scope, receive, send)
