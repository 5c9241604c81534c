"""A local stand-in of Stripe's Checkout Sessions API, and Stripe's webhook signatures.

``StripeStandin`` is an aiohttp server on 127.0.0.1 answering what the ``stripe`` library calls
for Checkout: ``POST /v1/checkout/sessions`` (form-encoded, ``Idempotency-Key`` honoured: the
same key answers the same session), ``GET /v1/checkout/sessions/{id}`` and
``POST /v1/checkout/sessions/{id}/expire``; it checks the secret key (``Bearer``) and records
every request. Sessions expire 24 h after they were made, by the clock it is given (the test's).
``standin.down = True`` answers 503 to everything (Stripe unreachable for the bot).

``standin.completed(session_id)`` pays a session and returns its ``checkout.session.completed``
event; :func:`signed` writes an event's body and ``Stripe-Signature`` header as Stripe does
(``t=<unix time>,v1=<HMAC-SHA256 of "t.body" with the webhook secret>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_" + "standinsecret0123456789"
DAY = 24 * 3600


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None


@dataclass
class StripeStandin:
    """Stripe's Checkout Sessions on loopback (see the module docstring)."""

    now: Callable[[], float] = time.time
    calls: list[Call] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    down: bool = False
    url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> StripeStandin:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create)
        app.router.add_get("/v1/checkout/sessions/{id}", self._retrieve)
        app.router.add_post("/v1/checkout/sessions/{id}/expire", self._expire)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def created(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/sessions")]

    def completed(self, session_id: str, *, amount: int | None = None) -> dict[str, Any]:
        """Pay the session (``amount`` cents, default its own) and return Stripe's event."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid",
                       payment_intent="pi_" + uuid.uuid4().hex[:24])
        if amount is not None:
            session["amount_total"] = amount
        return event("checkout.session.completed", session, int(self.now()))

    async def _create(self, request: web.Request) -> web.Response:
        params = {key: str(value) for key, value in (await request.post()).items()}
        key = request.headers.get("Idempotency-Key")
        refused = self._refused(request, "POST", params, key)
        if refused is not None:
            return refused
        if key is not None and key in self.by_key:
            return web.json_response(self.sessions[self.by_key[key]])
        session_id = "cs_test_" + uuid.uuid4().hex
        created = int(self.now())
        session = {
            "id": session_id, "object": "checkout.session", "mode": params.get("mode"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "amount_total": int(params["line_items[0][price_data][unit_amount]"]),
            "currency": params["line_items[0][price_data][currency]"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {name[len("metadata["):-1]: value for name, value in params.items()
                         if name.startswith("metadata[")},
            "success_url": params.get("success_url"),
            "created": created, "expires_at": created + DAY, "livemode": False,
        }
        self.sessions[session_id] = session
        if key is not None:
            self.by_key[key] = session_id
        return web.json_response(session)

    async def _retrieve(self, request: web.Request) -> web.Response:
        refused = self._refused(request, "GET", {}, None)
        return refused or self._session(request.match_info["id"])

    async def _expire(self, request: web.Request) -> web.Response:
        refused = self._refused(request, "POST", {}, request.headers.get("Idempotency-Key"))
        if refused is not None:
            return refused
        session = self.sessions.get(request.match_info["id"])
        if session is not None and session["status"] == "open":
            session["status"] = "expired"
        return self._session(request.match_info["id"])

    def _session(self, session_id: str) -> web.Response:
        if session_id not in self.sessions:
            return _error(404, "resource_missing", "No such checkout.session")
        return web.json_response(self.sessions[session_id])

    def _refused(self, request: web.Request, method: str, params: dict[str, str],
                 key: str | None) -> web.Response | None:
        self.calls.append(Call(method, request.path, params, key))
        if self.down:
            return _error(503, "api_error", "scripted outage")
        if request.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return _error(401, "invalid_api_key", "Invalid API Key provided")
        return None


def event(kind: str, session: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": "evt_" + uuid.uuid4().hex[:24], "object": "event", "type": kind,
        "api_version": "2025-01-27.acacia", "created": created, "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "data": {"object": dict(session)},
    }


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET,
           timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` header Stripe sends for ``payload``."""
    body = json.dumps(payload)
    moment = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{moment}.{body}".encode(), hashlib.sha256).hexdigest()
    return body.encode(), f"t={moment},v1={mac}"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"type": "api_error" if status >= 500 else "invalid_request_error",
                   "code": code, "message": message}}, status=status)
