"""The patient export (issue 21): every kind of record held about a patient, field by field, on
SQLite and PostgreSQL; a guardian's export without their wards' data unless asked; and a check
that no table referring to a patient (or to a table exported) is forgotten by the export."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, insert, select

from bot.i18n import translator
from bot.services import audit, export_html, patient_export
from bot.storage.models import (
    Appointment,
    AppointmentSeries,
    AuditEntry,
    Base,
    Conversation,
    CreditEntry,
    Fee,
    InboxItem,
    InboxReply,
    Invitation,
    Invoice,
    KeptApart,
    Location,
    Membership,
    MembershipPlan,
    NoShow,
    OutboxMessage,
    PackageRedemption,
    Patient,
    PatientPackage,
    Payment,
    Practitioner,
    SessionReceipt,
    WaitlistEntry,
    WaitlistOffer,
    guardianship,
)
from tests.conftest import START

AT = START - timedelta(days=30)  # 2026-10-03 13:00 UTC
AT_TEXT = "2026-10-03T13:00:00+00:00"


def cad(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CAD"}


def uncovered(metadata: MetaData) -> list[str]:
    """Tables that refer to a patient (a foreign key, or a ``patient_id`` column like the audit
    log's) and are not exported, or refer to an exported table and are neither exported nor
    left out with a reason."""
    exported = set(patient_export.TABLES)
    missing = []
    for table in metadata.sorted_tables:
        targets = {fk.column.table.name for fk in table.foreign_keys}
        names_a_patient = "patient" in targets or any(
            c.name == "patient_id" or c.name.endswith("_patient_id") for c in table.columns)
        known = exported | set(patient_export.NOT_EXPORTED)
        if (names_a_patient and table.name not in exported) or (
                targets & exported and table.name not in known):
            missing.append(table.name)
    return missing


def test_every_table_that_refers_to_a_patient_is_exported_or_left_out_with_a_reason():
    assert uncovered(Base.metadata) == [], (
        "add these tables to bot/services/patient_export.py (TABLES, or NOT_EXPORTED with the "
        "reason) and to docs/patient-export.md")
    assert set(patient_export.NOT_EXPORTED).isdisjoint(patient_export.TABLES)


def test_a_new_table_with_a_patient_reference_is_caught():
    scratch = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(scratch)
    Table("patient_note", scratch, Column("id", Integer, primary_key=True),
          Column("author_id", ForeignKey("patient.id")))
    Table("appointment_note", scratch, Column("id", Integer, primary_key=True),
          Column("appointment_id", ForeignKey("appointment.id")))
    assert sorted(uncovered(scratch)) == ["appointment_note", "patient_note"]


async def _id(uow, model, key: str) -> int:
    return int(await uow.session.scalar(select(model.id).where(model.key == key)))


async def _build(uow) -> dict[str, Any]:
    """Zoé, with one record of every kind, her guardian Gil, her ward Wes, an old profile
    merged into hers and a profile kept separate from hers."""
    s = uow.session
    fee, who, where = (await _id(uow, Fee, "physio-follow"), await _id(uow, Practitioner, "ana"),
                       await _id(uow, Location, "downtown"))
    plan = await _id(uow, MembershipPlan, "wellness-monthly")
    zoe = Patient(key="zoe", first_name="Zoé", last_name="Lefebvre", phone="+14165550123",
                  email="zoe@example.com", birth_date=date(1990, 5, 17), locale="fr",
                  online_registration=True, opted_out=True, telegram_user_id=555123,
                  created_at=AT)
    gil = Patient(first_name="Gil", last_name="Lefebvre", created_at=AT)
    wes = Patient(first_name="Wes", last_name="Lefebvre", created_at=AT)
    other = Patient(first_name="Zoe", last_name="Lefevre", created_at=AT)
    s.add_all([zoe, gil, wes, other])
    await s.flush()
    old = Patient(first_name="Zoe", last_name="L", phone="+14165550124", merged_into_id=zoe.id,
                  created_at=AT)
    s.add(old)
    await s.execute(insert(guardianship), [
        {"guardian_id": gil.id, "ward_id": zoe.id, "source": "desk"},
        {"guardian_id": zoe.id, "ward_id": wes.id, "source": "file"}])
    package = PatientPackage(
        patient_id=zoe.id, name="Physio 6", price=Decimal("480.00"), patient_pays=Decimal("5"),
        installments=1, uses=4, redeemed=1, booked=1, available=2, purchased_on=date(2026, 10, 3),
        expires_on=date(2027, 10, 3), paid_enough=True, insurance_friendly=True,
        session_value=Decimal("80.00"), receipt_value=Decimal("480.00"),
        value_transferred=Decimal("160.00"), created_at=AT)
    s.add(package)
    await s.flush()
    wes_package = PatientPackage(
        patient_id=wes.id, name="Physio 6", price=Decimal("0"), patient_pays=Decimal("5"),
        uses=2, available=2, purchased_on=date(2026, 10, 20), transferred_from_id=package.id,
        created_at=AT)
    series = AppointmentSeries(package_id=package.id, patient_id=zoe.id, every_days=7,
                               booked_by="patient", created_at=AT)
    s.add_all([wes_package, series])
    await s.flush()

    def visit(days: int, status: str, **extra: Any) -> Appointment:
        starts = datetime(2026, 10, 5, 14, 0, tzinfo=UTC) + timedelta(days=days)
        return Appointment(patient_id=zoe.id, practitioner_id=who, location_id=where, fee_id=fee,
                           starts_at=starts, ends_at=starts + timedelta(minutes=45),
                           status=status, booked_by="staff", created_at=AT, **extra)

    arrived = visit(0, "arrived", package_id=package.id, package_use="redeemed",
                    arrived_at=datetime(2026, 10, 5, 13, 58, tzinfo=UTC))
    missed = visit(7, "no_show")
    ahead = visit(40, "booked", package_id=package.id, package_use="reserved",
                  series_id=series.id)
    s.add_all([arrived, missed, ahead])
    await s.flush()
    invoice = Invoice(patient_id=zoe.id, kind="package", description="Physio 6",
                      amount=Decimal("480.00"), paid=Decimal("480.00"), status="paid",
                      issued_on=date(2026, 10, 3), due_on=date(2026, 10, 3),
                      package_id=package.id, installment_no=1, created_at=AT)
    s.add(invoice)
    await s.flush()
    payment = Payment(invoice_id=invoice.id, patient_id=zoe.id, amount=Decimal("500.00"),
                      method="card", external_id="ch_1", received_at=AT)
    s.add(payment)
    await s.flush()
    credit = CreditEntry(patient_id=zoe.id, amount=Decimal("20.00"), source="overpayment",
                         reason="paid more than owed", invoice_id=invoice.id,
                         external_id="ch_1:over", created_at=AT)
    redemption = PackageRedemption(package_id=package.id, appointment_id=arrived.id,
                                   kind="arrival", practitioner_id=who, redeemed_at=AT)
    receipt = SessionReceipt(package_id=package.id, kind="session", appointment_id=arrived.id,
                             fee_id=fee, practitioner_id=who, session_on=date(2026, 10, 5),
                             value=Decimal("80.00"), patient_pays=Decimal("5.00"), issued_at=AT)
    no_show = NoShow(appointment_id=missed.id, raised_at=AT, reason="not_arrived",
                     resolution="fee", resolved_by="desk", resolved_at=AT)
    membership = Membership(patient_id=zoe.id, plan_id=plan, start=date(2026, 10, 1),
                            created_at=AT)
    entry = WaitlistEntry(patient_id=zoe.id, fee_id=fee, practitioner_id=who, weekdays=[0, 2],
                          parts=["morning"], until=date(2026, 12, 1), status="waiting",
                          created_at=AT)
    invitation = Invitation(patient_id=zoe.id, code_hash="a" * 64, status="open",
                            created_by="desk", created_at=AT, expires_at=AT + timedelta(days=7),
                            sms_phone="+14165550125")
    low, high = sorted((zoe.id, other.id))
    kept = KeptApart(low_id=low, high_id=high, kept_by="desk", kept_at=AT)
    chat = Conversation(channel="sms", address="+14165550123", patient_id=zoe.id,
                        dialog="menu", step="start", state={"page": 0}, updated_at=AT)
    sent = OutboxMessage(purpose="reminder:x", kind="appointment_reminder", patient_id=zoe.id,
                         params={"appointment_id": ahead.id}, body="Rappel: lundi",
                         status="sent", not_before=AT, channel="sms",
                         provider_message_id="SM1", delivery_status="delivered",
                         created_at=AT, sent_at=AT)
    item = InboxItem(key="message:abc", kind="message", patient_id=zoe.id, channel="sms",
                     text="Mon dos va mieux", params={"patient_id": zoe.id}, created_at=AT)
    s.add_all([credit, redemption, receipt, no_show, membership, entry, invitation, kept, chat,
               sent, item])
    await s.flush()
    offer = WaitlistOffer(entry_id=entry.id, practitioner_id=who, location_id=where,
                          starts_at=AT + timedelta(days=3), expires_at=AT + timedelta(days=2),
                          status="declined", created_at=AT)
    reply = InboxReply(item_id=item.id, staff_key="desk", text="Tant mieux !", created_at=AT,
                       outbox_id=sent.id)
    s.add_all([offer, reply])
    await s.flush()
    seen = await audit.watch(uow, audit.Actor("desk", "cli"), patient_id=zoe.id)
    await seen.record("access.add_guardian", summary="guardian added", patient_id=zoe.id)
    return {k: v.id for k, v in locals().items() if isinstance(v, Base)} | {
        "fee": fee, "who": who, "where": where, "plan": plan}


async def _built(make_uow) -> dict[str, Any]:
    async with make_uow() as uow:
        ids = await _build(uow)
        await uow.commit()
    return ids


async def test_the_export_holds_every_record_field_by_field(clinic, make_uow):
    ids = await _built(make_uow)
    async with make_uow(readonly=True) as reader:
        doc = await patient_export.export(reader, ids["zoe"])
        page = export_html.render(doc, translator("fr"))
    json.dumps(doc)  # plain JSON all through
    assert doc["format"] == "clinicbot-patient-export/1"
    assert doc["exported_at"] == "2026-11-02T13:00:00+00:00"
    assert doc["clinic"] == {"name": "Harbour Physio & Wellness", "timezone": "America/Toronto",
                             "currency": "CAD"}
    assert doc["patient"] == {
        "id": ids["zoe"], "key": "zoe", "first_name": "Zoé", "last_name": "Lefebvre",
        "phone": "+14165550123", "email": "zoe@example.com", "birth_date": "1990-05-17",
        "locale": "fr", "online_registration": True, "opted_out": True,
        "telegram_user_id": 555123, "merged_into_id": None, "created_at": AT_TEXT,
        "erased_at": None}
    assert [(m["id"], m["phone"], m["merged_into_id"]) for m in doc["merged_profiles"]] == [
        (ids["old"], "+14165550124", ids["zoe"])]
    assert doc["channels"] == {"sms": "+14165550123", "telegram_user_id": 555123,
                               "email": "zoe@example.com"}
    assert doc["consents"] == {"messages": "opted_out", "online_registration": True}
    assert doc["preferences"] == {"language": "fr", "quiet_hours": {
        "start": "21:00:00", "end": "08:00:00", "set_by": "clinic"}}
    assert doc["guardians"] == [{"id": ids["gil"], "name": "Gil Lefebvre", "linked_by": "desk"}]
    assert doc["wards"] == [{"id": ids["wes"], "name": "Wes Lefebvre", "linked_by": "file"}]
    assert doc["wards_included"] is False and "ward_exports" not in doc

    visits = {a["id"]: a for a in doc["appointments"]}
    assert set(visits) == {ids["arrived"], ids["missed"], ids["ahead"]}
    arrived = visits[ids["arrived"]]
    assert arrived == {
        "id": ids["arrived"], "patient_id": ids["zoe"], "practitioner_id": ids["who"],
        "practitioner": "Ana Silva", "location_id": ids["where"], "location": "Downtown",
        "fee_id": ids["fee"], "fee": "Physiotherapy follow-up",
        "starts_at": "2026-10-05T14:00:00+00:00", "ends_at": "2026-10-05T14:45:00+00:00",
        "status": "arrived", "package_id": ids["package"], "package_use": "redeemed",
        "series_id": None, "booked_by": "staff", "created_at": AT_TEXT, "cancelled_at": None,
        "arrived_at": "2026-10-05T13:58:00+00:00", "confirmed_at": None, "no_show": None}
    assert visits[ids["missed"]]["no_show"] | {} == {
        "id": ids["no_show"], "appointment_id": ids["missed"], "raised_at": AT_TEXT,
        "reason": "not_arrived", "resolution": "fee", "no_show_fee_id": None,
        "invoice_id": None, "resolved_by": "desk", "resolved_at": AT_TEXT, "version": 0}
    assert visits[ids["ahead"]]["series_id"] == ids["series"]
    assert doc["series"] == [{"id": ids["series"], "package_id": ids["package"],
                              "patient_id": ids["zoe"], "every_days": 7,
                              "booked_by": "patient", "created_at": AT_TEXT}]

    [package] = doc["packages"]
    assert (package["name"], package["price"], package["patient_pays"], package["uses"],
            package["redeemed"], package["booked"], package["available"]) == (
        "Physio 6", cad("480.00"), cad("5.00"), 4, 1, 1, 2)
    assert (package["purchased_on"], package["expires_on"], package["session_value"],
            package["value_transferred"], package["refund_amount"]) == (
        "2026-10-03", "2027-10-03", cad("80.00"), cad("160.00"), None)
    assert package["redemptions"] == [{
        "id": ids["redemption"], "package_id": ids["package"], "appointment_id": ids["arrived"],
        "kind": "arrival", "practitioner_id": ids["who"], "practitioner": "Ana Silva",
        "invoice_id": None, "redeemed_at": AT_TEXT}]
    assert package["receipts"] == [{
        "id": ids["receipt"], "package_id": ids["package"], "kind": "session",
        "appointment_id": ids["arrived"], "fee_id": ids["fee"], "fee": "Physiotherapy follow-up",
        "practitioner_id": ids["who"], "practitioner": "Ana Silva", "session_on": "2026-10-05",
        "value": cad("80.00"), "patient_pays": cad("5.00"), "issued_at": AT_TEXT,
        "voided_at": None}]
    assert package["transferred_to"] == [
        {"package_id": ids["wes_package"], "patient_id": ids["wes"], "uses": 2}]

    [invoice] = doc["invoices"]
    assert {k: invoice[k] for k in ("id", "kind", "amount", "paid", "status", "issued_on",
                                    "due_on", "package_id", "installment_no")} == {
        "id": ids["invoice"], "kind": "package", "amount": cad("480.00"),
        "paid": cad("480.00"), "status": "paid", "issued_on": "2026-10-03",
        "due_on": "2026-10-03", "package_id": ids["package"], "installment_no": 1}
    assert "reminder_due_on" not in invoice  # a sweep's cursor, not data about the patient
    assert doc["payments"] == [{
        "id": ids["payment"], "invoice_id": ids["invoice"], "patient_id": ids["zoe"],
        "amount": cad("500.00"), "method": "card", "external_id": "ch_1",
        "received_at": AT_TEXT}]
    assert doc["credit"]["balance"] == cad("20.00")
    assert doc["credit"]["entries"] == [{
        "id": ids["credit"], "patient_id": ids["zoe"], "amount": cad("20.00"),
        "source": "overpayment", "reason": "paid more than owed", "package_id": None,
        "invoice_id": ids["invoice"], "payment_id": None, "external_id": "ch_1:over",
        "created_at": AT_TEXT}]
    assert doc["memberships"] == [{
        "id": ids["membership"], "patient_id": ids["zoe"], "plan_id": ids["plan"],
        "plan": "Wellness membership (monthly)", "start": "2026-10-01",
        "cancelled_from": None, "created_at": AT_TEXT}]

    [entry] = doc["waitlist"]
    assert (entry["fee"], entry["weekdays"], entry["parts"], entry["until"], entry["status"]) == (
        "Physiotherapy follow-up", [0, 2], ["morning"], "2026-12-01", "waiting")
    assert [(o["id"], o["status"], o["starts_at"]) for o in entry["offers"]] == [
        (ids["offer"], "declined", "2026-10-06T13:00:00+00:00")]
    [invitation] = doc["invitations"]
    assert invitation["sms_phone"] == "+14165550125" and invitation["status"] == "open"
    assert "code_hash" not in invitation and "form_token" not in invitation
    assert [(k["patient_id"], k["kept_by"]) for k in doc["kept_separate_from"]] == [
        (ids["other"], "desk")]
    assert [(c["channel"], c["address"], c["dialog"], c["state"])
            for c in doc["conversations"]] == [("sms", "+14165550123", "menu", {"page": 0})]
    [sent] = doc["messages"]["sent"]
    assert (sent["kind"], sent["body"], sent["channel"], sent["delivery_status"],
            sent["sent_at"]) == ("appointment_reminder", "Rappel: lundi", "sms", "delivered",
                                 AT_TEXT)
    [item] = doc["messages"]["to_clinic"]
    assert (item["text"], item["channel"], [r["text"] for r in item["replies"]]) == (
        "Mon dos va mieux", "sms", ["Tant mieux !"])
    [action] = doc["staff_actions"]
    assert (action["staff"], action["face"], action["action"], action["patient_id"]) == (
        "desk", "cli", "access.add_guardian", ids["zoe"])

    # The readable copy, in her language: her name, her message, the money in French.
    assert "Données détenues sur Zoé Lefebvre" in page and "Prénom" in page
    assert "Mon dos va mieux" in page and "480,00" in page and "<script" not in page


async def test_a_guardian_export_has_wards_by_name_unless_asked(clinic, make_uow):
    ids = await _built(make_uow)
    async with make_uow() as writer:
        plain = await patient_export.export(writer, ids["gil"])
        full = await patient_export.export(writer, ids["gil"], include_wards=True)
        await patient_export.record(writer, ids["gil"], audit.Actor("desk", "console"),
                                    include_wards=True)
        await writer.commit()
    assert plain["wards"] == [{"id": ids["zoe"], "name": "Zoé Lefebvre", "linked_by": "desk"}]
    assert "ward_exports" not in plain and "Mon dos va mieux" not in json.dumps(plain)
    assert "+14165550123" not in json.dumps(plain)
    [ward] = full["ward_exports"]
    assert ward["patient"]["id"] == ids["zoe"] and ward["payments"][0]["amount"] == cad("500.00")
    assert full["wards_included"] is True
    async with make_uow(readonly=True) as reader:
        entry = await reader.session.scalar(
            select(AuditEntry).where(AuditEntry.action == patient_export.ACTION))
        assert entry is not None
        assert (entry.staff, entry.face, entry.patient_id) == ("desk", "console", ids["gil"])
        assert "Lefebvre" not in entry.summary and "Zoé" not in json.dumps(entry.after)


def test_money_and_moments_are_written_as_text():
    from bot.services.export_rows import value

    assert value(Decimal("12.5"), is_money=True, currency="EUR") == {
        "amount": "12.50", "currency": "EUR"}
    assert value(time(8, 30), is_money=False, currency="EUR") == "08:30:00"
    assert value(datetime(2026, 1, 2, 3, 4, tzinfo=UTC), is_money=False,
                 currency="EUR") == "2026-01-02T03:04:00+00:00"
