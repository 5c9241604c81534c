"""The bot's Telegram username and the deep links made with it (``t.me/<bot>?start=<code>``).

The username is the Bot API's answer to ``getMe`` for ``TELEGRAM_BOT_TOKEN`` (BotFather sets
it; nothing else has to be configured), asked once per process and token. Without a token, or
while Telegram does not answer, there is no link: callers show the code alone and say why.
Only the exception's type is ever logged (a library error may quote the token).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.handlers.telegram_channel import quiet_library_logs
from bot.settings import Settings

log = logging.getLogger("bot.handlers.telegram")
ASK_SECONDS = 10.0
_KNOWN: dict[str, str] = {}


async def bot_username(settings: Settings) -> str | None:
    """The bot's username (without ``@``), or None: Telegram off or not answering."""
    if settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value()
    key = hashlib.sha256(f"{settings.telegram_api_base_url}|{token}".encode()).hexdigest()
    if key in _KNOWN:
        return _KNOWN[key]
    quiet_library_logs()
    try:
        async with asyncio.timeout(ASK_SECONDS), Bot(
                token, base_url=settings.telegram_api_base_url) as bot:
            me = await bot.get_me()
    except (TelegramError, OSError, TimeoutError) as exc:
        log.warning("telegram: getMe failed (%s); no invitation link", type(exc).__name__)
        return None
    if not me.username:
        return None
    _KNOWN[key] = me.username
    return me.username


def deep_link(username: str, code: str) -> str:
    """The link that opens the bot and sends ``/start <code>``."""
    return f"https://t.me/{username}?start={code}"
