"""Fixtures the integration tests of payment links share (issue 20).

``stripe`` is the Stripe stand-in on loopback, on the test's clock; ``links`` is the payment
links service over the real Stripe adapter pointed at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.handlers.stripe_checkout import StripeCheckout
from bot.services.payment_links import PaymentLinks
from tests.e2e.stripe_standin import SECRET_KEY, StripeStandin


@pytest.fixture
async def stripe(clock: FixedClock) -> AsyncIterator[StripeStandin]:
    async with StripeStandin(now=lambda: clock.now().timestamp()) as standin:
        yield standin


@pytest.fixture
async def links(
    engine: AsyncEngine, clock: FixedClock, stripe: StripeStandin
) -> AsyncIterator[PaymentLinks]:
    adapter = StripeCheckout(SECRET_KEY, stripe.url, "https://clinic.example/done")
    yield PaymentLinks(engine, clock, adapter)
    await adapter.close()
