"""A local stand-in of the Telegram Bot API, for end-to-end tests on loopback.

Answers ``POST /bot<token>/<method>`` for the methods the bot uses, records every call
(:attr:`TelegramStandin.calls`), serves ``getUpdates`` from a queue the test fills (long poll
capped at :data:`LONG_POLL_CAP` seconds), and can answer ``429`` with ``retry_after`` on demand
(:meth:`TelegramStandin.throttle_next`). Message ids are assigned in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-token-for-the-standin"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Clinic", "username": "clinic_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
LONG_POLL_CAP = 0.5
ANSWERED_TRUE = {"answerCallbackQuery", "answerPreCheckoutQuery", "setWebhook", "deleteWebhook",
                 "setMyCommands"}
MESSAGE_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendInvoice",
                   "sendDocument"}


@dataclass
class Call:
    """One Bot API request the stand-in received (values JSON-decoded where they were JSON)."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the inline keyboard, if any."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


class TelegramStandin:
    """The stand-in's state; :attr:`app` is its ASGI app."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._message_ids = itertools.count(1000)
        self._throttle: list[float] = []
        self._failures: list[int] = []
        self._method_failures: dict[str, list[int]] = {}
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._handle,
                                           methods=["POST", "GET"])])

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates``."""
        self.updates.append(update)
        self._new_update.set()

    def throttle_next(self, retry_after: float = 1, times: int = 1) -> None:
        """Answer the next ``times`` message calls with 429 and ``retry_after``."""
        self._throttle.extend([retry_after] * times)

    def fail_next(self, status: int = 502, times: int = 1) -> None:
        """Answer the next ``times`` message calls with HTTP ``status`` (a Bot API outage)."""
        self._failures.extend([status] * times)

    def fail_method(self, method: str, status: int = 502, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` (any method, e.g.
        ``answerCallbackQuery``) with HTTP ``status``."""
        self._method_failures.setdefault(method, []).extend([status] * times)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != TOKEN:
            return _error(401, "Unauthorized")
        params = await _params(request)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        self.calls.append(Call(method, params))
        if self._method_failures.get(method):
            status = self._method_failures[method].pop(0)
            return JSONResponse({"ok": False, "error_code": status,
                                 "description": "Bad Gateway"}, status_code=status)
        if method in MESSAGE_METHODS and self._failures:
            status = self._failures.pop(0)
            return JSONResponse({"ok": False, "error_code": status,
                                 "description": "Bad Gateway"}, status_code=status)
        if method in MESSAGE_METHODS and self._throttle:
            wait = self._throttle.pop(0)
            return JSONResponse({"ok": False, "error_code": 429,
                                 "description": f"Too Many Requests: retry after {wait}",
                                 "parameters": {"retry_after": wait}}, status_code=429)
        if method == "getMe":
            return _ok(BOT_USER)
        if method in ANSWERED_TRUE:
            return _ok(True)
        if method in MESSAGE_METHODS:
            return _ok(self._message(method, params))
        return _error(404, f"Not Found: method {method} is not in the stand-in")

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            wait = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), wait)
        return list(self.updates)

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        message_id = params.get("message_id") or next(self._message_ids)
        params.setdefault("_message_id", int(message_id))
        chat_type = "private" if chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": int(message_id), "date": int(time.time()), "from": BOT_USER,
            "chat": {"id": chat_id, "type": chat_type, "title": "staff"}
            if chat_type != "private" else {"id": chat_id, "type": "private", "first_name": "P"},
        }
        if "text" in params:
            message["text"] = str(params["text"])
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params[
                "reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        if method == "sendDocument" and isinstance(params.get("document"), dict):
            message["document"] = {"file_id": f"doc{message_id}", "file_unique_id": "u",
                                   "file_name": params["document"].get("filename")}
            if "caption" in params:
                message["caption"] = str(params["caption"])
        if method == "sendInvoice":
            message["invoice"] = {"title": params.get("title"), "description":
                                  params.get("description"), "start_parameter": "",
                                  "currency": params.get("currency"),
                                  "total_amount": sum(p["amount"] for p in params["prices"])}
        return message


async def _params(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    params: dict[str, Any] = {}
    async with request.form() as form:
        for key, value in form.items():
            if not isinstance(value, str):  # an uploaded file (sendDocument): name and bytes
                params[key] = {"filename": value.filename, "content": await value.read()}
                continue
            if key in ("text", "caption"):
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description},
                        status_code=status)
