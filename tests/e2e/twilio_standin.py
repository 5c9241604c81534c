"""A local stand-in of Twilio's REST API (Messages resource), and a server runner for tests.

``TwilioStandin`` serves ``POST /2010-04-01/Accounts/{sid}/Messages.json`` on 127.0.0.1 and
records every request; it answers like Twilio (201, JSON with an ``SM...`` sid and status
``queued``), or as scripted: ``standin.fail_next(429)``, ``fail_next(500, times=3)``,
``fail_next(400, code=21610)``, ``hang_next(2.0)``. ``LiveServer`` runs any ASGI app under a
real uvicorn server on a loopback port inside the test's event loop (as ``clinicbot serve``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STARTUP_SECONDS = 20.0
SHUTDOWN_SECONDS = 30.0


class QuietServer(uvicorn.Server):
    """uvicorn without signal handlers (the test process keeps its own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LiveServer:
    """``async with LiveServer(app) as server:`` -> ``server.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app, sock: socket.socket | None = None) -> None:
        self.sock = sock or loopback_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
        self.server = QuietServer(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveServer:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        while not self.server.started:
            if self.task.done():
                await self.task
                raise RuntimeError("the server stopped during start-up")
            if loop.time() > deadline:
                raise TimeoutError("the server did not start")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, SHUTDOWN_SECONDS)
        self.sock.close()


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port (uvicorn listens on it; no port race).

    With TCP_NODELAY, which the connections it accepts inherit. Connections accepted on a
    socket handed to uvicorn came without it (while those of ``clinicbot serve``, which lets
    uvicorn bind its host and port, have it), so every response, written in two parts, waited
    for the client's delayed ACK: 42 ms a request instead of 0.2 ms, measured here.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class SentMessage:
    """One request the stand-in received."""

    account_sid: str
    params: dict[str, str]
    username: str
    password: str
    sid: str | None = None


@dataclass
class TwilioStandin:
    """The Messages resource of Twilio's REST API, on loopback (see module docstring)."""

    received: list[SentMessage] = field(default_factory=list)
    failures: list[tuple[int, int | None]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)

    def fail_next(self, status: int, *, code: int | None = None, times: int = 1) -> None:
        self.failures.extend([(status, code)] * times)

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next requests only after ``seconds`` (a slow or stuck API)."""
        self.delays.extend([seconds] * times)

    @property
    def sent(self) -> list[SentMessage]:
        """The messages it accepted (answered 201)."""
        return [message for message in self.received if message.sid is not None]

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create,
                  methods=["POST"]),
        ])

    async def _create(self, request: Request) -> JSONResponse:
        username, password = _basic_auth(request.headers.get("authorization", ""))
        form = await request.form()
        message = SentMessage(
            account_sid=request.path_params["account_sid"],
            params={key: str(value) for key, value in form.items()},
            username=username,
            password=password,
        )
        self.received.append(message)
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
        if username != message.account_sid:
            return _error(401, 20003, "Authenticate")
        if self.failures:
            status, code = self.failures.pop(0)
            return _error(status, code or status, "scripted failure")
        message.sid = "SM" + uuid.uuid4().hex
        return JSONResponse(_message_json(message), status_code=201)


def _basic_auth(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return username, password


def _error(status: int, code: int, text: str) -> JSONResponse:
    body = {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return JSONResponse(body, status_code=status)


def _message_json(message: SentMessage) -> dict[str, object]:
    params = message.params
    return {
        "account_sid": message.account_sid,
        "api_version": "2010-04-01",
        "body": params.get("Body", ""),
        "date_created": "Mon, 02 Nov 2026 13:00:00 +0000",
        "date_sent": None,
        "date_updated": "Mon, 02 Nov 2026 13:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": params.get("From"),
        "messaging_service_sid": params.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": "queued",
        "subresource_uris": {},
        "to": params.get("To"),
        "uri": f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}.json",
    }
