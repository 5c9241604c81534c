"""Payment links: a hosted checkout page for what an open invoice still owes (issue 20).

The provider is a port (:class:`CheckoutProvider`); the Stripe adapter lives beside the
handlers (:mod:`bot.handlers.stripe_checkout`). :class:`PaymentLinks` never calls the provider
inside a database transaction: it reads what is owed and any session already opened (one short
transaction), calls the provider with no transaction open, then records the new session (a
second one). Any open invoice kind can be paid this way (package, installment, membership,
session, no-show fee, deposit...): the amount is what is still owed, in the clinic's currency,
with the invoice id in the session's metadata.

Sessions are kept per invoice, amount and generation (:class:`CheckoutSession`): a session still
open, and not within :data:`MARGIN` of its expiry, is offered again; an expired one (by its
expiry, or the provider's ``expired`` event) is replaced by the next generation, never reused.
The provider call carries the idempotency key of invoice, amount and generation, so two
requests at once (two channels, two instances) open one session. When what is owed changed (a
part was paid at the desk), sessions for the old amount are expired at the provider, best
effort: money paid on one anyway is still recorded, and any excess becomes credit
(:func:`record_paid`, through :func:`bot.services.payments.receive`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from babel.numbers import get_currency_precision
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.services import billing, payments
from bot.services.clinic import get_clinic
from bot.services.due_reminders import RENEWAL_REMINDER, UNPAID_REMINDER
from bot.storage.models import CheckoutSession, Invoice
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

log = logging.getLogger(__name__)
MARGIN = timedelta(minutes=30)  # a link about to expire is not sent again: a new one is made
OPEN, COMPLETE, EXPIRED = "open", "complete", "expired"
EFFECT = "payment_link"  # the dialog effect asking a channel for a link: {"invoice_id": id}
NO_SHOW_FEE = "no_show_fee"  # the patient's notice of a no-show fee (services.noshows)


class ProviderUnavailable(Exception):
    """The payment provider could not open a checkout page just now (down, refused, slow)."""


@dataclass(frozen=True)
class CheckoutRequest:
    """What to ask the provider for: ``amount`` in the currency's minor units."""

    invoice_id: int
    patient_id: int
    amount: int
    currency: str
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class OpenedSession:
    """What the provider answered: its session id, the page's URL and its expiry."""

    session_id: str
    url: str
    expires_at: datetime


class CheckoutProvider(Protocol):
    """Extension point: a payment provider's hosted checkout (Stripe's adapter implements it).

    Both raise :class:`ProviderUnavailable` when the provider cannot be reached or refuses.
    """

    name: str

    async def create(self, request: CheckoutRequest) -> OpenedSession: ...

    async def expire(self, session_id: str) -> None: ...


@dataclass(frozen=True)
class PaymentLink:
    """A page where ``amount`` (what the invoice owes) can be paid until ``expires_at``."""

    invoice_id: int
    url: str
    amount: Decimal
    expires_at: datetime


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's smallest unit (cents for CAD), as providers want it."""
    return int((amount * (10 ** get_currency_precision(currency))).to_integral_value())


def from_minor_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) / Decimal(10 ** int(get_currency_precision(currency)))


@dataclass(frozen=True)
class _Owed:
    request: CheckoutRequest
    owed: Decimal
    generation: int
    reuse: PaymentLink | None
    superseded: list[str]


class PaymentLinks:
    """Opens (or offers again) the checkout page for an invoice; one per process."""

    def __init__(self, db: AsyncEngine, clock: Clock, provider: CheckoutProvider) -> None:
        self.db = db
        self.clock = clock
        self.provider = provider

    async def link(self, invoice_id: int) -> PaymentLink | None:
        """The page for what ``invoice_id`` owes now; None when nothing is owed.

        :class:`ProviderUnavailable` when a new page was needed and the provider failed."""
        found = await self._owed(invoice_id)
        if found is None or found.reuse is not None:
            return None if found is None else found.reuse
        opened = await self.provider.create(found.request)
        async with UnitOfWork(self.db, self.clock) as uow:
            await insert_ignore(uow, CheckoutSession, {
                "invoice_id": invoice_id, "amount": found.owed,
                "currency": found.request.currency, "generation": found.generation,
                "provider": self.provider.name, "session_id": opened.session_id,
                "url": opened.url, "expires_at": opened.expires_at, "status": OPEN,
                "created_at": uow.clock.now(),
            }, ["session_id"])
            await uow.commit()
        await self._expire(found.superseded)
        return PaymentLink(invoice_id, opened.url, found.owed, opened.expires_at)

    async def _owed(self, invoice_id: int) -> _Owed | None:
        async with UnitOfWork(self.db, self.clock, readonly=True) as uow:
            invoice = await uow.session.get(Invoice, invoice_id)
            if invoice is None or invoice.status != "open" or invoice.outstanding <= 0:
                return None
            clinic = await get_clinic(uow)
            owed, now = invoice.outstanding, uow.clock.now()
            sessions = list(await uow.session.scalars(
                select(CheckoutSession).where(CheckoutSession.invoice_id == invoice_id)
                .order_by(CheckoutSession.generation.desc(), CheckoutSession.id.desc())))
            same = [s for s in sessions if s.amount == owed]
            latest = same[0] if same else None
            reuse = None
            if latest is not None and latest.status == OPEN and latest.expires_at > now + MARGIN:
                reuse = PaymentLink(invoice_id, latest.url, owed, latest.expires_at)
            generation = 1 if latest is None else latest.generation + 1
            amount = minor_units(owed, clinic.currency)
            request = CheckoutRequest(
                invoice_id=invoice.id, patient_id=invoice.patient_id, amount=amount,
                currency=clinic.currency, description=f"{clinic.name}: {invoice.description}",
                idempotency_key=f"clinicbot-invoice-{invoice.id}-{amount}"
                                f"{clinic.currency.lower()}-{generation}",
            )
            superseded = [s.session_id for s in sessions
                          if s.status == OPEN and s.amount != owed and s.expires_at > now]
            return _Owed(request, owed, generation, reuse, superseded)

    async def _expire(self, session_ids: list[str]) -> None:
        """Close the pages for an amount no longer owed (best effort; see the module doc)."""
        for session_id in session_ids:
            try:
                await self.provider.expire(session_id)
            except ProviderUnavailable:
                log.warning("payment links: an outdated checkout session could not be expired")
                continue
            async with UnitOfWork(self.db, self.clock) as uow:
                await mark(uow, session_id, EXPIRED)
                await uow.commit()


async def mark(uow: UnitOfWork, session_id: str, status: str) -> None:
    """Record a session's new status (the provider's event said so); unknown ids pass."""
    await uow.session.execute(
        update(CheckoutSession).where(CheckoutSession.session_id == session_id,
                                      CheckoutSession.status == OPEN)
        .values(status=status).execution_options(synchronize_session=False))


async def record_paid(
    uow: UnitOfWork, provider: str, session_id: str, invoice_id: int, amount: Decimal
) -> payments.Receipt:
    """Money paid on a checkout page: recorded once per session, whatever the invoice's state.

    What the invoice still owes is paid (a paid package becomes usable); the rest becomes the
    patient's credit with staff alerted (:func:`bot.services.payments.receive`)."""
    receipt = await payments.receive(uow, invoice_id, amount, method=provider,
                                     external_id=f"{provider}:{session_id}")
    await mark(uow, session_id, COMPLETE)
    if receipt.credited > billing.ZERO and not receipt.again:
        log.warning("%s payment for invoice %d: %s kept as credit", provider, invoice_id,
                    receipt.credited)
    return receipt


async def invoice_to_pay(uow: UnitOfWork, kind: str, params: dict[str, object]) -> int | None:
    """The invoice a proactive message may carry a payment link for, or None.

    An unpaid-invoice reminder and a no-show fee notice: their invoice. A renewal reminder: the
    membership's latest open invoice, if one was issued (a renewal not invoiced yet has none).
    """
    if kind in (UNPAID_REMINDER, NO_SHOW_FEE):
        value = params.get("invoice_id")
        return int(value) if isinstance(value, int | str) and str(value).isdecimal() else None
    if kind == RENEWAL_REMINDER:
        value = params.get("membership_id")
        if not (isinstance(value, int | str) and str(value).isdecimal()):
            return None
        found = await uow.session.scalar(
            select(Invoice.id).where(Invoice.membership_id == int(value),
                                     Invoice.status == "open")
            .order_by(Invoice.due_on.desc(), Invoice.id.desc()).limit(1))
        return None if found is None else int(found)
    return None
