"""One session's receipt of an insurance-friendly package, as a printable document.

:func:`session_receipt` reads the receipt (:mod:`bot.services.receipts`), its package, patient
and clinic; :func:`document` words it as a :class:`bot.services.statements.Document`, so the
renderers of statements serve it unchanged: the text of ``clinicbot staff receipt``, its PDF
(:mod:`bot.services.statement_pdf`) and the console's print view (``/desk/receipts/{id}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.i18n import Translator, phone_text
from bot.services import receipts
from bot.services.clinic import get_clinic, zone
from bot.services.statements import Document
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class SessionReceipt:
    """A receipt with what its printout names."""

    page: receipts.ReceiptPage
    clinic_name: str
    clinic_phone: str | None
    clinic_locale: str
    currency: str
    issued_on: date  # the receipt's own issue day, in the clinic's time

    @property
    def locale(self) -> str:
        """The language the patient reads (their own, else the clinic's)."""
        return self.page.patient.locale or self.clinic_locale


async def session_receipt(uow: UnitOfWork, receipt_id: int) -> SessionReceipt:
    """The receipt ``receipt_id`` to print (NotFound for an unknown one)."""
    page = await receipts.receipt_page(uow, receipt_id)
    clinic = await get_clinic(uow)
    return SessionReceipt(
        page=page, clinic_name=clinic.name, clinic_phone=clinic.phone,
        clinic_locale=clinic.locale, currency=clinic.currency,
        issued_on=page.line.issued_at.astimezone(zone(clinic)).date(),
    )


def document(receipt: SessionReceipt, t: Translator) -> Document:
    """The receipt worded by ``t``: the patient, the session, its value and what was paid."""
    line, package = receipt.page.line, receipt.page.package

    def money(amount: Decimal) -> str:
        return t.money(amount, receipt.currency)

    session = line.kind == receipts.SESSION
    facts = [
        (t.gettext("Receipt"), str(line.id)),
        (t.gettext("Patient"), receipt.page.patient.full_name),
        (t.gettext("Package"), t.gettext("{package} (package {id})", package=package.name,
                                         id=package.id)),
        (t.gettext("Date"), t.date_text(line.day)),
    ]
    if session:
        facts += [(t.gettext("Fee"), line.fee or ""),
                  (t.gettext("Practitioner"), line.practitioner or "")]
    else:
        facts.append((t.gettext("What"), t.gettext("Refund adjustment")))
    facts += [
        (t.gettext("Session value"), money(line.value)),
        (t.gettext("Patient paid"), money(line.patient_pays)),
        (t.gettext("Total"), money(line.total)),
    ]
    if line.voided:
        facts.append((t.gettext("Status"), t.gettext("void (the redemption was undone)")))
    return Document(
        language=t.language,
        title=t.gettext("Session receipt"),
        clinic=[receipt.clinic_name,
                *([phone_text(receipt.clinic_phone)] if receipt.clinic_phone else [])],
        facts=facts, tables=[],
        footer=t.gettext(
            "Session value: this session's share of the package's price, paid for the package. "
            "Issued on {day}.", day=t.date_text(receipt.issued_on)))
