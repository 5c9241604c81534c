"""Real ``clinicbot serve`` processes for the load test, and a Telegram stand-in that files calls
per chat.

:class:`ServeProcess` starts ``python -m bot serve`` with the environment of a deployment behind
one public URL (webhook mode for Telegram, the local Twilio and Bot API stand-ins as providers,
short scheduler periods), logs to a file, waits for ``/healthz``, and stops with SIGTERM
(:meth:`ServeProcess.stop` returns the exit status; :meth:`ServeProcess.kill` is for
``finally``). :class:`ChatStandin` is the Bot API stand-in of ``tests/e2e`` that also keeps each
chat's message calls in order and wakes whoever waits for the next one; :class:`ThreadedServer`
serves a stand-in from its own thread.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, TOKEN
from tests.e2e.telegram_harness import SECRET
from tests.e2e.telegram_standin import MESSAGE_METHODS, Call, TelegramStandin
from tests.e2e.telegram_standin import TOKEN as BOT_TOKEN
from tests.e2e.twilio_standin import LiveServer, loopback_socket

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 90.0
STOP_SECONDS = 60.0


def free_port() -> int:
    sock = loopback_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def serve_env(database_url: str, port: int, twilio_url: str, telegram_url: str) -> dict[str, str]:
    """The environment of one instance (nothing inherited that names a provider or setting)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL",
                                "DATABASE_URL"))}
    env.update({
        "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
        "CLINICBOT_HOST": "127.0.0.1", "CLINICBOT_PORT": str(port),
        "PUBLIC_BASE_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio_url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": telegram_url + "/bot",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "CLINICBOT_SWEEP_SECONDS": "2", "CLINICBOT_DELIVERY_SECONDS": "1",
    })
    return env


class ServeProcess:
    """One ``clinicbot serve`` instance (see the module docstring)."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{env['CLINICBOT_PORT']}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", env=self.env, cwd=self.log_path.parent,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_healthy(self) -> None:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        async with httpx.AsyncClient(timeout=5) as http:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name} exited at start:\n{self.log()}")
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} did not become healthy:\n{self.log()}")

    async def stop(self) -> int:
        """SIGTERM, then the exit status (bounded wait)."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), STOP_SECONDS)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class ThreadedServer:
    """``LiveServer`` on its own event loop in a thread: the test's busy loop (hundreds of
    patients) cannot keep a stand-in from answering the bot in time.

    ``with ThreadedServer(app) as server:`` -> ``server.url``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stand-in", daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(START_SECONDS) or self._failure is not None:
            raise RuntimeError("the stand-in did not start") from self._failure
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STOP_SECONDS)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with LiveServer(self.app) as live:
            self.url = live.url
            self._ready.set()
            await self._stop.wait()


class ChatStandin(TelegramStandin):
    """The Bot API stand-in, with each chat's message calls in order (``chat_calls``).

    It may serve from another thread (:class:`ThreadedServer`); waiters are woken on the loop
    that created it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.chat_calls: dict[int, list[Call]] = defaultdict(list)
        self.callback_answers: dict[str, int] = defaultdict(int)
        self._filed = 0
        self._waiters = asyncio.get_running_loop()
        self._arrived = asyncio.Event()

    async def _handle(self, request: Request) -> JSONResponse:
        response = await super()._handle(request)
        for call in self.calls[self._filed:]:
            if call.method in MESSAGE_METHODS and call.chat_id is not None:
                self.chat_calls[call.chat_id].append(call)
            elif call.method == "answerCallbackQuery":
                self.callback_answers[str(call.params.get("callback_query_id"))] += 1
        self._filed = len(self.calls)
        self._waiters.call_soon_threadsafe(self._wake)
        return response

    def _wake(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def next_call(self, chat_id: int, seen: int, seconds: float) -> Call:
        """The chat's message call number ``seen`` (0-based), waiting up to ``seconds``."""
        async with asyncio.timeout(seconds):
            while len(self.chat_calls[chat_id]) <= seen:
                await self._arrived.wait()
        return self.chat_calls[chat_id][seen]
