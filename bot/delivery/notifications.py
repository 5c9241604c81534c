"""What a proactive message says, rendered at send time in the recipient's language (RULES.md 14).

Outbox rows hold ids only; :func:`render` reads what they point at and writes the text with the
recipient's :class:`~bot.i18n.Translator` (the patient's locale, else the clinic's; staff get
the clinic's), money and dates through Babel in the clinic's timezone. Every string is a literal
``t.gettext`` / ``t.ngettext`` msgid so ``pybabel extract`` finds it.

Extension point: :data:`RENDERERS` maps an outbox ``kind`` to an async function of a
:class:`Rendering` returning a :class:`Notice` (text and answer options), or None when what it
was about is gone (the message is skipped). A channel may register a richer renderer for a kind
with :func:`register`. No-show alerts offer ``noshow:{id}:redeem`` (package appointments) and
``noshow:{id}:fee:{no_show_fee_key}`` as options, for a staff channel with buttons. Unpaid-invoice
and renewal reminders offer ``payinvoice:{id}`` ("Pay now") for an open invoice: a channel that
can take the payment itself (Telegram with payments on) shows it, the others drop it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery.closed_notice import Affected, closed_notice
from bot.delivery.data_request_notice import data_request
from bot.delivery.deposit_notice import deposit_released
from bot.delivery.invitation_notice import invitation_codes_locked, invitation_sms
from bot.dialogs.invoice_labels import invoice_label
from bot.dialogs.reminder import reminder_text, reply_options
from bot.dialogs.types import Option
from bot.dialogs.waitlist_offer import offer_text
from bot.dialogs.waitlist_offer import reply_options as offer_reply_options
from bot.i18n import Translator
from bot.services import (
    closures,
    deposit_release,
    inbox,
    invitation_codes,
    invitations,
    invoices,
    merge_evidence,
    payment_links,
    payments,
    reminders,
    waitlist_offers,
)
from bot.services.clinic import local_today
from bot.storage.models import (
    Appointment,
    Clinic,
    Closure,
    Fee,
    InboxItem,
    InboxReply,
    Invoice,
    Location,
    Membership,
    MembershipPlan,
    NoShow,
    NoShowFee,
    OutboxMessage,
    Patient,
    PatientPackage,
    Practitioner,
    WaitlistOffer,
)
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Notice:
    """A rendered message: its text, and the answers a channel with buttons may offer."""

    text: str
    options: tuple[Option, ...] = ()


@dataclass
class Rendering:
    """What a renderer may use: the database, the clinic, the row, the recipient's language."""

    uow: UnitOfWork
    clinic: Clinic
    message: OutboxMessage
    t: Translator

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)

    def param(self, name: str) -> int:
        value = (self.message.params or {}).get(name)
        return int(value) if isinstance(value, int | str) and str(value).isdecimal() else -1

    def money(self, amount: Decimal) -> str:
        return self.t.money(amount, self.clinic.currency)

    def day(self, value: date) -> str:
        return self.t.date_text(value)

    def when(self, moment: datetime) -> str:
        return self.t.datetime_text(moment, self.zone)

    async def person(self, patient_id: int) -> Patient | None:
        return await self.uow.session.get(Patient, patient_id)

    async def staff_label(self, patient_id: int) -> str:
        """ "Maya Chen (patient 1)" for staff messages."""
        patient = await self.person(patient_id)
        name = patient.full_name if patient else "?"
        return self.t.gettext("{name} (patient {id})", name=name, id=patient_id)


Renderer = Callable[[Rendering], Awaitable[Notice | None]]


# -- to patients ----------------------------------------------------------------------------


async def appointment_reminder(r: Rendering) -> Notice | None:
    appointment = await r.uow.session.get(Appointment, r.param("appointment_id"))
    if appointment is None:
        return None
    text = await reminder_text(r.uow, r.t, r.clinic, appointment)
    return Notice(text, reply_options(r.t))


async def waitlist_offer(r: Rendering) -> Notice | None:
    offer = await r.uow.session.get(WaitlistOffer, r.param("offer_id"))
    if offer is None:
        return None
    text = await offer_text(r.uow, r.t, r.clinic, offer)
    return Notice(text, offer_reply_options(r.t))


async def renewal_reminder(r: Rendering) -> Notice | None:
    membership = await r.uow.session.get(Membership, r.param("membership_id"))
    if membership is None:
        return None
    plan = await r.uow.session.get(MembershipPlan, membership.plan_id)
    patient = await r.person(membership.patient_id)
    if plan is None or patient is None:
        return None
    renews = date.fromisoformat(str(r.message.params["period_start"]))
    open_invoice = await r.uow.session.scalar(select(Invoice.id).where(
        Invoice.membership_id == membership.id, Invoice.period_start == renews,
        Invoice.status == "open"))
    return Notice(r.t.gettext(
        "{clinic}: {plan} for {name} renews on {day}: {amount}.",
        clinic=r.clinic.name, plan=plan.name, name=patient.first_name, day=r.day(renews),
        amount=r.money(plan.price),
    ), pay_options(r.t, open_invoice))


PAY_PREFIX = "payinvoice:"


def pay_options(t: Translator, invoice_id: int | None) -> tuple[Option, ...]:
    """ "Pay now" for an open invoice (``payinvoice:{id}``), for channels that take payments."""
    if invoice_id is None:
        return ()
    return (Option(f"{PAY_PREFIX}{invoice_id}", t.gettext("Pay now")),)


async def unpaid_reminder(r: Rendering) -> Notice | None:
    invoice = await r.uow.session.get(Invoice, r.param("invoice_id"))
    patient = await r.person(invoice.patient_id) if invoice else None
    if invoice is None or patient is None:
        return None
    overdue = (local_today(r.clinic, r.uow.clock.now()) - invoice.due_on).days
    return Notice(r.t.ngettext(
        "{clinic}: {amount} for {name} ({description}) was due on {day}, {n} day ago. "
        "You can pay at the desk.",
        "{clinic}: {amount} for {name} ({description}) was due on {day}, {n} days ago. "
        "You can pay at the desk.",
        overdue, clinic=r.clinic.name, amount=r.money(invoice.outstanding),
        name=patient.first_name, description=await _label(r, invoice), day=r.day(invoice.due_on),
    ), pay_options(r.t, invoice.id if invoice.status == "open" else None))


async def no_show_fee(r: Rendering) -> Notice | None:
    """The patient's notice of a no-show fee (the sender may add a link to pay it; Telegram
    offers "Pay now" where it takes payments)."""
    invoice = await r.uow.session.get(Invoice, r.param("invoice_id"))
    patient = await r.person(invoice.patient_id) if invoice else None
    appointment = await r.uow.session.get(Appointment, invoice.appointment_id) if (
        invoice and invoice.appointment_id) else None
    if invoice is None or patient is None or appointment is None:
        return None
    return Notice(r.t.gettext(
        "{clinic}: {name} missed the appointment on {when}, so a no-show fee of {amount} "
        "({description}) was charged. You can pay at the desk.",
        clinic=r.clinic.name, name=patient.first_name, when=r.when(appointment.starts_at),
        amount=r.money(invoice.outstanding), description=invoice.description,
    ), pay_options(r.t, invoice.id if invoice.status == "open" else None))


async def _label(r: Rendering, invoice: Invoice) -> str:
    """What the invoice is for, in the recipient's language ("payment 2 of 3", a month)."""
    return invoice_label(r.t, (await invoices.invoice_facts(r.uow, [invoice]))[invoice.id])


async def package_expiry(r: Rendering) -> Notice | None:
    package = await r.uow.session.get(PatientPackage, r.param("package_id"))
    patient = await r.person(package.patient_id) if package else None
    if package is None or patient is None or package.expires_on is None:
        return None
    return Notice(r.t.ngettext(
        "{clinic}: {package} for {name} expires on {day} with {n} use left. Book soon to use it.",
        "{clinic}: {package} for {name} expires on {day} with {n} uses left. "
        "Book soon to use them.",
        package.available, clinic=r.clinic.name, package=package.name, name=patient.first_name,
        day=r.day(package.expires_on),
    ))


async def closed_time(r: Rendering) -> Notice | None:
    """The clinic closed, or a practitioner away, over the patient's bookings (RULES.md 20);
    None once the closure is gone or none of them is still booked in it."""
    closure = await r.uow.session.get(Closure, r.param("closure_id"))
    raw = (r.message.params or {}).get("appointment_ids")
    wanted = [i for i in raw if isinstance(i, int)] if isinstance(raw, list) else []
    if closure is None or not wanted:
        return None
    still = [a.id for a in await closures.booked_in(r.uow, [closure]) if a.id in wanted]
    rows = (await r.uow.session.execute(
        select(Appointment.starts_at, Fee.name, Practitioner.name, Patient.first_name)
        .join(Fee, Fee.id == Appointment.fee_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.id.in_(still))
        .order_by(Appointment.starts_at, Appointment.id)
    )).tuples().all()
    if not rows:
        return None
    place = await r.uow.session.get(Location, closure.location_id) if closure.location_id else None
    away = await r.uow.session.get(Practitioner, closure.practitioner_id) \
        if closure.practitioner_id else None
    return Notice(closed_notice(
        r.t, r.zone, clinic=r.clinic.name, closure=closure, name=rows[0][3],
        appointments=[Affected(starts, fee, who) for starts, fee, who, _ in rows],
        location=place.name if place else None, practitioner=away.name if away else None,
    ))


# -- to staff --------------------------------------------------------------------------------


def arrival_options(t: Translator, appointment_id: int) -> list[Option]:
    """The Arrived / No-show choices for an appointment nobody has marked yet."""
    return [
        Option(f"appt:{appointment_id}:arrive", t.gettext("Arrived")),
        Option(f"appt:{appointment_id}:noshow", t.gettext("No-show")),
    ]


async def no_show(r: Rendering) -> Notice | None:
    no_show = await r.uow.session.get(NoShow, r.param("no_show_id"))
    appointment = await r.uow.session.get(Appointment, r.param("appointment_id"))
    if no_show is None or appointment is None:
        return None
    fee = await r.uow.session.get(Fee, appointment.fee_id)
    practitioner = await r.uow.session.get(Practitioner, appointment.practitioner_id)
    values = {
        "patient": await r.staff_label(appointment.patient_id),
        "treatment": fee.name if fee else "?",
        "practitioner": practitioner.name if practitioner else "?",
        "when": r.when(appointment.starts_at),
    }
    if no_show.reason == "marked":
        text = r.t.gettext(
            "No-show on {when}: {patient} was marked no-show for {treatment} with "
            "{practitioner}.", **values)
    else:
        text = r.t.gettext(
            "No-show on {when}: {patient} did not arrive for {treatment} with {practitioner}.",
            **values)
    # Raised because nobody marked the visit: staff may still say the patient came.
    options = arrival_options(r.t, appointment.id) if no_show.reason == "not_arrived" else []
    if appointment.package_id is not None:
        package = await r.uow.session.get(PatientPackage, appointment.package_id)
        text += " " + r.t.gettext("It was booked with {package}.",
                                  package=package.name if package else "?")
        options.append(Option(f"noshow:{no_show.id}:redeem", r.t.gettext("Redeem package use")))
    fees = await r.uow.session.scalars(select(NoShowFee).order_by(NoShowFee.id))
    for charge in fees:
        label = r.t.gettext("{fee} ({amount})", fee=charge.name, amount=r.money(charge.price))
        options.append(Option(f"noshow:{no_show.id}:fee:{charge.key}", label))
    return Notice(text, tuple(options))


async def registration(r: Rendering) -> Notice | None:
    """A look-alike registration, with the evidence: a name and birth date prove nothing, so
    merging links the registration's channel only on its own button (issue 14, RULES.md 18)."""
    raw = (r.message.params or {}).get("duplicate_ids")
    ids = [i for i in raw if isinstance(i, int)] if isinstance(raw, list) else []
    new_id = r.param("patient_id")
    registration_row = await r.person(new_id)
    if registration_row is None or registration_row.merged_into_id is not None:
        return None
    lines = [r.t.gettext("New online registration: {patient}.",
                         patient=await r.staff_label(new_id))]
    options: list[Option] = []
    for other_id in ids:
        other = await r.person(other_id)
        if other is None or other.merged_into_id is not None:
            continue
        found = await merge_evidence.evidence(r.uow, new_id, other_id)
        label = await r.staff_label(other_id)
        lines.append(_evidence_line(r, found, label))
        if not found.has_channel:
            options.append(Option(f"merge:{new_id}:{other_id}",
                                  r.t.gettext("Merge into {patient}", patient=label)))
            continue
        channel = r.t.gettext("Telegram") if found.telegram else str(found.phone)
        options.append(Option(f"merge:{new_id}:{other_id}", r.t.gettext(
            "Merge into {patient}, keep its own phone only", patient=label)))
        options.append(Option(f"merge:{new_id}:{other_id}:link", r.t.gettext(
            "Merge into {patient} and link {channel} (verified)", patient=label,
            channel=channel)))
    if not options:
        return None
    options.append(Option(f"keepsep:{new_id}", r.t.gettext("Keep separate")))
    lines.append(r.t.gettext(
        "A name and birth date prove nothing: link the registration's phone or Telegram only "
        "once you have checked with the patient that it is their own."))
    return Notice("\n".join(lines), tuple(options))


def _evidence_line(r: Rendering, found: merge_evidence.Evidence, other: str) -> str:
    if found.telegram and found.phone:
        channel = r.t.gettext("Telegram, shared phone {phone}", phone=found.phone)
    elif found.telegram:
        channel = r.t.gettext("Telegram")
    elif found.phone:
        channel = r.t.gettext("phone {phone}", phone=found.phone)
    else:
        channel = r.t.gettext("no phone or Telegram")
    if found.same_phone and found.same_name_and_birth_date:
        matched = r.t.gettext("same phone, name and birth date")
    elif found.same_phone:
        matched = r.t.gettext("same phone")
    elif found.same_name_and_birth_date:
        matched = r.t.gettext("same name and birth date only")
    else:
        matched = r.t.gettext("nothing on file")
    return r.t.gettext(
        "Registered {when} from {channel}. Matches {patient}: {matched}.",
        when=r.when(found.registered_at), channel=channel, patient=other, matched=matched)


async def unpaid(r: Rendering) -> Notice | None:
    invoice = await r.uow.session.get(Invoice, r.param("invoice_id"))
    if invoice is None:
        return None
    return Notice(r.t.gettext(
        "Unpaid: invoice {invoice} of {patient}, {description}, {amount} due on {day}.",
        invoice=invoice.id, patient=await r.staff_label(invoice.patient_id),
        description=await _label(r, invoice), amount=r.money(invoice.outstanding),
        day=r.day(invoice.due_on),
    ))


async def package_refunded(r: Rendering) -> Notice | None:
    package = await r.uow.session.get(PatientPackage, r.param("package_id"))
    if package is None:
        return None
    released = (r.message.params or {}).get("appointment_ids") or []
    count = len(released) if isinstance(released, list) else 0
    text = r.t.gettext(
        "{package} of {patient} was refunded: {amount} became credit.",
        package=package.name, patient=await r.staff_label(package.patient_id),
        amount=r.money(Decimal(str((r.message.params or {}).get("amount") or "0"))),
    )
    if count:
        text += " " + r.t.ngettext(
            "{n} booked appointment lost the package.",
            "{n} booked appointments lost the package.", count)
    return Notice(text)


async def payment_credited(r: Rendering) -> Notice | None:
    """Money received when less (or nothing) was owed: it became credit (services.payments)."""
    invoice = await r.uow.session.get(Invoice, r.param("invoice_id"))
    params = r.message.params or {}
    if invoice is None:
        return None
    received = Decimal(str(params.get("received") or "0"))
    credited = Decimal(str(params.get("credited") or "0"))
    return Notice(r.t.gettext(
        "{patient} paid {received} ({method}) on invoice {invoice}, {description}, when "
        "{owed} was owed: {credited} became credit. Use it for another invoice at the desk "
        "(clinicbot staff pay INVOICE --from-credit) or pay it back.",
        patient=await r.staff_label(invoice.patient_id), received=r.money(received),
        method=params.get("method") or "?", invoice=invoice.id,
        description=await _label(r, invoice), owed=r.money(received - credited),
        credited=r.money(credited),
    ))


async def message(r: Rendering) -> Notice | None:
    """A patient's "Talk to the clinic" message; its text is kept in the inbox item only."""
    params = r.message.params or {}
    text = params.get("text")
    if "inbox_id" in params:
        item = await r.uow.session.get(InboxItem, r.param("inbox_id"))
        text = item.text if item is not None else None
    return Notice(r.t.gettext(
        "Message from {patient} ({channel}): {text}",
        patient=await r.staff_label(r.param("patient_id")), channel=params.get("channel") or "?",
        text=text or "",
    ))


async def delivery_failed(r: Rendering) -> Notice | None:
    params = r.message.params or {}
    return Notice(r.t.gettext(
        "A message to {patient} could not be delivered ({purpose}). Please reach them another "
        "way.",
        patient=await r.staff_label(r.param("patient_id")), purpose=params.get("purpose") or "?",
    ))


async def staff_code_locked(r: Rendering) -> Notice | None:
    """Someone kept trying wrong staff codes (:mod:`bot.services.staff_code`)."""
    params = r.message.params or {}
    try:
        until = r.when(datetime.fromisoformat(str(params.get("until"))))
    except ValueError:
        return None
    if params.get("scope") == "chat":
        return Notice(r.t.gettext(
            "{n} wrong staff codes were sent from Telegram chat {chat}: /staff is refused there "
            "until {time}. If it was not one of you, change CLINICBOT_STAFF_CODE.",
            n=params.get("failures"), chat=params.get("chat_id"), time=until))
    return Notice(r.t.gettext(
        "{n} wrong staff codes were sent within an hour: /staff is refused for everyone until "
        "{time}. If it was not one of you, change CLINICBOT_STAFF_CODE.",
        n=params.get("failures"), time=until))


async def desk_login_locked(r: Rendering) -> Notice | None:
    """Someone kept failing to log in to the staff console (:mod:`bot.services.desk_auth`)."""
    params = r.message.params or {}
    try:
        until = r.when(datetime.fromisoformat(str(params.get("until"))))
    except ValueError:
        return None
    if params.get("scope") == "user":
        return Notice(r.t.gettext(
            "{n} wrong passwords were tried for the console login {who}: it is locked until "
            "{time}. If it was not them, set a new password (clinicbot staff password).",
            n=params.get("failures"), who=params.get("who"), time=until))
    return Notice(r.t.gettext(
        "{n} failed console logins came from the address {who}: it may not log in until "
        "{time}.", n=params.get("failures"), who=params.get("who"), time=until))


STAFF_REPLY = inbox.STAFF_REPLY


async def staff_reply(r: Rendering) -> Notice | None:
    """What the patient reads: the clinic's answer to their "Talk to the clinic" message (its
    text is kept in the inbox's reply row; older rows carried it in their params)."""
    text = (r.message.params or {}).get("text")
    if "reply_id" in (r.message.params or {}):
        answer = await r.uow.session.get(InboxReply, r.param("reply_id"))
        text = answer.text if answer is not None else None
    if not isinstance(text, str) or not text:
        return None
    return Notice(r.t.gettext("{clinic}: {text}", clinic=r.clinic.name, text=text))


RENDERERS: dict[str, Renderer] = {
    reminders.APPOINTMENT_REMINDER: appointment_reminder,
    waitlist_offers.OFFER: waitlist_offer,
    reminders.RENEWAL_REMINDER: renewal_reminder,
    reminders.UNPAID_REMINDER: unpaid_reminder,
    reminders.PACKAGE_EXPIRY: package_expiry,
    payment_links.NO_SHOW_FEE: no_show_fee,
    "no_show": no_show,
    "registration": registration,
    "unpaid": unpaid,
    "package_refunded": package_refunded,
    payments.PAYMENT_CREDITED: payment_credited,
    "message": message,
    "delivery_failed": delivery_failed,
    "staff_code_locked": staff_code_locked,
    "desk_login_locked": desk_login_locked,
    STAFF_REPLY: staff_reply,
    closures.CLINIC_CLOSED: closed_time,
    closures.PRACTITIONER_AWAY: closed_time,
    invitations.INVITATION_SMS: invitation_sms,
    invitation_codes.LOCKED_ALERT: invitation_codes_locked,
    "data_request": data_request,
    deposit_release.DEPOSIT_RELEASED: deposit_released,
}


def register(kind: str, renderer: Renderer) -> None:
    """Render outbox messages of ``kind`` with ``renderer`` (see the module docstring)."""
    RENDERERS[kind] = renderer


async def render(
    uow: UnitOfWork, clinic: Clinic, message: OutboxMessage, t: Translator
) -> Notice | None:
    """The message's text in ``t``'s language, or None when there is nothing to say."""
    renderer = RENDERERS.get(message.kind)
    if renderer is None:
        return None
    return await renderer(Rendering(uow, clinic, message, t))
