"""Telegram at start-up, with real ``clinicbot serve`` processes and the Bot API stand-in.

A token Telegram rejects (401) stops ``serve`` with exit status 2 and one line naming
``TELEGRAM_BOT_TOKEN``, never its value, and no traceback (text and JSON logs). A Bot API that
is unreachable (nothing listening, or 502) does not stop the server: SMS is answered,
``/healthz`` says Telegram is unreachable, and the bot comes up in the background once Telegram
answers. With no channel at all, ``serve`` says loudly that patients cannot reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from twilio.request_validator import RequestValidator

from bot.handlers.telegram import TelegramBot
from bot.server import NO_CHANNEL, create_app
from tests.conftest import EXAMPLE_FILE
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, messages, new_sid
from tests.e2e.sms_harness import TOKEN as TWILIO_TOKEN
from tests.e2e.telegram_harness import SECRET, Telegram, TgUser, telegram_settings
from tests.e2e.telegram_standin import TOKEN, TelegramStandin
from tests.e2e.twilio_standin import LiveServer, loopback_socket

ROOT = Path(__file__).resolve().parents[2]
WRONG_TOKEN = "654321:AAE-this-token-was-revoked-by-botfather"
WAIT_SECONDS = 60.0


class Outage:
    """ASGI wrapper of the stand-in: while :attr:`down`, every Bot API call answers 502."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.down = True
        self.refused = 0
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requests += scope["type"] == "http"
        if scope["type"] == "http" and self.down:
            self.refused += 1
            response = JSONResponse({"ok": False, "error_code": 502, "description": "Bad Gateway"},
                                    status_code=502)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _free_port() -> int:
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, port: int, api: str, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}", "PYTHONPATH": str(ROOT),
                "CLINICBOT_HOST": "127.0.0.1", "CLINICBOT_PORT": str(port),
                "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "TELEGRAM_API_BASE_URL": api + "/bot"})
    env.update(values)
    return env


def _sms(**values: str) -> dict[str, str]:
    return {"PUBLIC_BASE_URL": PUBLIC_URL, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER, **values}


async def _run(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


@contextlib.asynccontextmanager
async def _serving(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                          list[str]]]:
    """``clinicbot serve`` until healthy; SIGTERM after the block; ``log`` filled at the end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    log: list[str] = []
    url = f"http://127.0.0.1:{env['CLINICBOT_PORT']}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await _until(http, process, lambda health: True)
            yield http, log
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
        log.append(out.decode())
        assert process.returncode == 0, log[0]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _until(http: httpx.AsyncClient, process: Any, check: Any) -> dict[str, Any]:
    """The first ``/healthz`` body (answered 200) that passes ``check`` (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process is None or process.returncode is None, "serve stopped"
        with contextlib.suppress(httpx.TransportError):
            response = await http.get("/healthz")
            if response.status_code == 200 and check(response.json()):
                return dict(response.json())
        await asyncio.sleep(0.1)
    raise AssertionError("/healthz never answered as expected")


async def _text(http: httpx.AsyncClient, body: str) -> httpx.Response:
    params = {"MessageSid": new_sid(), "AccountSid": ACCOUNT_SID, "From": MAYA,
              "To": FROM_NUMBER, "Body": body}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        f"{PUBLIC_URL}/sms/inbound", params)
    return await http.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_token_telegram_rejects_exits_2_naming_it_without_its_value(tmp_path, log_format):
    standin = TelegramStandin()
    async with LiveServer(standin.app) as api:
        env = _env(tmp_path, _free_port(), api.url,
                   **_sms(TELEGRAM_BOT_TOKEN=WRONG_TOKEN, CLINICBOT_LOG_FORMAT=log_format))
        status, output = await _run(env, tmp_path, "serve")
    assert status == 2, output
    [named] = [line for line in output.splitlines() if "TELEGRAM_BOT_TOKEN" in line]
    assert named.startswith("Error: Telegram rejected TELEGRAM_BOT_TOKEN")
    assert WRONG_TOKEN not in output and WRONG_TOKEN.split(":")[1] not in output
    assert "Traceback" not in output and "InvalidToken" not in output
    assert output.strip() == named, "one line, nothing else"


@pytest.mark.parametrize("outage", ["nothing listening", "502"])
async def test_telegram_unreachable_at_start_up_leaves_sms_up_until_it_comes_back(
    tmp_path, outage
):
    standin = TelegramStandin()
    wrapped = Outage(standin.app)
    api_socket = loopback_socket()  # bound, not listening: connections are refused
    api_url = f"http://127.0.0.1:{api_socket.getsockname()[1]}"
    env = _env(tmp_path, _free_port(), api_url,
               **_sms(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET))
    status, output = await _run(env, tmp_path, "load", str(EXAMPLE_FILE))
    assert status == 0, output
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(api_socket.close)
        if outage == "502":
            await stack.enter_async_context(LiveServer(wrapped, api_socket))
        http, log = await stack.enter_async_context(_serving(env, tmp_path))
        health = (await http.get("/healthz")).json()
        assert health["status"] == "ok" and health["database"] == "ok"
        assert (health["sms"], health["telegram"]) == ("ok", "unreachable")
        assert any("Telegram is unreachable" in warning for warning in health["warnings"])
        [reply] = messages(await _text(http, "Good morning, clinic"))
        assert "Hi Maya!" in reply, "SMS works while Telegram is down"
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0,
                                              "chat": {"id": 7001, "type": "private"}}}
        early = await http.post("/telegram/webhook", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert early.status_code == 503, "not started yet: Telegram delivers it again"
        assert standin.of("setWebhook") == []

        if outage == "502":
            assert wrapped.refused >= 2, "checked at start, then tried by the service"
            wrapped.down = False
        else:
            await stack.enter_async_context(LiveServer(wrapped, api_socket))
            wrapped.down = False
        health = await _until(http, None, lambda health: health["telegram"] == "ok")
        assert health["warnings"] == [] and health["sms"] == "ok"
        [registered] = standin.of("setWebhook")
        assert registered.params["url"] == f"{PUBLIC_URL}/telegram/webhook"
    output = log[0]
    assert "the Bot API is unreachable (NetworkError); SMS and the rest keep running" in output
    assert "Telegram is up" in output
    assert TOKEN not in output and SECRET not in output and "Traceback" not in output


async def test_a_token_rejected_when_telegram_comes_back_is_reported_not_retried(
    database_url, clock, caplog
):
    caplog.set_level("INFO")
    standin = TelegramStandin()
    wrapped = Outage(standin.app)
    async with LiveServer(wrapped) as api:
        sock = loopback_socket()
        settings = telegram_settings(database_url, sock.getsockname()[1], api.url, "polling")
        settings = settings.model_copy(update={"telegram_bot_token": SecretStr(WRONG_TOKEN)})
        app = create_app(settings, clock=clock, services=[TelegramBot.for_runtime])
        async with LiveServer(app, sock) as live, httpx.AsyncClient(base_url=live.url) as http:
            health = (await http.get("/healthz")).json()
            assert health["telegram"] == "unreachable"
            wrapped.down = False
            health = await _until(http, None, lambda health: health["telegram"] == "rejected")
            assert health["status"] == "ok" and any(
                "rejected TELEGRAM_BOT_TOKEN" in warning for warning in health["warnings"])
            asked = wrapped.requests
            await asyncio.sleep(2.5)  # longer than the next backoff step
            assert wrapped.requests == asked and standin.calls == [], "not retried"
    rejected = [r for r in caplog.records if "rejected TELEGRAM_BOT_TOKEN" in r.getMessage()]
    assert [r.levelname for r in rejected] == ["ERROR"]
    assert WRONG_TOKEN not in caplog.text and "Traceback" not in caplog.text


async def test_polling_comes_up_in_the_background_and_answers(clinic, database_url, clock):
    standin = TelegramStandin()
    wrapped = Outage(standin.app)
    async with LiveServer(wrapped) as api:
        sock = loopback_socket()
        settings = telegram_settings(database_url, sock.getsockname()[1], api.url, "polling")
        app = create_app(settings, clock=clock, services=[TelegramBot.for_runtime])
        async with LiveServer(app, sock) as live, httpx.AsyncClient(base_url=live.url) as http:
            assert (await http.get("/healthz")).json()["telegram"] == "unreachable"
            wrapped.down = False
            await _until(http, None, lambda health: health["telegram"] == "ok")
            maya = TgUser(Telegram(standin, http, "polling", settings), 7001, "Maya")
            assert "share your phone" in await maya.say("/start")


async def test_serve_without_any_channel_warns_that_patients_cannot_reach_it(tmp_path):
    env = _env(tmp_path, _free_port(), "http://127.0.0.1:9")
    async with _serving(env, tmp_path) as (http, log):
        health = (await http.get("/healthz")).json()
    assert health == {"status": "ok", "database": "ok", "sms": "off", "telegram": "off",
                      "warnings": [NO_CHANNEL]}
    [warning] = [line for line in log[0].splitlines() if "patients cannot reach" in line]
    assert warning.split()[1] == "WARNING", warning
