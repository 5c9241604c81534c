"""Invoice labels in the patient's language: a month, a span of months, an installment; never
an ISO date or nested parentheses (issue 16 item 6)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs.invoice_labels import invoice_label
from bot.i18n import translator
from bot.services.invoices import InvoiceFacts

MONTHLY = InvoiceFacts("membership", "Wellness monthly", date(2026, 11, 1), date(2026, 12, 1))
ANNUAL = InvoiceFacts("membership", "Wellness annual", date(2026, 12, 1), date(2027, 12, 1))
SECOND = InvoiceFacts("installment", "Massage 10-pack", installment=2, installments=3)


@pytest.mark.parametrize(("locale", "facts", "label"), [
    ("en_CA", MONTHLY, "Wellness monthly, November 2026"),
    ("es", MONTHLY, "Wellness monthly, noviembre de 2026"),
    ("fr", MONTHLY, "Wellness monthly, novembre 2026"),
    ("en_CA", ANNUAL, "Wellness annual, December 2026 to November 2027"),
    ("fr", ANNUAL, "Wellness annual, de décembre 2026 à novembre 2027"),
    ("en_CA", SECOND, "Massage 10-pack, payment 2 of 3"),
    ("es", SECOND, "Massage 10-pack, pago 2 de 3"),
    ("fr", SECOND, "Massage 10-pack, versement 2 sur 3"),
    ("en_CA", InvoiceFacts("session", "Massage therapy 60 min"), "Massage therapy 60 min"),
])
def test_labels(locale, facts, label):
    assert invoice_label(translator(locale), facts) == label
