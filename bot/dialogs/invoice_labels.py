"""What an invoice is for, in the patient's words and language (issue 16: no raw ISO dates, no
nested parentheses).

A membership period reads "Wellness monthly, November 2026" (a longer period: "November 2026 to
October 2027"); a package paid in parts "Massage 10-pack, payment 2 of 3"; a deposit "Deposit,
Physio initial assessment"; anything else its name. Written from
:class:`bot.services.invoices.InvoiceFacts`, never from the stored description, so the chat, the
reminders and the desk's alerts say the same.
"""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import Translator
from bot.services.invoices import InvoiceFacts

ONE_MONTH = timedelta(days=31)


def invoice_label(t: Translator, facts: InvoiceFacts) -> str:
    """The invoice's label (see the module docstring)."""
    start, end = facts.period_start, facts.period_end
    if facts.kind == "membership" and start is not None:
        if end is None or end - start <= ONE_MONTH:
            return t.gettext("{plan}, {month}", plan=facts.name, month=t.month_text(start))
        return t.gettext("{plan}, {first} to {last}", plan=facts.name,
                         first=t.month_text(start), last=t.month_text(end - timedelta(days=1)))
    if facts.kind == "installment" and facts.installment and facts.installments:
        return t.gettext("{package}, payment {n} of {count}", package=facts.name,
                         n=facts.installment, count=facts.installments)
    if facts.kind == "deposit":
        return t.gettext("Deposit, {treatment}", treatment=facts.name)
    return facts.name
