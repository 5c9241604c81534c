"""A package's statement: one document for the patient (issue 18, item 1).

:func:`package_statement` reads everything once, through
:func:`bot.services.package_desk.package_page` (the same figures as the console's package page
and ``clinicbot staff package``): the clinic, the patient, purchase date, price, paid,
outstanding, uses redeemed/booked/available, expiry, each session covered, payments and the
refund. :func:`document` words it in one locale (:class:`Document`: titled rows and tables),
which every renderer shows as it is: the text of ``clinicbot staff statement`` and the SMS
summary (:func:`text`, :func:`summary`), the PDF (:mod:`bot.services.statement_pdf`) and the
console's print view (``/desk/packages/{id}/statement``). So all of them say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import Translator, phone_text
from bot.services import package_desk, package_views, receipts
from bot.services.clinic import get_clinic, local_today, zone
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Payment:
    """Money received for the package's price."""

    received_at: datetime
    method: str
    amount: Decimal
    invoice_id: int


@dataclass(frozen=True)
class Statement:
    """What a package's statement shows, in no particular language."""

    clinic_name: str
    clinic_phone: str | None
    currency: str
    zone: ZoneInfo
    clinic_locale: str
    issued_on: date
    patient_id: int
    patient_name: str
    patient_phone: str | None
    patient_locale: str | None
    details: package_views.PackageDetails
    patient_pays: Decimal
    refunded_at: datetime | None
    payments: list[Payment]
    receipts: list[receipts.ReceiptLine] | None = None  # insurance-friendly: live receipts

    @property
    def locale(self) -> str:
        """The language the patient reads (their own, else the clinic's)."""
        return self.patient_locale or self.clinic_locale


async def package_statement(uow: UnitOfWork, package_id: int) -> Statement:
    """The statement of one package (NotFound for an unknown package)."""
    page = await package_desk.package_page(uow, package_id)
    clinic = await get_clinic(uow)
    owner = page.owner
    return Statement(
        clinic_name=clinic.name, clinic_phone=clinic.phone, currency=clinic.currency,
        zone=zone(clinic), clinic_locale=clinic.locale,
        issued_on=local_today(clinic, uow.clock.now()),
        patient_id=owner.id, patient_name=owner.full_name, patient_phone=owner.phone,
        patient_locale=owner.locale, details=page.details, patient_pays=page.patient_pays,
        refunded_at=page.refunded_at,
        payments=[Payment(p.received_at, p.method, p.amount, p.invoice_id)
                  for p in page.payments],
        receipts=None if page.receipts is None
        else [line for line in page.receipts if not line.voided],
    )


@dataclass(frozen=True)
class Table:
    """A titled table: its column headers and rows of text; ``empty`` when it has no row."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    empty: str
    numeric: frozenset[int]  # the columns of amounts (right-aligned)


@dataclass(frozen=True)
class Document:
    """A statement worded in one locale: what each renderer shows, in this order."""

    language: str
    title: str
    clinic: list[str]  # the header: the clinic's name, then its phone
    facts: list[tuple[str, str]]
    tables: list[Table]
    footer: str


def _status(t: Translator, status: str) -> str:
    names = {"awaiting_payment": t.gettext("awaiting payment"), "active": t.gettext("active"),
             "expired": t.gettext("expired"), "refunded": t.gettext("refunded")}
    return names.get(status, status)


def _use(t: Translator, kind: str) -> str:
    names = {"arrival": t.gettext("redeemed"), "no_show": t.gettext("no-show"),
             "booked": t.gettext("booked"), "imported": t.gettext("before import")}
    return names.get(kind, kind)


def method_text(t: Translator, method: str) -> str:
    """How money was paid, in ``t``'s language."""
    names = {"desk": t.gettext("at the desk"), "card": t.gettext("card"),
             "cash": t.gettext("cash"), "cheque": t.gettext("cheque"),
             "telegram": t.gettext("Telegram"), "credit": t.gettext("credit"),
             "import": t.gettext("imported")}
    return names.get(method, method)


def document(st: Statement, t: Translator) -> Document:
    """The statement worded by ``t``: dates, moments (clinic time) and amounts in its locale."""
    d = st.details

    def money(amount: Decimal) -> str:
        return t.money(amount, st.currency)

    facts = [
        (t.gettext("Patient"), st.patient_name),
        (t.gettext("Package"), t.gettext("{package} (package {id})", package=d.name, id=d.id)),
        (t.gettext("Status"), _status(t, d.status)),
        (t.gettext("Purchased"), t.date_text(d.purchased_on)),
        (t.gettext("Price"), money(d.price)),
        (t.gettext("Paid"), money(d.paid)),
        (t.gettext("Outstanding"), money(d.outstanding)),
        (t.gettext("Uses"), t.gettext(
            "{uses} = {redeemed} redeemed + {booked} booked + {available} available",
            uses=d.uses, redeemed=d.redeemed, booked=d.booked, available=d.available)),
        (t.gettext("Expires"), t.date_text(d.expires_on) if d.expires_on else t.gettext("never")),
    ]
    if d.transferred_from_id is not None:
        facts.append((t.gettext("Transferred from"),
                      t.gettext("package {id}", id=d.transferred_from_id)))
    sessions = Table(
        title=t.gettext("Sessions covered"),
        headers=[t.gettext("Date"), t.gettext("Use"), t.gettext("Fee"),
                 t.gettext("Practitioner"), t.gettext("Patient paid")],
        rows=[[t.date_text(s.day) if s.day and s.kind != "imported" else "", _use(t, s.kind),
               s.fee or "", s.practitioner or "", money(st.patient_pays)]
              for s in d.sessions],
        empty=t.gettext("No session yet."), numeric=frozenset({4}))
    rows = [[t.date_text(p.received_at.astimezone(st.zone).date()), t.gettext("Payment"),
             method_text(t, p.method), money(p.amount)] for p in st.payments]
    if d.refund_amount is not None:
        rows.append([t.date_text(st.refunded_at.astimezone(st.zone).date())
                     if st.refunded_at else "",
                     t.gettext("Refund"), t.gettext("to the patient's credit"),
                     money(-d.refund_amount)])
    money_table = Table(
        title=t.gettext("Payments and refunds"),
        headers=[t.gettext("Date"), t.gettext("What"), t.gettext("Method"),
                 t.gettext("Amount")],
        rows=rows, empty=t.gettext("No payment yet."), numeric=frozenset({3}))
    tables = [sessions, money_table]
    if st.receipts is not None:
        tables.append(receipts_table(t, st.receipts, st.currency))
    return Document(
        language=t.language,
        title=t.gettext("Package statement"),
        clinic=[st.clinic_name, *([phone_text(st.clinic_phone)] if st.clinic_phone else [])],
        facts=facts, tables=tables,
        footer=t.gettext("Issued on {day}.", day=t.date_text(st.issued_on)))


def receipts_table(t: Translator, lines: list[receipts.ReceiptLine], currency: str) -> Table:
    """An insurance-friendly package's receipts, one row each (number, session, value, what
    the patient paid that session, total), with their total as the last row."""

    def money(amount: Decimal) -> str:
        return t.money(amount, currency)

    rows = [[str(r.id), t.date_text(r.day),
             r.fee or "" if r.kind == receipts.SESSION else t.gettext("Refund adjustment"),
             r.practitioner or "", money(r.value), money(r.patient_pays), money(r.total)]
            for r in lines]
    if rows:
        zero = Decimal(0)
        rows.append(["", "", t.gettext("Total"), "", money(sum((r.value for r in lines), zero)),
                     money(sum((r.patient_pays for r in lines), zero)),
                     money(sum((r.total for r in lines), zero))])
    return Table(
        title=t.gettext("Receipts for insurance claims"),
        headers=[t.gettext("Receipt"), t.gettext("Date"), t.gettext("Fee"),
                 t.gettext("Practitioner"), t.gettext("Session value"),
                 t.gettext("Patient paid"), t.gettext("Total")],
        rows=rows, empty=t.gettext("No receipt yet: one is issued for each redeemed session."),
        numeric=frozenset({4, 5, 6}))


def text(doc: Document) -> str:
    """The document as plain text (``clinicbot staff statement``), ending with a newline."""
    lines = [*doc.clinic, "", doc.title, ""]
    width = max(len(label) for label, _ in doc.facts)
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in doc.facts]
    for table in doc.tables:
        lines += ["", table.title]
        if not table.rows:
            lines.append(table.empty)
            continue
        widths = [max(len(cell) for cell in column) for column in zip(
            table.headers, *table.rows, strict=False)]
        for row in [table.headers, *table.rows]:
            cells = [cell.rjust(w) if i in table.numeric else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
            lines.append("  ".join(cells).rstrip())
    lines += ["", doc.footer]
    return "\n".join(lines) + "\n"


def summary(st: Statement, t: Translator) -> str:
    """A short summary (an SMS within 3 segments): the package, money, uses and expiry; an
    insurance-friendly package's receipts counted, with their total."""
    d = st.details
    expiry = (t.gettext("expires {day}", day=t.date_text(d.expires_on)) if d.expires_on
              else t.gettext("never expires"))
    text = t.gettext(
        "{package}: paid {paid} of {price}, {outstanding} owed. Uses: {redeemed} redeemed, "
        "{booked} booked, {available} available; {expiry}.",
        package=d.name, paid=t.money(d.paid, st.currency), price=t.money(d.price, st.currency),
        outstanding=t.money(d.outstanding, st.currency), redeemed=d.redeemed, booked=d.booked,
        available=d.available, expiry=expiry)
    if st.receipts is None:
        return text
    total = sum((r.value for r in st.receipts), Decimal(0))
    return text + " " + t.ngettext(
        "{n} insurance receipt, {total} in all.", "{n} insurance receipts, {total} in all.",
        len(st.receipts), total=t.money(total, st.currency))
