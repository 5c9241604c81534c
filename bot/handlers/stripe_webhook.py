"""``POST /payments/stripe``: Stripe's webhook (INTERFACES.md, payments; issue 20).

The body is verified first, with the library (``stripe.Webhook.construct_event``: the
``Stripe-Signature`` header's HMAC-SHA256 with ``STRIPE_WEBHOOK_SECRET``, and its timestamp
within the library's five minutes); anything that does not verify gets 400 and nothing is read
or written. ``checkout.session.completed`` (and ``checkout.session.async_payment_succeeded``,
for methods that settle later) with ``payment_status`` paid is recorded once per session
(:func:`bot.services.payment_links.record_paid`, under the invoice's lock and the payment's
unique provider id, so a redelivery, or the same event on two instances at once, records one
payment); ``checkout.session.expired`` marks the session expired, so a new link replaces it.
Other events are acknowledged with 200 and ignored. ``GET /payments/stripe/done`` is the page
Stripe shows the patient after paying.

Nothing here logs a name, a phone number or the body.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import stripe
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.handlers.stripe_checkout import DONE_PATH, NAME
from bot.i18n import negotiate, translator
from bot.services import payment_links
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.server import Runtime

log = logging.getLogger(__name__)
PATH = "/payments/stripe"
MAX_BODY_BYTES = 256 * 1024
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
EXPIRED_EVENT = "checkout.session.expired"


def routes() -> list[Route]:
    """The Stripe routes, for :func:`bot.server.channel_routes`."""
    return [Route(PATH, stripe_webhook, methods=["POST"]),
            Route(DONE_PATH, paid_page, methods=["GET"])]


async def stripe_webhook(request: Request) -> Response:
    """Verify Stripe's event, then record what it says (see the module docstring)."""
    runtime: Runtime = request.state.runtime
    secret = runtime.settings.stripe_webhook_secret
    body = await _read_body(request)
    try:
        if secret is None:
            raise ValueError("no webhook secret")
        event = stripe.Webhook.construct_event(
            body, request.headers.get("stripe-signature"), secret.get_secret_value())
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError):
        log.warning("rejected a request to %s without a valid Stripe signature", PATH)
        return PlainTextResponse("Bad signature", status_code=400)
    payload = event.to_dict()
    kind = str(payload.get("type", ""))
    data = payload.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    session: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind in PAID_EVENTS:
        await _paid(runtime, session)
    elif kind == EXPIRED_EVENT and isinstance(session.get("id"), str):
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            await payment_links.mark(uow, session["id"], payment_links.EXPIRED)
            await uow.commit()
    else:
        log.info("stripe: ignored a %s event", kind or "typeless")
    return JSONResponse({"received": True})


async def _paid(runtime: Runtime, session: dict[str, Any]) -> None:
    """Record a completed session's money once; a session not paid yet waits for its event."""
    session_id = session.get("id")
    metadata = session.get("metadata") or {}
    invoice = str(metadata.get("invoice_id", ""))
    amount, currency = session.get("amount_total"), session.get("currency")
    if session.get("payment_status") != "paid":
        log.info("stripe: a checkout session completed, its payment not settled yet")
        return
    if not isinstance(session_id, str) or not invoice.isdecimal() or not isinstance(
        amount, int
    ) or not isinstance(currency, str):
        log.error("stripe: a paid checkout session names no invoice of ours; not recorded")
        return
    received = payment_links.from_minor_units(amount, currency.upper())
    try:
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            receipt = await payment_links.record_paid(uow, NAME, session_id, int(invoice),
                                                      received)
            await uow.commit()
    except IntegrityError:  # the same payment, recorded by another delivery meanwhile
        log.info("stripe: checkout session already recorded by another delivery")
        return
    except DomainError as exc:
        log.error("stripe payment for invoice %s not recorded: %s", invoice, exc.code)
        raise HTTPException(500, "Not recorded; deliver it again") from None
    log.info("stripe: checkout session for invoice %d %s", int(invoice),
             "seen before" if receipt.again else "recorded")


async def paid_page(request: Request) -> Response:
    """What the patient's browser shows after paying (the chat has the rest)."""
    runtime: Runtime = request.state.runtime
    async with UnitOfWork(runtime.db, runtime.clock, readonly=True) as uow:
        locale = (await get_clinic(uow)).locale
    t = translator(negotiate([request.headers.get("accept-language", "")[:2]], locale))
    return PlainTextResponse(t.gettext("Thank you! Your payment was received."))


async def _read_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"The request is larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)
