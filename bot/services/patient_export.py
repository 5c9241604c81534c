"""Everything held about one patient, as one JSON document (issue 21; docs/patient-export.md).

:func:`export` gathers the profile (and profiles merged into it), channels, consents and
preferences, guardians and wards, appointments (with their no-shows), series, packages (with
every redemption, receipt and transfer), invoices, payments, the credit ledger, memberships,
waitlist entries (with their offers), invitations, profiles kept separate from it, the chats
(conversation state), messages sent to them (the outbox) and their messages to the clinic with
the desk's replies (the inbox), and the staff actions on the profile (the audit log). A ward's
full data is added only when asked (``include_wards``); otherwise a ward is an id and a name.

:data:`TABLES` names the section holding each table, and :data:`NOT_EXPORTED` each table left
out on purpose with the reason (tests/integration/test_patient_export.py fails when a table
that refers to a patient, or to a table exported here, is in neither). :func:`record` writes
the audit entry of an export (who, which patient; never the data).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from bot.services import audit, credit
from bot.services.clinic import get_clinic
from bot.services.errors import NotFound
from bot.services.export_rows import ClinicNames, money, row
from bot.storage.models import (
    Appointment,
    AppointmentSeries,
    AuditEntry,
    Base,
    Conversation,
    CreditEntry,
    InboxItem,
    InboxReply,
    Invitation,
    Invoice,
    KeptApart,
    Membership,
    NoShow,
    OutboxMessage,
    PackageRedemption,
    Patient,
    PatientPackage,
    Payment,
    SessionReceipt,
    WaitlistEntry,
    WaitlistOffer,
    guardianship,
)
from bot.storage.uow import UnitOfWork

FORMAT = "clinicbot-patient-export/1"
ACTION = "patient.export"
TABLES = {
    "patient": "patient, merged_profiles, channels, consents, preferences",
    "guardianship": "guardians, wards",
    "conversation": "conversations",
    "appointment": "appointments",
    "no_show": "appointments[].no_show",
    "appointment_series": "series",
    "patient_package": "packages",
    "package_redemption": "packages[].redemptions",
    "session_receipt": "packages[].receipts",
    "invoice": "invoices",
    "payment": "payments",
    "credit_entry": "credit.entries",
    "membership": "memberships",
    "waitlist_entry": "waitlist",
    "waitlist_offer": "waitlist[].offers",
    "invitation": "invitations",
    "kept_apart": "kept_separate_from",
    "outbox": "messages.sent",
    "inbox_item": "messages.to_clinic",
    "inbox_reply": "messages.to_clinic[].replies",
    "audit_entry": "staff_actions",
}
NOT_EXPORTED = {
    "package_fee": "what a package covers: the clinic's fees (each use names its own)",
    "package_practitioner": "what a package covers: the clinic's practitioners",
    "package_location": "what a package covers: the clinic's locations",
    "checkout_session": "Stripe payment pages opened for an invoice: the invoice and what was "
                        "paid through them are exported",
    "invoice_reminder": "when the unpaid reminders next look at an invoice: a sweep's cursor; "
                        "the invoice and the reminders sent about it are exported",
    "membership_schedule": "when the sweeps next look at a membership: their cursors; the "
                           "membership, its invoices and reminders are exported",
}
LINK = guardianship.c
Doc = dict[str, Any]


class Exporter:
    """Writes the sections of one patient's export (the clinic's currency and names)."""

    def __init__(self, uow: UnitOfWork, currency: str, names: ClinicNames) -> None:
        self.uow = uow
        self.currency = currency
        self.names = names

    def one(self, obj: Base) -> Doc:
        return row(obj, self.currency, self.names)

    async def rows(self, model: type[Base], *where: Any) -> list[Doc]:
        found = await self.uow.session.scalars(
            select(model).where(*where).order_by(model.id))  # type: ignore[attr-defined]
        return [self.one(obj) for obj in found.all()]

    async def patient(self, patient: Patient) -> Doc:
        """Every section of ``patient``'s export but the wards' own."""
        pid = patient.id
        clinic = await get_clinic(self.uow)
        quiet = ({"start": clinic.quiet_start.isoformat(), "end": clinic.quiet_end.isoformat(),
                  "set_by": "clinic"} if clinic.quiet_start and clinic.quiet_end else None)
        guardians, wards = await self.relatives(pid)
        balance = await credit.balance(self.uow, pid)
        return {
            "patient": self.one(patient),
            "merged_profiles": await self.rows(Patient, Patient.merged_into_id == pid),
            "channels": {"sms": patient.phone, "telegram_user_id": patient.telegram_user_id,
                         "email": patient.email},
            "consents": {"messages": "opted_out" if patient.opted_out else "receives",
                         "online_registration": patient.online_registration},
            "preferences": {"language": patient.locale, "quiet_hours": quiet},
            "guardians": guardians,
            "wards": wards,
            "appointments": await self.appointments(pid),
            "series": await self.rows(AppointmentSeries, AppointmentSeries.patient_id == pid),
            "packages": await self.packages(pid),
            "invoices": await self.rows(Invoice, Invoice.patient_id == pid),
            "payments": await self.rows(Payment, Payment.patient_id == pid),
            "credit": {"balance": money(balance, self.currency),
                       "entries": await self.rows(CreditEntry, CreditEntry.patient_id == pid)},
            "memberships": await self.rows(Membership, Membership.patient_id == pid),
            "waitlist": await self.waitlist(pid),
            "invitations": await self.rows(
                Invitation, or_(Invitation.patient_id == pid, Invitation.accepted_by_id == pid)),
            "kept_separate_from": await self.kept_apart(pid),
            "conversations": await self.rows(Conversation, Conversation.patient_id == pid),
            "messages": {
                "sent": await self.rows(OutboxMessage, OutboxMessage.patient_id == pid),
                "to_clinic": await self.inbox(pid),
            },
            "staff_actions": await self.rows(AuditEntry, AuditEntry.patient_id == pid),
        }

    async def relatives(self, pid: int) -> tuple[list[Doc], list[Doc]]:
        rows = (await self.uow.session.execute(
            select(LINK.guardian_id, LINK.ward_id, LINK.source, Patient.first_name,
                   Patient.last_name)
            .join(Patient, or_(
                (LINK.ward_id == pid) & (Patient.id == LINK.guardian_id),
                (LINK.guardian_id == pid) & (Patient.id == LINK.ward_id)))
            .where(or_(LINK.ward_id == pid, LINK.guardian_id == pid))
            .order_by(LINK.guardian_id, LINK.ward_id))).all()
        guardians = [{"id": r.guardian_id, "name": f"{r.first_name} {r.last_name}",
                      "linked_by": r.source} for r in rows if r.ward_id == pid]
        wards = [{"id": r.ward_id, "name": f"{r.first_name} {r.last_name}",
                  "linked_by": r.source} for r in rows if r.guardian_id == pid]
        return guardians, wards

    async def appointments(self, pid: int) -> list[Doc]:
        found = await self.rows(Appointment, Appointment.patient_id == pid)
        ids = [a["id"] for a in found]
        no_shows = {n["appointment_id"]: n for n in await self.rows(
            NoShow, NoShow.appointment_id.in_(ids))} if ids else {}
        return [{**a, "no_show": no_shows.get(a["id"])} for a in found]

    async def packages(self, pid: int) -> list[Doc]:
        found = await self.rows(PatientPackage, PatientPackage.patient_id == pid)
        ids = [p["id"] for p in found]
        if not ids:
            return []
        uses = await self.rows(PackageRedemption, PackageRedemption.package_id.in_(ids))
        receipts = await self.rows(SessionReceipt, SessionReceipt.package_id.in_(ids))
        onward = (await self.uow.session.execute(
            select(PatientPackage.id, PatientPackage.transferred_from_id, PatientPackage.patient_id,
                   PatientPackage.uses)
            .where(PatientPackage.transferred_from_id.in_(ids))
            .order_by(PatientPackage.id))).all()
        return [{
            **p,
            "redemptions": [u for u in uses if u["package_id"] == p["id"]],
            "receipts": [r for r in receipts if r["package_id"] == p["id"]],
            "transferred_to": [{"package_id": o.id, "patient_id": o.patient_id, "uses": o.uses}
                               for o in onward if o.transferred_from_id == p["id"]],
        } for p in found]

    async def waitlist(self, pid: int) -> list[Doc]:
        found = await self.rows(WaitlistEntry, WaitlistEntry.patient_id == pid)
        ids = [e["id"] for e in found]
        offers = await self.rows(WaitlistOffer, WaitlistOffer.entry_id.in_(ids)) if ids else []
        return [{**e, "offers": [o for o in offers if o["entry_id"] == e["id"]]} for e in found]

    async def kept_apart(self, pid: int) -> list[Doc]:
        found = await self.rows(KeptApart, or_(KeptApart.low_id == pid, KeptApart.high_id == pid))
        return [{**k, "patient_id": k["high_id"] if k["low_id"] == pid else k["low_id"]}
                for k in found]

    async def inbox(self, pid: int) -> list[Doc]:
        found = await self.rows(InboxItem, InboxItem.patient_id == pid)
        ids = [i["id"] for i in found]
        replies = await self.rows(InboxReply, InboxReply.item_id.in_(ids)) if ids else []
        return [{**i, "replies": [r for r in replies if r["item_id"] == i["id"]]} for i in found]


async def export(uow: UnitOfWork, patient_id: int, *, include_wards: bool = False) -> Doc:
    """The export of ``patient_id`` (see the module docstring and docs/patient-export.md)."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    clinic = await get_clinic(uow)
    exporter = Exporter(uow, clinic.currency, await ClinicNames.load(uow))
    doc: Doc = {
        "format": FORMAT,
        "exported_at": uow.clock.now().isoformat(),
        "clinic": {"name": clinic.name, "timezone": clinic.timezone,
                   "currency": clinic.currency},
        **await exporter.patient(patient),
        "wards_included": include_wards,
    }
    if include_wards:
        doc["ward_exports"] = []
        for ward in doc["wards"]:
            found = await uow.session.get(Patient, ward["id"])
            if found is not None:
                doc["ward_exports"].append(await exporter.patient(found))
    return doc


async def record(uow: UnitOfWork, patient_id: int, actor: audit.Actor, *,
                 include_wards: bool) -> None:
    """The audit entry of an export of ``patient_id`` by ``actor`` (ids only, no data)."""
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    what = "with their wards' data" if include_wards else "without wards' data"
    await seen.record(ACTION, summary=f"export of patient {patient_id} {what}",
                      patient_id=patient_id)
