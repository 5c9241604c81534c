"""Playing Telegram against the real server: updates in, Bot API calls read back.

``telegram_server(database_url, clock, mode=...)`` runs the Bot API stand-in and
``create_app`` (with the Telegram service) under uvicorn on loopback ports. In ``polling`` mode
updates are queued for ``getUpdates``; in ``webhook`` mode they are POSTed to
``/telegram/webhook`` with the secret header. :class:`TgUser` sends messages, commands,
contacts and button presses and waits (bounded) for the bot's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.clock import Clock
from bot.handlers.telegram import TelegramBot
from bot.server import create_app
from bot.settings import Settings
from tests.e2e.telegram_standin import TOKEN, Call, TelegramStandin
from tests.e2e.twilio_standin import LiveServer, loopback_socket

SECRET = "webhook-secret-0123456789"
STAFF_CODE = "desk-code-4321"
PROVIDER_TOKEN = "284685063:TEST:provider"
WAIT_SECONDS = 15.0
SETTLE_SECONDS = 0.4
_update_ids = itertools.count(1)


def telegram_settings(database_url: str, port: int, api: str, mode: str,
                      **overrides: str | None) -> Settings:
    values: dict[str, object | None] = {
        "DATABASE_URL": database_url, "CLINICBOT_HOST": "127.0.0.1", "CLINICBOT_PORT": port,
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api + "/bot",
        "TELEGRAM_PAYMENT_PROVIDER_TOKEN": PROVIDER_TOKEN, "CLINICBOT_STAFF_CODE": STAFF_CODE,
    }
    if mode == "webhook":
        values["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    values.update(overrides)  # a None removes a setting
    return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})


@dataclass
class Telegram:
    """Delivers updates to the bot (queue or webhook) and reads the stand-in's records."""

    standin: TelegramStandin
    http: httpx.AsyncClient
    mode: str
    settings: Settings

    async def deliver(self, update: dict[str, Any]) -> None:
        if self.mode == "polling":
            self.standin.push(update)
            return
        response = await self.http.post(
            "/telegram/webhook", json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 200, response.text

    async def wait_for(self, check: Callable[[Call], bool], *, after: int = 0) -> Call:
        """The first recorded call from index ``after`` on that passes ``check`` (bounded)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for call in self.standin.calls[after:]:
                if check(call):
                    return call
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching Bot API call; got {self.standin.calls[after:]}")

    async def settle(self) -> None:
        """Wait until the bot has made no call for a moment (bounded)."""
        deadline = time.monotonic() + WAIT_SECONDS
        count = -1
        while time.monotonic() < deadline and count != len(self.standin.calls):
            count = len(self.standin.calls)
            await asyncio.sleep(SETTLE_SECONDS)


@dataclass
class TgUser:
    """One Telegram user in one chat (a private chat unless ``chat_id`` says otherwise)."""

    tg: Telegram
    user_id: int
    first_name: str = "Pat"
    chat_id: int | None = None
    language_code: str = "en"
    seen: int = 0
    last: list[Call] = field(default_factory=list)

    @property
    def chat(self) -> int:
        return self.chat_id if self.chat_id is not None else self.user_id

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name,
                "language_code": self.language_code}

    def _chat(self) -> dict[str, Any]:
        if self.chat < 0:
            return {"id": self.chat, "type": "supergroup", "title": "Desk"}
        return {"id": self.chat, "type": "private", "first_name": self.first_name}

    def message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": next(_update_ids) + 50000, "date": int(time.time()),
                "chat": self._chat(), "from": self._user(), **content}

    async def send(self, update: dict[str, Any]) -> str:
        """Deliver an update; wait for the bot's calls to this chat; their texts."""
        start = len(self.tg.standin.calls)
        await self.tg.deliver(update)
        await self.tg.wait_for(lambda c: c.chat_id == self.chat or c.method in (
            "answerCallbackQuery", "answerPreCheckoutQuery"), after=start)
        await self.tg.settle()
        self.last = [c for c in self.tg.standin.calls[start:] if c.chat_id == self.chat]
        return "\n".join(c.text for c in self.last)

    def update(self, **kinds: Any) -> dict[str, Any]:
        return {"update_id": next(_update_ids), **kinds}

    async def say(self, text: str) -> str:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return await self.send(self.update(message=self.message(**content)))

    async def share_contact(self, phone: str, owner_id: int | None = None) -> str:
        contact = {"phone_number": phone, "first_name": self.first_name,
                   "user_id": self.user_id if owner_id is None else owner_id}
        return await self.send(self.update(message=self.message(contact=contact)))

    def keyboard_call(self) -> Call:
        for call in reversed(self.tg.standin.calls):
            if call.chat_id == self.chat and "reply_markup" in call.params:
                return call
        raise AssertionError("no keyboard was sent to this chat")

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.keyboard_call().buttons]

    async def press(self, label: str, *, call: Call | None = None) -> str:
        """Press the inline button whose label contains ``label`` on the latest keyboard."""
        carrier = call or self.keyboard_call()
        for text, data in carrier.buttons:
            if label.casefold() in text.casefold():
                return await self.press_data(data, carrier)
        raise AssertionError(f"no button {label!r} in {carrier.buttons}")

    def button_update(self, data: str, carrier: Call) -> dict[str, Any]:
        message_id = int(carrier.params.get("message_id") or carrier.params["_message_id"])
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(),
                   "text": carrier.text}
        return self.update(callback_query={
            "id": f"cq{next(_update_ids)}", "from": self._user(), "chat_instance": "ci",
            "data": data, "message": message})

    async def press_data(self, data: str, carrier: Call) -> str:
        return await self.send(self.button_update(data, carrier))


@contextlib.asynccontextmanager
async def telegram_server(database_url: str, clock: Clock, *, mode: str = "polling",
                          **overrides: str | None) -> AsyncIterator[Telegram]:
    """The stand-in and the real server (Telegram service only), both on loopback."""
    standin = TelegramStandin()
    async with LiveServer(standin.app) as api:
        sock = loopback_socket()
        settings = telegram_settings(database_url, sock.getsockname()[1], api.url, mode,
                                     **overrides)
        app = create_app(settings, clock=clock, services=[TelegramBot.for_runtime])
        async with (
            LiveServer(app, sock) as live,
            httpx.AsyncClient(base_url=live.url, timeout=30) as http,
        ):
            yield Telegram(standin, http, mode, settings)
