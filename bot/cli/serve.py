"""``clinicbot serve``: the HTTP server (SMS webhooks, health) and the background services.

One process, one event loop (uvloop where installed, with uvicorn's httptools parser; asyncio's
loop and h11 otherwise): uvicorn serves :func:`bot.server.create_app`, whose lifespan opens
the database and starts the services (see :mod:`bot.server` to add one). SIGTERM or SIGINT
stops accepting connections, lets requests in flight finish (up to
:data:`GRACEFUL_SHUTDOWN_SECONDS`), stops the services and closes the database; the command
then exits 0. A second SIGINT stops at once.

Logs go to stderr as text or JSON lines (``CLINICBOT_LOG_FORMAT``; :mod:`bot.observability.logs`),
uvicorn's own lines included; each request is one ``bot.http`` line instead of uvicorn's access
log.

Exit status 2: a setting is missing or malformed, or Telegram rejects ``TELEGRAM_BOT_TOKEN``
(the message names it, never its value). Exit status 3: the server could not start (database
unreachable, port taken...). Telegram being unreachable does not stop it: the server starts
(SMS works), ``/healthz`` says ``"telegram": "unreachable"`` and Telegram is retried in the
background. With no channel configured it starts with a warning (patients cannot reach it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from bot.cli.common import fail
from bot.observability.logs import LOG_LEVELS, configure_logging
from bot.settings import SettingsError, load_settings
from bot.storage.db import BadDatabaseURL, async_url, create_engine

if TYPE_CHECKING:
    from bot.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 30
# Longer than a proxy keeps an idle upstream connection (nginx: 60 s), so the proxy, or any
# keep-alive client, never sends a request on a connection this server is closing just then
# (uvicorn's default, 5 s, loses such a request as a reset connection).
KEEP_ALIVE_SECONDS = 75
STARTUP_FAILED = 3



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
    TELEGRAM_WEBHOOK_SECRET are set; with only the token, Telegram is long-polled), GET
    /healthz and GET /metrics (Prometheus; keep it off the public proxy). Migrations are applied
    on start. Logs go to stderr, as JSON lines when CLINICBOT_LOG_FORMAT=json.
    """
    try:
        settings = load_settings()
        async_url(settings.database_url)
    except (SettingsError, BadDatabaseURL) as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    configure_logging(log_level, settings.log_format)
    # The server and its channels load only when it runs: `clinicbot --help` stays quick.
    import uvicorn

    from bot.cli.uvicorn_server import Server
    from bot.handlers.telegram_startup import TokenRejected
    from bot.server import StartupError, create_app

    try:
        asyncio.run(_check_database(settings))
    except StartupError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(STARTUP_FAILED) from None
    try:
        asyncio.run(_check_telegram(settings))
    except TokenRejected as exc:
        fail(str(exc))
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_level=log_level,
        log_config=None,  # configure_logging above set every logger up, uvicorn's included
        access_log=False,  # bot.http logs each request without client address or query
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = Server(config)
    try:
        server.run()  # on uvloop, with httptools, where installed (uvicorn's loop="auto")
    except SystemExit as exc:  # uvicorn exits when it cannot bind or start the app
        if exc.code in (0, None):
            raise
        server.started = False
    if not server.started:
        click.echo("Error: the server did not start; the reason is logged above.", err=True)
        raise SystemExit(STARTUP_FAILED)


async def _check_database(settings: Settings) -> None:
    """Fail early and plainly when the database cannot be opened or migrated."""
    from bot.server import open_database

    db = create_engine(settings.database_url, hide_parameters=True)
    try:
        await open_database(db, settings.database_url)
    finally:
        await db.dispose()


async def _check_telegram(settings: Settings) -> None:
    """Stop here if Telegram rejects the token (unreachable is fine: it is retried later)."""
    from bot.handlers.telegram_startup import check_token

    token = settings.telegram_bot_token
    if token is not None:
        await check_token(token.get_secret_value(), settings.telegram_api_base_url)


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
