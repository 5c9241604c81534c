"""``clinicbot serve``: the HTTP server (SMS webhooks, health) and the background services.

One process, one event loop: uvicorn serves :func:`bot.server.create_app`, whose lifespan opens
the database and starts the services (see :mod:`bot.server` to add one). SIGTERM or SIGINT
stops accepting connections, lets requests in flight finish (up to
:data:`GRACEFUL_SHUTDOWN_SECONDS`), stops the services and closes the database; the command
then exits 0. A second SIGINT stops at once.

Exit status 2: a setting is missing or malformed (the message names it, never its value).
Exit status 3: the server could not start (database unreachable, port taken...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Generator

import click
import uvicorn

from bot.cli.common import fail
from bot.server import StartupError, create_app, open_database
from bot.settings import Settings, SettingsError, load_settings
from bot.storage.db import BadDatabaseURL, async_url, create_engine

GRACEFUL_SHUTDOWN_SECONDS = 30
STARTUP_FAILED = 3
LOG_LEVELS = ("debug", "info", "warning", "error")


class Server(uvicorn.Server):
    """uvicorn's server; a handled SIGTERM/SIGINT ends :meth:`serve` normally.

    (uvicorn re-raises the signal after its graceful shutdown, which would end the command
    with a traceback or a signal status instead of exit 0.)
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command("serve")
@click.option(
    "--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
    help="How much to log (never message texts, phone numbers or names).",
)
def serve_command(log_level: str) -> None:
    """Run the HTTP server and the background services until SIGTERM or Ctrl-C.

    Listens on CLINICBOT_HOST:CLINICBOT_PORT. Routes: POST /sms/inbound and /sms/status (when
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set; signatures are checked against
    PUBLIC_BASE_URL), POST /telegram/webhook (when TELEGRAM_BOT_TOKEN and
    TELEGRAM_WEBHOOK_SECRET are set; with only the token, Telegram is long-polled) and GET
    /healthz. Migrations are applied on start.
    """
    try:
        settings = load_settings()
        async_url(settings.database_url)
    except (SettingsError, BadDatabaseURL) as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    logging.getLogger("bot").setLevel(log_level.upper())
    try:
        asyncio.run(_check_database(settings))
    except StartupError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(STARTUP_FAILED) from None
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = Server(config)
    try:
        asyncio.run(server.serve())
    except SystemExit as exc:  # uvicorn exits when it cannot bind or start the app
        if exc.code in (0, None):
            raise
        server.started = False
    if not server.started:
        click.echo("Error: the server did not start; the reason is logged above.", err=True)
        raise SystemExit(STARTUP_FAILED)


async def _check_database(settings: Settings) -> None:
    """Fail early and plainly when the database cannot be opened or migrated."""
    db = create_engine(settings.database_url, hide_parameters=True)
    try:
        await open_database(db, settings.database_url)
    finally:
        await db.dispose()


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
