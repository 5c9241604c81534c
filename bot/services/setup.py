"""Writing a validated clinic set-up file into the database (``clinicbot load``).

Rows are created or updated by their ``key``, so loading the same file twice changes nothing
and an edited file updates just what changed (a practitioner's changed hours replace their
hours, and the free times new hours open are offered to the waitlist:
:func:`bot.services.waitlist_opened.hours_added`). Rows the file no longer mentions are
left alone, but access it granted is taken back (:mod:`bot.services.access`): staff it no
longer lists are retired with their chats, a chat id it
no longer gives is revoked, and its family links no longer listed are revoked; the summary says
what was revoked. Purchases (RULES.md 1-3) and
memberships (RULES.md 13) are imported once, identified by patient + template + purchase date
and patient + plan + start; a reload leaves an imported one as it is, since it lives on (uses
are redeemed, invoices paid) after the import. Closures and time off are the file's exactly
(:mod:`bot.services.setup_closed`; the desk's are left alone). Everything runs in the caller's
unit of work and nothing is committed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from bot.clinicfile.schema import (
    ClinicSpec,
    MembershipSection,
    PatientSection,
    PurchaseSection,
    quiet_window,
)
from bot.services import access, billing, memberships, packages, sweeping, waitlist_opened
from bot.services.clinic import local_today
from bot.services.setup_closed import load_closed
from bot.storage.models import (
    Clinic,
    Fee,
    Invoice,
    Location,
    Membership,
    MembershipPlan,
    NoShowFee,
    PackageTemplate,
    Patient,
    PatientPackage,
    Practitioner,
    Staff,
    WorkingHours,
)
from bot.storage.uow import UnitOfWork

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECTIONS = (
    "clinic",
    "locations",
    "practitioners",
    "fees",
    "no_show_fees",
    "package_templates",
    "membership_plans",
    "staff",
    "patients",
    "purchases",
    "memberships",
    "closures",
    "time_off",
)
Keyed = TypeVar(
    "Keyed", Location, Practitioner, Fee, NoShowFee, PackageTemplate, MembershipPlan, Staff, Patient
)


@dataclass
class Counts:
    """Rows of one section a load created, updated, found already as the file says, and
    removed (closures the file no longer lists)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, *, created: bool, changed: bool) -> None:
        """Count one row."""
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class LoadSummary:
    """What a load did, per section: rows created, updated, left unchanged and removed; the
    access it revoked (one sentence each); and new closures over booked appointments."""

    sections: dict[str, Counts] = field(default_factory=lambda: {s: Counts() for s in SECTIONS})
    revoked: list[str] = field(default_factory=list)
    booked: list[str] = field(default_factory=list)
    offered: int = 0  # waitlist offers of the times new hours or removed closures opened

    @property
    def changed(self) -> bool:
        """Whether the load created, updated, removed or revoked anything."""
        return bool(self.revoked) or any(
            c.created or c.updated or c.removed for c in self.sections.values())

    def lines(self) -> list[str]:
        """One line per section that has rows, e.g. ``fees: 1 created, 2 unchanged``, then one
        ``revoked: ...`` line per access taken back, one ``booked: ...`` line per new
        closure over booked appointments, and a ``waitlist: ...`` line when times were offered."""
        out = []
        for name, counts in self.sections.items():
            parts = [f"{n} {what}" for what, n in vars(counts).items() if n]
            if parts:
                out.append(f"{name}: {', '.join(parts)}")
        offered = [f"waitlist: {self.offered} newly opened time(s) offered to waiting "
                   "patients"] if self.offered else []
        return (out + [f"revoked: {line}" for line in self.revoked]
                + [f"booked: {line}" for line in self.booked] + offered)


def _assign(row: object, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``row``; whether anything differed (lists of rows compare as sets)."""
    changed = False
    for name, value in values.items():
        current = getattr(row, name)
        if isinstance(value, list) and value and not isinstance(value[0], int | str):
            differs = set(current) != set(value)
        else:
            differs = current != value
        if differs:
            setattr(row, name, value)
            changed = True
    return changed


async def _upsert(
    uow: UnitOfWork, model: type[Keyed], key: str, values: dict[str, Any],
    options: Sequence[ExecutableOption] = (), **new: Any
) -> tuple[Keyed, bool, bool]:
    """The row with ``key`` set to ``values``: (row, created, changed)."""
    row = await uow.session.scalar(select(model).where(model.key == key).options(*options))
    if row is None:
        row = model(key=key, **values, **new)
        uow.session.add(row)
        return row, True, True
    return row, False, _assign(row, values)


async def load_clinic(uow: UnitOfWork, spec: ClinicSpec) -> LoadSummary:
    """Create or update everything ``spec`` describes, inside the caller's unit of work."""
    summary = LoadSummary()
    counts = summary.sections
    clinic = await _clinic(uow, spec, counts["clinic"])
    locations: dict[str, Location] = {}
    for loc in spec.locations:
        row, created, changed = await _upsert(
            uow, Location, loc.key, {"name": loc.name, "address": loc.address}
        )
        locations[loc.key] = row
        counts["locations"].add(created=created, changed=changed)
    await uow.session.flush()
    rehoured: list[tuple[Practitioner, set[waitlist_opened.Block]]] = []
    practitioners = await _practitioners(
        uow, spec, locations, counts["practitioners"], rehoured)
    fees: dict[str, Fee] = {}
    for fee in spec.fees:
        values = {
            "name": fee.name,
            "minutes": fee.minutes,
            "price": fee.price,
            "practitioners": [practitioners[key] for key in fee.practitioners],
        }
        fees[fee.key], created, changed = await _upsert(
            uow, Fee, fee.key, values, [selectinload(Fee.practitioners)]
        )
        counts["fees"].add(created=created, changed=changed)
    for no_show in spec.no_show_fees:
        values = {"name": no_show.name, "price": no_show.price}
        _, created, changed = await _upsert(uow, NoShowFee, no_show.key, values)
        counts["no_show_fees"].add(created=created, changed=changed)
    for template in spec.package_templates:
        values = {
            "name": template.name,
            "price": template.price,
            "uses": template.uses,
            "patient_pays": template.patient_pays,
            "valid_days": template.valid_days,
            "online_purchase": template.online_purchase,
            "installments": template.installments,
            "insurance_friendly": template.insurance_friendly,
            "fees": [fees[key] for key in template.eligible_fees],
            "practitioners": [practitioners[key] for key in template.practitioners],
            "locations": [locations[key] for key in template.locations],
        }
        _, created, changed = await _upsert(uow, PackageTemplate, template.key, values)
        counts["package_templates"].add(created=created, changed=changed)
    for plan in spec.membership_plans:
        values = {
            "name": plan.name,
            "price": plan.price,
            "period": plan.period,
            "auto_invoice": plan.auto_invoice,
            "remind_days_before": plan.remind_days_before,
        }
        plan_row, created, changed = await _upsert(uow, MembershipPlan, plan.key, values)
        if changed and not created:
            await sweeping.plan_changed(uow, plan_row.id)
        counts["membership_plans"].add(created=created, changed=changed)
    await uow.session.flush()
    for staff in spec.staff:
        values = {
            "name": staff.name,
            "role": staff.role,
            "practitioner_id": practitioners[staff.practitioner].id if staff.practitioner else None,
            "alerts": list(staff.alerts),
            "phone": staff.phone,
        }
        # A chat id a staff member registered themselves (/staff CODE) survives a reload; one
        # the file gave goes with its line.
        if "telegram_chat_id" in staff.model_fields_set:
            values["telegram_chat_id"] = staff.telegram_chat_id
            values["chat_from_file"] = True
        values["active"] = True
        member, created, changed = await _upsert(uow, Staff, staff.key, values)
        if not created and "telegram_chat_id" not in staff.model_fields_set and (
                member.chat_from_file):
            chat = await access.revoke_staff_chat(uow, member)
            changed = True
            if chat is not None:
                summary.revoked.append(f"staff {staff.key!r}: Telegram chat {chat} is no longer "
                                       "a staff chat (telegram_chat_id is not in the file)")
        counts["staff"].add(created=created, changed=changed)
    await _retire_staff(uow, {staff.key for staff in spec.staff}, summary)
    patients = await _patients(uow, spec.patients, counts["patients"], summary)
    today = local_today(clinic, uow.clock.now())
    for purchase in spec.purchases:
        created = await _purchase(uow, purchase, await _kept(uow, patients[purchase.patient]))
        counts["purchases"].add(created=created, changed=created)
    for membership in spec.memberships:
        patient = await _kept(uow, patients[membership.patient])
        created = await _membership(uow, membership, patient, today)
        counts["memberships"].add(created=created, changed=created)
    summary.booked += await load_closed(uow, spec, clinic, locations, practitioners, counts)
    await uow.session.flush()
    for practitioner, before in rehoured:  # new working time: offered to the waitlist
        summary.offered += await waitlist_opened.hours_added(uow, practitioner.id, before)
    return summary


async def _clinic(uow: UnitOfWork, spec: ClinicSpec, counts: Counts) -> Clinic:
    info, reminders = spec.clinic, spec.reminders
    quiet_start, quiet_end = quiet_window(info)
    values: dict[str, Any] = {
        "name": info.name,
        "timezone": info.timezone,
        "currency": info.currency,
        "locale": info.locale,
        "phone": info.phone,
        "slot_minutes": info.slot_minutes,
        "booking_horizon_days": info.booking_horizon_days,
        "min_notice_minutes": info.min_notice_minutes,
        "cancel_notice_hours": info.cancel_notice_hours,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "no_show_grace_minutes": info.no_show_grace_minutes,
        "unpaid_invoice_days": list(reminders.unpaid_invoice_days),
        "appointment_hours_before": reminders.appointment_hours_before,
        "package_expiry_days_before": reminders.package_expiry_days_before,
        "waitlist_batch": spec.booking.waitlist_batch,
        "waitlist_hold_minutes": spec.booking.waitlist_hold_minutes,
        "message_texts_days": spec.retention.message_texts_days,
        "inbound_ids_days": spec.retention.inbound_ids_days,
        "audit_years": spec.retention.audit_years,
        "deposit": spec.booking.deposit if spec.booking.deposit else None,
        "deposit_hold_minutes": spec.booking.deposit_hold_minutes,
    }
    clinic = await uow.session.get(Clinic, 1)
    if clinic is None:
        clinic = Clinic(id=1, **values)
        uow.session.add(clinic)
        await uow.session.flush()
        counts.add(created=True, changed=True)
    else:
        stages = sorted(set(clinic.unpaid_invoice_days or []))
        counts.add(created=False, changed=_assign(clinic, values))
        if sorted(set(values["unpaid_invoice_days"])) != stages:
            await sweeping.unpaid_stages_changed(uow)
    return clinic


async def _practitioners(
    uow: UnitOfWork, spec: ClinicSpec, locations: dict[str, Location], counts: Counts,
    rehoured: list[tuple[Practitioner, set[waitlist_opened.Block]]],
) -> dict[str, Practitioner]:
    """Create or update the practitioners; those whose hours changed go into ``rehoured``
    with their hours before."""
    rows: dict[str, Practitioner] = {}
    for item in spec.practitioners:
        values = {"name": item.name, "title": item.title}
        row, created, changed = await _upsert(
            uow, Practitioner, item.key, values, [selectinload(Practitioner.hours)], hours=[]
        )
        wanted = {
            (locations[block.location].id, DAYS.index(day), block.start, block.end)
            for block in item.hours
            for day in block.days
        }
        have = {(h.location_id, h.weekday, h.start, h.end) for h in row.hours}
        if wanted != have:
            rehoured.append((row, have))
            # Replace the week: delete first, so a kept (weekday, start) does not collide.
            row.hours.clear()
            await uow.session.flush()
            row.hours.extend(
                WorkingHours(location_id=loc, weekday=day, start=start, end=end)
                for loc, day, start, end in sorted(wanted, key=lambda h: (h[1], h[2]))
            )
            changed = True
        rows[item.key] = row
        counts.add(created=created, changed=changed)
    await uow.session.flush()
    return rows


async def _retire_staff(uow: UnitOfWork, listed: set[str], summary: LoadSummary) -> None:
    """Retire the active staff the file no longer lists (see :mod:`bot.services.access`)."""
    for member in (await uow.session.scalars(select(Staff).order_by(Staff.id))).all():
        if member.key in listed or not member.active:
            continue
        chat = await access.retire_staff(uow, member)
        lost = f"; Telegram chat {chat} is no longer a staff chat" if chat is not None else ""
        summary.revoked.append(
            f"staff {member.key!r} is not in the file: no longer staff (no alerts, not "
            f"choosable with /staff){lost}")


async def _patients(
    uow: UnitOfWork, items: list[PatientSection], counts: Counts, summary: LoadSummary
) -> dict[str, Patient]:
    # Only keys the file gives are written: a patient may have changed their language or
    # phone in chat since, and leaving a key out of the file does not erase it.
    rows: dict[str, Patient] = {}
    outcome: dict[str, tuple[bool, bool]] = {}
    for item in items:
        given = item.model_fields_set
        values: dict[str, Any] = {
            name: getattr(item, name)
            for name in ("first_name", "last_name", "phone", "email", "birth_date", "locale")
            if name in given or name in ("first_name", "last_name")
        }
        row, created, changed = await _upsert(
            uow, Patient, item.key, values, created_at=uow.clock.now()
        )
        rows[item.key] = row
        outcome[item.key] = (created, changed)
    await uow.session.flush()
    for item in items:
        # The file's links of a listed ward are exactly its ``guardians`` (none without the
        # line); links the desk made stay.
        created, changed = outcome[item.key]
        wanted = {rows[key].id for key in item.guardians}
        links = await access.sync_file_guardians(uow, rows[item.key].id, wanted)
        for guardian_id in sorted(links.revoked):
            who = await access.patient_label(uow, guardian_id)
            summary.revoked.append(f"{who} no longer manages {item.key!r} (not in its guardians)")
        counts.add(created=created, changed=changed or bool(links.added or links.revoked))
    # A ward whose block is gone: the links the file made for it go too.
    listed = {row.id for row in rows.values()}
    for guardian_id, ward_id in await access.file_links_outside(uow, listed):
        await access.drop_link(uow, guardian_id, ward_id)
        who, ward = (await access.patient_label(uow, guardian_id),
                     await access.patient_label(uow, ward_id))
        summary.revoked.append(f"{who} no longer manages {ward} ({ward} is not in the file)")
    await uow.session.flush()
    return rows


async def _kept(uow: UnitOfWork, patient: Patient) -> Patient:
    """The profile a patient was merged into (RULES.md 18), which now holds their packages."""
    seen = {patient.id}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        kept = await uow.session.get(Patient, patient.merged_into_id)
        if kept is None:
            break
        seen.add(kept.id)
        patient = kept
    return patient


async def _purchase(uow: UnitOfWork, purchase: PurchaseSection, patient: Patient) -> bool:
    """Import a purchase unless it is already on file; whether it was created."""
    template = await packages.get_template(uow, purchase.template)
    existing = await uow.session.scalar(
        select(PatientPackage.id).where(
            PatientPackage.patient_id == patient.id,
            PatientPackage.template_id == template.id,
            PatientPackage.purchased_on == purchase.purchased_on,
        )
    )
    if existing is not None:
        return False
    package = await packages.sell_package(
        uow, patient.id, template.key, purchased_on=purchase.purchased_on
    )
    invoices = await uow.session.scalars(
        select(Invoice)
        .where(Invoice.package_id == package.id)
        .order_by(Invoice.installment_no, Invoice.id)
    )
    left = purchase.paid
    for invoice in list(invoices):
        amount = min(left, invoice.outstanding)
        if amount > 0:
            await billing.record_payment(uow, invoice.id, amount, method="import")
            left -= amount
    await packages.record_imported_uses(uow, package, purchase.used)
    if purchase.expires_on is not None:
        package.expires_on = purchase.expires_on
    return True


async def _membership(
    uow: UnitOfWork, item: MembershipSection, patient: Patient, today: date
) -> bool:
    """Import a membership unless on file: its invoices to date, those paid_through paid."""
    plan = await memberships.get_plan(uow, item.plan)
    existing = await uow.session.scalar(
        select(Membership.id).where(
            Membership.patient_id == patient.id,
            Membership.plan_id == plan.id,
            Membership.start == item.start,
        )
    )
    if existing is not None:
        return False
    membership = await memberships.enrol(uow, patient.id, plan.key, item.start)
    as_of = max(today, item.paid_through) if item.paid_through else today
    await memberships.invoice_due_periods(uow, as_of, membership_ids=[membership.id])
    if item.paid_through is not None:
        covered = item.paid_through + timedelta(days=1)
        invoices = await uow.session.scalars(
            select(Invoice)
            .where(
                Invoice.membership_id == membership.id,
                Invoice.status == "open",
                Invoice.period_end <= covered,
            )
            .order_by(Invoice.period_start)
        )
        for invoice in list(invoices):
            await billing.record_payment(uow, invoice.id, invoice.outstanding, method="import")
    return True
