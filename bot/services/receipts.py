"""Insurance-friendly packages: one receipt per redeemed session (issue 18, item 2).

The patient still buys and pays the package as usual (RULES.md 2: it is redeemed only once
paid); what changes is what they can claim. Instead of one receipt for the lump sum, each
redeemed use gets its own numbered :class:`SessionReceipt` at the session's share of the price
(``session_value`` = price / uses in whole cents) beside the ``patient_pays`` billed that
session. The rounding remainder goes on the package's last use, so once every use is redeemed
the receipts add up to the price exactly.

Totals stay exact whatever happens to the package:

* **Undo** (of an arrival or a no-show redemption) voids that session's receipt; the use
  redeemed again later gets a new one.
* **Transfer**: the family member's package carries the same ``session_value`` and the value of
  the uses it took (``receipt_value``), which the source loses (``value_transferred``); when the
  source keeps no use to redeem, the transfer takes all of its value left, remainder included.
* **Refund**: the suggested amount is what was collected and not yet receipted nor transferred;
  a refund of any other amount closes the package's receipts with one ``adjustment`` receipt
  (positive: money kept for the sessions; negative: refunded beyond the unused value), so the
  package's receipts + what its transfers took + the refund = what was collected.

Every write here happens after the package's counter update in the same transaction (the row is
locked until commit), so two desks redeeming at once see each other's receipts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select

from bot.services import billing
from bot.services.errors import NotFound
from bot.storage.models import (
    Appointment,
    Fee,
    PackageRedemption,
    PackageTemplate,
    Patient,
    PatientPackage,
    Practitioner,
    SessionReceipt,
)
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork

SESSION = "session"
ADJUSTMENT = "adjustment"


def session_value(price: Decimal, uses: int) -> Decimal:
    """One use's share of ``price`` in whole cents (rounded down: the last use takes the rest)."""
    cents = int(to_money(price) * 100)
    return Decimal(cents // uses) / 100 if uses else billing.ZERO


def set_up_sale(package: PatientPackage, template: PackageTemplate) -> None:
    """Copy the template's insurance-friendly flag onto a sold package, with its values."""
    package.insurance_friendly = template.insurance_friendly
    package.value_transferred = billing.ZERO
    if template.insurance_friendly:
        package.session_value = session_value(template.price, template.uses)
        package.receipt_value = to_money(template.price)


async def receipted(uow: UnitOfWork, package_id: int) -> Decimal:
    """The live (not voided) receipts of the package added up, adjustment included."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(SessionReceipt.value), 0)).where(
            SessionReceipt.package_id == package_id, SessionReceipt.voided_at.is_(None)
        )
    )
    return to_money(total or 0)


async def unreceipted(uow: UnitOfWork, package: PatientPackage) -> Decimal:
    """The value of the package's uses not receipted yet (uses recorded before an import count
    as receipted outside the bot, at ``session_value`` each)."""
    if not package.insurance_friendly or package.receipt_value is None:
        return billing.ZERO
    imported = await uow.session.scalar(
        select(func.count()).select_from(PackageRedemption).where(
            PackageRedemption.package_id == package.id, PackageRedemption.kind == "imported"
        )
    ) or 0
    pool = package.receipt_value - package.value_transferred
    return to_money(pool - await receipted(uow, package.id) - imported * _value(package))


def _value(package: PatientPackage) -> Decimal:
    return package.session_value if package.session_value is not None else billing.ZERO


async def issue(
    uow: UnitOfWork, package: PatientPackage, appointment: Appointment, day: date
) -> SessionReceipt | None:
    """The receipt of a use just redeemed (its counters already moved), for an insurance-friendly
    package; None for any other. The package's last use takes the value left."""
    # Re-read what a transfer committed meanwhile may have changed (the row is locked now).
    await uow.session.refresh(package, [
        "insurance_friendly", "session_value", "receipt_value", "value_transferred", "uses"])
    if not package.insurance_friendly:
        return None
    left = await unreceipted(uow, package)
    value = left if package.redeemed >= package.uses else min(_value(package), left)
    receipt = SessionReceipt(
        package_id=package.id, kind=SESSION, appointment_id=appointment.id,
        fee_id=appointment.fee_id, practitioner_id=appointment.practitioner_id,
        session_on=day, value=value, patient_pays=package.patient_pays,
        issued_at=uow.clock.now(),
    )
    uow.session.add(receipt)
    await uow.session.flush()
    return receipt


async def void_for(uow: UnitOfWork, appointment_id: int) -> None:
    """Void the appointment's live receipt, if it has one (its redemption is being undone)."""
    receipt = await uow.session.scalar(
        select(SessionReceipt).where(
            SessionReceipt.appointment_id == appointment_id, SessionReceipt.voided_at.is_(None)
        ).with_for_update()
    )
    if receipt is not None:
        receipt.voided_at = uow.clock.now()
        await uow.session.flush()


async def carry_over(
    uow: UnitOfWork, source: PatientPackage, gift: PatientPackage, uses: int
) -> None:
    """Give a transfer's new package its share of the source's value (see the module's text).

    ``source``'s counters are those after the transfer."""
    gift.insurance_friendly = source.insurance_friendly
    gift.value_transferred = billing.ZERO
    if not source.insurance_friendly:
        return
    gift.session_value = source.session_value
    if source.available + source.booked == 0:
        moved = await unreceipted(uow, source)
    else:
        moved = to_money(_value(source) * uses)
    gift.receipt_value = moved
    source.value_transferred = to_money(source.value_transferred + moved)


async def funds(uow: UnitOfWork, package: PatientPackage) -> Decimal:
    """The money behind the package's receipts: what was collected for it, or for a package
    made by a transfer, the value it brought."""
    if package.transferred_from_id is not None and package.receipt_value is not None:
        return package.receipt_value
    return await billing.package_collected(uow, package.id)


async def suggested_refund(uow: UnitOfWork, package: PatientPackage) -> Decimal:
    """What a refund leaves the receipts exact with: collected less what was receipted and
    transferred (from 0 to what was collected)."""
    collected = await billing.package_collected(uow, package.id)
    rest = await _closing_rest(uow, package)
    return max(billing.ZERO, min(collected, rest))


async def _closing_rest(uow: UnitOfWork, package: PatientPackage) -> Decimal:
    """The money behind the package not yet receipted nor transferred: its funds less the value
    of its uses, plus the value still unreceipted (what its transfers took is not in it)."""
    left_over = await unreceipted(uow, package)
    return to_money(await funds(uow, package) - (package.receipt_value or billing.ZERO)
                    + left_over)


async def close_on_refund(
    uow: UnitOfWork, package: PatientPackage, amount: Decimal, day: date
) -> SessionReceipt | None:
    """After a refund of ``amount``: the adjustment receipt that keeps the totals exact, if one
    is needed (see the module's text)."""
    if not package.insurance_friendly:
        return None
    adjustment = to_money(await _closing_rest(uow, package) - amount)
    if adjustment == billing.ZERO:
        return None
    receipt = SessionReceipt(
        package_id=package.id, kind=ADJUSTMENT, session_on=day, value=adjustment,
        patient_pays=billing.ZERO, issued_at=uow.clock.now(),
    )
    uow.session.add(receipt)
    await uow.session.flush()
    return receipt


@dataclass(frozen=True)
class ReceiptLine:
    """A receipt as the statement, the console and the CLI show it."""

    id: int
    package_id: int
    kind: str
    day: date
    fee: str | None
    practitioner: str | None
    value: Decimal
    patient_pays: Decimal
    issued_at: datetime
    voided: bool

    @property
    def total(self) -> Decimal:
        """What the patient paid for the session: its value and ``patient_pays``."""
        return self.value + self.patient_pays


def _select_lines() -> Select[tuple[SessionReceipt, str, str]]:
    return (
        select(SessionReceipt, Fee.name, Practitioner.name)
        .outerjoin(Fee, Fee.id == SessionReceipt.fee_id)
        .outerjoin(Practitioner, Practitioner.id == SessionReceipt.practitioner_id)
    )


def _line(row: SessionReceipt, fee: str | None, practitioner: str | None) -> ReceiptLine:
    return ReceiptLine(
        id=row.id, package_id=row.package_id, kind=row.kind, day=row.session_on, fee=fee,
        practitioner=practitioner, value=row.value, patient_pays=row.patient_pays,
        issued_at=row.issued_at, voided=row.voided_at is not None,
    )


async def receipts_of(
    uow: UnitOfWork, package_id: int, *, with_voided: bool = False
) -> list[ReceiptLine]:
    """The package's receipts in the order they were issued (live ones unless ``with_voided``)."""
    stmt = _select_lines().where(SessionReceipt.package_id == package_id)
    if not with_voided:
        stmt = stmt.where(SessionReceipt.voided_at.is_(None))
    rows = await uow.session.execute(stmt.order_by(SessionReceipt.id))
    return [_line(*row) for row in rows.all()]


@dataclass(frozen=True)
class ReceiptPage:
    """One receipt with what its printout names: the package and the patient."""

    line: ReceiptLine
    package: PatientPackage
    patient: Patient


async def receipt_page(uow: UnitOfWork, receipt_id: int) -> ReceiptPage:
    """One receipt to print, or NotFound."""
    row = (await uow.session.execute(
        _select_lines().where(SessionReceipt.id == receipt_id))).first()
    if row is None:
        raise NotFound(f"there is no receipt {receipt_id}")
    line = _line(*row)
    package = await uow.session.get(PatientPackage, line.package_id)
    assert package is not None  # a foreign key
    patient = await uow.session.get(Patient, package.patient_id)
    assert patient is not None  # a foreign key
    return ReceiptPage(line, package, patient)
