"""Outbound SMS through Twilio's REST API (DESIGN.md, outbox; RULES.md 14).

:class:`TwilioSender` sends one text with twilio's client on an async HTTP client, to
``TWILIO_API_BASE_URL``, from ``TWILIO_FROM_NUMBER`` or the messaging service, asking Twilio to
report delivery to ``PUBLIC_BASE_URL/sms/status``. It returns Twilio's message id (``SM...``).

* 429 and 5xx answers, timeouts and network errors are retried with exponential backoff, a
  bounded number of times, then :class:`SmsUnavailable` is raised. A timed-out request may
  have reached Twilio, so a retry can (rarely) send a text twice; Twilio offers no idempotency
  key for messages.
* Error 21610 (the recipient replied STOP to our number) raises :class:`RecipientOptedOut`:
  the caller marks the patient opted out (:func:`bot.services.delivery.opt_out_phone`) and
  does not retry.
* Any other refusal (bad number, bad sender...) raises :class:`SmsRefused`.

Errors carry Twilio's status and error code only: Twilio's message text can quote the number.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.handlers.sms import STATUS_PATH
from bot.settings import Settings

log = logging.getLogger(__name__)
# twilio's HTTP client logs each request at INFO; ours stay quiet unless something is wrong.
_http_log = logging.getLogger(f"{__name__}.http")
_http_log.setLevel(logging.WARNING)

UNSUBSCRIBED = 21610
Sleep = Callable[[float], Awaitable[None]]


class SmsError(Exception):
    """Sending an SMS failed; ``status`` is the HTTP status and ``code`` Twilio's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RecipientOptedOut(SmsError):
    """The recipient unsubscribed from our number (Twilio error 21610): do not retry."""


class SmsRefused(SmsError):
    """Twilio refused the message for good (a 4xx other than 429): do not retry."""


class SmsUnavailable(SmsError):
    """Twilio could not be reached or kept failing (429/5xx) after every retry."""


class TwilioHttp(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """twilio's aiohttp client with a timeout on every request, sending Basic auth as a header.

    (aiohttp deprecates the ``BasicAuth`` object twilio would build, and twilio sends no
    timeout unless each call passes one.)
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's HttpClient interface
        allow_redirects: bool = False,
    ) -> Any:
        headers = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return await super().request(
            method, url, params=params, data=data, headers=headers, auth=None,
            timeout=timeout or self.timeout, allow_redirects=allow_redirects,
        )


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all, waiting ``first`` seconds, doubling up to ``longest``."""

    attempts: int = 4
    first: float = 1.0
    longest: float = 30.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.longest, self.first * 2 ** (attempt - 1)))


class TwilioSender:
    """Sends SMS through Twilio; one per process, closed with :meth:`close`."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str = "https://api.twilio.com",
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        backoff: Backoff | None = None,
        timeout: float = 15.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if from_number is None and messaging_service_sid is None:
            raise ValueError("a sender is needed: a from number or a messaging service sid")
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.api_base_url = api_base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self._sleep = sleep
        self._http: TwilioHttp | None = None
        self._client: Client | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> TwilioSender:
        """The sender the settings describe (SMS must be configured)."""
        if settings.twilio_account_sid is None or settings.twilio_auth_token is None:
            raise ValueError("SMS is off: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are unset")
        return cls(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            api_base_url=settings.twilio_api_base_url,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=settings.base_url + STATUS_PATH,
            **options,
        )

    async def send(self, to: str, body: str) -> str:
        """Send ``body`` to the E.164 number ``to``; Twilio's message id (see module docstring)."""
        failure: SmsUnavailable | None = None
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                return await self._create(to, body)
            except (TwilioRestException, TwilioServiceException) as exc:
                error = _classify(exc)
                if not isinstance(error, SmsUnavailable):
                    log.warning("sms not sent: %s", error)
                    raise error from None
                failure = error
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = SmsUnavailable(f"Twilio could not be reached ({type(exc).__name__})")
            if attempt < self.backoff.attempts:
                delay = self.backoff.delay(attempt)
                log.warning("sms send failed (%s); retrying in %.1fs", failure, delay)
                await self._sleep(delay)
        assert failure is not None
        log.error("sms send gave up after %d attempts (%s)", self.backoff.attempts, failure)
        raise failure

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    async def __aenter__(self) -> TwilioSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _create(self, to: str, body: str) -> str:
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid is not None
            else {"from_": str(self.from_number)}
        )
        if self.status_callback is not None:
            sender["status_callback"] = self.status_callback
        message = await self._rest().messages.create_async(to=to, body=body, **sender)
        sid = getattr(message, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise SmsRefused("Twilio accepted the message but sent no message id")
        return sid

    def _rest(self) -> Client:
        """twilio's client, created on first use (its HTTP session needs the running loop)."""
        if self._client is None:
            self._http = TwilioHttp(logger=_http_log, timeout=self.timeout)
            client = Client(self.account_sid, self._auth_token, http_client=self._http)
            client.edge = None  # never let TWILIO_EDGE / TWILIO_REGION rewrite our base URL
            client.region = None
            client.api.base_url = self.api_base_url
            self._client = client
        return self._client


def _classify(exc: TwilioRestException | TwilioServiceException) -> SmsError:
    status = int(getattr(exc, "status", 0) or 0)
    raw_code = getattr(exc, "code", None)
    code = int(raw_code) if isinstance(raw_code, int | str) and str(raw_code).isdecimal() else None
    described = f"HTTP {status}, Twilio error {code}" if code else f"HTTP {status}"
    if code == UNSUBSCRIBED:
        return RecipientOptedOut(
            f"the recipient unsubscribed ({described})", status=status, code=code
        )
    if status == 429 or status >= 500:
        return SmsUnavailable(f"Twilio is unavailable ({described})", status=status, code=code)
    return SmsRefused(f"Twilio refused the message ({described})", status=status, code=code)
