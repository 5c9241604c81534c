"""The Stripe adapter of the payment-link port (:mod:`bot.services.payment_links`; issue 20).

Checkout Sessions are opened with the official ``stripe`` library (``StripeClient`` on its
aiohttp client, opened at the first call, pointed at ``STRIPE_API_BASE_URL``; its httpx client
posts bytes in a way httpx deprecates): one line item for what the invoice owes, in
the clinic's currency, with the invoice id in the session's metadata (and in the payment's, for
the Dashboard), and the idempotency key the service gives. Any Stripe error, a network failure
or a slow answer becomes :class:`~bot.services.payment_links.ProviderUnavailable`; the message
never carries the key. After paying, Stripe shows the patient ``/payments/stripe/done``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.services.payment_links import (
    CheckoutRequest,
    OpenedSession,
    PaymentLinks,
    ProviderUnavailable,
)
from bot.settings import Settings

log = logging.getLogger(__name__)
NAME = "stripe"
DONE_PATH = "/payments/stripe/done"
TIMEOUT_SECONDS = 5.0  # twice (one retry) within the 15 s Twilio waits for the link


class StripeCheckout:
    """Opens and expires Stripe Checkout Sessions (a :class:`CheckoutProvider`)."""

    name = NAME

    def __init__(self, secret_key: str, api_base_url: str, success_url: str) -> None:
        self.http = stripe.AIOHTTPClient(timeout=TIMEOUT_SECONDS)
        self.client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base_url}, http_client=self.http,
            max_network_retries=1,
        )
        self.success_url = success_url

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeCheckout | None:
        """The adapter when Stripe is configured, else None (payment links off)."""
        key = settings.stripe_secret_key
        if key is None or not settings.stripe_enabled:
            return None
        return cls(key.get_secret_value(), settings.stripe_api_base_url,
                   settings.base_url + DONE_PATH)

    async def create(self, request: CheckoutRequest) -> OpenedSession:
        metadata = {"invoice_id": str(request.invoice_id),
                    "patient_id": str(request.patient_id)}
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "line_items": [{
                        "quantity": 1,
                        "price_data": {
                            "currency": request.currency.lower(),
                            "unit_amount": request.amount,
                            "product_data": {"name": request.description[:250]},
                        },
                    }],
                    "client_reference_id": str(request.invoice_id),
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "success_url": self.success_url,
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            log.warning("stripe: opening a checkout session failed (%s)", type(exc).__name__)
            raise ProviderUnavailable(type(exc).__name__) from None
        if not session.url:
            raise ProviderUnavailable("Stripe answered without a checkout URL")
        return OpenedSession(session.id, session.url,
                             datetime.fromtimestamp(session.expires_at, UTC))

    async def expire(self, session_id: str) -> None:
        try:
            await self.client.v1.checkout.sessions.expire_async(session_id)
        except stripe.StripeError as exc:
            raise ProviderUnavailable(type(exc).__name__) from None

    async def close(self) -> None:
        await self.http.close_async()  # type: ignore[no-untyped-call]


def payment_links(
    settings: Settings, db: AsyncEngine, clock: Clock
) -> tuple[PaymentLinks | None, StripeCheckout | None]:
    """The payment links of this deployment and the adapter to close, or (None, None)."""
    adapter = StripeCheckout.from_settings(settings)
    return (None, None) if adapter is None else (PaymentLinks(db, clock, adapter), adapter)
