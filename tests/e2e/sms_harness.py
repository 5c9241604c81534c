"""Playing Twilio against the real server: signed webhooks over HTTP, TwiML read back.

``sms_server(database_url, clock)`` runs ``create_app`` under uvicorn on a loopback port, with
Twilio configured and ``PUBLIC_BASE_URL`` = https://clinic.example (as behind a proxy: requests
go to 127.0.0.1:PORT but are signed for the public URL, as Twilio signs them). ``SmsPatient``
drives a conversation the way a patient texts: ``await maya.say("hi")``, ``choose("Book")``.
"""

from __future__ import annotations

import contextlib
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator

from bot.clock import Clock
from bot.handlers import sms_text
from bot.server import ServiceFactory, create_app
from bot.settings import Settings
from tests.e2e.twilio_standin import LiveServer, loopback_socket

TOKEN = "5f4dcc3b5aa765d61d8327deb882cf99"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM_NUMBER = "+14165550100"
PUBLIC_URL = "https://clinic.example"
CHOICE = re.compile(r"^(\d+)\) (.+)$", re.MULTILINE)


def sms_settings(database_url: str, port: int, **overrides: str | None) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "CLINICBOT_HOST": "127.0.0.1",
        "CLINICBOT_PORT": port,
        "PUBLIC_BASE_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    values.update(overrides)
    return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def messages(response: httpx.Response) -> list[str]:
    """The texts of the TwiML ``<Message>`` elements."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]


@dataclass
class Twilio:
    """Signs and posts Twilio's webhooks to the server under test."""

    http: httpx.AsyncClient
    settings: Settings
    public_url: str = PUBLIC_URL
    token: str = TOKEN

    def sign(self, path: str, params: dict[str, str], url: str | None = None) -> str:
        return RequestValidator(self.token).compute_signature(url or self.public_url + path,
                                                              params)

    async def post(self, path: str, params: dict[str, str], *, signature: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        signed = {"X-Twilio-Signature": signature or self.sign(path, params)}
        return await self.http.post(path, data=params, headers={**signed, **(headers or {})})

    def inbound_params(self, phone: str, body: str, sid: str | None = None,
                       **extra: str) -> dict[str, str]:
        return {"MessageSid": sid or new_sid(), "SmsMessageSid": sid or new_sid(),
                "AccountSid": ACCOUNT_SID, "From": phone, "To": FROM_NUMBER, "Body": body,
                "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01", **extra}

    async def text(self, phone: str, body: str, sid: str | None = None,
                   **extra: str) -> httpx.Response:
        return await self.post("/sms/inbound", self.inbound_params(phone, body, sid, **extra))


@dataclass
class SmsPatient:
    """A patient's side of an SMS conversation with the clinic."""

    twilio: Twilio
    phone: str
    last: list[str] = field(default_factory=list)

    async def say(self, body: str) -> str:
        self.last = messages(await self.twilio.text(self.phone, body))
        assert self.last, "every text gets an answer"
        for message in self.last:
            assert sms_text.segments(message) <= 3, message
        return "\n".join(self.last)

    async def choose(self, label: str) -> str:
        """Answer with the number of the choice whose label contains ``label``."""
        for number, text in self.choices:
            if label.casefold() in text.casefold():
                return await self.say(number)
        raise AssertionError(f"no choice {label!r} in {self.labels}")

    @property
    def choices(self) -> list[tuple[str, str]]:
        return CHOICE.findall("\n".join(self.last))

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.choices]


@contextlib.asynccontextmanager
async def sms_server(database_url: str, clock: Clock, *,
                     services: Sequence[ServiceFactory] | None = None,
                     **overrides: str | None) -> AsyncIterator[Twilio]:
    """The real server on a loopback port with Twilio configured; yields the Twilio player.
    ``services``: what the server runs beside the webhooks (default: as ``serve`` does)."""
    sock = loopback_socket()
    settings = sms_settings(database_url, sock.getsockname()[1], **overrides)
    async with (
        LiveServer(create_app(settings, clock=clock, services=services), sock) as live,
        httpx.AsyncClient(base_url=live.url, timeout=60) as http,
    ):
        yield Twilio(http, settings, public_url=settings.public_base_url or live.url)
