"""The reminders' "Pay now" option (issue 20): on an open invoice only, in the reader's language.

Sofía's Wellness membership has its November invoice open ($49.00); the example clinic.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.delivery import notifications
from bot.dialogs.types import Option
from bot.i18n import translator
from bot.services import billing, reminders
from bot.services.clinic import get_clinic
from bot.storage.models import Invoice, Membership, OutboxMessage
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")


async def _options(uow, kind: str, params: dict) -> tuple[Option, ...]:
    message = OutboxMessage(kind=kind, params=params, purpose="test")
    notice = await notifications.render(uow, await get_clinic(uow), message, translator("fr"))
    assert notice is not None
    return notice.options


async def test_pay_now_is_offered_on_an_open_invoice_and_not_once_paid(make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        membership = await uow.session.scalar(
            select(Membership).where(Membership.patient_id == sofia.id))
        november = await uow.session.scalar(select(Invoice).where(
            Invoice.membership_id == membership.id, Invoice.status == "open"))
        renewal = {"membership_id": membership.id,
                   "period_start": november.period_start.isoformat()}
        unpaid = {"invoice_id": november.id}
        pay = (Option(f"payinvoice:{november.id}", "Payer maintenant"),)
        assert await _options(uow, reminders.UNPAID_REMINDER, unpaid) == pay
        assert await _options(uow, reminders.RENEWAL_REMINDER, renewal) == pay
        december = dict(renewal, period_start="2026-12-01")  # not invoiced yet
        assert await _options(uow, reminders.RENEWAL_REMINDER, december) == ()
        await billing.record_payment(uow, november.id, Decimal("49.00"))
        assert await _options(uow, reminders.UNPAID_REMINDER, unpaid) == ()
        assert await _options(uow, reminders.RENEWAL_REMINDER, renewal) == ()
